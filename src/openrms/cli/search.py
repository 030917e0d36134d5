"""`openrms search`, `openrms suggest` and `openrms search-reindex`: the search index from the command line.

The options are the parameters of `GET /search` (see docs/search.md), validated by the same parser, so a bad
value gets the same message here as over HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from openrms.cli.common import DbOption, console, id_column, open_db, out, print_json, reported
from openrms.cli.reader import reader

Opt = Annotated[str | None, typer.Option(show_default=False)]


def search_command(
    q: Annotated[str | None, typer.Argument(help="Free text, e.g. 'Jon Smyth born about 1985'")] = None,
    entity_type: Annotated[
        list[str] | None, typer.Option("--type", help="Entity type or category (repeatable)")
    ] = None,
    surname: Opt = None,
    forename: Opt = None,
    fuzzy: Annotated[bool, typer.Option(help="Match misspelt names")] = True,
    phonetic: Annotated[bool, typer.Option(help="Match names that sound alike")] = True,
    nicknames: Annotated[bool, typer.Option(help="Match nicknames (Bill / William)")] = True,
    dob: Annotated[str | None, typer.Option(help="1985, 1985-03, 1985-03-02 or ~1985")] = None,
    dob_from: Opt = None,
    dob_to: Opt = None,
    age_from: Opt = None,
    age_to: Opt = None,
    age_at: Opt = None,
    gender: Opt = None,
    pnc_id: Opt = None,
    cro_number: Opt = None,
    ni_number: Opt = None,
    passport_number: Opt = None,
    driving_licence: Opt = None,
    vin: Opt = None,
    vrm: Annotated[str | None, typer.Option(help="Whole or partial; ? one character, * any run")] = None,
    make: Opt = None,
    model: Opt = None,
    colour: Opt = None,
    phone: Opt = None,
    email: Opt = None,
    postcode: Annotated[str | None, typer.Option(help="Postcode, sector (LS1 4) or district (LS1)")] = None,
    street: Opt = None,
    town: Opt = None,
    lat: Opt = None,
    lon: Opt = None,
    radius_m: Annotated[
        str | None, typer.Option(help="Radius in metres (1-50000), with --lat and --lon")
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat")] = None,
    event_type: Opt = None,
    ho_class: Opt = None,
    offence_code: Opt = None,
    crime_type: Opt = None,
    outcome: Opt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Events on or after")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Events on or before")] = None,
    area: Opt = None,
    hate: Annotated[bool | None, typer.Option("--hate/--not-hate", help="Hate crimes only, or none")] = None,
    page: Annotated[int, typer.Option(help="Page number")] = 1,
    per_page: Annotated[int, typer.Option(help="Results per page (1-100)")] = 20,
    sort: Annotated[str, typer.Option(help="relevance, date or name")] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON")] = False,
    db: DbOption = None,
) -> None:
    """Search people, objects, places and events: one result per master, ranked, with why it matched."""
    from openrms.search.engine import search
    from openrms.search.query import from_options

    options: dict[str, Any] = dict(locals())
    for name in ("as_json", "db", "search", "from_options"):
        options.pop(name, None)
    options["type"] = options.pop("entity_type")
    options["from"], options["to"] = options.pop("date_from"), options.pop("date_to")
    for name, default in (("fuzzy", True), ("phonetic", True), ("nicknames", True), ("page", 1)):
        if options[name] == default:
            options.pop(name)
    for name, default in (("per_page", 20), ("sort", "relevance")):
        if options[name] == default:
            options.pop(name)
    with reported():
        query = from_options(options)
        database = open_db(db)
        caller = reader(database)
        caller.need_reason("searching")
        with database.read() as conn:
            answer = search(conn, query, caller.scope)
        shown = [rid for item in answer["results"] for rid in item["matched_records"]]
        caller.audited("search", shown, {"query": options, "total": answer["total"]})
    if as_json:
        print_json(answer)
        return
    if not answer["results"]:
        console.print("no results")
        return
    table = Table("score", "type", "title", "records", id_column("master"), "why")
    for item in answer["results"]:
        why = "; ".join(f"{w['field']}: {w['rule']}" for w in item["why"][:5])
        table.add_row(
            f"{item['score']:.2f}",
            item["entity_type"],
            item["title"],
            str(item["records"]),
            item["master_id"],
            why,
        )
    out.print(table)
    more = "+" if answer["truncated"] else ""
    console.print(f"{answer['total']}{more} results, page {answer['page']}; {answer['took_ms']} ms")


def suggest_command(
    field: Annotated[str, typer.Argument(help="name or vrm")],
    prefix: Annotated[str, typer.Argument(help="What has been typed so far")],
    db: DbOption = None,
) -> None:
    """Search-as-you-type: up to 10 masters whose name or VRM starts with PREFIX (as JSON)."""
    from openrms.search.suggest import suggest

    with reported():
        database = open_db(db)
        caller = reader(database)
        with database.read() as conn:
            found = suggest(conn, field, prefix, caller.scope)
        caller.audited("suggest", [s["record_id"] for s in found["suggestions"]], {"field": field})
    print_json(found)


def reindex_command(db: DbOption = None) -> None:
    """Rebuild the search index from the stored records (after an upgrade, or a load without the hooks)."""
    from openrms.search.index import build_index

    with reported():
        done = build_index(open_db(db))
    console.print(f"indexed {done:,} records")
