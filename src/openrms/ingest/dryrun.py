"""What the earlier batches of a dry run would have written, so that its figures are the import's.

An import writes a record that many rows repeat (a map point many crimes share) once, then finds it
unchanged. A dry run writes nothing, so without a memory each batch would count the same record as
created again. The memory is a scratch SQLite file, not a Python dict: a dry run of a file of millions of
rows must stay within the same memory as the import it rehearses.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

_CHUNK = 500  # ids a lookup binds, well under SQLite's limit on variables


class SeenSoFar:
    """Content hashes of the records and links earlier batches would have written, by id."""

    def __init__(self, folder: Path) -> None:
        self._db = sqlite3.connect(folder / "seen.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        for kind in ("record", "link"):
            self._db.execute(f"CREATE TABLE {kind} (id TEXT PRIMARY KEY, hash TEXT NOT NULL) WITHOUT ROWID")

    def overlay(self, kind: str, hashes: Mapping[str, str], statuses: dict[str, str]) -> None:
        """Correct the statuses (against the database) of ids an earlier batch already had: unchanged if
        their content is the same as then, else updated; then remember this batch's."""
        self._check(kind)
        ids = list(hashes)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, hash FROM {kind} WHERE id IN ({marks})"
            for rid, earlier in self._db.execute(query, chunk):
                statuses[rid] = "unchanged" if earlier == hashes[rid] else "updated"
        self._db.execute("BEGIN")
        self._db.executemany(f"INSERT OR REPLACE INTO {kind} VALUES (?, ?)", hashes.items())
        self._db.execute("COMMIT")

    @staticmethod
    def _check(kind: str) -> None:
        if kind not in ("record", "link"):  # a table name, so never anything but ours
            raise ValueError(f"unknown kind {kind!r}")

    def unseen(self, kind: str, ids: Iterable[str]) -> int:
        """How many of `ids` (streamed, so any number) no earlier batch had: what a snapshot import would
        retract."""
        self._check(kind)
        count, stream = 0, iter(ids)
        while chunk := list(islice(stream, _CHUNK)):
            marks = ",".join("?" * len(chunk))
            (found,) = self._db.execute(
                f"SELECT count(*) FROM {kind} WHERE id IN ({marks})", chunk
            ).fetchone()
            count += len(chunk) - found
        return count

    def close(self) -> None:
        self._db.close()


@contextmanager
def seen_so_far() -> Iterator[SeenSoFar]:
    with tempfile.TemporaryDirectory(prefix="openrms-dry-run-") as folder:
        seen = SeenSoFar(Path(folder))
        try:
            yield seen
        finally:
            seen.close()
