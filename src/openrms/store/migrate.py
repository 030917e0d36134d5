"""Create or upgrade a database to the current schema with Alembic, from inside the package.

`openrms init` and the test fixtures call `upgrade`; nobody needs an alembic.ini. New migrations are written
with `python -m openrms.store.migrate revision "message"`, which autogenerates against a scratch database.
"""

from __future__ import annotations

import sys
import tempfile
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from openrms.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head() -> str:
    """The newest revision shipped with this package (read from the migration scripts once)."""
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> str:
    """Bring the database to `revision`; returns the revision it is now at."""
    config = _config()
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
    return current(db) or ""


def _revision(message: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{scratch}/scratch.db")
        upgrade(db)
        config = _config()
        with db.engine.connect() as conn:
            config.attributes["connection"] = conn
            # Revisions are numbered 0001, 0002...: the order reads from the file names.
            command.revision(config, message=message, autogenerate=True, rev_id=f"{int(head()) + 1:04d}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m openrms.store.migrate revision "what changed"')
    _revision(sys.argv[2])
