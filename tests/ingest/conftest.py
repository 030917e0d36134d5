"""Fixtures every import test file shares."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from openrms.store.database import Database
from tests.ingest.test_import_cli import Cli


@pytest.fixture
def cli(db: Database) -> Iterator[Cli]:
    """`openrms ...` in-process against the test database (see `Cli`)."""
    yield Cli(db)
    gc.collect()  # each command opens its own engine: drop them so PostgreSQL connections do not pile up
