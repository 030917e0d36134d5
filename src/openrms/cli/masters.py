"""`openrms master ...` and `openrms review ...`: the master index from the command line.

Show a master's golden view and history, merge, split and undo, export the index as CSV, and work the
review queue of pairs the model could not decide.
"""

from __future__ import annotations

import getpass
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection, select

from openrms.cli.common import DbOption, console, id_column, open_db, out, print_json, reported
from openrms.cli.reader import reader
from openrms.identity import export, judgements, membership, survivorship
from openrms.store.tables import record

master_app = typer.Typer(help="Master entities: clusters of source records.", no_args_is_help=True)
review_app = typer.Typer(help="The review queue: pairs the model left for a person.", no_args_is_help=True)

By = Annotated[
    str | None,
    typer.Option("--by", help="Who is doing this (default: your login name)", show_default=False),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why: kept with the change")]
AsJson = Annotated[bool, typer.Option("--json", help="As JSON")]


class Decision(StrEnum):
    same = "same"
    different = "different"
    unsure = "unsure"


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "cli"


@master_app.command("show")
def master_show(
    master_id: str,
    with_history: Annotated[bool, typer.Option("--history", help="Also list its membership history")] = False,
    db: DbOption = None,
) -> None:
    """A master with its source records, golden view (each value with its source and rule) and links."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            view = survivorship.master_view(conn, master_id, caller.scope, with_history=with_history)
        caller.audited("read-master", [r["id"] for r in view["records"]], {"master": master_id})
    print_json(view)


@master_app.command("merge")
def master_merge(
    master_ids: Annotated[list[str], typer.Argument(help="Two or more master ids; the oldest survives")],
    reason: Reason = None,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Merge masters: every record of the others moves to the oldest.

    Refused if a person judged two of their records different: record a new judgement first."""
    with reported(), open_db(db).write() as conn:
        result = membership.merge_masters(conn, master_ids, by=_by(by), reason=reason)
    console.print(f"merged {len(set(master_ids))} masters into {result.master_id}")
    print_json({"event_id": result.event_id, "master_id": result.master_id})


@master_app.command("split")
def master_split(
    record_ids: Annotated[list[str], typer.Argument(help="Records to split off their masters")],
    reason: Reason = None,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Split records off their masters, each back to a master of its own."""
    with reported(), open_db(db).write() as conn:
        event_id = membership.split_records(conn, record_ids, by=_by(by), reason=reason)
        masters = _masters_of(conn, record_ids)
    print_json({"event_id": event_id, "masters": masters})


def _masters_of(conn: Connection, record_ids: list[str]) -> dict[str, str]:
    rows = conn.execute(select(record.c.id, record.c.master_id).where(record.c.id.in_(record_ids)))
    return {row.id: row.master_id for row in rows}


@master_app.command("undo")
def master_undo(
    event_id: Annotated[str, typer.Argument(help="The event to undo (see `master history`)")],
    reason: Reason = None,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Undo a merge or split exactly (an unmerge): its records go back where they were."""
    with reported(), open_db(db).write() as conn:
        new_id = membership.undo(conn, event_id, by=_by(by), reason=reason)
    print_json({"event_id": new_id, "undoes": event_id})


@master_app.command("history")
def master_history(master_id: str, as_json: AsJson = False, db: DbOption = None) -> None:
    """Every membership change of a master, newest first."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            events = membership.history(conn, master_id, scope=caller.scope)
        caller.audited("read-master-history", (), {"master": master_id})
    if as_json:
        print_json(events)
        return
    table = Table(
        id_column("event"), "action", "at", "by", "reason", "records moved", title=f"Master {master_id}"
    )
    for e in events:
        action = e["action"]
        if e["undoes"]:
            action += f" (undoes {e['undoes']})"
        if e["undone_by"]:
            action += f" (undone by {e['undone_by']})"
        moved = "\n".join(f"{r['id']}: {r['from']} -> {r['to']}" for r in e["records"][:20])
        if len(e["records"]) > 20:
            moved += f"\n... and {len(e['records']) - 20} more"
        table.add_row(e["id"], action, e["at"], e["by"], escape(e["reason"] or ""), moved)
    out.print(table)


@master_app.command("export")
def master_export(
    entity_type: Annotated[str, typer.Option("--type", help="Entity type, e.g. person")],
    output: Annotated[Path, typer.Option("--out", help="CSV file to write; - for standard output")] = Path(
        "-"
    ),
    db: DbOption = None,
) -> None:
    """Write the master index as CSV, one row per live record.

    Columns: agency, source_system, source_key, record_id, master_id; in record id order."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        export.check_entity_type(entity_type)
        caller.audited("export-masters", (), {"entity_type": entity_type, "out": str(output)})
    with reported(), database.read() as conn:
        handle = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8", newline="")
        try:
            count = export.export_masters(conn, entity_type, handle, caller.scope)
        finally:
            if handle is not sys.stdout:
                handle.close()
    console.print(f"exported {count:,} {entity_type} record{'' if count == 1 else 's'}")


@review_app.command("list")
def review_list(
    entity_type: Annotated[str | None, typer.Option("--type", help="Only pairs of this entity type")] = None,
    limit: Annotated[int, typer.Option(help="How many pairs")] = 20,
    after: Annotated[str | None, typer.Option(help="The last judgement of the previous page")] = None,
    as_json: AsJson = False,
    db: DbOption = None,
) -> None:
    """Pairs waiting for a person, most likely match first, with the fields that differ."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            items = judgements.review_queue(
                conn, entity_type=entity_type, limit=limit, after=after, scope=caller.scope
            )
        shown = {i["records"][k]["id"] for i in items for k in ("a", "b")}
        caller.audited("review-list", shown)
    if as_json:
        print_json(items)
        return
    table = Table(
        id_column("judgement"), "probability", "record a", "record b", "differs in", title="Review queue"
    )
    for item in items:
        a, b = item["records"]["a"], item["records"]["b"]
        probability = "" if item["probability"] is None else f"{item['probability']:.3f}"
        table.add_row(
            item["judgement_id"],
            probability,
            escape(f"{a['title']} ({a['provenance']['source_system']})"),
            escape(f"{b['title']} ({b['provenance']['source_system']})"),
            ", ".join(item["differences"]),
        )
    out.print(table)
    if len(items) == limit:
        console.print(f"more: --after {items[-1]['judgement_id']}")


@review_app.command("show")
def review_show(judgement_id: str, as_json: AsJson = False, db: DbOption = None) -> None:
    """One judged pair side by side: each field of both records, and the model's explanation."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            item = judgements.review_item(conn, judgement_id, scope=caller.scope)
        caller.audited("review-read", [item["records"]["a"]["id"], item["records"]["b"]["id"]])
    if as_json:
        print_json(item)
        return
    a, b = item["records"]["a"], item["records"]["b"]
    table = Table(
        "field",
        f"a: {a['id']}\n{a['provenance']['agency']}/{a['provenance']['source_system']}",
        f"b: {b['id']}\n{b['provenance']['agency']}/{b['provenance']['source_system']}",
        "",
        title=f"Judgement {judgement_id}: {item['decision']} by {item['by']}"
        + ("" if item["probability"] is None else f", p={item['probability']:.3f}"),
    )
    table.add_row("master", a["master_id"], b["master_id"], "same" if item["same_master"] else "")
    for row in item["comparison"]:
        table.add_row(
            row["field"], escape(_shown(row["a"])), escape(_shown(row["b"])), "" if row["same"] else "differs"
        )
    out.print(table)
    if item["explanation"]:
        out.print(escape(json.dumps(item["explanation"], ensure_ascii=False, indent=2)))


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@review_app.command("decide")
def review_decide(
    judgement_id: str,
    decision: Annotated[Decision, typer.Argument(help="same, different or unsure")],
    reason: Reason = None,
    by: By = None,
    db: DbOption = None,
) -> None:
    """Decide a pair and apply it: same merges, different splits the later record off.

    unsure only records the decision (the pair leaves the queue)."""
    with reported(), open_db(db).write() as conn:
        outcome = judgements.decide(conn, judgement_id, decision.value, by=_by(by), reason=reason)
    print_json(outcome)
