"""The vocabulary of access control: agency kinds, roles and what each may do, vetting, purposes.

Kept as plain data in one place so the policy, the admin API, the CLI, the docs and the authorisation
matrix test all read the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AGENCY_KINDS = ("police", "prosecutor", "court", "prison", "probation", "health", "social_care", "other")

# Classifications in increasing order of sensitivity. OFFICIAL-SENSITIVE is OFFICIAL with a handling caveat
# but is ranked above it so a user can be cleared for OFFICIAL only.
CLASSIFICATIONS = ("OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP-SECRET")
RANK = {c: i for i, c in enumerate(CLASSIFICATIONS)}

# A user's vetting is named by the highest classification it clears them for; the usual UK vetting levels
# map onto it (BPSS / NPPV1 -> OFFICIAL, NPPV2 -> OFFICIAL-SENSITIVE, SC / NPPV3 -> SECRET, DV -> TOP-SECRET).
VETTING_ALIASES = {
    "BPSS": "OFFICIAL",
    "NPPV1": "OFFICIAL",
    "NPPV2": "OFFICIAL-SENSITIVE",
    "NPPV3": "SECRET",
    "SC": "SECRET",
    "DV": "TOP-SECRET",
    "TOP SECRET": "TOP-SECRET",
}

# Handling codes a sharing agreement may carry records under. 4 (originating agency only) and 5 (no further
# dissemination without the originator, from 5x5x5) never leave the owning agency by agreement.
SHAREABLE_HANDLING = ("P", "C")

PURPOSES = {
    "investigation": "Investigating an offence",
    "prosecution": "Prosecuting an offence",
    "court": "Court proceedings",
    "custody": "Detention and custody",
    "safeguarding": "Safeguarding a child or adult at risk",
    "offender_management": "Managing an offender (prison, probation)",
    "intelligence": "Intelligence development",
    "public_protection": "Public protection (MAPPA, MARAC)",
    "data_quality": "Data quality and the master index",
    "administration": "Administering the system",
    "audit": "Auditing access",
}

# What each role may do. "read" covers get, list, search, links, masters and match; "see_sensitive" shows
# fields marked sensitive in the registry (an intelligence source's identity).
ACTIONS = (
    "read",
    "create",
    "update",
    "delete",
    "link",
    "merge",
    "review",
    "export",
    "import",
    "see_sensitive",
    "manage_users",
    "manage_agreements",
    "audit",
)
_RECORDING = {"read", "create", "update", "link"}
ROLES: dict[str, frozenset[str]] = {
    "officer": frozenset(_RECORDING),
    "investigator": frozenset(_RECORDING | {"delete"}),
    "analyst": frozenset({"read", "link", "export", "review"}),
    "supervisor": frozenset(_RECORDING | {"delete", "merge", "review", "export"}),
    "custody_officer": frozenset(_RECORDING),
    "intelligence_officer": frozenset(_RECORDING | {"see_sensitive", "review"}),
    "prosecutor": frozenset({"read"}),
    "court_officer": frozenset({"read"}),
    "prison_officer": frozenset({"read"}),
    "probation_officer": frozenset({"read"}),
    "partner_caseworker": frozenset({"read"}),
    "administrator": frozenset({"manage_users", "manage_agreements", "import"}),
    "auditor": frozenset({"audit"}),
}


def clearance(vetting: str) -> str:
    """The classification a vetting level clears for; raises ValueError naming the known levels."""
    value = VETTING_ALIASES.get(vetting.upper(), vetting.upper())
    if value not in RANK:
        known = ", ".join([*CLASSIFICATIONS, *VETTING_ALIASES])
        raise ValueError(f"unknown vetting level {vetting!r}; expected one of {known}")
    return value


def classification_of(marking: str) -> str:
    """A record's classification in canonical form ("TOP SECRET" and "TOP-SECRET" are one)."""
    value = marking.upper().replace(" ", "-")
    return value if value in RANK else "TOP-SECRET"  # an unknown marking is treated as the most sensitive


def is_sensitive(classification: str, handling: str) -> bool:
    """Whether viewing a record so marked needs a stated reason: above OFFICIAL, or not freely shareable
    (handling other than P)."""
    return RANK.get(classification_of(classification), 3) > 0 or handling != "P"


@dataclass(frozen=True)
class Subject:
    """Who is asking: a signed-in user (or a system's token), their agency, roles, vetting and purpose."""

    user_id: str
    username: str
    agency: str
    roles: frozenset[str]
    vetting: str
    unit: str | None = None
    purpose: str | None = None
    reason: str | None = None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read", "write", "admin", "audit"}))
    via: str = "session"  # session, token, oidc, cli

    @property
    def actions(self) -> frozenset[str]:
        allowed: set[str] = set()
        for role in self.roles:
            allowed |= ROLES.get(role, frozenset())
        return frozenset(allowed)

    def can(self, action: str) -> bool:
        if action not in self.actions:
            return False
        return scope_of(action) in self.scopes

    @property
    def principals(self) -> tuple[str, ...]:
        """The names a record restriction may list this subject under."""
        names = [f"user:{self.user_id}"]
        if self.unit:
            names.append(f"unit:{self.agency}/{self.unit}")
        return tuple(names)

    @property
    def rank(self) -> int:
        return RANK[clearance(self.vetting)]

    def with_purpose(self, purpose: str | None, reason: str | None = None) -> Subject:
        return Subject(
            self.user_id,
            self.username,
            self.agency,
            self.roles,
            self.vetting,
            self.unit,
            purpose,
            reason if reason is not None else self.reason,
            self.scopes,
            self.via,
        )


# API token scopes: what a system's token may be used for, whatever its user's roles allow.
TOKEN_SCOPES = ("read", "write", "admin", "audit")
_SCOPE_OF = {
    "read": "read",
    "export": "read",
    "see_sensitive": "read",
    "create": "write",
    "update": "write",
    "delete": "write",
    "link": "write",
    "merge": "write",
    "review": "write",
    "import": "write",
    "manage_users": "admin",
    "manage_agreements": "admin",
    "audit": "audit",
}


def scope_of(action: str) -> str:
    """The token scope an action needs."""
    return _SCOPE_OF.get(action, "read")
