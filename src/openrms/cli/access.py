"""`openrms agency ...`, `openrms user ...` and `openrms token ...`: accounts from the command line.

How an installation starts: add the first agency, then its first administrator, who does the rest through
the admin API (or here). Whoever can run these commands against the database is trusted (they could edit
it directly); every change is still put on the audit trail as "cli:<login name>" (or `--by`).

    openrms agency add WYP --name "West Yorkshire Police" --kind police
    openrms user add admin.jones --name "Sam Jones" --agency WYP --role administrator --vetting NPPV3
    openrms token create admin.jones --name "Niche feed" --scope read --scope write --purpose investigation
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from openrms.access import accounts, authn, passwords
from openrms.access.model import AGENCY_KINDS, PURPOSES, ROLES, TOKEN_SCOPES
from openrms.cli.common import DbOption, console, id_column, open_db, out, print_json, reported

agency_app = typer.Typer(help="Agencies sharing this OpenRMS, and their units.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts: add, list, passwords, roles, lock-outs.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for systems: create, list, revoke.", no_args_is_help=True)

By = Annotated[
    str | None,
    typer.Option("--by", help="Who is doing this, for the audit trail (default: cli:<your login name>)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="As JSON")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of standard input"),
]


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (a container without a passwd entry)
        return "cli"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked for twice without echo. Checked against the
    policy before anything is written."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    passwords.check_policy(password)
    return password


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


# ---- agencies ----


@agency_app.command("add")
def agency_add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. WYP")],
    name: Annotated[str, typer.Option("--name", help="Full name, e.g. West Yorkshire Police")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of {', '.join(AGENCY_KINDS)}")],
    by: By = None,
    db: DbOption = None,
) -> None:
    """Add an agency."""
    with reported(), open_db(db).write() as conn:
        agency = accounts.create_agency(conn, code, name, kind, _now(), by=_by(by))
    console.print(f"added agency {agency['code']} ({escape(agency['name'])}, {agency['kind']})")


@agency_app.command("list")
def agency_list(as_json: AsJson = False, db: DbOption = None) -> None:
    """Every agency with its units."""
    with reported(), open_db(db).read() as conn:
        agencies = accounts.list_agencies(conn)
    if as_json:
        print_json(agencies)
        return
    table = Table("code", "name", "kind", "active", "units", title="Agencies")
    for a in agencies:
        units = ", ".join(u["code"] for u in a["units"])
        table.add_row(a["code"], escape(a["name"]), a["kind"], "yes" if a["active"] else "no", escape(units))
    out.print(table)


@agency_app.command("unit-add")
def unit_add(
    agency: Annotated[str, typer.Argument(help="The agency's code, e.g. WYP")],
    code: Annotated[str, typer.Argument(help="The unit's code, e.g. CID")],
    name: Annotated[str, typer.Option("--name", help="Its name, e.g. Criminal Investigation Department")],
    by: By = None,
    db: DbOption = None,
) -> None:
    """Add a unit (team, station, department) to an agency."""
    with reported(), open_db(db).write() as conn:
        unit = accounts.add_unit(conn, agency, code, name, by=_by(by), now=_now())
    console.print(f"added unit {unit['code']} to {unit['agency']}")


# ---- users ----


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Sign-in name, e.g. dc.smith")],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 'DC Jo Smith'")],
    agency: Annotated[str, typer.Option("--agency", help="Their agency's code")],
    role: Annotated[list[str], typer.Option("--role", help=f"A role (repeat for more): {', '.join(ROLES)}")],
    vetting: Annotated[str, typer.Option("--vetting", help="Vetting level, e.g. NPPV2, SC, or OFFICIAL")],
    unit: Annotated[str | None, typer.Option("--unit", help="Their unit's code")] = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No local password (signs in through OIDC, or tokens only)")
    ] = False,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Add a user; asks for their password (twice) unless --password-stdin or --no-password."""
    with reported():
        password = None if no_password else _password(password_stdin)
        with open_db(db).write() as conn:
            user = accounts.create_user(
                conn, username, name, agency, role, vetting, password, _now(), _by(by), unit=unit
            )
    console.print(f"added user {user['username']} ({user['agency']}: {', '.join(user['roles'])})")
    print_json(user)


@user_app.command("list")
def user_list(
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency's users")] = None,
    as_json: AsJson = False,
    db: DbOption = None,
) -> None:
    """Users, by username."""
    with reported(), open_db(db).read() as conn:
        users = accounts.list_users(conn, agency)
    if as_json:
        print_json(users)
        return
    table = Table("username", "name", "agency", "unit", "roles", "vetting", "status", title="Users")
    for u in users:
        status = "disabled" if not u["active"] else ("locked" if u["locked_until"] else "active")
        table.add_row(
            u["username"],
            escape(u["display_name"]),
            u["agency"],
            _fmt(u["unit"]),
            _fmt(u["roles"]),
            u["vetting"],
            status,
        )
    out.print(table)


