"""The one query model for every search, and the parser that validates request parameters into it.

`parse_query` takes the parameters of `GET /search` (or the CLI's options) as a mapping of name to text (or
list of texts) and returns a `SearchQuery`, or raises BadRequest naming the parameter and what was expected.
Every bound that keeps a search cheap is checked here, before any SQL runs: text length, printable
characters, enough fixed characters in a VRM pattern, a radius of 1 m to 50 km, a box of at most one square
degree, page sizes, and the parameters themselves (an unknown one is refused, not ignored).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from openrms.errors import BadRequest
from openrms.identity import normalise as n
from openrms.schema import registry
from openrms.search.terms import compact, street_key, town_key

MAX_TEXT = 200
MAX_PER_PAGE = 100
MAX_RADIUS_M = 50_000.0
MAX_BOX_DEG2 = 1.0
ABOUT_YEARS = 2
SORTS = ("relevance", "date", "name")
PERSON_ID_PARAMS = ("pnc_id", "cro_number", "ni_number", "passport_number", "driving_licence", "vin")

# Every parameter, with a short description (the API and docs show them; unknown ones are refused).
PARAMETERS: dict[str, str] = {
    "q": "free text: names, descriptions, MO, narrative; also understood as a name, VRM, identifier",
    "type": "entity types or categories (person, object, location, event, vehicle...), comma-separated",
    "surname": "a person's surname",
    "forename": "a person's forename",
    "fuzzy": "match misspelt names (true/false, default true)",
    "phonetic": "match names that sound alike (default true)",
    "nicknames": "match nicknames and their full names, Bill and William (default true)",
    "dob": "date of birth: 1985, 1985-03, 1985-03-02, or ~1985 for about (within 2 years)",
    "dob_from": "born on or after (date or partial date)",
    "dob_to": "born on or before (date or partial date)",
    "age_from": "aged at least (years) at age_at",
    "age_to": "aged at most (years) at age_at",
    "age_at": "the date ages are taken at (default today)",
    "gender": "gender code or label (M, F, X, U)",
    "pnc_id": "PNC ID, any written form",
    "cro_number": "CRO number",
    "ni_number": "National Insurance number",
    "passport_number": "passport number",
    "driving_licence": "driving licence number",
    "vin": "vehicle identification number",
    "vrm": "registration, whole or partial; ? is one character, * any run: AB1?C*",
    "make": "vehicle make",
    "model": "vehicle model",
    "colour": "vehicle colour code or label",
    "phone": "telephone number in any written form",
    "email": "e-mail address",
    "postcode": "full postcode, sector (LS1 4) or district (LS1)",
    "street": "street name",
    "town": "town",
    "lat": "latitude of the centre of a radius search",
    "lon": "longitude of the centre of a radius search",
    "radius_m": "radius in metres, 1 to 50000",
    "bbox": "bounding box minlon,minlat,maxlon,maxlat (at most 1 square degree)",
    "event_type": "event entity type (crime, incident...) or an event's own type (crime type...)",
    "ho_class": "Home Office classification NNN/NN",
    "offence_code": "CJS offence code",
    "crime_type": "crime type code or label (BURGLARY, Burglary)",
    "outcome": "outcome code or label",
    "from": "events on or after this date (date or partial date)",
    "to": "events on or before this date (date or partial date)",
    "area": "area of the place: LSOA code or the start of its name (Leeds, Leeds 111B)",
    "hate": "hate crimes only (true) or none (false)",
    "page": "page number, from 1",
    "per_page": "results per page, 1 to 100 (default 20)",
    "sort": "relevance (default), date or name",
}
_PERSON_PARAMS = frozenset(
    {"surname", "forename", "dob", "dob_from", "dob_to", "age_from", "age_to", "gender"}
    | set(PERSON_ID_PARAMS[:5])
)
_VEHICLE_PARAMS = frozenset({"vrm", "make", "model", "colour", "vin"})
_ADDRESS_PARAMS = frozenset({"postcode", "street", "town"})
_CRIME_PARAMS = frozenset({"ho_class", "offence_code", "crime_type", "hate"})
_EVENT_PARAMS = frozenset({"event_type", "outcome", "from", "to"})
_OPTIONS = frozenset({"type", "fuzzy", "phonetic", "nicknames", "age_at", "page", "per_page", "sort"})


@dataclass(frozen=True)
class DateRange:
    """Inclusive ISO dates, with the years they span (the index's cheap first filter)."""

    lo: str
    hi: str
    label: str
    rule: str = "exact"  # exact, range or about

    @property
    def years(self) -> tuple[int, int]:
        return int(self.lo[:4]), int(self.hi[:4])


@dataclass(frozen=True)
class VrmPattern:
    """A VRM pattern: `text` normalised (AB1?C*); without wildcards it matches whole or as a part."""

    text: str
    wildcard: bool
    regex: re.Pattern[str]
    prefix: str  # fixed characters before the first wildcard (an anchored prefix), '' if it starts with one
    grams: tuple[str, ...]  # the index pieces every match must contain

    def matches(self, vrm: str | None) -> str | None:
        """'exact', 'wildcard' or 'partial' for a matching VRM, else None."""
        if not vrm:
            return None
        if not self.wildcard:
            return "exact" if vrm == self.text else ("partial" if self.text in vrm else None)
        return "wildcard" if self.regex.fullmatch(vrm) else None


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class Box:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class TextQuery:
    """`q` as understood: words for free text, and what else the words look like."""

    raw: str
    words: tuple[str, ...]
    name: tuple[str, str] | None = None  # (forenames, surname) when the words may be a person's name
    vrm: VrmPattern | None = None
    keys: tuple[str, ...] = ()  # exact keys to look up: x:..., ph:..., em:...
    postcode: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    q: TextQuery | None = None
    types: tuple[str, ...] = ()  # entity types a result may have; () means any
    surname: str | None = None  # surname key
    forename: str | None = None  # first forename, folded
    fuzzy: bool = True
    phonetic: bool = True
    nicknames: bool = True
    dob: DateRange | None = None
    gender: str | None = None
    ids: tuple[tuple[str, str], ...] = ()  # (kind, normalised value)
    vrm: VrmPattern | None = None
    make: str | None = None
    model: str | None = None
    colour: str | None = None
    phone: str | None = None
    email: str | None = None
    postcode: tuple[str, str] | None = None  # (level: postcode/sector/district, value)
    street: str | None = None
    town: str | None = None
    circle: Circle | None = None
    box: Box | None = None
    event_types: tuple[str, ...] = ()  # an event's own classification codes (crime types, incident types...)
    ho_class: str | None = None
    offence_code: str | None = None
    crime_type: str | None = None
    outcome: str | None = None
    dates: DateRange | None = None
    area: str | None = None
    hate: bool | None = None
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"
    given: tuple[str, ...] = field(default=(), compare=False)  # the criteria given, for messages

    def with_page(self, page: int) -> SearchQuery:
        return replace(self, page=page)


# ---------------------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------------------

_WILD = re.compile(r"[?*]")
_VRM_CHARS = re.compile(r"[A-Z0-9?*]+")
_POSTCODE_SECTOR = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9]")
_POSTCODE_DISTRICT = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?")
_BORN = re.compile(
    r"\b(?:born|b\.?|dob|d\.o\.b\.?)\s*(?:in\s+)?(about|around|circa|approx\.?|c\.|c|~)?\s*"
    r"([0-9]{4}(?:-[0-9]{1,2}(?:-[0-9]{1,2})?)?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4})\b",
    re.IGNORECASE,
)
_VRM_WORDS = frozenset({"PLATE", "VRM", "REG", "REGISTRATION", "VEHICLE", "CAR"})
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _bad(name: str, message: str) -> BadRequest:
    return BadRequest(f"parameter {name!r}: {message}", parameter=name)


