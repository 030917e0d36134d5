"""Signing in through an OpenID Connect provider (Keycloak, Entra ID, ...), with Authlib.

Configured by environment settings, read when a request needs them (never at import or start-up):

    OPENRMS_OIDC_ISSUER          the provider's issuer URL (read: <issuer>/.well-known/openid-configuration)
    OPENRMS_OIDC_CLIENT_ID       this service's client id at the provider
    OPENRMS_OIDC_CLIENT_SECRET   its secret (leave unset for a public client: PKCE alone is used)
    OPENRMS_OIDC_AGENCY_CLAIM    claim naming the user's agency code (default "agency")
    OPENRMS_OIDC_ROLES_CLAIM     claim listing their roles (default "roles")
    OPENRMS_OIDC_VETTING_CLAIM   claim giving their vetting level (default "vetting")
    OPENRMS_OIDC_USERNAME_CLAIM  claim giving their username (default "preferred_username", then email, sub)
    OPENRMS_OIDC_ROLE_PREFIX     a prefix to strip from role names ("OpenRMS." for "OpenRMS.Investigator")
    OPENRMS_OIDC_SCOPE           scopes to ask for (default "openid profile email")
    OPENRMS_OIDC_REDIRECT_URI    the callback URL the provider sends users back to, when the one this
                                 service sees differs (behind a proxy); default <this host>/auth/oidc/callback
    OPENRMS_OIDC_STATE_SECRET    key signing the short-lived sign-in state cookie (default: derived from
                                 the client secret; set it for a public client run by several workers)

Claim names may be dotted paths into nested claims ("realm_access.roles" for Keycloak realm roles).

The provider is the source of truth for who someone is: on each sign-in the user's agency, roles, vetting
and display name are taken from the claims (`user_from_claims`, pure) and the `user_account` keyed by
issuer + "|" + subject is created or brought up to date (`provision`). Roles OpenRMS does not know are
dropped; someone with no known role, no agency, or an agency OpenRMS does not have is refused (403).
An account disabled in OpenRMS stays disabled whatever the provider says.

The flow is the authorisation code flow with PKCE (S256) and a nonce; Authlib checks the ID token's
signature (the provider's JWKS), issuer, audience, expiry and nonce. Authlib keeps its state in
`request.session`; rather than a session middleware for the whole app, the state lives in a signed cookie
scoped to /auth/oidc that lasts ten minutes (`load_state` / `save_state`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import warnings
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, select, update

from openrms.access import accounts, audit, authn
from openrms.access.model import ROLES, Subject, clearance
from openrms.errors import Conflict, Forbidden, NotFound, OpenRMSError, Unauthorized
from openrms.store.tables import agency as agency_table
from openrms.store.tables import user_account

NOT_CONFIGURED = "OIDC sign-in is not configured"
STATE_COOKIE = "openrms_oidc"
STATE_PATH = "/auth/oidc"
STATE_MAX_AGE = 600  # seconds a sign-in may take at the provider
PROVIDER = "openrms"

# A test (or an embedding application) may route the provider's HTTP calls through an httpx transport.
TRANSPORT: Any = None


class ProviderUnavailable(OpenRMSError):
    status = 502
    kind = "identity-provider-unavailable"
    title = "Identity provider unavailable"


@dataclass(frozen=True)
class OIDCSettings:
    issuer: str
    client_id: str
    client_secret: str | None = None
    agency_claim: str = "agency"
    roles_claim: str = "roles"
    vetting_claim: str = "vetting"
    username_claim: str = "preferred_username"
    role_prefix: str = ""
    scope: str = "openid profile email"
    redirect_uri: str | None = None
    state_secret: str | None = None

    @property
    def metadata_url(self) -> str:
        base = self.issuer.rstrip("/")
        suffix = "/.well-known/openid-configuration"
        return base if base.endswith(suffix) else base + suffix


def settings_from_env(env: Mapping[str, str] | None = None) -> OIDCSettings | None:
    """The OIDC settings from the environment, or None when the issuer or client id is not set."""
    env = os.environ if env is None else env

    def get(name: str, default: str | None = None) -> str | None:
        value = (env.get(f"OPENRMS_OIDC_{name}") or "").strip()
        return value or default

    issuer, client_id = get("ISSUER"), get("CLIENT_ID")
    if not issuer or not client_id:
        return None
    return OIDCSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=get("CLIENT_SECRET"),
        agency_claim=get("AGENCY_CLAIM", "agency") or "agency",
        roles_claim=get("ROLES_CLAIM", "roles") or "roles",
        vetting_claim=get("VETTING_CLAIM", "vetting") or "vetting",
        username_claim=get("USERNAME_CLAIM", "preferred_username") or "preferred_username",
        role_prefix=get("ROLE_PREFIX", "") or "",
        scope=get("SCOPE", "openid profile email") or "openid profile email",
        redirect_uri=get("REDIRECT_URI"),
        state_secret=get("STATE_SECRET"),
    )


def require_settings(env: Mapping[str, str] | None = None) -> OIDCSettings:
    """The settings, or NotFound (404) "OIDC sign-in is not configured"."""
    settings = settings_from_env(env)
    if settings is None:
        raise NotFound(NOT_CONFIGURED)
    return settings


# ---- claims -> user (pure) ----


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name, or by dotted path into nested objects ("realm_access.roles"). A claim whose own
    name contains dots (a URI-named claim) is found too."""
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in re.split(r"[\s,]+", value) if p]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _role(name: str, prefix: str) -> str:
    value = name.strip()
    if prefix and value.lower().startswith(prefix.lower()):
        value = value[len(prefix) :]
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def _username(claims: Mapping[str, Any], settings: OIDCSettings, sub: str) -> str:
    for candidate in (claim(claims, settings.username_claim), claims.get("email"), sub):
        if isinstance(candidate, str) and candidate.strip():
            value = re.sub(r"[^a-z0-9._@+-]", "_", candidate.strip().lower()).lstrip("._@+-")[:120]
            if value:
                return value
    return "oidc_" + hashlib.sha256(sub.encode()).hexdigest()[:16]


