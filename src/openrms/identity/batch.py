"""Batch resolution: (re)train the person model and re-resolve the whole index with Splink on DuckDB.

The candidate pairs are the blocking index's own (records sharing a key, blocks capped as in real time), so
batch and real-time resolution see the same pairs; Splink scores them with the trained model, pairs at or
above the match threshold are clustered (connected components), and the clustering is applied to the store
as membership changes in one master event, so one command undoes it. Judgements by people win: a pair a
person called "same" is an edge whatever the model says, and a pair called "different" never is.

Only DuckDB is used here, in memory; the Splink settings are backend-neutral, so the same model and the same
pairs can be scored by Splink on Spark for a national index.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from openrms.identity.comparisons import PERSON, PERSON_COLUMNS
from openrms.identity.index import BLOCK_CAP
from openrms.identity.model import MatchModel, _quiet_splink, splink_settings, train

EDGE_FLOOR = 0.5  # pairs below this probability are not kept at all (neither edges nor review)


@dataclass
class Clustering:
    """The outcome of scoring and clustering: a cluster label per record, and the pairs that were judged."""

    cluster_of: dict[str, str]
    edges: list[tuple[str, str, float]]  # pairs the model put at or above the match threshold
    doubtful: list[tuple[str, str, float]]  # pairs between the review and match thresholds
    pairs_scored: int
    timings: dict[str, float] = field(default_factory=dict)


def _connect() -> Any:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = false")
    return con


def feature_relation_sql(source: str) -> str:
    """SQL turning a (unique_id, features JSON text) table into one typed column per feature."""
    cols = []
    for name, kind in PERSON_COLUMNS.items():
        if kind == "VARCHAR[]":
            cols.append(f"CAST(json_extract(features, '$.{name}') AS VARCHAR[]) AS \"{name}\"")
        elif kind == "INTEGER":
            cols.append(f"CAST(json_extract(features, '$.{name}') AS INTEGER) AS \"{name}\"")
        else:
            cols.append(f"json_extract_string(features, '$.{name}') AS \"{name}\"")
    return f"SELECT unique_id, {', '.join(cols)} FROM {source}"


def cluster(
    features: Any,
    keys: Any,
    *,
    model: MatchModel | None = None,
    train_sample: int = 200_000,
    same: Iterable[tuple[str, str]] = (),
    different: Iterable[tuple[str, str]] = (),
    seed: int = 42,
) -> tuple[Clustering, MatchModel]:
    """Score and cluster records given as pyarrow tables: features (unique_id, features JSON text) and
    keys (key, record_id). Trains a model first when `model` is None."""
    _quiet_splink()
    from splink import DuckDBAPI, Linker

    timings: dict[str, float] = {}
    started = time.perf_counter()
    con = _connect()
    con.register("raw_features", features)
    con.execute(f"CREATE TABLE features AS {feature_relation_sql('raw_features')}")
    con.unregister("raw_features")
    timings["features"] = time.perf_counter() - started

    if model is None:
        t = time.perf_counter()
        sample = con.sql(
            f"SELECT * FROM features USING SAMPLE reservoir({train_sample} ROWS) REPEATABLE ({seed})"
        ).to_arrow_table()
        model = train(sample, seed=seed)
        timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    con.register("raw_keys", keys)
    con.execute(
        f"""
        CREATE TABLE pairs AS
        WITH blocks AS (
            SELECT key, record_id, count(*) OVER (PARTITION BY key) AS size FROM raw_keys
        ), kept AS (SELECT key, record_id FROM blocks WHERE size BETWEEN 2 AND {BLOCK_CAP})
        SELECT DISTINCT a.record_id AS join_key_l, b.record_id AS join_key_r
        FROM kept a JOIN kept b ON a.key = b.key AND a.record_id < b.record_id
        """
    )
    con.unregister("raw_keys")
    pairs_scored = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    timings["blocking"] = time.perf_counter() - t

    t = time.perf_counter()
    api = DuckDBAPI(con)
    frame = api.register("features")
    linker = Linker(frame, scoring_settings(model), log_level=logging.ERROR)
    con.execute("CREATE TABLE blocked AS SELECT '0' AS match_key, join_key_l, join_key_r FROM pairs")
    linker.table_management.register_blocked_pairs_for_predict(api.register("blocked"))
    predictions = linker.inference.predict(threshold_match_probability=min(model.review_at, EDGE_FLOOR))
    scored = con.execute(
        f"SELECT unique_id_l, unique_id_r, match_probability FROM {predictions.physical_name}"
    ).fetchall()
    timings["score"] = time.perf_counter() - t

    t = time.perf_counter()
    ids = [row[0] for row in con.execute("SELECT unique_id FROM features").fetchall()]
    apart = {_pair(a, b) for a, b in different}
    ranked = sorted((p, a, b) for a, b, p in scored if p >= model.match_at and _pair(a, b) not in apart)
    # People's "same" first, then the model's edges, strongest first: an edge that would put two records a
    # person called different into one cluster is refused and waits for review instead.
    order = [_pair(a, b) for a, b in same] + [(a, b) for _, a, b in reversed(ranked)]
    cluster_of, refused = connected_components(ids, order, apart)
    skipped = set(refused)
    edges = [(a, b, p) for p, a, b in ranked if (a, b) not in skipped]
    doubtful = [(a, b, p) for a, b, p in scored if model.review_at <= p < model.match_at]
    doubtful += [(a, b, p) for p, a, b in ranked if (a, b) in skipped]
    timings["cluster"] = time.perf_counter() - t
    con.close()
    return Clustering(cluster_of, edges, doubtful, pairs_scored, timings), model


def scoring_settings(model: MatchModel) -> dict[str, Any]:
    """The model as Splink settings whose m and u give exactly the model's Bayes factors (floors included),
    so Splink in batch and the Python scorer in real time agree."""
    settings = splink_settings([c for c in PERSON if c.name in model.comparisons], prior=model.prior)
    for comparison in settings["comparisons"]:
        factors = model.bayes[comparison["output_column_name"]]
        for index, level in enumerate(comparison["comparison_levels"]):
            if index == 0:
                continue
            u = min(0.5, 0.5 / factors[index])
            level["u_probability"] = u
            level["m_probability"] = u * factors[index]
    return settings


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def connected_components(
    ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    apart: Iterable[tuple[str, str]] = (),
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Cluster label (the smallest id in the cluster) per id, by union-find over `edges` taken in order,
    never joining two components that hold a pair of `apart` (a person said they are different); returns
    the labels and the edges refused for that reason."""
    parent: dict[str, str] = {}
    avoid: dict[str, set[str]] = defaultdict(set)
    for a, b in apart:
        avoid[a].add(b)
        avoid[b].add(a)
    marked: dict[str, set[str]] = {r: {r} for r in avoid}  # root -> its members that have an `apart` pair

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    refused: list[tuple[str, str]] = []
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if any(find(y) == rb for x in marked.get(ra, ()) for y in avoid[x]):
            refused.append((a, b))
            continue
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        parent[gone] = keep
        if gone in marked:
            marked.setdefault(keep, set()).update(marked.pop(gone))
    return {i: find(i) for i in ids}, refused


