"""`openrms match` and `openrms resolve`: check a record against the master index, re-resolve the index."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from openrms.cli.common import (
    DbOption,
    console,
    id_column,
    open_db,
    out,
    parse_assignments,
    print_json,
    reported,
)
from openrms.cli.reader import reader

TYPES_HELP = "person, vehicle, telephone, email, address or organisation"
SET_HELP = "field=value, e.g. -s surname=Smyth -s forenames=Jon"


def match_command(
    entity_type: Annotated[
        str, typer.Argument(help="person, vehicle, telephone, email, address or organisation")
    ],
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="field=value, e.g. -s surname=Smyth -s forenames=Jon"),
    ] = None,
    limit: Annotated[int, typer.Option(help="Most candidates to show")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full answer as JSON")] = False,
    db: DbOption = None,
) -> None:
    """Find the masters a record may describe, without saving it: graded candidates and why."""
    from openrms.identity.resolver import match

    with reported():
        data = parse_assignments(assignments or [])
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            answer = match(conn, entity_type, data, caller.scope, limit=limit)
        shown = [c["record_id"] for c in answer["candidates"]]
        caller.audited("match", shown, {"entity_type": entity_type, "restricted": len(answer["restricted"])})
    if as_json:
        print_json(answer)
        return
    if not answer["candidates"] and not answer["restricted"]:
        console.print("no candidates: this looks like a new " + entity_type)
        return
    table = Table("grade", "probability", id_column("master"), id_column("record"), "title", "why")
    for c in answer["candidates"]:
        why = "; ".join(f"{w['comparison']}: {w['level']}" for w in c["why"][:4])
        table.add_row(
            c["grade"], f"{c['probability']:.4f}", c["master_id"], c["record_id"], c["title"] or "", why
        )
    out.print(table)
    for r in answer["restricted"]:
        console.print(f"[yellow]{r['grade']}[/yellow]: {r['message']}")


def resolve_command(
    entity_type: Annotated[str, typer.Option("--type", help="Entity type to resolve")] = "person",
    retrain: Annotated[bool, typer.Option(help="Train a new model version on the index first")] = True,
    db: DbOption = None,
) -> None:
    """(Re)train the match model on the index's own data and re-resolve every record (one undoable event)."""
    import openrms.identity.hooks  # noqa: F401  (records written meanwhile stay indexed)
    from openrms.identity.batch import resolve_all

    with reported():
        database = open_db(db)
        try:
            report = resolve_all(
                database,
                entity_type=entity_type,
                retrain=retrain,
                progress=lambda message: console.print(f"[dim]{message}...[/dim]"),
            )
        except ValueError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    table = Table("figure", "value")
    for key, value in report.items():
        if key != "seconds":
            table.add_row(key.replace("_", " "), str(value))
    for key, value in report.get("seconds", {}).items():
        table.add_row(f"seconds: {key}", f"{value:.2f}")
    out.print(table)
    if report.get("event_id"):
        console.print(f"undo with: openrms master undo {report['event_id']} --reason '...'")
