"""The `openrms` command: set up a database, serve the API, load the demo, work with records, export."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

import openrms.identity.hooks  # every write maintains the master index
import openrms.search.hooks  # noqa: F401  (... and the search index)
from openrms import __version__
from openrms.cli.access import agency_app, token_app, user_app
from openrms.cli.audit import audit_app
from openrms.cli.common import DbOption, console, open_db, out, print_json, reported
from openrms.cli.identity import match_command, resolve_command
from openrms.cli.imports import import_command, quarantine_app
from openrms.cli.masters import master_app, review_app
from openrms.cli.reader import reader, set_caller
from openrms.cli.records import link_app, record_app
from openrms.cli.search import reindex_command, search_command, suggest_command
from openrms.errors import NotFound, with_article
from openrms.schema import FieldDef, registry
from openrms.schema.model import CodeList
from openrms.store import migrate
from openrms.store.database import Database
from openrms.store.export import export_jsonl

app = typer.Typer(
    name="openrms",
    help="OpenRMS: one records platform for police forces and their justice partners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(record_app, name="record")
app.add_typer(link_app, name="link")
app.add_typer(master_app, name="master")
app.add_typer(master_app, name="masters", hidden=True)  # `openrms masters export ...` reads naturally too
app.add_typer(review_app, name="review")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.command("import")(import_command)
app.command("match")(match_command)
app.command("resolve")(resolve_command)
app.command("search")(search_command)
app.command("suggest")(suggest_command)
app.command("search-reindex")(reindex_command)

DEMO_DB = "openrms-demo.db"


def _version(value: bool) -> None:
    if value:
        print(f"openrms {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Read as this user, through their access policy (env OPENRMS_USER); "
            "without it, reads are the operator's, audited as cli:<login>",
            show_default=False,
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(help="Purpose of access, with --as (env OPENRMS_PURPOSE)", show_default=False),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            help="Reason, e.g. a crime number; searches need one (env OPENRMS_REASON)", show_default=False
        ),
    ] = None,
) -> None:
    """Configure with --db or OPENRMS_DATABASE_URL (default: the SQLite file ./openrms.db). Every read
    command is audited."""
    set_caller(as_user, purpose, reason)


@app.command()
def init(db: DbOption = None) -> None:
    """Create the database, or migrate it to the current schema."""
    with reported():
        database = open_db(db)
        before = migrate.current(database)
        after = migrate.upgrade(database)
    console.print(f"{database!r}: schema {before or 'none'} -> {after}")


def _serve(database: Database, host: str, port: int) -> None:
    import uvicorn

    from openrms.api.app import create_app

    console.print(f"OpenRMS {__version__} on {database!r}")
    console.print(f"Web:  http://{host}:{port}/ui/")
    console.print(f"API:  http://{host}:{port}/docs   (OpenAPI: http://{host}:{port}/openapi.json)")
    uvicorn.run(create_app(database), host=host, port=port, log_level="info")


@app.command()
def serve(db: DbOption = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the HTTP API (and, as it lands, the web UI) with uvicorn."""
    with reported():
        database = open_db(db)
        migrate.upgrade(database)
    _serve(database, host, port)