def plan_membership(cluster_of: Mapping[str, str], master_of: Mapping[str, str]) -> dict[str, str]:
    """The moves (record -> master) that make masters follow the clusters, moving as few records as possible.

    Each cluster keeps the master already holding most of its records (ties: the smallest id); a master can
    be kept by one cluster only, so a master split between clusters stays with its largest part and the
    others move to their own records' original masters (see `own_master`).
    """
    members: dict[str, list[str]] = defaultdict(list)
    for rid, label in cluster_of.items():
        members[label].append(rid)
    claimed: set[str] = set()
    target_of: dict[str, str] = {}
    # Biggest clusters choose first, so a big cluster keeps the master it mostly is.
    for label, rids in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        votes = Counter(master_of[r] for r in rids)
        choice = next(
            (m for m, _ in sorted(votes.items(), key=lambda mv: (-mv[1], mv[0])) if m not in claimed), None
        )
        if choice is None:
            choice = own_master(min(rids))
        claimed.add(choice)
        target_of[label] = choice
    return {rid: target_of[label] for rid, label in cluster_of.items() if master_of[rid] != target_of[label]}


def own_master(record_id: str) -> str:
    from openrms.store.ids import master_id_for

    return master_id_for(record_id)


def features_table(rows: Iterable[tuple[str, Any]]) -> Any:
    """A pyarrow (unique_id, features JSON text) table from (id, features dict or JSON text) rows."""
    import pyarrow as pa

    ids: list[str] = []
    texts: list[str] = []
    for rid, f in rows:
        ids.append(rid)
        texts.append(f if isinstance(f, str) else orjson.dumps(f).decode())
    return pa.table({"unique_id": pa.array(ids, pa.string()), "features": pa.array(texts, pa.string())})


def keys_table(rows: Iterable[tuple[str, str]]) -> Any:
    """A pyarrow (key, record_id) table."""
    import pyarrow as pa

    keys: list[str] = []
    ids: list[str] = []
    for key, rid in rows:
        keys.append(key)
        ids.append(rid)
    return pa.table({"key": pa.array(keys, pa.string()), "record_id": pa.array(ids, pa.string())})


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- the whole index, in the database ----


