"""Trained match models in the database, versioned; the newest of a type is the one in use.

Until an index trains its own (`openrms resolve`), the model shipped with OpenRMS is used. Models are cached
per database and version, since real-time matching needs one on every write.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sqlalchemy import Connection, func, insert, select

from openrms.identity.model import MatchModel, default_model
from openrms.store.tables import match_model

logger = logging.getLogger(__name__)
_cache: dict[tuple[str, str, int], MatchModel] = {}


# How long a process trusts the newest version it saw before asking again: real-time matching asks on every
# call, and a model changes only when `openrms resolve` trains one (this process's saves are seen at once).
RECHECK_SECONDS = 5.0
_latest: dict[tuple[str, str], tuple[int | None, float]] = {}


def _latest_version(conn: Connection, entity_type: str) -> int | None:
    key = (str(conn.engine.url), entity_type)
    seen = _latest.get(key)
    if seen is not None and time.monotonic() - seen[1] < RECHECK_SECONDS:
        return seen[0]
    version = conn.execute(
        select(func.max(match_model.c.version)).where(match_model.c.entity_type == entity_type)
    ).scalar()
    _latest[key] = (version, time.monotonic())
    return version


def current_model(conn: Connection, entity_type: str = "person") -> MatchModel:
    version = _latest_version(conn, entity_type)
    if version is None:
        return _shipped()
    key = (str(conn.engine.url), entity_type, version)
    model = _cache.get(key)
    if model is None:
        row = conn.execute(
            select(match_model.c.model, match_model.c.summary).where(
                match_model.c.entity_type == entity_type, match_model.c.version == version
            )
        ).one()
        try:
            model = MatchModel.from_document(row.model, version=version, summary=row.summary)
        except ValueError as exc:  # trained before the comparisons changed: the shipped model still works
            logger.warning("%s; using the shipped model until then", exc)
            model = _shipped()
        _cache[key] = model
    return model


_default: list[MatchModel] = []


def _shipped() -> MatchModel:
    if not _default:
        _default.append(default_model())
    return _default[0]


def save_model(conn: Connection, model: MatchModel, *, by: str, summary: dict[str, Any] | None = None) -> int:
    """Store `model` as the next version of its type; returns the version."""
    version = (
        conn.execute(
            select(func.max(match_model.c.version)).where(match_model.c.entity_type == model.entity_type)
        ).scalar()
        or 0
    ) + 1
    conn.execute(
        insert(match_model).values(
            entity_type=model.entity_type,
            version=version,
            created_at=dt.datetime.now(dt.UTC),
            created_by=by,
            model=model.as_document(),
            summary={**model.summary, **(summary or {})},
        )
    )
    model.version = version
    _latest.pop((str(conn.engine.url), model.entity_type), None)
    return version