def external_id(issuer: str, sub: str) -> str:
    value = f"{issuer}|{sub}"
    return value if len(value) <= 200 else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def user_from_claims(
    claims: Mapping[str, Any], settings: OIDCSettings, agencies: Collection[str] | None = None
) -> dict[str, Any]:
    """What the provider says about a user, in OpenRMS terms: external_id, username, display_name,
    agency, roles, vetting. Pure: `agencies`, when given, are the agency codes that exist.

    Unknown roles are dropped. Forbidden (with what to fix) when there is no subject, no agency, an agency
    not in `agencies`, several agencies, no known role, or a vetting level OpenRMS does not know. No vetting
    claim means the lowest clearance, OFFICIAL."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Forbidden("the identity provider's token has no subject ('sub' claim)")
    issuer = (
        claims.get("iss") if isinstance(claims.get("iss"), str) and claims.get("iss") else settings.issuer
    )

    raw_agency = claim(claims, settings.agency_claim)
    found = [raw_agency] if isinstance(raw_agency, str) else _strings(raw_agency)
    found = [a.strip() for a in found if a.strip()]
    if not found:
        raise Forbidden(
            f"the identity provider did not say which agency you belong to (claim {settings.agency_claim!r}, "
            "set by OPENRMS_OIDC_AGENCY_CLAIM); ask its administrator to add it"
        )
    if len(set(a.upper() for a in found)) > 1:
        raise Forbidden(
            f"the identity provider names several agencies for you ({', '.join(found)}); "
            "OpenRMS needs exactly one"
        )
    agency = found[0].strip().upper()
    if agencies is not None and agency not in agencies:
        raise Forbidden(
            f"agency {agency!r} named by the identity provider is not an agency of this OpenRMS; an "
            "administrator must create it first (openrms agency add)"
        )

    sent = _strings(claim(claims, settings.roles_claim))
    roles = sorted({r for r in (_role(name, settings.role_prefix) for name in sent) if r in ROLES})
    if not roles:
        shown = ", ".join(sent[:10]) if sent else "none"
        raise Forbidden(
            f"none of the roles the identity provider sent (claim {settings.roles_claim!r}: {shown}) is an "
            f"OpenRMS role; expected one or more of {', '.join(ROLES)}"
        )

    raw_vetting = claim(claims, settings.vetting_claim)
    if isinstance(raw_vetting, list):
        raw_vetting = raw_vetting[0] if len(raw_vetting) == 1 else None
    if raw_vetting is None or raw_vetting == "":
        vetting = "OFFICIAL"
    else:
        try:
            vetting = clearance(str(raw_vetting))
        except ValueError as exc:
            raise Forbidden(
                f"the identity provider's vetting claim ({settings.vetting_claim!r}): {exc}"
            ) from None

    username = _username(claims, settings, sub)
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip()) or username
    return {
        "external_id": external_id(str(issuer), sub),
        "username": username,
        "display_name": name.strip()[:200],
        "agency": agency,
        "roles": roles,
        "vetting": vetting,
    }


def provision(
    conn: Connection, claims: Mapping[str, Any], now: dt.datetime, settings: OIDCSettings | None = None
) -> Subject:
    """Create or update the user the (validated) claims describe, keyed by issuer + "|" + sub, and return
    them as a Subject (via "oidc"). Audited: "user-created" or "user-updated" when anything changed, and
    "sign-in" (method oidc). A user disabled in OpenRMS is refused; so is a username already used by
    another account (never linked automatically: that would hand the account to whoever the provider
    names so)."""
    settings = settings or require_settings()
    agencies = set(conn.execute(select(agency_table.c.code).where(agency_table.c.active.is_(True))).scalars())
    user = user_from_claims(claims, settings, agencies)
    by = f"oidc:{settings.issuer}"[:120]
    row = conn.execute(
        select(
            user_account.c.id,
            user_account.c.username,
            user_account.c.display_name,
            user_account.c.agency,
            user_account.c.unit,
            user_account.c.roles,
            user_account.c.vetting,
            user_account.c.active,
        ).where(user_account.c.external_id == user["external_id"])
    ).first()
    if row is None:
        taken = conn.execute(
            select(user_account.c.id).where(user_account.c.username == user["username"])
        ).first()
        if taken is not None:
            raise Conflict(
                f"the username {user['username']!r} the identity provider gives you belongs to another "
                "OpenRMS account; an administrator must rename or remove that account first"
            )
        created = accounts.create_user(
            conn,
            user["username"],
            user["display_name"],
            user["agency"],
            user["roles"],
            user["vetting"],
            None,
            now,
            by,
            external_id=user["external_id"],
        )
        user_id, username = created["id"], created["username"]
    else:
        if not row.active:
            raise Forbidden("your OpenRMS account is disabled; ask your administrator")
        user_id, username = row.id, row.username
        current = {
            "display_name": row.display_name,
            "agency": row.agency,
            "roles": sorted(row.roles or []),
            "vetting": row.vetting,
        }
        values = {k: user[k] for k in current if current[k] != user[k]}
        if "agency" in values and row.unit is not None:
            values["unit"] = None  # a unit belongs to the agency they have left
        if values:
            conn.execute(update(user_account).where(user_account.c.id == row.id).values(**values))
            changes = {k: [current.get(k, row.unit), v] for k, v in values.items()}
            detail = {"user": row.id, "username": row.username, "changes": changes, "source": "oidc"}
            audit.append(conn, actor=by, agency=None, action="user-updated", detail=detail, now=now)
    audit.append(
        conn,
        actor=username,
        agency=user["agency"],
        action="sign-in",
        detail={"method": "oidc", "user": user_id, "issuer": settings.issuer},
        now=now,
    )
    fresh = conn.execute(
        select(
            user_account.c.id,
            user_account.c.username,
            user_account.c.agency,
            user_account.c.unit,
            user_account.c.roles,
            user_account.c.vetting,
        ).where(user_account.c.id == user_id)
    ).one()
    return authn.subject_of(fresh, via="oidc")


def audit_failure(conn: Connection, claims: Mapping[str, Any] | None, why: str, now: dt.datetime) -> None:
    """Put a refused OIDC sign-in on the audit trail (in a transaction of its own: the refusal rolled the
    sign-in's back)."""
    claims = claims or {}
    actor = claims.get("preferred_username") or claims.get("email") or claims.get("sub") or "(unknown)"
    detail = {"method": "oidc", "why": why[:500], "sub": claims.get("sub"), "iss": claims.get("iss")}
    audit.append(conn, actor=str(actor)[:120], agency=None, action="sign-in-failed", detail=detail, now=now)


# ---- the Starlette side: Authlib's client and its state cookie ----

_clients: dict[tuple[OIDCSettings, int], Any] = {}


@contextmanager
def _quiet_authlib() -> Iterator[None]:
    """Import Authlib without its warning that it would rather use `httpx2` than `httpx` (it works with
    either). Its `deprecate` module turns its warnings on for good when imported, so that happens inside
    the context too, and the filters are put back afterwards."""
    with warnings.catch_warnings():
        import authlib.deprecate  # noqa: F401

        warnings.filterwarnings("ignore", message=".*httpx.*deprecated", category=DeprecationWarning)
        yield


def client(settings: OIDCSettings) -> Any:
    """Authlib's Starlette OAuth2 app for these settings (made on first use; discovery happens on the
    first sign-in, not here)."""
    key = (settings, id(TRANSPORT))
    found = _clients.get(key)
    if found is not None:
        return found
    with _quiet_authlib():
        from authlib.integrations.starlette_client import OAuth

    client_kwargs: dict[str, Any] = {"scope": settings.scope, "code_challenge_method": "S256", "timeout": 15}
    if not settings.client_secret:
        client_kwargs["token_endpoint_auth_method"] = "none"
    if TRANSPORT is not None:
        client_kwargs["transport"] = TRANSPORT
    oauth = OAuth()
    oauth.register(
        PROVIDER,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs=client_kwargs,
    )
    app = oauth.create_client(PROVIDER)
    _clients.clear()  # settings changed (or first use): keep one
    _clients[key] = app
    return app


@cache
def _process_secret() -> str:
    return secrets.token_urlsafe(32)


def _serializer(settings: OIDCSettings) -> Any:
    from itsdangerous import URLSafeTimedSerializer

    secret = settings.state_secret or (
        hashlib.sha256(f"openrms-oidc-state|{settings.client_secret}".encode()).hexdigest()
        if settings.client_secret
        else _process_secret()
    )
    return URLSafeTimedSerializer(secret, salt="openrms-oidc-state")


def load_state(request: Any, settings: OIDCSettings) -> dict[str, Any]:
    """Put the sign-in state from the signed cookie (or an empty one) where Authlib looks: request.session."""
    from itsdangerous import BadData

    data: Any = {}
    raw = request.cookies.get(STATE_COOKIE)
    if raw and len(raw) < 8192:
        try:
            data = _serializer(settings).loads(raw, max_age=STATE_MAX_AGE)
        except BadData:
            data = {}
    if not isinstance(data, dict):
        data = {}
    request.scope["session"] = data
    return data


def save_state(request: Any, response: Any, settings: OIDCSettings) -> None:
    """Write request.session back to the state cookie (or clear the cookie when it is empty)."""
    data = request.scope.get("session") or {}
    secure = request.url.scheme == "https"
    if data:
        response.set_cookie(
            STATE_COOKIE,
            _serializer(settings).dumps(data),
            max_age=STATE_MAX_AGE,
            path=STATE_PATH,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    else:
        response.delete_cookie(STATE_COOKIE, path=STATE_PATH, httponly=True, samesite="lax", secure=secure)


def safe_next(value: str | None, default: str) -> str:
    """A local path to go to after signing in; anything else (another site, "//host") is the default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return default
    if any(ord(c) < 32 for c in value):
        return default
    return value


async def login_redirect(request: Any, settings: OIDCSettings, next_url: str) -> Any:
    """The redirect to the provider's sign-in page, with the state cookie set."""
    import httpx

    load_state(request, settings)
    request.session.clear()
    redirect_uri = settings.redirect_uri or str(request.url_for("oidc_callback"))
    try:
        response = await client(settings).authorize_redirect(request, redirect_uri)
    except (httpx.HTTPError, ValueError, KeyError, RuntimeError) as exc:
        raise ProviderUnavailable(
            f"could not read the identity provider's configuration at {settings.metadata_url}: {exc}"
        ) from None
    request.session["next"] = next_url
    save_state(request, response, settings)
    return response


async def callback_claims(request: Any, settings: OIDCSettings) -> tuple[dict[str, Any], str | None]:
    """The validated ID token claims of the user the provider sent back (merged with its userinfo when
    the ID token lacks the agency or roles claim), and the `next` path saved at login."""
    import httpx

    with _quiet_authlib():
        from authlib.integrations.base_client import OAuthError
    try:
        from joserfc.errors import JoseError  # Authlib >= 1.6 validates ID tokens with joserfc
    except ImportError:  # pragma: no cover - older Authlib
        from authlib.jose.errors import JoseError  # type: ignore[no-redef]

    state = load_state(request, settings)
    next_url = state.get("next") if isinstance(state.get("next"), str) else None
    oauth = client(settings)
    try:
        token = await oauth.authorize_access_token(request)
    except OAuthError as exc:
        text = exc.description or exc.error or type(exc).__name__
        raise Unauthorized(f"OIDC sign-in failed: {text}; start again at {STATE_PATH}/login") from None
    except JoseError as exc:
        raise Unauthorized(f"OIDC sign-in failed: the ID token is not valid ({exc}); start again") from None
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider did not answer: {exc}") from None
    claims = dict(token.get("userinfo") or {})
    if not claims:
        raise Unauthorized(
            "OIDC sign-in failed: the provider sent no ID token; is the 'openid' scope asked for?"
        )
    if claim(claims, settings.agency_claim) is None or claim(claims, settings.roles_claim) is None:
        try:
            extra = dict(await oauth.userinfo(token=token))
        except (httpx.HTTPError, KeyError, OAuthError):
            extra = {}
        if extra.get("sub") == claims.get("sub"):
            claims = {**extra, **claims}
    return claims, next_url
