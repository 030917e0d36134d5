"""Fixtures that run the same tests on SQLite and, when OPENRMS_TEST_DATABASE_URL is set, on PostgreSQL.

SQLite tests get a copy of a migrated template file. PostgreSQL tests share one private schema per test
session (dropped at the end) and start from empty tables. With OPENRMS_FORBID_SKIPS=1 (set by .ci/run) any
skipped test fails the run, so CI can never pass by quietly not testing PostgreSQL or the browser.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from openrms.store import migrate
from openrms.store.database import Database
from openrms.store.tables import metadata

PG_URL = os.environ.get("OPENRMS_TEST_DATABASE_URL", "")
FORBID_SKIPS = os.environ.get("OPENRMS_FORBID_SKIPS") == "1"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need OPENRMS_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
        )
    schema = f"openrms_test_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    db = Database(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    migrate.upgrade(db)
    yield db
    db.dispose()
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _empty_pg(db: Database) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated, empty database of each back end."""
    if request.param == "sqlite":
        path = tmp_path / "openrms.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
    else:
        database = request.getfixturevalue("pg_database")
        _empty_pg(database)
        yield database


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    path = tmp_path / "openrms.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not FORBID_SKIPS:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reasons = sorted(
            {str(r.longrepr[2]) if isinstance(r.longrepr, tuple) else str(r.longrepr) for r in skipped}
        )
        reporter.write_line(
            f"OPENRMS_FORBID_SKIPS=1 but {len(skipped)} test(s) were skipped: {reasons}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
