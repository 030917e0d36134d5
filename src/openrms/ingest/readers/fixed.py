"""Fixed-width text (mainframe and COBOL-era extracts): each column is a slice of characters of a line.

Positions are 1-based and counted in characters after decoding (so a multi-byte UTF-8 letter is one
position), the way record layouts in such systems' documentation are written. Lines are decoded one by one
(see _text), so a bad byte fails only its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from openrms.ingest.readers._common import check_unique, failed, opt_bool, opt_int, source_file
from openrms.ingest.readers._text import TextSource
from openrms.ingest.rows import SourceError, SourceRow

MAX_LINE_BYTES = 4 << 20


class FixedWidthReader:
    """`columns`: [{name, start, width}] or [{name, start, end}] (end inclusive), 1-based."""

    OPTIONS = frozenset({"columns", "encoding", "skip_lines", "strip", "allow_short"})

    def __init__(
        self,
        source: str | Path,
        *,
        columns: Sequence[Mapping[str, Any]] | None = None,
        encoding: str = "auto",
        skip_lines: int = 0,
        strip: bool = True,
        allow_short: bool = False,
    ) -> None:
        self.path = path = source_file(source, "fixed-width records")
        self.skip_lines = opt_int(path, "skip_lines", skip_lines, 0)
        self.strip = opt_bool(path, "strip", strip)
        self.allow_short = opt_bool(path, "allow_short", allow_short)
        self._slices = self._layout(columns)
        check_unique(path, [name for name, _, _ in self._slices], "option 'columns'")
        self.width = max(end for _, _, end in self._slices)
        self._text = TextSource(path, encoding, MAX_LINE_BYTES)
        self.encoding = self._text.codec

    def _layout(self, columns: Any) -> list[tuple[str, int, int]]:
        """(name, 0-based start, exclusive end) for each column."""
        usage = (
            "option 'columns' must be a list of {name, start, width} or {name, start, end} "
            "with 1-based positions"
        )
        if not isinstance(columns, Sequence) or isinstance(columns, str) or not columns:
            raise SourceError(f"{self.path}: {usage}; got {columns!r}")
        slices = []
        for i, column in enumerate(columns, 1):
            name = column.get("name") if isinstance(column, Mapping) else None
            if not isinstance(name, str) or not name:
                raise SourceError(f"{self.path}: column {i}: {usage}; got {column!r}")
            extra = set(column) - {"name", "start", "width", "end"}
            if extra or ("width" in column) == ("end" in column):
                raise SourceError(
                    f"{self.path}: column {name!r}: give start and exactly one of width "
                    f"or end; got {sorted(column)}"
                )
            start = opt_int(self.path, f"columns[{name}].start", column.get("start"), 1)
            if "width" in column:
                end = start - 1 + opt_int(self.path, f"columns[{name}].width", column["width"], 1)
            else:
                end = opt_int(self.path, f"columns[{name}].end", column["end"], start)
            slices.append((name, start - 1, end))
        return slices

    @property
    def columns(self) -> Sequence[str]:
        return tuple(name for name, _, _ in self._slices)

    def rows(self) -> Iterator[SourceRow]:
        number = 0
        lines = self._text.lines()
        try:
            for line in lines:
                if line.number <= self.skip_lines:
                    continue
                text = line.text.rstrip("\r\n")
                if not text.strip() and not line.fatal:
                    continue
                number += 1
                where = f"line {line.number}"
                if line.problem:
                    yield failed(number, where, text, line.problem)
                    if line.fatal:
                        return
                    continue
                if len(text) < self.width and not self.allow_short:
                    yield failed(
                        number,
                        where,
                        text,
                        f"line is {len(text):,} characters; the layout needs {self.width:,}",
                    )
                    continue
                values = {name: text[start:end] for name, start, end in self._slices}
                if self.strip:
                    values = {name: value.strip() for name, value in values.items()}
                yield SourceRow(number, where, text, values)
        finally:
            lines.close()
