"""`openrms import ...` and `openrms quarantine ...`: bring legacy data in, and deal with what did not fit."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column, Table
from rich.tree import Tree

from openrms.access.policy import Policy
from openrms.cli.common import (
    DbOption,
    console,
    id_column,
    open_db,
    out,
    print_json,
    reported,
    write_text,
)
from openrms.cli.reader import Reader, reader
from openrms.errors import Forbidden
from openrms.store import migrate

# Quarantine commands choose rows by a reason's text as well (see runs.reason_matches)
MatchingOption = Annotated[
    str | None, typer.Option(help="Only rows one of whose reasons holds this text (any case)")
]
quarantine_app = typer.Typer(
    help="Rows an import could not take: list, show, export, retry, discard.", no_args_is_help=True
)


def _summary(report: dict[str, Any]) -> None:
    rows = Counter(report["rows"])
    title = (
        "Dry run: nothing written" if report["dry_run"] else f"Import run {report['run_id']}"
    ) + f" ({report['status']}, {report['seconds']:.1f} s)"
    table = Table("rows", "count", title=title)
    for key in ("read", "created", "updated", "unchanged", "quarantined", "skipped", "retracted"):
        if key in ("read", "created", "updated", "unchanged", "quarantined") or rows[key]:
            table.add_row(key, f"{rows[key]:,}")
    check = "[green]balanced[/green]" if report["balanced"] else "[red]NOT balanced[/red]"
    table.add_row("read = created + updated + unchanged + quarantined + skipped", check)
    out.print(table)
    if report["records"] or report["links"]:
        per_type = Table("entity type", "created", "updated", "unchanged", title="Records and links")
        kept = ("created", "updated", "unchanged")
        for name, counts in sorted(report["records"].items()):
            per_type.add_row(name, *(f"{counts.get(k, 0):,}" for k in kept))
        if report["links"]:
            per_type.add_row("[italic]links[/italic]", *(f"{report['links'].get(k, 0):,}" for k in kept))
        out.print(per_type)
    if report["links"].get("retracted"):
        verb = "would retract" if report["dry_run"] else "retracted"
        console.print(
            f"{verb} {report['links']['retracted']:,} link(s) the source no longer gives "
            "(an end it moved, or left out of a snapshot): `openrms link history ID` says why"
        )
    if report["reasons"]:
        reasons = Table("count", "reason (values masked)", title="Top quarantine reasons")
        for reason, count in list(report["reasons"].items())[:10]:
            reasons.add_row(f"{count:,}", reason)
        out.print(reasons)
    earlier = report.get("earlier_entries") or {}
    closed = earlier.get("superseded", 0) + earlier.get("resolved", 0)
    if closed:
        console.print(
            f"closed {closed:,} open quarantine entries of earlier runs: "
            f"{earlier.get('superseded', 0):,} superseded by this run's (the row is still bad), "
            f"{earlier.get('resolved', 0):,} resolved (the row now imports)"
        )
    if earlier.get("discarded"):
        console.print(
            f"{earlier['discarded']:,} quarantined row(s) had been discarded before: their entries are "
            "recorded as discarded again (`quarantine list --status discarded`)"
        )
    if report.get("resumed_after_row"):
        console.print(f"resumed an interrupted run after source row {report['resumed_after_row']:,}")
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")


def import_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files to import (several: one run each, in the order given), or `runs` to list import runs",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", "-m", help="Mapping YAML file or built-in name (e.g. police-uk)"),
    ] = None,
    source_system: Annotated[
        str | None, typer.Option("--source", help="Source system name (overrides the mapping)")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Owning agency code (overrides the mapping)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing")] = False,
    snapshot: Annotated[
        bool,
        typer.Option(
            help="The file is the full current extract: records of this source "
            "it no longer contains are marked deleted at the source"
        ),
    ] = False,
    from_sql: Annotated[
        str | None, typer.Option("--from-sql", help="Read from a database (SQLAlchemy URL)")
    ] = None,
    query: Annotated[str | None, typer.Option(help="SQL query or table to read with --from-sql")] = None,
    option: Annotated[
        list[str],
        typer.Option("--option", "-o", help="Reader option key=value (e.g. encoding=cp1252, delimiter=;)"),
    ] = [],  # noqa: B006
    by: Annotated[str, typer.Option("--by", help="Who runs the import (recorded as recorded_by)")] = "import",
    batch_size: Annotated[int, typer.Option(help="Rows mapped and written together")] = 2000,
    commit_rows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Rows per transaction at most (default 20,000; a commit also comes every 2 seconds)",
        ),
    ] = None,
    preview: Annotated[
        int | None,
        typer.Option(
            "--preview",
            min=1,
            max=1000,
            help="Show what the first N rows become (records, keys, fields, links, problems); write nothing",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    db: DbOption = None,
) -> None:
    """Import a file (CSV, JSON, JSON Lines, XML, fixed width, Excel) or a SQL query through a mapping.

    Re-running the same import changes nothing; an interrupted one resumes where it stopped. Rows that
    cannot be imported go to quarantine with every reason (`openrms quarantine list`).
    """
    from openrms.ingest import runs
    from openrms.ingest.service import preview_source

    database = open_db(db)
    files = sources or []
    if files == ["runs"] and mapping is None:
        with reported():
            agency = _importer(database).agency
            with database.read() as conn:
                found = runs.list_runs(conn, agency=agency)
        _print_runs(found, as_json)
        return
    if mapping is None or (not files and from_sql is None):
        raise typer.BadParameter("give a FILE (or --from-sql URL --query SQL) and --mapping")
    if files and from_sql:
        raise typer.BadParameter(
            f"--from-sql reads a query: give no file with it (given: {', '.join(files)})"
        )
    if len(files) > 1:
        for given, why in (
            (snapshot, "a snapshot is one file holding the source's whole extract"),
            (preview is not None, "--preview shows the rows of one file"),
        ):
            if given:
                raise typer.BadParameter(f"{why}: give one file, not {len(files)}")
    options = {key: value for key, value in map(_option, option)}
    if from_sql and not query:
        raise typer.BadParameter("--from-sql needs --query")
    if query and _TABLE.fullmatch(query.strip()):
        query = "SELECT * FROM " + ".".join(f'"{part}"' for part in query.strip().split("."))
    missing = [name for name in files if not Path(name).exists()]
    if missing:
        raise typer.BadParameter(f"no file {', '.join(missing)}")
    if preview is not None:
        with reported():
            shown = preview_source(
                from_sql or files[0],
                mapping,
                rows=preview,
                agency=agency,
                source_system=source_system,
                reader_options=options,
                query=query,
                dialect=database.dialect,
            )
        print_json(shown.rows) if as_json else _print_preview(shown.rows)
        for warning in shown.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        return
    settings = {
        "mapping_ref": mapping,
        "agency": agency,
        "source_system": source_system,
        "reader_options": options,
        "query": query,
        "dry_run": dry_run,
        "snapshot": snapshot,
        "recorded_by": by,
        "batch_size": batch_size,
        "commit_rows": commit_rows,
    }
    with reported():
        migrate.upgrade(database)
    if from_sql:
        reports = [_import_one(database, from_sql, "query", settings, as_json)]
    else:
        reports = []
        for number, name in enumerate(files, 1):
            label = Path(name).name + (f" ({number} of {len(files)})" if len(files) > 1 else "")
            try:
                reports.append(_import_one(database, name, label, settings, as_json))
            except typer.Exit:
                if len(files) > 1:
                    console.print(
                        f"stopped at {name} ({number} of {len(files)}): {number - 1} file(s) before it were "
                        f"imported, {len(files) - number} not started; once it is fixed, the same command "
                        "imports the rest (the files already imported are unchanged)"
                    )
                raise
    if as_json:
        print_json(reports[0] if len(reports) == 1 and len(files) <= 1 else reports)
    elif len(reports) > 1:
        _print_totals(files, reports)


def _import_one(
    database: Any, target: str, label: str, settings: dict[str, Any], quiet: bool
) -> dict[str, Any]:
    """One file (or query) through the import, with its progress bar; its summary unless `quiet`."""
    from openrms.ingest.service import import_source

    with reported():
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TextColumn("{task.fields[rate]:>8,.0f} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        # The bar starts with the first rows written, so a mapping or source refused before any row shows
        # no empty bar above its error; it is left out when stderr is not a terminal (a log, a pipe), where
        # it could only be printed once, at the end, out of order with the report.
        bar = Progress(*columns, console=console, transient=quiet, disable=not console.is_terminal)
        task = bar.add_task(f"importing {label}", total=None, rate=0.0)

        def tick(rows: int) -> None:
            if not bar.live.is_started:
                bar.start()
            done = bar.tasks[task].completed + rows
            bar.update(task, completed=done, rate=done / max(bar.tasks[task].elapsed or 1e-9, 1e-9))

        def estimated(rows: int) -> None:
            # A new total makes rich forget the rate it measured, which the time left needs: change it
            # only when the estimate moves by more than 2% (it settles within a few batches).
            known = bar.tasks[task].total
            if known is None or abs(rows - known) > 0.02 * known:
                bar.update(task, total=rows)

        try:
            report = import_source(
                database, target, progress=tick, progress_total=estimated, **settings
            ).as_dict()
        finally:
            bar.stop()
    if not quiet:
        _summary(report)
    return report


def _print_totals(files: list[str], reports: list[dict[str, Any]]) -> None:
    """The files of one command side by side, and their sum: each is its own run, with its own summary
    above."""
    keys = ("read", "created", "updated", "unchanged", "quarantined")
    table = Table("file", "run", *keys, title=f"{len(files)} files")
    totals: Counter[str] = Counter()
    for name, report in zip(files, reports, strict=True):
        totals.update({k: report["rows"].get(k, 0) for k in keys})
        table.add_row(
            Path(name).name, report["run_id"] or "dry run", *(f"{report['rows'].get(k, 0):,}" for k in keys)
        )
    table.add_row("[bold]all files[/bold]", "", *(f"{totals[k]:,}" for k in keys))
    out.print(table)


_VERDICT = {"ok": "[green]would be imported[/green]", "skipped": "skipped by the mapping's skip_when"}


def _print_preview(rows: list[dict[str, Any]]) -> None:
    """Each previewed row as a tree: its verdict, its problems, its records' fields, its links."""
    for row in rows:
        verdict = _VERDICT.get(row["status"], "[red]would be quarantined[/red]")
        tree = Tree(f"[bold]row {row['row']}[/bold] ({escape(row['location'])}): {verdict}")
        if row["reasons"]:
            problems = tree.add("[red]problems[/red]")
            for reason in row["reasons"]:
                problems.add(escape(reason))
        for record in row["records"]:
            branch = tree.add(
                f"[bold]{escape(record['name'])}[/bold]: {record['entity_type']}, "
                f"key {escape(repr(record['key']))}, "
                + (f"id {record['id']}" if record["id"] else "no id (an empty key makes no record)")
            )
            for name, value in record["fields"].items():
                branch.add(f"{escape(name)} = {escape(repr(value))}")
            marks = [m for m in (record["classification"], record["handling"]) if m]
            if marks:
                branch.add(f"[italic]marked {' / '.join(marks)}[/italic]")
        for link in row["links"]:
            tree.add(f"link {link['type']}: {escape(link['from'])} → {escape(link['to'])}")
        out.print(tree)
    verdicts = Counter(row["status"] for row in rows)
    figures = ", ".join(f"{verdicts[k]} {k}" for k in ("ok", "quarantined", "skipped") if verdicts[k])
    console.print(f"previewed {len(rows)} row(s): {figures}; nothing written")


