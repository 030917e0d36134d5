"""Deterministic ids: a record's id is derived from where it came from.

Re-importing the same source row yields the same id, so an import is idempotent by construction and two
agencies' case numbers can never collide. Records keyed in by hand get a random source key, then the
same rule.
"""

from __future__ import annotations

import hashlib
import uuid


def _digest(*parts: str) -> str:
    # 96 bits as 24 hex characters: short keys keep the B-trees (and every index holding them) small, and hex
    # is safe everywhere an id travels (URLs, shells, a CLI argument that must not start with "-").
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def record_id(entity_type: str, agency: str, source_system: str, source_key: str) -> str:
    return _digest("record", entity_type, agency, source_system, source_key)


def link_id(
    link_type: str, from_id: str, to_id: str, agency: str, source_system: str, source_key: str
) -> str:
    return _digest("link", link_type, from_id, to_id, agency, source_system, source_key)


def master_id_for(record: str) -> str:
    """The master a record starts in; merges later move the record, never rename masters."""
    return _digest("master", record)


def new_source_key() -> str:
    return uuid.uuid4().hex


def split_master_id(record: str, event: str) -> str:
    """A new master for a record split off the master it started in (so that master keeps the rest)."""
    return _digest("master", record, event)


def random_id() -> str:
    """An id for something with no source key of its own (an agreement, a user, a token): 24 hex chars."""
    return uuid.uuid4().hex[:24]
