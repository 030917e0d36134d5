"""`openrms record ...` and `openrms link ...`: the store from the command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Connection

from openrms.cli.common import DbOption, console, open_db, out, parse_assignments, print_json, reported
from openrms.cli.reader import reader
from openrms.errors import BadRequest
from openrms.schema.types import LONDON
from openrms.store import links as link_store
from openrms.store import records as writes
from openrms.store import views
from openrms.store.provenance import Provenance
from openrms.store.scope import ReadScope

record_app = typer.Typer(help="Create, read and change source records.", no_args_is_help=True)
link_app = typer.Typer(help="Link records to each other.", no_args_is_help=True)

Agency = Annotated[str, typer.Option(help="Owning agency code, e.g. WYP")]
System = Annotated[str, typer.Option("--source-system", help="Source system name")]
By = Annotated[str, typer.Option("--by", help="Who is recording this (user or collar number)")]


def _data(data_json: str | None, data_file: Path | None, assignments: list[str]) -> dict:
    data: dict = {}
    for label, text in (
        ("--file", data_file.read_text(encoding="utf-8") if data_file else None),
        ("--json", data_json),
    ):
        if text is None:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"{label} is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BadRequest(f"{label} must be a JSON object of fields, not {type(value).__name__}")
        data.update(value)
    data.update(parse_assignments(assignments))
    return data


@record_app.command("add")
def record_add(
    entity_type: Annotated[
        str, typer.Argument(help="Entity type, e.g. person, vehicle, crime (see `openrms schema`)")
    ],
    by: By,
    agency: Agency = "LOCAL",
    source_system: System = "CLI",
    source_key: Annotated[
        str | None, typer.Option(help="Key in the source system; omit for a new entry")
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", "-s", help="field=value (repeatable; dots for sub-fields)")
    ] = [],  # noqa: B006
    data_json: Annotated[str | None, typer.Option("--json", help="All fields as a JSON object")] = None,
    data_file: Annotated[Path | None, typer.Option("--file", help="A JSON file of fields")] = None,
    classification: str = "OFFICIAL",
    handling: str = "P",
    db: DbOption = None,
) -> None:
    """Validate and store a new record (version 1, its own master); prints its id."""
    with reported():
        prov = Provenance(
            agency=agency,
            source_system=source_system,
            recorded_by=by,
            source_key=source_key,
            classification=classification,
            handling=handling,
        )
        item = writes.NewRecord(entity_type, _data(data_json, data_file, set_), prov)
        with open_db(db).write() as conn:
            outcome = writes.create_record(conn, item)
    for warning in outcome.warnings:
        console.print(f"[yellow]warning[/yellow] {warning.path}: {warning.message}")
    print_json(outcome.as_dict())


@record_app.command("update")
def record_update(
    record_id: str,
    version: Annotated[int, typer.Option(help="The version you read (a stale one is refused)")],
    by: By,
    set_: Annotated[list[str], typer.Option("--set", "-s", help="field=value to change (null removes)")] = [],  # noqa: B006
    reason: str | None = None,
    db: DbOption = None,
) -> None:
    """Change fields of a record, writing a new version."""
    with reported(), open_db(db).write() as conn:
        outcome = writes.update_record(
            conn, record_id, parse_assignments(set_), version, recorded_by=by, merge=True, reason=reason
        )
    print_json(outcome.as_dict())


@record_app.command("show")
def record_show(
    record_id: str,
    as_at: Annotated[
        dt.datetime | None, typer.Option(help="Show the record as it stood then (UK local time)")
    ] = None,
    version: Annotated[int | None, typer.Option(help="Show this version")] = None,
    db: DbOption = None,
) -> None:
    """Print a record (JSON): data, provenance, warnings and data-quality flags."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        when = as_at.replace(tzinfo=LONDON) if as_at and as_at.tzinfo is None else as_at  # UK local time
        with database.read() as conn:
            view = views.get_record(conn, record_id, caller.scope, as_at=when, version=version)
        caller.audited("read", [record_id], {"version": view["version"]})
    print_json(view)