@app.command()
def demo(
    db: Annotated[str, typer.Option("--db", help="Where to build the demo database")] = DEMO_DB,
    people: Annotated[int, typer.Option(help="Synthetic people to generate")] = 20000,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic population")] = 7,
    fresh: Annotated[bool, typer.Option(help="Delete an existing demo SQLite file first")] = False,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve once loaded")] = True,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build a demo database (police.uk crimes + a synthetic population with duplicates), then serve it."""
    from openrms.demo.load import is_loaded, load_demo

    if fresh and "://" not in db:
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    with reported():
        database = open_db(db)
        migrate.upgrade(database)
        if is_loaded(database):
            console.print(f"{db} already holds the demo; `openrms demo --fresh` rebuilds it", soft_wrap=True)
        else:
            _load_demo(database, people, seed, load_demo)
    _print_demo_accounts()
    if serve_after:
        _serve(database, host, port)


def _print_demo_accounts() -> None:
    from openrms.demo.accounts import DEMO_PASSWORD, USERS

    table = Table("username", "agency", "roles", title=f"Demo accounts (password: {DEMO_PASSWORD})")
    for username, (_, agency, roles, _) in USERS.items():
        table.add_row(username, agency, ", ".join(roles))
    console.print(table)


def _load_demo(database: Database, people: int, seed: int, load: Any) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TextColumn("{task.fields[rate]:>8,.0f}/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        tasks = {
            "crimes": bar.add_task("police.uk crimes and places", total=None, rate=0.0),
            "people": bar.add_task("synthetic people", total=None, rate=0.0),
        }

        def tick(stage: str, done: int) -> None:
            task = bar.tasks[tasks[stage]]
            bar.update(tasks[stage], advance=done, rate=(task.completed + done) / (task.elapsed or 1e-9))

        summary = load(database, people=people, seed=seed, progress=tick)
    table = Table("records", "count", title=f"Demo loaded in {summary.seconds:.1f} s")
    for name, count in sorted(summary.records.items()):
        table.add_row(name, f"{count:,}")
    table.add_row("links", f"{sum(summary.links.values()):,}")
    console.print(table)


@app.command()
def export(
    output: Annotated[Path, typer.Option("--out", help="File to write; - for standard output")] = Path("-"),
    entity_type: Annotated[str | None, typer.Option("--type", help="Only this entity type")] = None,
    with_links: Annotated[bool, typer.Option("--links/--no-links", help="Also export links")] = True,
    db: DbOption = None,
) -> None:
    """Export current records (and links) as JSON Lines, one object per line with a "kind"."""
    with reported():
        database = open_db(db)
        caller = reader(database)
        caller.audited("export", (), {"entity_type": entity_type, "links": with_links, "out": str(output)})
        with database.read() as conn:
            handle = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8")
            try:
                counts = export_jsonl(
                    conn, handle, caller.scope, entity_type=entity_type, with_links=with_links
                )
            finally:
                if handle is not sys.stdout:
                    handle.close()
    console.print(f"exported {_plural(counts['records'], 'record')} and {_plural(counts['links'], 'link')}")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@app.command()
def schema(
    entity_type: Annotated[str | None, typer.Argument(help="Show one entity type's fields")] = None,
    codes: Annotated[
        str | None, typer.Option("--codes", help="Show one code list's codes and labels (e.g. gender)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="As JSON (the whole registry, the one type, or the code list)")
    ] = False,
) -> None:
    """Show the POLE registry: entity types, fields, link types, code lists."""
    reg = registry()
    with reported():
        if entity_type is not None and entity_type not in reg.entity_types:
            raise NotFound(f"no entity type {entity_type!r}; known: {', '.join(sorted(reg.entity_types))}")
        if codes is not None and codes not in reg.codelists:
            raise NotFound(f"no code list {codes!r}; known: {', '.join(sorted(reg.codelists))}")
    if codes is not None:
        _print_codelist(reg.codelists[codes], as_json)
        return
    if as_json:
        print_json(reg.as_dict() if entity_type is None else reg.entity(entity_type).as_dict())
        return
    if entity_type is None:
        table = Table("entity type", "category", "fields", "description")
        for etype in reg.entity_types.values():
            table.add_row(etype.name, etype.category, str(len(etype.fields)), etype.description)
        out.print(table)
        links = Table("link type", "meaning", "from", "to")
        for ltype in reg.link_types.values():
            links.add_row(
                ltype.name,
                ltype.label,
                ", ".join(sorted(ltype.from_types)),
                ", ".join(sorted(ltype.to_types)),
            )
        out.print(links)
        return
    table = Table("field", "type", "required", "notes", title=reg.entity(entity_type).label)
    _field_rows(table, reg.entity(entity_type).fields.values(), "")
    out.print(table)
    used = Table("code list", "codes", title="Code lists of its fields (a mapping must give these codes)")
    for name in sorted(_codelists_of(reg.entity(entity_type).fields.values())):
        listed = reg.codelists[name].codes
        shown = ", ".join(list(listed)[:CODES_SHOWN])
        more = len(listed) - CODES_SHOWN
        used.add_row(name, shown + (f" … and {more} more: openrms schema --codes {name}" if more > 0 else ""))
    if used.row_count:
        out.print(used)
    joins = Table("link type", "meaning", "from", "to", title=f"Links {with_article(entity_type)} can have")
    for ltype in reg.link_types.values():
        if entity_type in ltype.from_types or entity_type in ltype.to_types:
            ends = [
                ", ".join(sorted(t)) if entity_type not in t else entity_type
                for t in (ltype.from_types, ltype.to_types)
            ]
            joins.add_row(ltype.name, ltype.label, *ends)
    if joins.row_count:
        out.print(joins)


CODES_SHOWN = 12  # codes listed inline under an entity type; longer lists are shown with --codes


def _codelists_of(fields: Iterable[FieldDef]) -> set[str]:
    found: set[str] = set()
    for fdef in fields:
        if fdef.codelist:
            found.add(fdef.codelist)
        found |= _codelists_of(fdef.fields.values())
    return found


def _print_codelist(codelist: CodeList, as_json: bool) -> None:
    if as_json:
        print_json({"name": codelist.name, "description": codelist.description, "codes": codelist.codes})
        return
    table = Table("code", "label", title=codelist.name, caption=codelist.description or None)
    for code, label in codelist.codes.items():
        table.add_row(code, label)
    out.print(table)


def _field_rows(table: Table, fields: Iterable[FieldDef], prefix: str) -> None:
    for fdef in fields:
        kind = f"{fdef.type}({fdef.codelist})" if fdef.codelist else fdef.type
        table.add_row(
            prefix + fdef.name,
            kind + ("[]" if fdef.many else ""),
            "yes" if fdef.required else "",
            fdef.help or fdef.label,
        )
        _field_rows(table, fdef.fields.values(), f"{prefix}{fdef.name}.")


@app.command(hidden=True)
def reference(output: Annotated[Path, typer.Option("--out")] = Path("docs/reference")) -> None:
    """Regenerate the CLI and schema reference pages from the code."""
    from openrms.cli.reference import write

    for path in write(app, output):
        console.print(f"wrote {path}")


def main() -> None:
    app()


__all__ = ["app", "main"]


if __name__ == "__main__":
    main()
