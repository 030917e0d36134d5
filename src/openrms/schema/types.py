"""Field types: each turns what a source wrote into the one canonical stored form, or says why it can't.

A canonical form is what makes two sources' values compare equal ("ls14ap" and "LS1 4AP"), so every
value is normalised on the way in and stored only in that form.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from openrms.schema import formats

LONDON = ZoneInfo("Europe/London")
Normaliser = Callable[[Any], Any]

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_UK_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


# One exception for every "this value is not of its field's type or format", whose message says what was
# expected: the format checks raise it too, so validation catches a single type.
FieldTypeError = formats.FormatError


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, (bool, dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
        raise FieldTypeError(
            f"expected text, got {value!r}"
            if isinstance(value, float)
            else f"expected text, got {type(value).__name__}"
        )
    else:
        text = str(value).strip()
    if "\x00" in text:
        raise FieldTypeError("contains a NUL character (\\x00), which no field may hold")
    return text


def text(value: Any) -> str:
    return _as_text(value)


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldTypeError("expected a whole number, got true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(_as_text(value))
    except ValueError:
        raise FieldTypeError(f"expected a whole number, got {value!r}") from None


def decimal(value: Any) -> float:
    if isinstance(value, bool):
        raise FieldTypeError("expected a number, got true/false")
    try:
        number = Decimal(_as_text(value)) if not isinstance(value, (int, float)) else Decimal(value)
    except InvalidOperation:
        raise FieldTypeError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise FieldTypeError(f"expected a finite number, got {value!r}")
    return float(number)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = _as_text(value).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldTypeError(f"expected true or false (or yes/no), got {value!r}")


def _real_date(year: int, month: int, day: int, original: Any) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise FieldTypeError(f"{original!r} is not a real date ({exc})") from None


def date(value: Any) -> str:
    """A full date, stored as YYYY-MM-DD. Accepts ISO and the UK's DD/MM/YYYY."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raw = _as_text(value)
    if m := _UK_DATE.match(raw):
        return _real_date(int(m[3]), int(m[2]), int(m[1]), value).isoformat()
    m = _PARTIAL_DATE.match(raw)
    if not m or m[3] is None:
        raise FieldTypeError(f"expected a date as YYYY-MM-DD or DD/MM/YYYY, got {value!r}")
    return _real_date(int(m[1]), int(m[2]), int(m[3]), value).isoformat()


def partial_date(value: Any) -> str:
    """A date of which only the year, or year and month, may be known: YYYY, YYYY-MM or YYYY-MM-DD."""
    if isinstance(value, (dt.date, dt.datetime)) or (
        isinstance(value, str) and _UK_DATE.match(value.strip())
    ):
        return date(value)
    raw = _as_text(value)
    m = _PARTIAL_DATE.match(raw)
    if not m:
        raise FieldTypeError(f"expected YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    year = int(m[1])
    if year < 1800:
        raise FieldTypeError(f"year {year} is before 1800")
    if m[2] is None:
        return f"{year:04d}"
    month = int(m[2])
    if not 1 <= month <= 12:
        raise FieldTypeError(f"month {month} in {value!r} is not 1-12")
    if m[3] is None:
        return f"{year:04d}-{month:02d}"
    return _real_date(year, month, int(m[3]), value).isoformat()


def datetime(value: Any) -> str:
    """A moment, stored as ISO 8601 UTC ("2018-07-01T13:45:00Z"); without an offset it is UK local time."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        raw = _as_text(value)
        if raw.endswith(("Z", "z")):
            raw = raw[:-1] + "+00:00"
        try:
            moment = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise FieldTypeError(
                f"expected a date and time as YYYY-MM-DDTHH:MM[:SS][+HH:MM], got {value!r}"
            ) from None
    return utc(moment, value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def utc(moment: dt.datetime, shown: Any = None) -> dt.datetime:
    """`moment` in UTC (UK local time when it has no offset), or FieldTypeError when UTC cannot hold it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise FieldTypeError(f"{shown if shown is not None else moment}: out of the range of dates") from None


def latitude(value: Any) -> float:
    number = decimal(value)
    if not -90 <= number <= 90:
        raise FieldTypeError(f"latitude must be between -90 and 90, got {number}")
    return number


def longitude(value: Any) -> float:
    number = decimal(value)
    if not -180 <= number <= 180 or math.isnan(number):
        raise FieldTypeError(f"longitude must be between -180 and 180, got {number}")
    return number


def _format(fn: Callable[[str], str]) -> Normaliser:
    """A format check that also takes numbers (a passport number sent as 123456789)."""

    def normalise(value: Any) -> str:
        return fn(value if type(value) is str else _as_text(value))

    normalise.__name__ = fn.__name__
    return normalise


FIELD_TYPES: dict[str, Normaliser] = {
    "text": text,
    "integer": integer,
    "decimal": decimal,
    "boolean": boolean,
    "date": date,
    "partial_date": partial_date,
    "datetime": datetime,
    "latitude": latitude,
    "longitude": longitude,
    "name": _format(formats.normalise_person_name),
    "pnc_id": _format(formats.normalise_pnc_id),
    "cro_number": _format(formats.normalise_cro_number),
    "ni_number": _format(formats.normalise_ni_number),
    "passport_number": _format(formats.normalise_passport_number),
    "driving_licence": _format(formats.normalise_driving_licence),
    "vrm": _format(formats.normalise_vrm),
    "vin": _format(formats.normalise_vin),
    "postcode": _format(formats.normalise_postcode),
    "ho_class": _format(formats.normalise_ho_class),
    "offence_code": _format(formats.normalise_offence_code),
    "collar_number": _format(formats.normalise_collar_number),
    "uprn": _format(formats.normalise_uprn),
    "phone": _format(formats.normalise_phone),
    "email": _format(formats.normalise_email),
}
# "code" and "object" are built per field by the validator: they need the field's code list or sub-fields.
STRUCTURAL_TYPES = ("code", "object")
