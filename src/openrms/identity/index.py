"""The blocking index in the database: each record's features and keys, and candidate look-ups.

Written inside the transaction that writes the record (see `hooks`), so a record is a candidate for the next
one the moment it commits. Look-ups cap each key's block: a key shared by thousands of records (a common name
in a common year) says little and would cost a lot, so past `BLOCK_CAP` records it is skipped, as Splink
users cap blocking rules; the other, more selective keys still find true matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, delete, literal, select, union_all

from openrms.identity.features import Features, features_of, keys_of
from openrms.store.bulk import insert_tuples
from openrms.store.scope import ReadScope
from openrms.store.tables import match_features, match_key, record

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
    return Indexed(record_id, entity_type, f, frozenset(keys_of(entity_type, f)))


def write_index(
    conn: Connection, items: Sequence[Indexed], *, replace: bool = True, drop: Iterable[str] = ()
) -> None:
    """Store features and keys of `items` (replacing what they had) and forget the records in `drop`."""
    gone = [i.id for i in items] if replace else []
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


def candidate_ids(conn: Connection, entity_type: str, keys: Iterable[str]) -> dict[str, set[str]]:
    """key -> ids of the records sharing it, for keys whose block is within the cap (one query per call)."""
    wanted = sorted(set(keys))
    found: dict[str, set[str]] = defaultdict(set)
    if not wanted:
        return found
    if len(wanted) <= 40:
        # One small query per key with its own LIMIT, in one round trip: a huge block costs nothing.
        parts = [
            select(literal(key).label("key"), match_key.c.record_id)
            .where(match_key.c.key == key, match_key.c.entity_type == entity_type)
            .limit(BLOCK_CAP + 1)
            .subquery()
            .select()
            for key in wanted
        ]
        rows = conn.execute(union_all(*parts)).all()
    else:
        rows = []
        for start in range(0, len(wanted), CHUNK):
            rows += conn.execute(
                select(match_key.c.key, match_key.c.record_id).where(
                    match_key.c.key.in_(wanted[start : start + CHUNK]), match_key.c.entity_type == entity_type
                )
            ).all()
    for key, record_id in rows:
        found[key].add(record_id)
    return {key: ids for key, ids in found.items() if len(ids) <= BLOCK_CAP}


class Candidate(NamedTuple):
    id: str
    master_id: str
    agency: str
    features: Features
    visible: bool


def candidates(conn: Connection, ids: Iterable[str], scope: ReadScope | None = None) -> dict[str, Candidate]:
    """The features, master and owning agency of live records; `visible` says whether `scope` may see each.

    Records the caller may not see are still returned (flagged), so a match can say "a restricted record
    may match; contact agency X" without revealing anything else about it.
    """
    wanted = sorted(set(ids))
    out: dict[str, Candidate] = {}
    visible = scope.records(record) if scope is not None else literal(True)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(
                match_features.c.record_id,
                match_features.c.features,
                record.c.master_id,
                record.c.agency,
                visible.label("visible"),
            )
            .join(record, record.c.id == match_features.c.record_id)
            .where(
                and_(
                    match_features.c.record_id.in_(wanted[start : start + CHUNK]), record.c.deleted.is_(False)
                )
            )
        )
        for rid, features, master_id, agency, seen in rows:
            out[rid] = Candidate(rid, master_id, agency, features, bool(seen))
    return out
