"""Physical lines of a text file, decoded one by one, for the line-based readers (CSV and fixed width).

Why not `open(path, encoding=...)`: one bad byte would raise from inside the file object and end the whole
import, and a text stream cannot say where the byte was. Reading byte lines and decoding each on its own
keeps a bad byte to the line that holds it: the line is decoded with U+FFFD in its place and carries a
`problem` naming the byte offset, so its record fails alone and the lines around it still parse.

The encoding is decided once, from the first MiB ("auto": UTF-8 with or without BOM, else Windows-1252,
else Latin-1, which decodes anything). A declared encoding that cannot decode that sample is a SourceError:
the file is not what the import said it is. UTF-16/32 (declared or found by its BOM) cannot be split into
lines as bytes, so it goes through a text stream; a decode error there ends the file with a failed row.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from openrms.ingest.readers._common import open_binary
from openrms.ingest.rows import RAW_LIMIT, SourceError

SAMPLE_BYTES = 1 << 20
AUTO = "auto"
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(slots=True)
class Line:
    """One physical line: `text` keeps its line break; `problem` says why its record must fail;
    `overflow` marks a line over the byte cap (only its start is kept); `fatal` ends the file."""

    number: int
    offset: int | None
    text: str
    problem: str | None = None
    overflow: bool = False
    fatal: bool = False


def _first_error(data: bytes, codec: str, final: bool) -> UnicodeDecodeError | None:
    try:
        codecs.getincrementaldecoder(codec)().decode(data, final)
    except UnicodeDecodeError as exc:
        return exc
    return None


class TextSource:
    """A file's encoding (decided once) and an iterator of its decoded physical lines (new on every call)."""

    def __init__(self, path: Path, encoding: str, max_line_bytes: int) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        if not isinstance(encoding, str) or not encoding:
            raise SourceError(
                f"{path}: option 'encoding' must be 'auto' or an encoding name, not {encoding!r}"
            )
        with open_binary(path) as f:
            sample = f.read(SAMPLE_BYTES)
            complete = not f.read(1)
        bom = next(((mark, codec) for mark, codec in BOMS if sample.startswith(mark)), None)
        # Lines end at LF; a file with CR but no LF in its first MiB is an old Mac ("CSV (Macintosh)") one.
        self.newline = b"\r" if b"\r" in sample and b"\n" not in sample else b"\n"
        if encoding.lower() == AUTO:
            self.codec, self.skip = self._detect(sample, complete, bom)
            self.declared = False
            return
        try:
            codec = codecs.lookup(encoding).name
        except LookupError as exc:
            raise SourceError(
                f"{path}: unknown encoding {encoding!r}; use 'auto' or a name such as "
                "'utf-8', 'cp1252' or 'latin-1'"
            ) from exc
        codec = "utf-8" if codec == "utf-8-sig" else codec
        self.declared = True
        self.codec, self.skip = codec, 0
        if bom and (bom[1] == codec or bom[1].startswith(codec + "-")):
            self.codec, self.skip = bom[1], len(bom[0])
        error = _first_error(sample[self.skip :], self.codec, complete)
        if error is not None:
            at = self.skip + error.start
            line = sample.count(b"\n", 0, at) + 1
            raise SourceError(
                f"{path}: not valid {encoding}: byte 0x{sample[at]:02x} at byte offset {at:,} (line {line}) "
                f"cannot be decoded ({error.reason}); declare the file's real encoding, or 'auto' to detect "
                "UTF-8, Windows-1252 or Latin-1"
            )

    @staticmethod
    def _detect(sample: bytes, complete: bool, bom: tuple[bytes, str] | None) -> tuple[str, int]:
        if bom is not None:
            return bom[1], len(bom[0])
        for codec in ("utf-8", "cp1252"):
            if _first_error(sample, codec, complete) is None:
                return codec, 0
        return "latin-1", 0

    @property
    def byte_lines(self) -> bool:
        """True when lines can be split as bytes at b"\\n" (the codec is ASCII-compatible)."""
        try:
            return "\n\r,;<a".encode(self.codec) == b"\n\r,;<a"
        except UnicodeError:
            return False

    def lines(self) -> Iterator[Line]:
        with open_binary(self.path) as f:
            f.seek(self.skip)
            if not self.byte_lines:
                yield from self._text_lines(f)
            elif self.newline == b"\r":
                yield from self._byte_lines(_CrLines(f).readline, b"\r")
            else:
                yield from self._byte_lines(f.readline, b"\n")

    def _byte_lines(self, readline: Callable[[int], bytes], newline: bytes) -> Iterator[Line]:
        codec, cap = self.codec, self.max_line_bytes
        offset, number = self.skip, 0
        while chunk := readline(cap):
            number += 1
            size = len(chunk)
            if size == cap and not chunk.endswith(newline):
                head = chunk[:RAW_LIMIT].decode(codec, "replace")
                while not chunk.endswith(newline) and (chunk := readline(cap)):
                    size += len(chunk)
                yield Line(number, offset, head, f"line is longer than {cap:,} bytes", overflow=True)
                offset += size
                continue
            problem = None
            try:
                text = chunk.decode(codec)
            except UnicodeDecodeError as exc:
                text = chunk.decode(codec, "replace")
                problem = (
                    f"byte 0x{chunk[exc.start]:02x} at byte offset {offset + exc.start:,} cannot be "
                    f"decoded as {codec}"
                )
            if "\x00" in text:
                text = text.replace("\x00", "\ufffd")
                problem = problem or "contains NUL bytes"
            yield Line(number, offset, text, problem)
            offset += size

    def _text_lines(self, f: BinaryIO) -> Iterator[Line]:
        stream = io.TextIOWrapper(f, encoding=self.codec, errors="strict", newline="")
        cap = self.max_line_bytes // 2
        number = 0
        while True:
            number += 1
            try:
                text = stream.readline(cap)
                if len(text) == cap and not text.endswith(("\n", "\r")):
                    head = text[:RAW_LIMIT]
                    while not text.endswith(("\n", "\r")) and (text := stream.readline(cap)):
                        pass
                    yield Line(number, None, head, f"line is longer than {cap:,} characters", overflow=True)
                    continue
            except UnicodeDecodeError as exc:
                yield Line(
                    number,
                    None,
                    "",
                    f"cannot be decoded as {self.codec} ({exc.reason}); the rest of the file cannot be read",
                    fatal=True,
                )
                return
            if not text:
                return
            problem = None
            if "\x00" in text:
                text, problem = text.replace("\x00", "\ufffd"), "contains NUL bytes"
            yield Line(number, None, text, problem)


class _CrLines:
    """`readline` for files whose lines end with a lone CR (binary files only split at LF)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._buf = b""
        self._pos = 0

    def readline(self, cap: int) -> bytes:
        while True:
            end = self._buf.find(b"\r", self._pos, self._pos + cap)
            if end < 0 and len(self._buf) - self._pos >= cap:
                end = self._pos + cap - 1
            if end >= 0:
                line = self._buf[self._pos : end + 1]
                self._pos = end + 1
                return line
            more = self._f.read(1 << 16)
            if not more:
                line, self._buf, self._pos = self._buf[self._pos :], b"", 0
                return line
            self._buf = self._buf[self._pos :] + more
            self._pos = 0
