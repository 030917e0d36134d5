"""What every command shares: the database option, JSON output, and turning errors into clear messages."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column
from sqlalchemy.exc import DBAPIError

from openrms.errors import BadRequest, OpenRMSError, RecordInvalid
from openrms.store.database import Database
from openrms.store.tables import ID

console = Console(stderr=True)  # messages and progress
out = Console()  # tables and results


def id_column(header: str) -> Column:
    """A table column of ids, never cut short or wrapped: an id shown is one to paste into the next command
    (`quarantine show`, `review show`...), and in an 80-column terminal rich would otherwise shorten it to
    "19cb86915c5f47c7…". The other columns wrap instead."""
    return Column(header, no_wrap=True, min_width=ID)


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL or SQLite path (env OPENRMS_DATABASE_URL; default ./openrms.db)",
        show_default=False,
    ),
]


def open_db(url: str | None) -> Database:
    return Database(url)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def write_text(path: Path, pieces: Iterable[str], *, newline: str | None = None) -> None:
    """Write pieces to standard output (`-`) or to a file. A file is written beside its place and renamed
    there at the end, so a failure half-way leaves no half-written file that looks complete."""
    if str(path) == "-":
        for piece in pieces:
            sys.stdout.write(piece)
        return
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline=newline) as handle:
            for piece in pieces:
                handle.write(piece)
        partial.replace(path)
    except OSError as exc:
        raise BadRequest(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def reported() -> Iterator[None]:
    """Turn domain errors into a red message and exit code 1 (2 for bad input), never a traceback."""
    try:
        yield
    except RecordInvalid as exc:
        console.print(f"[red]error:[/red] {exc.record_ref} is invalid:")
        for issue in exc.issues:
            colour = "red" if issue.severity == "error" else "yellow"
            console.print(f"  [{colour}]{issue.severity}[/{colour}] {issue.path}: {issue.message}")
        raise typer.Exit(2) from None
    except OpenRMSError as exc:
        console.print(f"[red]error ({exc.status} {exc.title.lower()}):[/red] {escape(exc.detail)}")
        raise typer.Exit(2 if exc.status < 500 else 1) from None
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        console.print(f"[red]error:[/red] the database failed: {escape(reason)}")
        raise typer.Exit(1) from None


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`--set surname=Smith --set aliases=["A","B"]`: values that parse as JSON are taken as JSON."""
    data: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"{pair!r} is not field=value")
        key, raw = pair.split("=", 1)
        try:
            value = json.loads(raw) if raw[:1] in "[{" or raw in ("true", "false", "null") else raw
        except json.JSONDecodeError:
            value = raw
        node = data
        *parents, leaf = key.strip().split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return data
