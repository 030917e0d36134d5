"""How far an import has got: the rows done, and the rows the source is estimated to hold, for the
progress bar's time left.

The estimate scales the rows done by the share of the file's text they took (a gzip file's uncompressed
size from its trailer). It is given for files, plain or compressed, in imports and dry runs; not for a
query (its size is unknown) nor for a resumed run (the rows before its checkpoint were not measured).
Through the import service, on each back end.
"""

from __future__ import annotations

import gzip
import io
import re
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from openrms.cli import imports as cli_imports
from openrms.ingest.service import import_source
from openrms.store.database import Database
from tests.ingest.test_import_cli import PLAIN, Cli, street_slice

ROWS = 2000


class Watch:
    def __init__(self) -> None:
        self.done = 0
        self.seen: list[tuple[int, int]] = []  # (rows done, rows estimated) after each report

    def progress(self, rows: int) -> None:
        self.done += rows

    def total(self, rows: int) -> None:
        self.seen.append((self.done, rows))


def _run(db: Database, source: Path, **options: object) -> Watch:
    watch = Watch()
    import_source(
        db,
        source,
        "police-uk",
        batch_size=200,
        commit_rows=200,
        workers=0,
        progress=watch.progress,
        progress_total=watch.total,
        **options,  # type: ignore[arg-type]
    )
    return watch


def _check(watch: Watch) -> None:
    assert watch.done == ROWS and len(watch.seen) >= 5
    assert all(total >= done for done, total in watch.seen)  # never fewer than already done
    first_done, first_total = watch.seen[0]
    assert first_done == 200 and abs(first_total - ROWS) / ROWS < 0.15, watch.seen
    assert abs(watch.seen[-1][1] - ROWS) / ROWS < 0.02, watch.seen


@pytest.mark.parametrize("compressed", [False, True])
def test_the_rows_a_file_holds_are_estimated_from_the_first_batch(
    db: Database, tmp_path: Path, compressed: bool
) -> None:
    path, _ = street_slice(tmp_path, ROWS)
    if compressed:
        packed = path.with_name(path.name + ".gz")
        packed.write_bytes(gzip.compress(path.read_bytes()))
        path = packed
    _check(_run(db, path, dry_run=True))
    _check(_run(db, path))


def test_a_resumed_run_gives_no_estimate(db: Database, tmp_path: Path) -> None:
    path, _ = street_slice(tmp_path, ROWS)

    def stop(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_source(db, path, "police-uk", batch_size=200, commit_rows=200, workers=0, progress=stop)
    watch = _run(db, path)
    assert watch.done == ROWS - 200 and watch.seen == []


def test_a_query_gives_no_estimate(db: Database, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as conn:
        conn.execute("CREATE TABLE people (NAME TEXT, SEX TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, ?)", [("Smith", "M"), ("Jones", "F")])
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    watch = Watch()
    report = import_source(
        db,
        f"sqlite:///{legacy}",
        mapping,
        query="SELECT NAME, SEX FROM people",
        workers=0,
        progress=watch.progress,
        progress_total=watch.total,
    )
    assert report.tally.rows["created"] == 2 and watch.done == 2 and watch.seen == []


def test_the_command_shows_the_time_left_in_a_terminal(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`openrms import` in a terminal: the bar is given the estimated total, so rich can show the time left
    (a total changed at every commit would make it forget the rate, and show -:--:-- throughout)."""
    screen = io.StringIO()
    monkeypatch.setattr(cli_imports, "console", Console(file=screen, force_terminal=True, width=160))
    path, _ = street_slice(tmp_path, ROWS)
    Cli(db).run("import", str(path), "--mapping", "police-uk", "--batch-size", "100", "--commit-rows", "100")
    frames = [re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", f) for f in screen.getvalue().split("\r")]
    shown = [f for f in frames if "importing" in f and " rows/s" in f]
    assert shown, screen.getvalue()[-2000:]
    # the time taken, then the time left
    assert re.search(r"\d+:\d\d:\d\d\s+\d+:\d\d:\d\d$", shown[-1].strip().splitlines()[0]), shown[-1]
