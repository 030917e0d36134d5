"""Conversions of one non-empty text value: dates and times by strptime patterns, numbers, yes/no and
translation tables. Each is made once per field expression; a value it cannot convert raises `RowProblem`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openrms.ingest.mapping.errors import RowProblem, quote
from openrms.ingest.mapping.yamlload import nothing

Convert = Callable[[str], Any]
DATE_POSITIONS = ("month_start", "month_end", "year_start", "year_end", "day_start", "day_end")
_FAST = {
    "Y": r"(?P<Y>\d{4})",
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
}
_DIRECTIVE = re.compile(r"%(.)")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
_CACHE_SIZE = 4096
# ISO 8601 as a spreadsheet's or a database's own date and time values arrive (see values.to_text), and as
# SQLite keeps them, with a space before the time
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?")


def pattern_problem(pattern: str, kind: str) -> str | None:
    """Why a strptime pattern cannot be used, or None."""
    try:
        dt.datetime.strptime("", pattern)
    except ValueError as exc:
        if "bad directive" in str(exc) or "stray %" in str(exc):
            return f"invalid {kind} pattern {pattern!r}: {exc}"
    directives = set(_DIRECTIVE.findall(pattern))
    if not directives & set("YyGC"):
        return f"{kind} pattern {pattern!r} has no year (%Y or %y)"
    return None


def timezone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r} (e.g. UTC, Europe/London)"
    return None


def _fast_parser(pattern: str) -> Callable[[str], dt.datetime | None] | None:
    """A regex equivalent of strptime for patterns of %Y %m %d %H %M %S and literals (5x faster)."""
    pieces, seen, pos = [], set(), 0
    for match in _DIRECTIVE.finditer(pattern):
        code = match.group(1)
        if code not in _FAST or code in seen:
            return None
        seen.add(code)
        pieces += [re.escape(pattern[pos : match.start()]), _FAST[code]]
        pos = match.end()
    if pattern[pos:].strip() != pattern[pos:] or any(c.isspace() for c in pattern):
        return None  # strptime's whitespace rules: leave to it
    regex = re.compile("".join([*pieces, re.escape(pattern[pos:])]) + r"\Z")

    def parse(text: str) -> dt.datetime | None:
        m = regex.match(text)
        if m is None:
            return None
        g = m.groupdict()
        return dt.datetime(
            int(g["Y"]),
            int(g.get("m") or 1),
            int(g.get("d") or 1),
            int(g.get("H") or 0),
            int(g.get("M") or 0),
            int(g.get("S") or 0),
        )

    return parse


def _strptime_parser(pattern: str) -> Callable[[str], dt.datetime | None]:
    def parse(text: str) -> dt.datetime | None:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError as exc:
            if str(exc).startswith(("time data", "unconverted data")):
                return None
            raise

    return parse


def _shift(moment: dt.datetime, position: str | None) -> dt.datetime:
    if position is None:
        return moment
    if position.startswith("year"):
        moment = moment.replace(month=1 if position == "year_start" else 12)
    if position.startswith(("year", "month")):
        last = calendar.monthrange(moment.year, moment.month)[1]
        moment = moment.replace(day=1 if position.endswith("start") else last)
    if position.endswith("start"):
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(hour=23, minute=59, second=59, microsecond=0)


def date_converter(
    patterns: list[str], *, with_time: bool, position: str | None, timezone: str | None, source: str
) -> Convert:
    """Tries `patterns` in order; the first that parses wins. Output: ISO date (partial when the pattern has
    no day or month and no `as`) or ISO date-time, with the zone's offset ("Z" for UTC) when given."""
    parsers = []
    for pattern in patterns:
        codes = set(_DIRECTIVE.findall(pattern))
        precision = 10 if codes & set("djU") or position else 7 if codes & set("mbBj") else 4
        parsers.append((_fast_parser(pattern) or _strptime_parser(pattern), precision))
    zone = None if timezone is None or timezone.upper() == "UTC" else ZoneInfo(timezone)
    utc = timezone is not None and zone is None
    listed = ", ".join(patterns)
    kind = "date and time" if with_time else "date"
    cache: dict[str, str] = {}

    def output(moment: dt.datetime, precision: int) -> str:
        moment = _shift(moment, position)
        if not with_time:
            return moment.date().isoformat()[:precision]
        if moment.tzinfo is None and zone is not None:
            moment = moment.replace(tzinfo=zone)
        text = moment.replace(microsecond=0).isoformat()
        if utc and moment.tzinfo is None:
            return text + "Z"
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def convert(text: str) -> str:
        found = cache.get(text)
        if found is not None:
            return found
        impossible = None
        for parse, precision in parsers:
            try:
                moment = parse(text)
            except (ValueError, OverflowError) as exc:
                impossible = impossible or str(exc)
                continue
            if moment is not None:
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                result = cache[text] = output(moment, precision)
                return result
        if _ISO.fullmatch(text):  # a real date cell (Excel, SQL), or text as unambiguous as one
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError as exc:
                impossible = impossible or str(exc)
            else:
                return output(moment, 10)
        if impossible:
            raise RowProblem(f"{quote(text)} ({source}) is not a real {kind} ({impossible})")
        raise RowProblem(f"{quote(text)} ({source}) matches none of the {kind} patterns {listed}")

    return convert


def number_converter(kind: str, source: str) -> Convert:
    def to_int(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if number.is_integer():
            return int(number)
        raise RowProblem(f"{quote(text)} ({source}) is not a whole number")

    def to_float(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise RowProblem(f"{quote(text)} ({source}) is not a number")
        return number

    return to_int if kind == "int" else to_float


def boolean_converter(source: str) -> Convert:
    def convert(text: str) -> bool:
        word = text.casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise RowProblem(f"{quote(text)} ({source}) is not a yes/no value (true/false, yes/no, y/n, 1/0)")

    return convert


_MISSING = object()


def translator(name: str, table: dict[str, Any], source: str) -> Convert:
    """Looks the value up exactly; `_default` answers values not in the table."""
    entries = {k: nothing(v) for k, v in table.items() if k != "_default"}
    fallback = nothing(table.get("_default", _MISSING))
    known = ", ".join(repr(k) for k in list(entries)[:10]) + (", ..." if len(entries) > 10 else "")

    def convert(text: str) -> Any:
        found = entries.get(text, _MISSING)
        if found is _MISSING:
            if fallback is _MISSING:
                what = quote(text) if text else "an empty value"
                raise RowProblem(f"{what} ({source}) is not in translation table {name!r} (known: {known})")
            return fallback
        return found

    return convert