@record_app.command("history")
def record_history(
    record_id: str, as_json: Annotated[bool, typer.Option("--json")] = False, db: DbOption = None
) -> None:
    """Every version of a record, oldest first."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            versions = views.history(conn, record_id, caller.scope)
        caller.audited("read-history", [record_id])
    if as_json:
        print_json(versions)
        return
    table = Table("version", "recorded at", "by", "classification", "deleted", "changes")
    previous: dict = {}
    for v in versions:
        p = v["provenance"]
        table.add_row(
            str(v["version"]),
            p["recorded_at"],
            p["recorded_by"],
            p["classification"],
            "yes" if v["deleted"] else "",
            _changes(previous, v["data"]),
        )
        previous = v["data"]
    out.print(table)


def _changes(before: dict, after: dict) -> str:
    """What a version changed, one field a line: `surname: Smith -> Smyth`, `+ gender: M`, `- aliases`."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        shown = json.dumps(new, ensure_ascii=False)
        if key not in before:
            lines.append(f"+ {key}: {shown}")
        elif key not in after:
            lines.append(f"- {key}")
        else:
            lines.append(f"{key}: {json.dumps(old, ensure_ascii=False)} -> {shown}")
    return "\n".join(lines) or "(no field changed)"


@record_app.command("list")
def record_list(
    entity_type: Annotated[str | None, typer.Option("--type")] = None,
    limit: int = 20,
    after: str | None = None,
    db: DbOption = None,
) -> None:
    """List records (id order); pass the printed next_after to --after for the next page."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            page = views.list_records(conn, caller.scope, entity_type=entity_type, limit=limit, after=after)
        caller.audited("list", [i["id"] for i in page.items], {"type": entity_type, "after": after})
    print_json(
        {
            "items": [{"id": i["id"], "type": i["entity_type"], "title": i["title"]} for i in page.items],
            "next_after": page.next_after,
        }
    )


@link_app.command("add")
def link_add(
    link_type: Annotated[str, typer.Argument(help="e.g. SUSPECT, RESIDES_AT (see `openrms schema`)")],
    from_id: str,
    to_id: str,
    by: By,
    agency: Agency = "LOCAL",
    source_system: System = "CLI",
    valid_from: str | None = None,
    valid_to: str | None = None,
    db: DbOption = None,
) -> None:
    """Link two records; the link type must allow their entity types."""
    with reported(), open_db(db).write() as conn:
        prov = Provenance(agency=agency, source_system=source_system, recorded_by=by)
        item = link_store.NewLink(link_type, from_id, to_id, prov, valid_from, valid_to)
        print_json(link_store.upsert_links(conn, [item])[0])


@link_app.command("list")
def link_list(
    record_id: str,
    link_type: Annotated[str | None, typer.Option("--type", help="Only links of this type")] = None,
    db: DbOption = None,
) -> None:
    """Print a record's links (JSON), each with its type, ends and provenance: what an import linked it to."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            views.get_record(conn, record_id, caller.scope)  # an unknown or hidden record is an error
            found = link_store.links_of(conn, [record_id], caller.scope, link_type=link_type)
        caller.audited("read-links", {record_id} | {e for x in found for e in (x["from_id"], x["to_id"])})
    print_json(found)


@link_app.command("history")
def link_history(link_id: str, db: DbOption = None) -> None:
    """Print every version of a link (JSON), oldest first, each with the reason it was made: a link an
    import retracted names the link that replaced it."""
    _print_link(link_id, db, link_store.link_history)


@link_app.command("show")
def link_show(link_id: str, db: DbOption = None) -> None:
    """Print a link (JSON): its type, ends, validity dates and provenance."""
    _print_link(link_id, db, link_store.get_link)


def _print_link(link_id: str, db: str | None, read: Callable[[Connection, str, ReadScope], Any]) -> None:
    """A link, or its versions, as the caller may read it: on the audit trail as a read of its ends."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            found = read(conn, link_id, caller.scope)
        latest = found[-1] if isinstance(found, list) else found
        caller.audited("read-link", [latest["from_id"], latest["to_id"]], {"link": link_id})
    print_json(found)
