"""A reader over rows already in memory: records pushed to the API by a live feed, or quarantined rows
being retried."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from openrms.ingest.readers._common import object_row
from openrms.ingest.rows import RAW_LIMIT, SourceRow


class MemoryReader:
    def __init__(self, rows: Iterable[Mapping[str, Any] | SourceRow], label: str = "item") -> None:
        self._rows = rows
        self._label = label

    @property
    def columns(self) -> Sequence[str] | None:
        return None

    def rows(self) -> Iterator[SourceRow]:
        for number, row in enumerate(self._rows, start=1):
            if isinstance(row, SourceRow):
                yield row
            elif isinstance(row, Mapping):
                # nested objects by their paths, as in a JSON file, so one mapping serves both
                raw = json.dumps(row, default=str)[:RAW_LIMIT]
                yield object_row(number, f"{self._label} {number}", raw, dict(row))
            else:
                yield SourceRow.failed(
                    number,
                    f"{self._label} {number}",
                    json.dumps(row, default=str),
                    f"expected an object of fields, got {type(row).__name__}",
                )
