"""The contracts between readers, the mapping language and the import pipeline."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from openrms.errors import BadRequest

RAW_LIMIT = 65536  # characters of a row's raw content kept in quarantine


@dataclass(frozen=True)
class SourceRow:
    """One record of a source: its fields, or why it could not be parsed.

    `number` counts records from 1 in source order and is what checkpoints and quarantine refer to;
    `location` says where it is in human terms ("line 57", "element 12 at /Export/Report").
    """

    number: int
    location: str
    raw: str
    fields: Mapping[str, Any] | None = None
    error: str | None = None

    @classmethod
    def failed(cls, number: int, location: str, raw: str, error: str) -> SourceRow:
        return cls(number, location, raw[:RAW_LIMIT], None, error)


class Reader(Protocol):
    """A streaming source: memory must not grow with its size."""

    @property
    def columns(self) -> Sequence[str] | None:
        """Field names every row can have, when the format declares them (CSV header, fixed-width spec)."""
        ...

    def rows(self) -> Iterator[SourceRow]: ...


class SourceError(BadRequest):
    """The source as a whole cannot be read (missing file, undecodable, refused XML): nothing is imported."""

    kind = "source-unreadable"
    title = "Source cannot be read"


@dataclass(frozen=True)
class RecordRef:
    """A record from another row or an earlier import, found by its source key (ids are derived from it)."""

    entity_type: str
    source_key: str
    source_system: str | None = None  # None: this import's source system
    agency: str | None = None  # None: this import's agency


@dataclass(frozen=True)
class MappedRecord:
    entity_type: str
    source_key: str
    data: dict[str, Any]
    classification: str | None = None  # None: the import's default (OFFICIAL)
    handling: str | None = None
    handling_conditions: str | None = None


@dataclass(frozen=True)
class MappedLink:
    """A link between two records of the same row (by their names in the mapping) or a referenced record."""

    link_type: str
    source: str | RecordRef
    target: str | RecordRef
    source_key: str
    valid_from: str | None = None
    valid_to: str | None = None


@dataclass
class MappedRow:
    """What one source row becomes: named records and links between them, or why it cannot.

    Data problems never raise: they are `reasons`, each naming the mapping field and the source value, and
    the pipeline quarantines the row with all of them. `skipped` rows were excluded by a condition.
    """

    records: dict[str, MappedRecord] = field(default_factory=dict)
    links: list[MappedLink] = field(default_factory=list)
    skipped: bool = False
    reasons: list[str] = field(default_factory=list)