_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")  # a bare (schema.)table name


def _option(pair: str) -> tuple[str, Any]:
    """`-o key=value`: whole numbers and true/false as such, JSON lists or objects as JSON, else text."""
    key, equals, value = pair.partition("=")
    if not equals or not key.strip():
        raise typer.BadParameter(f"reader option {pair!r} is not key=value")
    if re.fullmatch(r"-?\d+", value):
        return key.strip(), int(value)
    if value in ("true", "false"):
        return key.strip(), value == "true"
    if value[:1] in ("[", "{"):
        try:
            return key.strip(), json.loads(value)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"reader option {key.strip()}: {value!r} is not JSON ({exc})") from None
    return key.strip(), value


def _print_runs(items: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(items)
        return
    table = Table(
        id_column("run"),
        "started",
        "mapping",
        "source",
        "status",
        "read",
        "created",
        "updated",
        "unchanged",
        "quarantined",
        title="Import runs",
    )
    for run in items:
        rows = run["counts"].get("rows", {})
        table.add_row(
            run["id"],
            run["started_at"][:19],
            run["mapping"][:30],
            run["source"][-40:],
            run["status"],
            *(f"{rows.get(k, 0):,}" for k in ("read", "created", "updated", "unchanged", "quarantined")),
        )
    out.print(table)
    warned = [f"{run['id']} ({len(run['warnings'])})" for run in items if run.get("warnings")]
    if warned:  # below the table, which has no room to spare for them
        console.print(f"runs with warnings: {', '.join(warned)}; `openrms import runs --json` gives them")


def _importer(database: Any) -> Reader:
    """Who a runs or quarantine command reads as. The operator sees every agency's runs (the reader's
    agency is None); `openrms --as USER` sees that user's agency's only, as the API would show them, and
    only if their roles allow importing."""
    caller = reader(database)
    if isinstance(caller.scope, Policy) and not caller.scope.subject.can("import"):
        raise Forbidden(
            f"{caller.actor}'s roles do not allow 'import': runs and quarantine are for importers"
        )
    return caller


@quarantine_app.command("list")
def quarantine_list(
    run: Annotated[str | None, typer.Option(help="Only this import run")] = None,
    status: Annotated[str, typer.Option(help="open, resolved, discarded or superseded")] = "open",
    limit: int = 50,
    matching: MatchingOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbOption = None,
) -> None:
    """Quarantined rows with their reasons."""
    from openrms.ingest import runs

    with reported():
        database = open_db(db)
        caller = _importer(database)
        with database.read() as conn:
            entries = runs.list_quarantine(
                conn, run_id=run, status=status, limit=limit, agency=caller.agency, matching=matching
            )
        detail = {"run": run, "status": status, "returned": len(entries)}
        caller.audited("quarantine-read", (), {**detail, "matching": matching} if matching else detail)
    if as_json:
        print_json(entries)
        return
    table = Table(
        id_column("entry"),
        id_column("run"),
        Column("where", overflow="fold"),
        Column("reasons", overflow="fold"),
        title=f"Quarantine ({status})",
    )
    for e in entries:
        table.add_row(e["id"], e["run_id"], e["location"], "\n".join(e["reasons"])[:300])
    out.print(table)


@quarantine_app.command("show")
def quarantine_show(entry_id: str, db: DbOption = None) -> None:
    """One quarantined row: its raw content, parsed fields and every reason."""
    from openrms.ingest import runs

    with reported():
        database = open_db(db)
        caller = _importer(database)
        with database.read() as conn:
            entry = runs.get_entry(conn, entry_id, agency=caller.agency)
        caller.audited("quarantine-read", (), {"run": entry["run_id"], "entry": entry_id})
    print_json(entry)


@quarantine_app.command("export")
def quarantine_export(
    run: Annotated[str | None, typer.Option(help="Only this import run")] = None,
    status: Annotated[str, typer.Option(help="open, resolved, discarded, superseded or all")] = "open",
    fmt: Annotated[str, typer.Option("--format", help="csv (for a spreadsheet) or jsonl")] = "csv",
    matching: MatchingOption = None,
    output: Annotated[Path, typer.Option("--out", help="File to write; - for standard output")] = Path("-"),
    db: DbOption = None,
) -> None:
    """Write quarantined rows to a file for whoever corrects them at the source.

    CSV: one line a row with its entry, run, row number, location, status, reasons and raw content, then
    its fields in the source's order; cells a spreadsheet would run as formulas start with an apostrophe.
    JSON Lines: each entry as `quarantine show` gives it."""
    from openrms.ingest.rejects import Export

    with reported():
        database = open_db(db)
        caller = _importer(database)
        export = Export(fmt, run, status, caller.agency, matching)
        count = export.count(database)
        caller.audited("quarantine-read", (), {**export.audit_detail(count), "out": str(output)})
        write_text(output, export.pieces(database), newline="")
    console.print(f"exported {count:,} quarantined row{'' if count == 1 else 's'}")


@quarantine_app.command("retry")
def quarantine_retry(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="Entries (default: all of --run)")] = None,
    run: Annotated[str | None, typer.Option(help="Retry every open row of this run")] = None,
    matching: MatchingOption = None,
    mapping: Annotated[str | None, typer.Option(help="A corrected mapping (default: the run's)")] = None,
    by: str = "import",
    db: DbOption = None,
) -> None:
    """Re-map open rows after fixing the mapping or a code table; fixed rows are imported and resolved."""
    from openrms.ingest.service import retry_quarantine

    with reported():
        database = open_db(db)
        agency = _importer(database).agency
        summary = retry_quarantine(
            database,
            run_id=run,
            entry_ids=entry_ids or None,
            mapping_ref=mapping,
            recorded_by=by,
            agency=agency,
            matching=matching,
        )
    print_json(summary)
    if summary["unparsed"]:
        console.print(
            f"{summary['unparsed']} row(s) could not be read from the source, so have no fields to map "
            "again: fix the source or the reader's options (the mapping's `source:`) and import the file "
            "again; their entries are resolved when the rows import"
        )


@quarantine_app.command("discard")
def quarantine_discard(
    reason: Annotated[str, typer.Option(help="Why (kept with the row)")],
    entry_ids: Annotated[list[str] | None, typer.Argument(help="Entries (default: all of --run)")] = None,
    run: Annotated[str | None, typer.Option(help="Discard every open row of this run")] = None,
    matching: MatchingOption = None,
    by: str = "import",
    db: DbOption = None,
) -> None:
    """Close rows that should not be imported; they stay on record with who discarded them and why."""
    from openrms.ingest.service import discard

    with reported():
        database = open_db(db)
        agency = _importer(database).agency
        count = discard(
            database, entry_ids or None, run_id=run, by=by, reason=reason, agency=agency, matching=matching
        )
    console.print(f"discarded {count} row(s)")