def _text(name: str, value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise _bad(name, "expected text")
    if len(value) > limit:
        raise _bad(name, f"at most {limit} characters (got {len(value)})")
    if not value.isprintable():
        raise _bad(name, "contains control or non-printable characters")
    text = value.strip()
    if not text:
        raise _bad(name, "is empty")
    return text


def _bool(name: str, value: str) -> bool:
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _bad(name, f"expected true or false, got {value!r}")


def _int(name: str, value: str, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, f"expected a whole number from {lo} to {hi}, got {value!r}") from None
    if not lo <= number <= hi:
        raise _bad(name, f"expected a whole number from {lo} to {hi}, got {number}")
    return number


def _float(name: str, value: str, lo: float, hi: float, unit: str = "") -> float:
    try:
        number = float(value)
    except ValueError:
        raise _bad(name, f"expected a number, got {value!r}") from None
    if number != number or not lo <= number <= hi:  # NaN fails the first test
        raise _bad(name, f"expected a number from {lo:g} to {hi:g}{unit}, got {value}")
    return number


def _date_bounds(name: str, value: str) -> tuple[str, str, int]:
    """First and last day of a date or partial date, and its precision (1 year, 2 month, 3 day)."""
    parsed = n.parse_date(value)
    if parsed is None or parsed.year is None:
        raise _bad(name, f"expected a date YYYY-MM-DD, YYYY-MM or YYYY (or DD/MM/YYYY), got {value!r}")
    y = parsed.year
    if parsed.month is None:
        return f"{y:04d}-01-01", f"{y:04d}-12-31", 1
    m = parsed.month
    if parsed.day is None:
        last = calendar.monthrange(y, m)[1]
        return f"{y:04d}-{m:02d}-01", f"{y:04d}-{m:02d}-{last:02d}", 2
    day = f"{y:04d}-{m:02d}-{parsed.day:02d}"
    return day, day, 3


def parse_dob(name: str, value: str) -> DateRange:
    text = value.strip()
    about = text.startswith("~")
    if about:
        text = text[1:].strip()
    lo, hi, _ = _date_bounds(name, text)
    if about:
        year = int(lo[:4])
        return DateRange(f"{year - ABOUT_YEARS:04d}-01-01", f"{year + ABOUT_YEARS:04d}-12-31", value, "about")
    return DateRange(lo, hi, value, "exact")


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def parse_vrm(name: str, value: str) -> VrmPattern:
    text = n.fold(value.replace("?", " QMARK ").replace("*", " STAR ")) if value else ""
    text = text.replace(" ", "").replace("QMARK", "?").replace("STAR", "*")
    text = re.sub(r"\*+", "*", text)
    if not text or not _VRM_CHARS.fullmatch(text):
        raise _bad(name, f"expected letters, digits and the wildcards ? and *, got {value!r}")
    fixed = _WILD.sub("", text)
    if len(fixed) < 2:
        raise _bad(name, f"{value!r} needs at least 2 letters or digits besides wildcards")
    if len(text.replace("*", "")) > 10:
        raise _bad(name, "a VRM has at most 10 characters")
    wildcard = bool(_WILD.search(text))
    runs = [run for run in re.split(r"[?*]", text) if run]
    longest = max(len(r) for r in runs)
    size = 3 if longest >= 3 else 2
    grams = sorted({r[i : i + size] for r in runs for i in range(len(r) - size + 1)}) if longest >= 2 else []
    pattern = "".join("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in text)
    prefix = re.split(r"[?*]", text, maxsplit=1)[0] if wildcard else ""
    if not grams and len(prefix) < 2:
        raise _bad(name, f"{value!r} needs 2 letters or digits side by side (e.g. AB?1*)")
    return VrmPattern(text, wildcard, re.compile(pattern), prefix, tuple(grams))


def _code(name: str, codelist: str, value: str) -> str:
    codes = registry().codelists[codelist].codes
    wanted = value.strip()
    for code, label in codes.items():
        if wanted.upper() == code or wanted.casefold() == label.casefold():
            return code
    shown = ", ".join(list(codes)[:20])
    raise _bad(name, f"unknown {codelist.replace('_', ' ')} {value!r}; known codes: {shown}")


def _event_type(value: str) -> tuple[set[str], set[str]]:
    """(entity types, own-type codes) that `value` names: 'crime', or 'BURGLARY' / 'Burglary'."""
    reg = registry()
    low = value.strip().lower()
    entity = {e.name for e in reg.of_category("event") if low in (e.name, e.label.lower())}
    codes: set[str] = set()
    for listname in ("crime_type", "incident_type", "asb_category", "safeguarding_concern_type"):
        for code, label in reg.codelists[listname].codes.items():
            if low in (code.lower(), label.lower()):
                codes.add(code)
    return entity, codes


def _types(value: str) -> set[str]:
    reg = registry()
    out: set[str] = set()
    for part in value.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name in reg.entity_types:
            out.add(name)
        elif name in ("person", "object", "location", "event"):
            out |= {e.name for e in reg.of_category(name)}
        else:
            known = ", ".join(["person", "object", "location", "event", *sorted(reg.entity_types)])
            raise _bad("type", f"unknown type {part.strip()!r}; known: {known}")
    return out


def parse_text(value: str) -> TextQuery:
    """Read `q`: its words for free text, and a name, VRM pattern, identifier, phone, e-mail or postcode."""
    raw = value
    words_text = _BORN.sub(" ", value)
    tokens = value.split()
    keys: list[str] = []
    vrm: VrmPattern | None = None
    plain: list[str] = []
    for token in tokens:
        if _WILD.search(token):
            try:
                vrm = parse_vrm("q", token)
            except BadRequest:
                raise BadRequest(
                    f"parameter 'q': {token!r} has wildcards but is not a usable VRM pattern "
                    "(letters, digits, ? and *, with at least 2 letters or digits side by side)",
                    parameter="q",
                ) from None
    email = n.email(value.strip()) if "@" in value else None
    if email:
        keys.append(f"em:{email}")
    digits = sum(c.isdigit() for c in value)
    if digits >= 7 and not email:
        number = n.phone(value.strip())
        if number:
            keys.append(f"ph:{number}")
    whole = compact(value)
    if whole and any(c.isdigit() for c in whole) and len(whole) >= 4:
        keys.append(f"x:{whole}"[:160])
    for token in tokens:
        key = compact(token)
        if key and any(c.isdigit() for c in key) and len(key) >= 4 and not _WILD.search(token):
            keys.append(f"x:{key}"[:160])
            if vrm is None and 2 <= len(key) <= 8 and any(c.isalpha() for c in key):
                vrm_guess = parse_vrm("q", key)
                vrm = vrm or vrm_guess
    pc = n.postcode(value.strip())
    for token in re.findall(r"[A-Za-z0-9]+", words_text):
        folded = n.fold(token)
        if not folded or (folded in _VRM_WORDS and vrm is not None):
            continue
        if _WILD.search(token):
            continue
        plain.append(folded.lower())
    words = tuple(dict.fromkeys(w for w in plain if w))[:12]
    name = None
    alpha = [w for w in words if w.isalpha()]
    if 1 <= len(alpha) <= 4 and len(alpha) == len(words) and not vrm:
        if len(alpha) == 1:
            name = ("", alpha[0].upper())
        else:
            name = (" ".join(alpha[:-1]).upper(), alpha[-1].upper())
    if not words and not keys and vrm is None and pc is None:
        raise _bad("q", f"{value!r} has no letters or digits to search for")
    return TextQuery(raw, words, name, vrm, tuple(dict.fromkeys(keys)), pc)


def _born_in(value: str) -> DateRange | None:
    found = _BORN.search(value)
    if not found:
        return None
    about, when = found.group(1), found.group(2)
    return parse_dob("q", ("~" if about else "") + when)


def _single(params: Mapping[str, Any], name: str) -> str:
    value = params[name]
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise _bad(name, "given more than once")
        value = value[0]
    if value is None:
        raise _bad(name, "is empty")
    return _text(name, value if isinstance(value, str) else str(value), 1000 if name == "bbox" else MAX_TEXT)


def parse_query(params: Mapping[str, Any]) -> SearchQuery:
    """A validated SearchQuery from request parameters; BadRequest names the first bad one and why."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        shown = ", ".join(repr(u[:40]) for u in unknown[:5])
        raise BadRequest(
            f"unknown parameter(s) {shown}; known: {', '.join(PARAMETERS)}", parameter=str(unknown[0])[:40]
        )
    raw: dict[str, str] = {}
    for name in params:
        if name == "type" and isinstance(params[name], (list, tuple)):
            parts = [_text("type", v) for v in params[name]]
            raw[name] = ",".join(parts)
        else:
            raw[name] = _single(params, name)
    out: dict[str, Any] = {}
    implied: list[tuple[str, set[str]]] = []
    reg = registry()
    events = {e.name for e in reg.of_category("event")}
    locations = {e.name for e in reg.of_category("location")}

    if "type" in raw:
        out["types"] = _types(raw["type"])
    for name in ("fuzzy", "phonetic", "nicknames"):
        if name in raw:
            out[name] = _bool(name, raw[name])
    if "q" in raw:
        text = parse_text(raw["q"])
        out["q"] = text
        born = _born_in(raw["q"])
        if born is not None:
            out["dob"] = born
            implied.append(("q (born ...)", {"person"}))
    if "surname" in raw:
        key = n.surname_key(raw["surname"])
        if not key:
            raise _bad("surname", f"{raw['surname']!r} has no letters")
        out["surname"] = key
    if "forename" in raw:
        key = n.forename_key(raw["forename"])
        if not key:
            raise _bad("forename", f"{raw['forename']!r} has no letters")
        out["forename"] = key
    if "dob" in raw:
        if "dob_from" in raw or "dob_to" in raw:
            raise _bad("dob", "give dob, or dob_from and dob_to, not both")
        out["dob"] = parse_dob("dob", raw["dob"])
    elif "dob_from" in raw or "dob_to" in raw:
        lo = _date_bounds("dob_from", raw["dob_from"])[0] if "dob_from" in raw else "1800-01-01"
        hi = _date_bounds("dob_to", raw["dob_to"])[1] if "dob_to" in raw else "2199-12-31"
        if lo > hi:
            raise _bad("dob_from", f"{lo} is after dob_to {hi}")
        out["dob"] = DateRange(lo, hi, f"{raw.get('dob_from', '')}..{raw.get('dob_to', '')}", "range")
    if "age_from" in raw or "age_to" in raw:
        if "dob" in out:
            raise _bad("age_from", "give an age range or a date of birth, not both")
        at = dt.date.fromisoformat(_date_bounds("age_at", raw["age_at"])[0]) if "age_at" in raw else None
        at = at or dt.date.today()
        youngest = _int("age_from", raw["age_from"], 0, 130) if "age_from" in raw else 0
        oldest = _int("age_to", raw["age_to"], 0, 130) if "age_to" in raw else 130
        if youngest > oldest:
            raise _bad("age_from", f"{youngest} is more than age_to {oldest}")
        hi = _years_before(at, youngest)
        lo = _years_before(at, oldest + 1) + dt.timedelta(days=1)
        label = f"aged {youngest}-{oldest} on {at.isoformat()}"
        out["dob"] = DateRange(max(lo.isoformat(), "1800-01-01"), hi.isoformat(), label, "range")
    elif "age_at" in raw:
        raise _bad("age_at", "needs age_from or age_to")
    if "gender" in raw:
        out["gender"] = _code("gender", "gender", raw["gender"])
    ids: list[tuple[str, str]] = []
    for kind in PERSON_ID_PARAMS:
        if kind in raw:
            key = n.vin(raw[kind]) if kind == "vin" else n.identifier(kind, raw[kind])
            if not key:
                raise _bad(kind, f"{raw[kind]!r} is not a usable {kind.replace('_', ' ')}")
            ids.append((kind, key))
    out["ids"] = tuple(ids)
    if "vrm" in raw:
        out["vrm"] = parse_vrm("vrm", raw["vrm"])
    for name in ("make", "model"):
        if name in raw:
            value = n.fold(raw[name])
            if not value:
                raise _bad(name, f"{raw[name]!r} has no letters or digits")
            out[name] = value[:60]
    if "colour" in raw:
        out["colour"] = _code("colour", "vehicle_colour", raw["colour"])
    if "phone" in raw:
        number = n.phone(raw["phone"])
        if not number:
            raise _bad("phone", f"{raw['phone']!r} is not a telephone number")
        out["phone"] = number
    if "email" in raw:
        address = n.email(raw["email"])
        if not address:
            raise _bad("email", f"{raw['email']!r} is not an e-mail address")
        out["email"] = address
    if "postcode" in raw:
        out["postcode"] = _postcode(raw["postcode"])
    if "street" in raw:
        key = street_key(raw["street"])
        if not key:
            raise _bad("street", f"{raw['street']!r} has no letters or digits")
        out["street"] = key
    if "town" in raw:
        key = town_key(raw["town"])
        if not key:
            raise _bad("town", f"{raw['town']!r} has no letters")
        out["town"] = key
    geo = [name for name in ("lat", "lon", "radius_m") if name in raw]
    if geo:
        if len(geo) != 3:
            missing = ", ".join(sorted({"lat", "lon", "radius_m"} - set(geo)))
            raise _bad(geo[0], f"a radius search needs lat, lon and radius_m (missing {missing})")
        out["circle"] = Circle(
            _float("lat", raw["lat"], -90, 90),
            _float("lon", raw["lon"], -180, 180),
            _float("radius_m", raw["radius_m"], 1, MAX_RADIUS_M, " metres"),
        )
    if "bbox" in raw:
        if "circle" in out:
            raise _bad("bbox", "give a radius or a box, not both")
        out["box"] = _box(raw["bbox"])
    if "event_type" in raw:
        entity, codes = _event_type(raw["event_type"])
        if not entity and not codes:
            known = ", ".join(sorted(events))
            raise _bad("event_type", f"unknown event type {raw['event_type']!r}; event types: {known}")
        if entity:
            implied.append(("event_type", entity))
        else:
            out["event_types"] = tuple(sorted(codes))
            implied.append(("event_type", events))
    if "ho_class" in raw:
        value = raw["ho_class"].replace(" ", "")
        if not re.fullmatch(r"[0-9]{1,3}/[0-9]{1,2}|[0-9]{1,3}", value):
            raise _bad("ho_class", f"expected NNN/NN (e.g. 028/01), got {raw['ho_class']!r}")
        if "/" in value:
            major, minor = value.split("/")
            value = f"{int(major):03d}/{int(minor):02d}"
        else:
            value = f"{int(value):03d}"
        out["ho_class"] = value
    if "offence_code" in raw:
        value = compact(raw["offence_code"])
        if not re.fullmatch(r"[A-Z]{2}[0-9]{5}[ABCI]?", value):
            raise _bad("offence_code", f"expected a CJS code like TH68010, got {raw['offence_code']!r}")
        out["offence_code"] = value
    if "crime_type" in raw:
        out["crime_type"] = _code("crime_type", "crime_type", raw["crime_type"])
    if "outcome" in raw:
        out["outcome"] = _code("outcome", "crime_outcome", raw["outcome"])
    if "from" in raw or "to" in raw:
        lo = _date_bounds("from", raw["from"])[0] if "from" in raw else "1800-01-01"
        hi = _date_bounds("to", raw["to"])[1] if "to" in raw else "2199-12-31"
        if lo > hi:
            raise _bad("from", f"{lo} is after 'to' {hi}")
        out["dates"] = DateRange(lo, hi, f"{raw.get('from', '')}..{raw.get('to', '')}", "range")
    if "area" in raw:
        key = town_key(raw["area"])
        if not key:
            raise _bad("area", f"{raw['area']!r} has no letters or digits")
        out["area"] = key
    if "hate" in raw:
        out["hate"] = _bool("hate", raw["hate"])
    if "page" in raw:
        out["page"] = _int("page", raw["page"], 1, 250)
    if "per_page" in raw:
        out["per_page"] = _int("per_page", raw["per_page"], 1, MAX_PER_PAGE)
    if "sort" in raw:
        if raw["sort"] not in SORTS:
            raise _bad("sort", f"expected one of {', '.join(SORTS)}, got {raw['sort']!r}")
        out["sort"] = raw["sort"]

    given = tuple(name for name in raw if name not in _OPTIONS)
    if not given:
        raise BadRequest(
            "give at least one search criterion (q, surname, vrm, postcode, lat/lon/radius_m, crime_type...);"
            " "
            "a search for everything is not run",
            parameter="q",
        )
    # Which entity types the criteria can apply to: they must have at least one in common.
    for name in given:
        if name in _PERSON_PARAMS:
            implied.append(
                (name, {"person"} | ({"identity_document"} if name in PERSON_ID_PARAMS else set()))
            )
        elif name in _VEHICLE_PARAMS:
            implied.append((name, {"vehicle"}))
        elif name == "phone":
            implied.append((name, {"telephone", "organisation"}))
        elif name == "email":
            implied.append((name, {"email"}))
        elif name in _ADDRESS_PARAMS:
            implied.append((name, {"address"}))
        elif name in _CRIME_PARAMS:
            implied.append((name, {"crime"}))
        elif name == "outcome":
            implied.append((name, {"crime", "anti_social_behaviour"}))
        elif name in ("from", "to"):
            implied.append((name, events))
        elif name in ("lat", "lon", "radius_m", "bbox", "area"):
            implied.append((name, locations | events))
    if implied or "types" in out:
        allowed = set(out.get("types") or reg.entity_types)
        for name, types in implied:
            narrowed = allowed & types
            if not narrowed:
                raise BadRequest(
                    f"parameter {name!r} applies to {', '.join(sorted(types))}, which the other criteria "
                    "rule out: no record could match them all",
                    parameter=name,
                )
            allowed = narrowed
        out["types"] = tuple(sorted(allowed))
    out["given"] = given
    return SearchQuery(**out)


def _postcode(value: str) -> tuple[str, str]:
    full = n.postcode(value)
    if full:
        return "postcode", full
    folded = " ".join(n.fold(value).split())
    if _POSTCODE_SECTOR.fullmatch(folded):
        return "sector", folded
    if _POSTCODE_DISTRICT.fullmatch(folded.replace(" ", "")):
        return "district", folded.replace(" ", "")
    raise _bad("postcode", f"expected a postcode (LS1 4AP), sector (LS1 4) or district (LS1), got {value!r}")


def _box(value: str) -> Box:
    parts = value.split(",")
    if len(parts) != 4:
        raise _bad("bbox", f"expected minlon,minlat,maxlon,maxlat, got {value!r}")
    min_lon = _float("bbox", parts[0], -180, 180)
    min_lat = _float("bbox", parts[1], -90, 90)
    max_lon = _float("bbox", parts[2], -180, 180)
    max_lat = _float("bbox", parts[3], -90, 90)
    if min_lon >= max_lon or min_lat >= max_lat:
        raise _bad("bbox", "the minimum longitude and latitude must be less than the maximum")
    if (max_lon - min_lon) * (max_lat - min_lat) > MAX_BOX_DEG2:
        raise _bad("bbox", f"at most {MAX_BOX_DEG2:g} square degree; zoom in")
    return Box(min_lon, min_lat, max_lon, max_lat)


def from_options(options: Mapping[str, Any]) -> SearchQuery:
    """A query from keyword options (the CLI's), dropping those not given (None or empty)."""
    params: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            value = [str(v) for v in value]
        params[key] = value
    return parse_query(params)


__all__ = [
    "PARAMETERS",
    "Box",
    "Circle",
    "DateRange",
    "SearchQuery",
    "TextQuery",
    "VrmPattern",
    "from_options",
    "parse_query",
    "parse_text",
    "parse_vrm",
]
