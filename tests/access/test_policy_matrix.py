"""The authorisation matrix: every combination of role, agency relation, classification, vetting, handling,
restriction, entity type and action, against an oracle that restates the rules independently."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from openrms.access.model import CLASSIFICATIONS, ROLES, Subject
from openrms.access.policy import Agreement, Resource, decide

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
ACTIONS = ("read", "export", "create", "update", "delete", "link", "merge", "review")
# (relation of the record's agency to the subject, the agreements in force)
RELATIONS = ("own", "shared-whole", "shared-fields", "shared-other-purpose", "shared-expired", "unshared")
HANDLING = ("P", "C", "4", "5")
RESTRICTION = ("none", "me", "my-unit", "others")
TYPES = ("person", "intelligence_report")


def agreements_for(relation: str) -> list[Agreement]:
    base = dict(
        id="a1",
        name="t",
        provider="OTHER",
        recipient="MINE",
        purposes=frozenset({"investigation"}),
        valid_from=NOW - dt.timedelta(days=30),
    )
    if relation == "shared-whole":
        return [Agreement(entity_types={"person": None, "intelligence_report": None}, **base)]
    if relation == "shared-fields":
        return [Agreement(entity_types={"person": ("surname",), "intelligence_report": ("summary",)}, **base)]
    if relation == "shared-other-purpose":
        return [Agreement(entity_types={"person": None}, **{**base, "purposes": frozenset({"safeguarding"})})]
    if relation == "shared-expired":
        return [Agreement(entity_types={"person": None}, valid_to=NOW - dt.timedelta(days=1), **base)]
    return []


def oracle(role, relation, classification, vetting, handling, restriction, etype, action):
    """Expected (permit, visible fields or None, sensitive hidden) written from the issue's words."""
    if action not in ROLES[role]:
        return False, None, None
    if CLASSIFICATIONS.index(classification) > CLASSIFICATIONS.index(vetting):
        return False, None, None
    if restriction == "others":
        return False, None, None
    hide_sensitive = "see_sensitive" not in ROLES[role] and etype == "intelligence_report"
    if relation == "own":
        return True, None, hide_sensitive
    if action not in ("read", "export") or handling in ("4", "5"):
        return False, None, None
    if relation == "shared-whole":
        return True, None, hide_sensitive
    if relation == "shared-fields":
        return True, {"person": {"surname"}, "intelligence_report": {"summary"}}[etype], hide_sensitive
    return False, None, None


CASES = list(
    itertools.product(
        ROLES, RELATIONS, CLASSIFICATIONS, CLASSIFICATIONS, HANDLING, RESTRICTION, TYPES, ACTIONS
    )
)


def test_the_matrix_is_complete():
    assert len(CASES) == len(ROLES) * 6 * 4 * 4 * 4 * 4 * 2 * len(ACTIONS)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_decision_of_the_matrix(role):
    failures = []
    for _, relation, classification, vetting, handling, restriction, etype, action in (
        c for c in CASES if c[0] == role
    ):
        subject = Subject(
            "u1", "someone", "MINE", frozenset({role}), vetting, unit="CID", purpose="investigation"
        )
        restricted_to = {
            "none": frozenset(),
            "me": frozenset({"user:u1"}),
            "my-unit": frozenset({"unit:MINE/CID"}),
            "others": frozenset({"user:u2", "unit:MINE/TRAFFIC"}),
        }[restriction]
        agency = "MINE" if relation == "own" else "OTHER"
        resource = Resource(agency, etype, classification, handling, restricted_to)
        got = decide(subject, action, resource, "investigation", agreements_for(relation), NOW)
        permit, fields, hide_sensitive = oracle(
            role, relation, classification, vetting, handling, restriction, etype, action
        )
        case = (relation, classification, vetting, handling, restriction, etype, action)
        if got.permit != permit:
            failures.append((case, got.why))
            continue
        if permit:
            shown = None if got.fields is None else set(got.fields)
            if shown != fields or ("source_reference" in got.hidden) != hide_sensitive:
                failures.append((case, "redaction", shown, sorted(got.hidden)))
    assert not failures, failures[:5]


def test_no_purpose_means_no_access_even_to_your_own_records():
    subject = Subject("u1", "someone", "MINE", frozenset({"officer"}), "TOP-SECRET")
    assert not decide(subject, "read", Resource("MINE", "person"), None).permit


def test_a_token_scope_limits_what_the_roles_allow():
    subject = Subject(
        "u1", "feed", "MINE", frozenset({"supervisor"}), "SECRET", scopes=frozenset({"read"}), via="token"
    )
    assert decide(subject, "read", Resource("MINE", "person"), "investigation").permit
    assert not decide(subject, "create", Resource("MINE", "person"), "investigation").permit
