"""CSV (and TSV, semicolon- or pipe-separated) files, streamed a record at a time.

Python's csv module alone would let one unbalanced quote swallow the rest of the file into a single field.
So the csv parser is fed physical lines by `Feed`, which records which lines each record took and caps a
record at MAX_RECORD_LINES lines and about 4 x max_field characters. The parser runs in strict mode, so a
quote that is not followed by a delimiter or a line end raises at once instead of being glued into a field.

Recovery: a record that ends *properly* (its quotes closed) but is wrong (column count, a field over
max_field, an undecodable byte, NUL) fails as a whole, with all its lines as `raw`. A record that spans
several lines and ends *improperly* (a strict-mode quote error, the end of the file inside quotes, or a cap)
is taken to start with an unbalanced quote: only its first physical line fails, and the lines after it are
pushed back and parsed again, so the good rows the quote swallowed are still read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from openrms.ingest.readers._common import (
    check_unique,
    failed,
    lines_location,
    opt_bool,
    opt_char,
    opt_int,
    opt_names,
    source_file,
)
from openrms.ingest.readers._feed import (
    Fatal,
    Feed,
    Overflow,
    describe,
    line_problem,
    raw_text,
)
from openrms.ingest.readers._text import Line, TextSource
from openrms.ingest.rows import SourceError, SourceRow

DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 50
SNIFF_CHARS = 1 << 20
SNIFF_RECORDS = 20


class CsvReader:
    """Delimited text with a header line (or `columns`); every value is a string, never stripped."""

    OPTIONS = frozenset(
        {"encoding", "delimiter", "quotechar", "header", "columns", "skip_lines", "max_field", "allow_short"}
    )

    def __init__(
        self,
        source: str | Path,
        *,
        encoding: str = "auto",
        delimiter: str | None = "auto",
        quotechar: str = '"',
        header: bool = True,
        columns: Sequence[str] | None = None,
        skip_lines: int = 0,
        max_field: int = 1_000_000,
        allow_short: bool = False,
    ) -> None:
        self.path = path = source_file(source, "CSV records")
        self.allow_short = opt_bool(path, "allow_short", allow_short)
        self.quotechar = opt_char(path, "quotechar", quotechar)
        self.header = opt_bool(path, "header", header)
        self.skip_lines = opt_int(path, "skip_lines", skip_lines, 0)
        self.max_field = opt_int(path, "max_field", max_field, 1)
        if self.header and columns is not None:
            raise SourceError(
                f"{path}: option 'columns' is for files without a header line (header: false); "
                "with a header line the header names the columns"
            )
        if not self.header and columns is None:
            raise SourceError(f"{path}: with header: false, option 'columns' must list the column names")
        self._names = opt_names(path, "columns", columns) if columns is not None else []
        self._max_chars = 4 * self.max_field + 65536
        csv.field_size_limit(max(csv.field_size_limit(), self._max_chars + 1))  # we cap records ourselves
        self._text = TextSource(path, encoding, self._max_chars)
        self.encoding = self._text.codec
        if delimiter in (None, "auto"):
            self.delimiter = self._sniff()
        else:
            self.delimiter = opt_char(path, "delimiter", delimiter)
        if self.delimiter == self.quotechar:
            raise SourceError(f"{path}: the delimiter and the quote character must differ")
        lines, _feed, _reader = self._open()
        lines.close()

    @property
    def columns(self) -> Sequence[str]:
        return tuple(self._names)

    def rows(self) -> Iterator[SourceRow]:
        lines, feed, reader = self._open()
        try:
            yield from self._records(feed, reader)
        finally:
            lines.close()

    def _parser(self, lines: Any) -> Any:
        return csv.reader(
            lines,
            delimiter=self.delimiter,
            quotechar=self.quotechar,
            doublequote=True,
            skipinitialspace=False,
            strict=True,
        )

    def _open(self) -> tuple[Iterator[Line], Feed, Any]:
        """Opens the file, skips `skip_lines` and reads the header (setting the column names)."""
        lines = self._text.lines()
        try:
            feed = Feed(lines, self._max_chars)
            for _ in range(self.skip_lines):
                if feed.pull() is None:
                    break
            reader = self._parser(feed)
            if self.header:
                self._names = self._read_header(feed, reader)
        except BaseException:
            lines.close()
            raise
        return lines, feed, reader

    def _sniff(self) -> str:
        """The candidate delimiter that splits the header into several columns and the most of the first
        records into as many (or, without a header, into len(columns)); ties go to the earlier candidate."""
        sample: list[str] = []
        lines = self._text.lines()
        try:
            for number, line in enumerate(lines, 1):
                if number > self.skip_lines and not line.overflow:
                    sample.append(line.text)
                if len(sample) >= SNIFF_LINES or sum(map(len, sample)) > SNIFF_CHARS:
                    break
        finally:
            lines.close()
        best, best_score = DELIMITERS[0], (False, -1)
        for delimiter in DELIMITERS:
            counts: list[int] = []
            try:
                for record in csv.reader(sample, delimiter=delimiter, quotechar=self.quotechar, strict=True):
                    if record:
                        counts.append(len(record))
                    if len(counts) > SNIFF_RECORDS:
                        break
            except csv.Error:
                pass
            if self.header:
                expected, rest = (counts[0] if counts else 0), counts[1:]
            else:
                expected, rest = len(self._names), counts
            score = (expected > 1, sum(count == expected for count in rest))
            if score > best_score:
                best, best_score = delimiter, score
        return best

    def _read_header(self, feed: Feed, reader: Any) -> list[str]:
        values: list[str] = []
        while not values:
            feed.start()
            try:
                values = next(reader)
            except StopIteration:
                after = f" after skipping {self.skip_lines} lines" if self.skip_lines else ""
                raise SourceError(
                    f"{self.path}: expected a header line naming the columns{after}, found none"
                ) from None
            except (csv.Error, Overflow, Fatal) as exc:
                where = feed.taken[0].number if feed.taken else "?"
                raise SourceError(
                    f"{self.path}: cannot read the header line (line {where}): {describe(exc)}"
                ) from None
        problem = line_problem(feed.taken)
        if problem:
            raise SourceError(f"{self.path}: the header line (line {feed.taken[0].number}) {problem}")
        names = [value.strip().strip("\ufeff").strip() or f"column_{i}" for i, value in enumerate(values, 1)]
        check_unique(self.path, names, "header")
        return names

    def _check(self, values: list[str], chars: int) -> str | None:
        """Why a record cannot be a row, if it cannot. With `allow_short`, the trailing columns a short
        record leaves off are filled in as empty (many exports end a line at its last non-empty value)."""
        wanted = len(self._names)
        if len(values) < wanted and self.allow_short:
            values.extend([""] * (wanted - len(values)))
        if len(values) < wanted:
            return (
                f"expected {wanted} columns, found {len(values)}; if the source leaves empty trailing "
                "columns off, `allow_short: true` reads them as empty"
            )
        if len(values) > wanted:
            return f"expected {wanted} columns, found {len(values)}"
        if chars <= self.max_field:  # no field can be longer than the record's text
            return None
        for name, value in zip(self._names, values, strict=True):
            if len(value) > self.max_field:
                return f"field longer than {self.max_field:,} characters (column {name!r} has {len(value):,})"
        return None

    def _records(self, feed: Feed, reader: Any) -> Iterator[SourceRow]:
        number = 0
        while True:
            feed.start()
            broken: str | None = None
            try:
                values: list[str] = next(reader)
            except StopIteration:
                return
            except (csv.Error, Overflow) as exc:
                values, broken = [], describe(exc)
            except Fatal as exc:
                yield failed(number + 1, self._where(feed.taken), raw_text(feed.taken), str(exc))
                return
            taken = feed.taken
            if broken is None and not values and len(taken) == 1 and not taken[0].problem:
                continue  # a blank line
            number += 1
            if broken is None:
                problem = line_problem(taken) or self._check(values, feed.chars)
                if problem:
                    yield failed(number, self._where(taken), raw_text(taken), problem)
                else:
                    yield SourceRow(
                        number,
                        self._where(taken),
                        raw_text(taken),
                        dict(zip(self._names, values, strict=True)),
                    )
                continue
            first = taken[0]
            if len(taken) > 1:
                feed.push_back(taken[1:])
                broken = (
                    f"unbalanced quote: a quoted field opens on line {first.number} but does not close "
                    f"properly (line {taken[-1].number}: {broken}); only line {first.number} is "
                    f"skipped, reading resumes at line {first.number + 1}"
                )
            yield failed(number, self._where([first]), raw_text([first]), first.problem or broken)

    @staticmethod
    def _where(taken: Sequence[Line]) -> str:
        return lines_location(taken[0].number, taken[-1].number)
