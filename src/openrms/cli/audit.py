"""`openrms audit ...`: verify the tamper-evident audit trail, see who saw a record and what a user did.

`verify` exits 0 when the chain is intact (and prints its head, to record elsewhere as an anchor), 1 with
every problem found when it is not, so it can run from cron or a monitoring check. Reading the trail from
here (`who-saw`, `user`, `list`) is itself put on the trail, as through the API; `verify` discloses
nothing about anyone and appends nothing, so the head it prints stays the head.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openrms.access import audit
from openrms.cli.common import DbOption, console, open_db, out, print_json, reported
from openrms.schema.types import FieldTypeError, utc
from openrms.store.database import Database

audit_app = typer.Typer(
    help="The audit trail: verify it, who saw a record, what a user did.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="As JSON")]
By = Annotated[
    str | None,
    typer.Option("--by", help="Who is reading the trail (default: your login name)", show_default=False),
]
Since = Annotated[
    str | None,
    typer.Option("--since", help="From this time (ISO 8601; without an offset, UK local time)"),
]
Until = Annotated[str | None, typer.Option("--until", help="Before this time (ISO 8601)")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="At most this many entries")]


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "cli"


def _moment(option: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return utc(dt.datetime.fromisoformat(value.strip()))
    except (ValueError, FieldTypeError) as exc:
        raise typer.BadParameter(f"{value!r} is not a date and time ({exc})", param_hint=option) from None


def _audit_read(database: Database, by: str | None, command: str, **detail: Any) -> None:
    with database.write() as conn:
        audit.append(
            conn,
            actor=_by(by),
            agency=None,
            action="audit-read",
            purpose="audit",
            detail={"via": "cli", "command": command, **detail},
        )


def _anchor(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise typer.BadParameter(f"{value!r} is not SEQ:HASH (a seq and a 64-character SHA-256)")
    return int(seq), digest


@audit_app.command("verify")
def verify_command(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="SEQ:HASH of an entry recorded outside the database (repeatable); it must still be there",
        ),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Rows read per query")] = 10000,
    as_json: AsJson = False,
    db: DbOption = None,
) -> None:
    """Check the audit trail's hash chain: every entry unchanged, none removed, replaced or reordered.

    Exit code 0 when intact (prints the head entry's seq and hash: record them elsewhere as an anchor),
    1 when not, with each problem naming its entry."""
    anchors = dict(_anchor(a) for a in anchor or [])
    with reported():
        database = open_db(db)
        with database.read() as conn:
            total = audit.head(conn)[0]
            columns = (
                TextColumn("verifying the audit trail"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} entries"),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True, disable=total < 2 * batch) as bar:
                task = bar.add_task("verify", total=total)
                result = audit.verify(
                    conn,
                    batch=batch,
                    anchors=anchors,
                    progress=lambda checked, _total: bar.update(task, completed=checked),
                )
    if as_json:
        print_json(result.as_dict())
    elif result.ok:
        out.print(f"audit trail intact: {result.checked:,} entries checked")
        out.print(f"head: entry {result.head_seq} {result.head_hash}")
    else:
        more = " (stopped there)" if result.truncated else ""
        out.print(
            f"[red]audit trail broken:[/red] {len(result.problems)} problem(s) in {result.checked:,} "
            f"entries checked{more}"
        )
        for problem in result.problems:
            out.print(f"  [red]{problem.kind}[/red] {escape(problem.message)}")
        out.print(f"last entry: {result.head_seq} {result.head_hash}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("who-saw")
def who_saw_command(
    record_id: Annotated[str, typer.Argument(help="The record's id")],
    limit: Limit = 1000,
    as_json: AsJson = False,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Everyone who saw or changed a record, newest first: when, who, agency, action, purpose, reason."""
    with reported():
        database = open_db(db)
        with database.read() as conn:
            items = audit.who_saw(conn, record_id, limit=limit)
        _audit_read(database, by, "who-saw", record=record_id, returned=len(items))
    if as_json:
        print_json(items)
        return
    table = Table("seq", "at", "actor", "agency", "action", "purpose", "reason", title=f"Who saw {record_id}")
    for e in items:
        table.add_row(*_cells(e, "seq", "at", "actor", "agency", "action", "purpose", "reason"))
    out.print(table)
    if not items:
        console.print(f"nobody has seen or changed {record_id} (or it does not exist)")


@audit_app.command("user")
def user_command(
    username: Annotated[str, typer.Argument(help="The user (the actor named in entries)")],
    since: Since = None,
    until: Until = None,
    limit: Limit = 1000,
    as_json: AsJson = False,
    by: By = None,
    db: DbOption = None,
) -> None:
    """What a user did, newest first, with the records each action disclosed or changed."""
    start, end = _moment("--since", since), _moment("--until", until)
    with reported():
        database = open_db(db)
        with database.read() as conn:
            items = audit.by_user(conn, username, since=start, until=end, limit=limit)
        _audit_read(database, by, "user", user=username, returned=len(items))
    _entries_out(items, as_json, f"What {username} did")


@audit_app.command("list")
def list_command(
    action: Annotated[str | None, typer.Option("--action", help="Only this action")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user")] = None,
    record_id: Annotated[str | None, typer.Option("--record", help="Only entries naming this record")] = None,
    since: Since = None,
    until: Until = None,
    oldest: Annotated[bool, typer.Option("--oldest", help="Oldest first (default: newest first)")] = False,
    after: Annotated[
        int | None, typer.Option("--after", min=0, max=2**63 - 1, help="Continue after this seq")
    ] = None,
    limit: Limit = 20,
    as_json: AsJson = False,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Audit entries, newest first, filtered."""
    start, end = _moment("--since", since), _moment("--until", until)
    with reported():
        database = open_db(db)
        with database.read() as conn:
            items = audit.entries(
                conn,
                actor=actor,
                action=action,
                record_id=record_id,
                since=start,
                until=end,
                after_seq=after,
                limit=limit,
                newest_first=not oldest,
            )
        filters = {"action": action, "actor": actor, "record": record_id, "since": since, "until": until}
        _audit_read(
            database, by, "list", **{k: v for k, v in filters.items() if v is not None}, returned=len(items)
        )
    _entries_out(items, as_json, "Audit entries")


def _entries_out(items: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        print_json(items)
        return
    table = Table("seq", "at", "actor", "agency", "action", "purpose", "records", "reason", title=title)
    for e in items:
        ids = e["record_ids"]
        shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5})" if len(ids) > 5 else "")
        table.add_row(
            *_cells(e, "seq", "at", "actor", "agency", "action", "purpose"), shown, *_cells(e, "reason")
        )
    out.print(table)


def _cells(entry: dict[str, Any], *keys: str) -> list[str]:
    return [escape("" if entry[k] is None else str(entry[k])) for k in keys]
