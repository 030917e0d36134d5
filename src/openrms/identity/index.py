"""The blocking index in the database: each record's features and keys, and candidate look-ups.

Written inside the transaction that writes the record (see `hooks`), so a record is a candidate for the next
one the moment it commits. Look-ups cap each key's block: a key shared by thousands of records (a common name
in a common year) says little and would cost a lot, so past `BLOCK_CAP` records it is skipped, as Splink
users cap blocking rules; the other, more selective keys still find true matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, delete, select

from openrms.identity.features import Features, features_of, keys_of
from openrms.store.bulk import insert_tuples
from openrms.store.scope import ReadScope
from openrms.store.tables import match_features, match_key, record
from openrms.store.views import title

BLOCK_CAP = 100
CHUNK = 500


class Indexed(NamedTuple):
    id: str
    entity_type: str
    features: Features
    keys: frozenset[str]


def index_of(record_id: str, entity_type: str, data: Mapping[str, Any]) -> Indexed | None:
    f = features_of(entity_type, data)
    if f is None:
        return None
    if record_id:  # stored with the features, so a match shows what a candidate is without reading it
        f["title"] = title(entity_type, data)
    return Indexed(record_id, entity_type, f, frozenset(keys_of(entity_type, f)))


def write_index(
    conn: Connection,
    items: Sequence[Indexed],
    *,
    replace: bool | Sequence[str] = True,
    drop: Iterable[str] = (),
) -> None:
    """Store features and keys of `items`, first forgetting what the records in `replace` had (all of
    `items` when True: pass only the ids that may already be indexed, to save the look-ups) and the records
    in `drop`."""
    gone = [i.id for i in items] if replace is True else list(replace or [])
    gone += list(drop)
    for start in range(0, len(gone), CHUNK):
        chunk = gone[start : start + CHUNK]
        conn.execute(delete(match_key).where(match_key.c.record_id.in_(chunk)))
        conn.execute(delete(match_features).where(match_features.c.record_id.in_(chunk)))
    insert_tuples(
        conn,
        match_features,
        [(i.id, i.entity_type, orjson.dumps(i.features).decode()) for i in items],
    )
    insert_tuples(conn, match_key, [(key, i.id, i.entity_type) for i in items for key in sorted(i.keys)])


@lru_cache(maxsize=256)
def _lookup_sql(count: int, mark: str) -> str:
    """One small query per key, each with its own LIMIT, in one round trip: a huge block costs nothing.

    Plain SQL, built once per key count: building it with SQLAlchemy per call costs more than running it.
    """
    part = (
        f"SELECT * FROM (SELECT key, record_id FROM match_key WHERE key = {mark} LIMIT {BLOCK_CAP + 1}) AS b"
    )
    return " UNION ALL ".join([part] * count)


@lru_cache(maxsize=64)
def _in_sql(count: int, mark: str) -> str:
    return f"SELECT key, record_id FROM match_key WHERE key IN ({', '.join([mark] * count)})"


# Keys known to hold more than BLOCK_CAP records, per database: blocks only grow, so once a key is too common
# to help it is never looked up again by this process (in a bulk load, fetching a few thousand-record blocks
# for every batch would make each batch slower than the last).
_oversized: dict[str, set[str]] = {}


def candidate_ids(conn: Connection, keys: Iterable[str]) -> dict[str, set[str]]:
    """key -> ids of the records sharing it, for keys whose block is within the cap.

    Keys carry their type in their prefix (a person's `d:`, a vehicle's `vrm:`), so no type filter is needed.
    """
    oversized = _oversized.setdefault(str(conn.engine.url), set())
    wanted = sorted(set(keys) - oversized)
    found: dict[str, set[str]] = defaultdict(set)
    if not wanted:
        return found
    rows: list[Any] = []
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    if len(wanted) <= 40:
        rows = conn.exec_driver_sql(_lookup_sql(len(wanted), mark), tuple(wanted)).fetchall()
    else:
        for start in range(0, len(wanted), CHUNK):
            chunk = tuple(wanted[start : start + CHUNK])
            rows += conn.exec_driver_sql(_in_sql(len(chunk), mark), chunk).fetchall()
    for key, record_id in rows:
        found[key].add(record_id)
    big = {key for key, ids in found.items() if len(ids) > BLOCK_CAP}
    oversized.update(big)
    return {key: ids for key, ids in found.items() if key not in big}


@lru_cache(maxsize=64)
def _features_sql(count: int, mark: str) -> str:
    live = "r.deleted = 0" if mark == "?" else "NOT r.deleted"
    return (
        "SELECT f.record_id, f.features, r.master_id, r.agency FROM match_features f "
        f"JOIN record r ON r.id = f.record_id WHERE {live} AND f.record_id IN ({', '.join([mark] * count)})"
    )


class Candidate(NamedTuple):
    id: str
    master_id: str
    agency: str
    features: Features
    visible: bool
    mentionable: bool = True


def candidates(conn: Connection, ids: Iterable[str], scope: ReadScope | None = None) -> dict[str, Candidate]:
    """The features, master and owning agency of live records; `visible` says whether `scope` may see each.

    Records the caller may not see are still returned (flagged), so a match can say "a restricted record
    may match; contact agency X" without revealing anything else about it; `mentionable` says whether even
    that may be said (not of a record above the caller's vetting, handled 4/5 or restricted to others).
    """
    wanted = sorted(set(ids))
    out: dict[str, Candidate] = {}
    if scope is None:  # the write hook: the system's own view, on the hot path of every bulk write
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        for start in range(0, len(wanted), CHUNK):
            chunk = tuple(wanted[start : start + CHUNK])
            for rid, text, master_id, agency in conn.exec_driver_sql(_features_sql(len(chunk), mark), chunk):
                features = orjson.loads(text) if isinstance(text, (str, bytes)) else text
                out[rid] = Candidate(rid, master_id, agency, features, True)
        return out
    # a candidate's evidence compares every field, so only records the caller sees whole count as visible;
    # one shared with fields redacted is reported like a hidden one ("contact the agency")
    visible = scope.records(record, None)
    mentionable = scope.mentionable(record)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(
                match_features.c.record_id,
                match_features.c.features,
                record.c.master_id,
                record.c.agency,
                visible.label("visible"),
                mentionable.label("mentionable"),
            )
            .join(record, record.c.id == match_features.c.record_id)
            .where(
                and_(
                    match_features.c.record_id.in_(wanted[start : start + CHUNK]), record.c.deleted.is_(False)
                )
            )
        )
        for rid, features, master_id, agency, seen, told in rows:
            out[rid] = Candidate(rid, master_id, agency, features, bool(seen), bool(seen) or bool(told))
    return out