@user_app.command("show")
def user_show(username: str, db: DbOption = None) -> None:
    """One user (never their password)."""
    with reported(), open_db(db).read() as conn:
        print_json(accounts.get_user(conn, username))


@user_app.command("set-password")
def user_set_password(
    username: str, password_stdin: PasswordStdin = False, by: By = None, db: DbOption = None
) -> None:
    """Set a user's password; clears any lock-out and ends their sessions."""
    with reported():
        password = _password(password_stdin)
        with open_db(db).write() as conn:
            user = accounts.get_user(conn, username)
            accounts.set_password(conn, user["id"], password, _now(), _by(by))
    console.print(f"password set for {user['username']}")


@user_app.command("unlock")
def user_unlock(username: str, by: By = None, db: DbOption = None) -> None:
    """Clear a lock-out after too many failed sign-ins."""
    with reported(), open_db(db).write() as conn:
        user = accounts.get_user(conn, username)
        accounts.unlock_user(conn, user["id"], _now(), _by(by))
    console.print(f"unlocked {user['username']}")


def _set_active(username: str, active: bool, by: str | None, db: str | None) -> None:
    with reported(), open_db(db).write() as conn:
        user = accounts.get_user(conn, username)
        accounts.update_user(conn, user["id"], _now(), _by(by), active=active)
    console.print(f"{'enabled' if active else 'disabled'} {user['username']}")


@user_app.command("disable")
def user_disable(username: str, by: By = None, db: DbOption = None) -> None:
    """Disable an account: it cannot sign in, its sessions end and its tokens stop working."""
    _set_active(username, False, by, db)


@user_app.command("enable")
def user_enable(username: str, by: By = None, db: DbOption = None) -> None:
    """Enable a disabled account again."""
    _set_active(username, True, by, db)


@user_app.command("set-roles")
def user_set_roles(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help=f"A role (repeat for more): {', '.join(ROLES)}")],
    by: By = None,
    db: DbOption = None,
) -> None:
    """Replace a user's roles."""
    with reported(), open_db(db).write() as conn:
        user = accounts.get_user(conn, username)
        user = accounts.update_user(conn, user["id"], _now(), _by(by), roles=role)
    console.print(f"{user['username']} now has roles {', '.join(user['roles'])}")


@user_app.command("set-vetting")
def user_set_vetting(
    username: str,
    vetting: Annotated[str, typer.Argument(help="Vetting level, e.g. NPPV3, SC, or SECRET")],
    by: By = None,
    db: DbOption = None,
) -> None:
    """Change a user's vetting."""
    with reported(), open_db(db).write() as conn:
        user = accounts.get_user(conn, username)
        user = accounts.update_user(conn, user["id"], _now(), _by(by), vetting=vetting)
    console.print(f"{user['username']} is now cleared for {user['vetting']}")


# ---- tokens ----


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as")],
    name: Annotated[str, typer.Option("--name", help="What uses it, e.g. 'ANPR feed'")],
    scope: Annotated[list[str], typer.Option("--scope", help=f"A scope (repeat): {', '.join(TOKEN_SCOPES)}")],
    purpose: Annotated[
        str | None, typer.Option("--purpose", help=f"Purpose declared for every call: {', '.join(PURPOSES)}")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Days until it expires (default: never)")
    ] = None,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Create an API token and print it, this once: it is stored only as a hash."""
    now = _now()
    expires_at = now + dt.timedelta(days=days) if days else None
    with reported(), open_db(db).write() as conn:
        user = accounts.get_user(conn, username)
        token_id, token = authn.create_token(
            conn, user["id"], name, scope, purpose, now, expires_at, by=_by(by)
        )
    when = f"expires {_fmt(expires_at)}" if expires_at else "does not expire"
    console.print(
        f"token {token_id} for {user['username']} ({', '.join(authn.check_scopes(scope))}; {when}). "
        "Store it now: it cannot be shown again."
    )
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(
    username: Annotated[str | None, typer.Option("--user", help="Only this user's tokens")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Only tokens of this agency's users")] = None,
    as_json: AsJson = False,
    db: DbOption = None,
) -> None:
    """API tokens (never the tokens themselves), newest first."""
    with reported(), open_db(db).read() as conn:
        user_id = accounts.get_user(conn, username)["id"] if username else None
        tokens = authn.list_tokens(conn, user_id, agency=accounts.agency_code(agency) if agency else None)
    if as_json:
        print_json(tokens)
        return
    table = Table(
        id_column("id"),
        "name",
        "user",
        "scopes",
        "purpose",
        "status",
        "expires",
        "last used",
        title="API tokens",
    )
    for t in tokens:
        table.add_row(
            t["id"],
            escape(t["name"]),
            t["username"],
            _fmt(t["scopes"]),
            _fmt(t["purpose"]),
            t["status"],
            _fmt(t["expires_at"]),
            _fmt(t["last_used_at"]),
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str, by: By = None, db: DbOption = None) -> None:
    """Revoke a token: it stops working at once."""
    with reported(), open_db(db).write() as conn:
        authn.revoke_token(conn, token_id, _now(), by=_by(by))
    console.print(f"revoked token {token_id}")
