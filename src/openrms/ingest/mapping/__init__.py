"""The declarative import mapping language: YAML that says which records and links each source row becomes.

    mapping = load_mapping("police-uk")            # a built-in, or a path to a YAML file
    mapping.check_columns(reader.columns)          # after opening the source: every named field exists
    for source_row in reader.rows():
        mapped = mapping.apply(source_row.fields, row_context(source_row, path))

A broken mapping raises `MappingError` (every problem, each with its YAML line) before any row is read;
a row the mapping cannot turn into records comes back with `reasons`, never an exception.
See docs/mapping.md for the language.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from openrms.ingest.mapping.errors import MappingError
from openrms.ingest.mapping.runtime import Mapping
from openrms.ingest.mapping.values import PSEUDO_FIELDS
from openrms.ingest.rows import SourceRow

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "mappings"
_LINE = re.compile(r"^lines? (\d+)\b")

__all__ = [
    "PSEUDO_FIELDS",
    "Mapping",
    "MappingError",
    "builtin_mappings",
    "load_mapping",
    "parse_mapping",
    "row_context",
]


def builtin_mappings() -> list[str]:
    """Names of the mappings shipped with OpenRMS (src/openrms/ingest/mappings/<name>.yaml)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def parse_mapping(
    text: str, origin: str = "<mapping>", *, agency: str | None = None, source_system: str | None = None
) -> Mapping:
    """A mapping from YAML text; `origin` names it in error messages."""
    return Mapping(text, origin, agency=agency, source_system=source_system)


def load_mapping(ref: str | Path, *, agency: str | None = None, source_system: str | None = None) -> Mapping:
    """A mapping from a YAML file, or a built-in one by name; `agency`/`source_system` override its own."""
    path = Path(ref)
    if not path.is_file():
        builtin = BUILTIN_DIR / f"{ref}.yaml"
        if isinstance(ref, str) and "/" not in ref and builtin.is_file():
            path = builtin
        else:
            names = ", ".join(builtin_mappings()) or "none"
            raise MappingError(
                str(ref),
                [
                    (
                        0,
                        f"no mapping file {str(ref)!r} and no built-in mapping of that "
                        f"name (built-in: {names})",
                    )
                ],
            )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(str(path), [(0, f"cannot read the mapping: {exc}")]) from None
    origin = path.name if path.parent == BUILTIN_DIR else str(path)
    mapping = Mapping(text, origin, agency=agency, source_system=source_system)
    mapping.ref = str(ref)
    return mapping


def row_context(row: SourceRow, file: str | Path | None = None) -> dict[str, Any]:
    """What `$file`, `$line` and `$row` stand for in a mapping, for `Mapping.apply(fields, context)`.

    `$line` is the N of a location "line N" (or "lines N-M": where the record starts) of the CSV and
    fixed-width readers; other readers' rows have none.
    """
    context: dict[str, Any] = {"row": row.number}
    if file is not None:
        context["file"] = _file_name(str(file))
    if m := _LINE.match(row.location or ""):
        context["line"] = int(m.group(1))
    return context


@lru_cache(maxsize=64)
def _file_name(file: str) -> str:
    """The name without a compression suffix: the same rows keep the same keys, gzipped or not. (Cached:
    every row of a file asks, and building a Path per row costs more than mapping some rows.)"""
    return Path(file).name.removesuffix(".gz")
