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
    edges: list[tuple[str, str, float]]  # pairs at or above the match threshold
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
    refused = {_pair(a, b) for a, b in different}
    edges = [(a, b, p) for a, b, p in scored if p >= model.match_at and _pair(a, b) not in refused]
    edges += [(*_pair(a, b), 1.0) for a, b in same]
    doubtful = [(a, b, p) for a, b, p in scored if model.review_at <= p < model.match_at]
    cluster_of = connected_components(ids, ((a, b) for a, b, _ in edges))
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


def connected_components(ids: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Cluster label (the smallest id in the cluster) per id, by union-find."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return {i: find(i) for i in ids}


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
