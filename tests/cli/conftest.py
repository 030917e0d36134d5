"""Fixtures for the command-line tests: run `openrms ...` in-process against each back end.

Every command gets `--db <url>` of the test database. Output is wide enough that Rich never wraps a message
or truncates a table cell, so tests can look for whole phrases.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from openrms.cli import app
from openrms.store.database import Database


class Cli:
    def __init__(self, db: Database) -> None:
        self.url = db.url
        self.runner = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"})

    def run(self, *args: str, expect: int | None = 0, with_db: bool = True) -> Result:
        argv = [*args, "--db", self.url] if with_db else list(args)
        result = self.runner.invoke(app, argv)
        if expect is not None:
            assert result.exit_code == expect, (
                f"openrms {' '.join(args)} exited {result.exit_code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\nexception: {result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def add(self, entity_type: str, *assignments: str, **options: str) -> dict[str, Any]:
        argv = ["record", "add", entity_type, "--by", "PC 1234"]
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", value]
        for assignment in assignments:
            argv += ["--set", assignment]
        return self.json(*argv)


@pytest.fixture
def cli(db: Database) -> Iterator[Cli]:
    yield Cli(db)
    # Each command opens its own engine; drop them now so PostgreSQL connections do not pile up.
    gc.collect()
