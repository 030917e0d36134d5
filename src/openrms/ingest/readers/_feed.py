"""How the CSV reader assembles records from physical lines without letting one bad quote run away.

`Feed` is the iterator the csv parser pulls lines from. It remembers which lines the current record took
(`taken`), refuses to let a record grow past MAX_RECORD_LINES lines or its character cap (raising
`Overflow` from inside the parser), and keeps a push-back queue so that lines swallowed by an unbalanced
quote can be parsed again. See csv.py for how the reader uses it.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator, Sequence

from openrms.ingest.readers._text import Line

MAX_RECORD_LINES = 5_000


class Overflow(Exception):
    """The record would grow past a cap, or its next line is over the byte cap."""


class Fatal(Exception):
    """Nothing after this line can be read (a decode error in a UTF-16/32 file)."""


class Feed:
    """The iterator the csv parser reads: hands out physical lines, remembering those the current record took
    (`taken`), with a push-back queue for lines to parse again."""

    def __init__(self, lines: Iterator[Line], max_chars: int) -> None:
        self._lines = lines
        self._back: deque[Line] = deque()
        self._max_chars = max_chars
        self.chars = 0
        self.taken: list[Line] = []

    def start(self) -> None:
        self.taken = []
        self.chars = 0

    def push_back(self, lines: Sequence[Line]) -> None:
        self._back.extendleft(reversed(lines))

    def pull(self) -> Line | None:
        return self._back.popleft() if self._back else next(self._lines, None)

    def __iter__(self) -> Feed:
        return self

    def __next__(self) -> str:
        if self.taken and (len(self.taken) >= MAX_RECORD_LINES or self.chars >= self._max_chars):
            raise Overflow(f"no closing quote within {len(self.taken):,} lines ({self.chars:,} characters)")
        line = self.pull()
        if line is None:
            raise StopIteration
        if line.overflow and self.taken:
            self.push_back([line])
            raise Overflow(f"no closing quote before line {line.number}, which is too long to be read")
        self.taken.append(line)
        if line.fatal:
            raise Fatal(line.problem)
        if line.overflow:
            raise Overflow(line.problem)
        self.chars += len(line.text)
        return line.text


def describe(exc: Exception) -> str:
    """The csv module's strict-mode errors in words an analyst fixing the file can act on."""
    text = str(exc)
    if not isinstance(exc, csv.Error):
        return text
    if text == "unexpected end of data":
        return "a quoted field is not closed before the end of the file"
    if text.startswith("new-line character seen in unquoted field"):
        return "a line break (CR) inside an unquoted field"
    return f"malformed quoting: {text}"


def line_problem(taken: Sequence[Line]) -> str | None:
    """The first decode/NUL problem of a record's lines, naming the line when the record has several."""
    for line in taken:
        if line.problem:
            return line.problem if len(taken) == 1 else f"line {line.number}: {line.problem}"
    return None


def raw_text(taken: Sequence[Line]) -> str:
    text = taken[0].text if len(taken) == 1 else "".join(line.text for line in taken)
    return text.rstrip("\r\n")
