"""XML exports: the elements at `record_path`, each flattened to a dict of paths.

Security first: a document with a DOCTYPE is refused before lxml sees it. Entity declarations and external
DTDs live only in a DOCTYPE, so refusing it rules out entity expansion (billion laughs) and external entities
(XXE) outright; lxml is also run with resolve_entities=False, load_dtd=False, no_network=True and
huge_tree=False as a second line. The check scans the prolog (declaration, comments, processing
instructions) up to the root element in a stream, so a long comment cannot push a DOCTYPE out of sight.

Memory stays flat: iterparse builds the tree as it goes, and every element that is not inside an open record
is cleared when it ends, with its already-cleared preceding siblings deleted from the parent.
A document that breaks mid-way cannot be resynchronised: the reader yields one failed row (the element being
parsed, with lxml's line and column) and stops. A document that breaks before its first record is a
SourceError.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from openrms.ingest.readers._common import failed, open_binary, source_file
from openrms.ingest.rows import SourceError, SourceRow

REFUSED = (
    "XML declares a DTD/entities; refused to protect against entity expansion (billion laughs) "
    "and external entities (XXE)"
)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


_CHUNK = 1 << 16  # bytes fed to the parser at a time


def _pulled(f: Any, encoding: str | None) -> Iterator[tuple[str, Any]]:
    """The parse events of `f`, then its syntax error if it has one. Not `iterparse`: from lxml 6 it reads
    ahead and raises a syntax error before handing over the events parsed ahead of it, so the good records
    before a broken one would be lost; a pull parser fed in chunks keeps every event it parsed."""
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        encoding=encoding,
    )
    try:
        while chunk := f.read(_CHUNK):
            parser.feed(chunk)
            yield from parser.read_events()
        parser.close()
    except etree.XMLSyntaxError:
        yield from parser.read_events()
        raise
    yield from parser.read_events()


class _Prolog:
    """Reads text before the root element, a chunk at a time, keeping only what is not yet skipped."""

    def __init__(self, f: BinaryIO, encoding: str | None) -> None:
        head = f.read(4)
        f.seek(0)
        codec = encoding or "latin-1"  # the prolog's markup is ASCII in every ASCII-compatible encoding
        for marks, name in (
            ((codecs.BOM_UTF8,), "utf-8"),
            ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
            ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
            ((b"<\x00\x00\x00",), "utf-32-le"),
            ((b"\x00\x00\x00<",), "utf-32-be"),
            ((b"<\x00",), "utf-16-le"),
            ((b"\x00<",), "utf-16-be"),
        ):
            if head.startswith(marks):
                codec = name
                break
        self._f = f
        self._decoder = codecs.getincrementaldecoder(codec)("replace")
        self.buf = ""
        self.eof = False

    def fill(self, size: int) -> None:
        while len(self.buf) < size and not self.eof:
            chunk = self._f.read(1 << 16)
            self.eof = not chunk
            self.buf += self._decoder.decode(chunk, self.eof)

    def skip_past(self, end: str) -> bool:
        while (at := self.buf.find(end)) < 0:
            if self.eof:
                return False
            self.buf = self.buf[-len(end) :]
            self.fill(len(self.buf) + 1)
        self.buf = self.buf[at + len(end) :]
        return True

    def has_doctype(self) -> bool:
        while True:
            self.buf = self.buf.lstrip(" \t\r\n\ufeff")
            if len(self.buf) < 9 and not self.eof:  # "<!DOCTYPE" may straddle two chunks
                self.fill(len(self.buf) + 9)
                continue
            if self.buf.startswith("<?"):
                ended = self.skip_past("?>")
            elif self.buf.startswith("<!--"):
                ended = self.skip_past("-->")
            else:
                return self.buf[:9].upper() == "<!DOCTYPE"
            if not ended:
                return False


class XmlReader:
    """Records at a simple absolute path ("/Export/Reports/Report"; `*` matches any one element name)."""

    OPTIONS = frozenset({"record_path", "encoding"})
    columns = None

    def __init__(
        self, source: str | Path, *, record_path: str | None = None, encoding: str | None = None
    ) -> None:
        self.path = path = source_file(source, "XML records")
        steps = record_path.split("/") if isinstance(record_path, str) else []
        if len(steps) < 2 or steps[0] != "" or not all(steps[1:]) or any("[" in s or "@" in s for s in steps):
            raise SourceError(
                f"{path}: option 'record_path' must be an absolute path of element names such "
                f"as '/Export/Reports/Report' ('*' for any name), not {record_path!r}"
            )
        self.record_path = record_path
        self._steps = steps[1:]
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except (LookupError, TypeError) as exc:
                raise SourceError(
                    f"{path}: unknown encoding {encoding!r}; leave it out to use the one the "
                    "XML declaration names"
                ) from exc
        self.encoding = encoding
        with open_binary(path) as f:
            if _Prolog(f, encoding).has_doctype():
                raise SourceError(f"{path}: {REFUSED}")

    def _matches(self, depth: int, tag: str) -> bool:
        step = self._steps[depth - 1]
        return step in ("*", tag) or step == _local(tag)

    def rows(self) -> Iterator[SourceRow]:
        size = len(self._steps)
        ok: list[bool] = []  # per open element: does the path down to it match record_path so far?
        names: list[str] = []
        record: Any = None
        number = 0
        with open_binary(self.path) as f:
            events = _pulled(f, self.encoding)
            while True:
                try:
                    event, el = next(events)
                except StopIteration:
                    return
                except (etree.LxmlError, ValueError, LookupError) as exc:
                    line, column = getattr(exc, "position", (0, 0))
                    message = f"malformed XML at line {line}, column {column}: {getattr(exc, 'msg', exc)}"
                    if number == 0 and record is None:
                        raise SourceError(
                            f"{self.path}: {message}; expected a well-formed XML document"
                        ) from None
                    where, raw = f"after element {number} ({self.record_path})", ""
                    if record is not None:
                        where = self._where(number + 1, names[:size], record)
                        raw = etree.tostring(record, encoding="unicode", with_tail=False)
                    yield failed(number + 1, where, raw, f"{message}; the rest of the file cannot be read")
                    return
                if event == "start":
                    depth = len(ok) + 1
                    if depth == 1 and el.getroottree().docinfo.doctype:  # second line: the scan missed it
                        raise SourceError(f"{self.path}: {REFUSED}")
                    if depth == 1 and not self._matches(1, el.tag):
                        raise SourceError(
                            f"{self.path}: the root element is <{_local(el.tag)}>, but "
                            f"record_path {self.record_path!r} expects <{self._steps[0]}>"
                        )
                    ok.append(depth <= size and (depth == 1 or ok[-1]) and self._matches(depth, el.tag))
                    names.append(_local(el.tag))
                    if depth == size and ok[-1]:
                        record = el
                    continue
                depth = len(ok)
                if depth == size and ok[-1]:
                    number += 1
                    row = self._row(number, el, names)
                    record = None
                    self._forget(el)
                    yield row
                elif depth < size or not ok[size - 1]:
                    self._forget(el)
                ok.pop()
                names.pop()

    @staticmethod
    def _forget(el: Any) -> None:
        el.clear(keep_tail=True)
        parent = el.getparent()
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]

    def _where(self, number: int, names: list[str], el: Any) -> str:
        line = f", line {el.sourceline}" if el.sourceline else ""
        return f"element {number} (/{'/'.join(names)}{line})"

    def _row(self, number: int, el: Any, names: list[str]) -> SourceRow:
        where = self._where(number, names, el)
        raw = etree.tostring(el, encoding="unicode", with_tail=False)
        return SourceRow(number, where, raw, flatten(el))


def flatten(record: Any) -> dict[str, Any]:
    """{"@attr": ..., "#text": ..., "Sub/Path": text, "Sub/Path/@attr": ...}; a repeated key becomes a list
    of its values in document order. Only an element's own text before its first child is kept (tails of
    mixed content are not), stripped; elements without text add no key.

    An element path that occurs more than once, with children or attributes, also gets "Path[]": each
    occurrence flattened on its own, in document order. The lists above lose which value came from which
    occurrence (a subject without a date of birth shortens only one of them); a mapping's `each` reads the
    occurrences from here instead. (A repeated element of text alone is already one list item each.) "["
    cannot be part of an XML name, so the key never meets a real one."""
    fields: dict[str, Any] = {}
    occurrences: dict[str, list[Any]] = {}

    def put(key: str, value: str) -> None:
        if key not in fields:
            fields[key] = value
        elif isinstance(fields[key], list):
            fields[key].append(value)
        else:
            fields[key] = [fields[key], value]

    def visit(el: Any, prefix: str) -> None:
        for name, value in el.attrib.items():
            put(f"{prefix}@{_local(name)}", value)
        text = (el.text or "").strip()
        if text:
            put(prefix.rstrip("/") or "#text", text)
        for child in el:
            if isinstance(child.tag, str):
                path = f"{prefix}{_local(child.tag)}"
                occurrences.setdefault(path, []).append(child)
                visit(child, f"{path}/")

    visit(record, "")
    for path, elements in occurrences.items():
        if len(elements) > 1 and any(len(element) or element.attrib for element in elements):
            fields[f"{path}[]"] = [flatten(element) for element in elements]
    return fields