def resolve_all(
    db: Any,
    *,
    entity_type: str = "person",
    retrain: bool = True,
    by: str = "openrms resolve",
    progress: Any = None,
) -> dict[str, Any]:
    """(Re)train the model and re-resolve every live record of `entity_type`; returns the report."""
    from sqlalchemy import Text, and_, cast, select

    from openrms.identity import judgements, membership
    from openrms.identity.saved_models import current_model, save_model
    from openrms.store.tables import judgement, match_features, match_key, record

    if entity_type != "person":
        raise ValueError(
            "batch resolution trains a model for persons; other types resolve by rules in real time"
        )
    timings: dict[str, float] = {}
    t = time.perf_counter()
    _step(progress, "reading the index")
    with db.read() as conn:
        rows = conn.execute(
            select(match_features.c.record_id, cast(match_features.c.features, Text), record.c.master_id)
            .join(record, record.c.id == match_features.c.record_id)
            .where(match_features.c.entity_type == entity_type, record.c.deleted.is_(False))
        ).all()
        master_of = {rid: mid for rid, _, mid in rows}
        feats = features_table((rid, text) for rid, text, _ in rows)
        del rows
        keys = keys_table(
            (k, rid)
            for k, rid in conn.execute(
                select(match_key.c.key, match_key.c.record_id).where(match_key.c.entity_type == entity_type)
            )
            if rid in master_of
        )
        person = conn.execute(
            select(judgement.c.record_a, judgement.c.record_b, judgement.c.decision).where(
                and_(
                    judgement.c.current.is_(True),
                    judgement.c.by_kind == "person",
                    judgement.c.entity_type == entity_type,
                )
            )
        ).all()
        model = None if retrain else current_model(conn, entity_type)
    timings["read"] = time.perf_counter() - t
    if len(master_of) < 2:
        return {"records": len(master_of), "note": "nothing to resolve"}
    _step(progress, "training and scoring" if retrain else "scoring")
    clustering, model = cluster(
        feats,
        keys,
        model=model,
        same=[(a, b) for a, b, d in person if d == "same" and a in master_of and b in master_of],
        different=[(a, b) for a, b, d in person if d == "different"],
    )
    timings.update(clustering.timings)
    _step(progress, "applying membership changes")
    t = time.perf_counter()
    at = now()
    with db.write() as conn:
        if retrain:
            save_model(conn, model, by=by)
        current = {}
        ids = list(master_of)
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            current.update(
                conn.execute(select(record.c.id, record.c.master_id).where(record.c.id.in_(chunk))).all()
            )
        moves = plan_membership({r: c for r, c in clustering.cluster_of.items() if r in current}, current)
        who = f"{by} (model person v{model.version})"
        event = membership.apply_moves(conn, moves, entity_type=entity_type, action="resolve", by=who, now=at)
        verdicts = [
            {
                "record_a": a,
                "record_b": b,
                "decision": decision,
                "by_kind": "model",
                "by": who,
                "probability": round(p, 6),
                "model_version": model.version,
            }
            for decision, pairs in (("same", clustering.edges), ("review", clustering.doubtful))
            for a, b, p in pairs
        ]
        judgements.record_judgements(conn, verdicts, now=at)
    timings["apply"] = time.perf_counter() - t
    before = Counter(current.values())
    after = Counter(current[r] if r not in moves else moves[r] for r in current)
    sources: dict[str, set[str]] = defaultdict(set)
    for rid, target in moves.items():
        sources[current[rid]].add(target)
    return {
        "records": len(master_of),
        "model_version": model.version,
        "pairs_scored": clustering.pairs_scored,
        "masters_before": len(before),
        "masters_after": len(after),
        "masters_created": len(set(after) - set(before)),
        "masters_merged": len(set(before) - set(after)),
        "masters_split": sum(1 for m, targets in sources.items() if m in after or len(targets) > 1),
        "records_moved": len(moves),
        "pairs_linked": len(clustering.edges),
        "pairs_queued": len(clustering.doubtful),
        "event_id": event,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    }


def _step(progress: Any, message: str) -> None:
    if progress is not None:
        progress(message)


def reindex_all(db: Any, *, entity_type: str | None = None, batch: int = 20_000) -> int:
    """Recompute every live record's features and blocking keys (after normalisation changes, or for
    records written without the write hook); membership is untouched. Returns the records indexed.

    Reads in short pages by record id rather than one long cursor: on SQLite a read transaction held open
    while writing stops the WAL from being checkpointed, and it would grow by the size of the whole index.
    """
    from sqlalchemy import and_, delete, select

    from openrms.identity.features import MATCHED_TYPES
    from openrms.identity.index import index_of
    from openrms.store.tables import match_features, match_key, record, record_version

    types = [entity_type] if entity_type else list(MATCHED_TYPES)
    done = 0
    with db.write() as conn:
        conn.execute(delete(match_key).where(match_key.c.entity_type.in_(types)))
        conn.execute(delete(match_features).where(match_features.c.entity_type.in_(types)))
    after = ""
    while True:
        with db.read() as conn:
            rows = conn.execute(
                select(record.c.id, record.c.entity_type, record_version.c.data)
                .join(
                    record_version,
                    and_(
                        record_version.c.record_id == record.c.id,
                        record_version.c.version == record.c.current_version,
                    ),
                )
                .where(record.c.entity_type.in_(types), record.c.deleted.is_(False), record.c.id > after)
                .order_by(record.c.id)
                .limit(batch)
            ).all()
        if not rows:
            return done
        after = rows[-1][0]
        items = [item for rid, etype, data in rows if (item := index_of(rid, etype, data)) is not None]
        done += _write_index_batch(db, items)


def _write_index_batch(db: Any, items: list[Any]) -> int:
    from openrms.identity.index import write_index

    if items:
        with db.write() as conn:
            write_index(conn, items, replace=False)
    return len(items)
