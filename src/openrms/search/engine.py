"""Running a search: candidates from the index, scored, grouped by master, with facets and snippets.

How a search runs, and why it stays fast at millions of records:

1. Candidates come from one or more *sources*, each an indexed look-up with a LIMIT: keys in search_term
   (names by tier: exact, nickname, phonetic, fuzzy; identifiers; phones; VRM pieces), the free-text index
   (FTS5 / tsvector), grid cells for places, or an index on one search_doc column. Free text `q` runs every
   source its words suggest (text, name, identifier, VRM, postcode) and takes their union.
2. Every other criterion is a condition in the same SQL, and so is the caller's scope
   (`scope.records(record)`) and "not deleted": a record the caller may not see is never fetched, so it
   cannot reach a count, a facet, a snippet or a result.
3. The candidates (at most CAP in all, shared by the sources) are checked and scored in Python: names by
   rule (exact, nickname, phonetic, fuzzy with Jaro-Winkler), VRM patterns, exact distance for a radius.
4. Hits are grouped by `record.master_id` as it stands now (a merge shows at once), one result per master,
   ranked, faceted and paginated; only the page's results get their record counts and snippets.

When a source reaches its LIMIT the answer says `truncated` (and facets say `facets_truncated`): the counts
are then lower bounds, and a narrower query gives exact ones.
"""

from __future__ import annotations

import html
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import JaroWinkler
from sqlalchemy import ColumnElement, Connection, and_, exists, func, literal_column, or_, select
from sqlalchemy.exc import OperationalError

from openrms.errors import BadRequest
from openrms.identity import normalise as n
from openrms.schema import registry
from openrms.search import dialects
from openrms.search.query import ABOUT_YEARS, SearchQuery, VrmPattern
from openrms.search.terms import CELL, CELL10, cells_covering, decode_names, surname_terms
from openrms.store.scope import ReadScope
from openrms.store.tables import record, search_doc, search_term, search_text

CAP = 1000  # candidate rows kept per source
SCAN = 2500  # index entries a source may read before its other conditions are applied
MAX_CELLS = 600
DEADLINE_S = 5.0
FUZZY_AT = 0.85
WEIGHT = {"exact": 1.0, "nickname": 0.9, "phonetic": 0.8, "initial": 0.6, "fuzzy": 0.6}

d = search_doc
r = record
_COLUMNS = [
    d.c.record_id,
    d.c.entity_type,
    d.c.category,
    d.c.title,
    d.c.names,
    d.c.dob,
    d.c.gender,
    d.c.vrm,
    d.c.make,
    d.c.model,
    d.c.colour,
    d.c.postcode,
    d.c.sector,
    d.c.district,
    d.c.street,
    d.c.town,
    d.c.area,
    d.c.event_type,
    d.c.crime_type,
    d.c.outcome,
    d.c.ho_class,
    d.c.offence_code,
    d.c.hate,
    d.c.event_date,
    d.c.month,
    d.c.lat,
    d.c.lon,
    r.c.master_id,
]


@dataclass
class Hit:
    row: Any
    score: float = 0.0
    why: list[dict[str, Any]] = field(default_factory=list)
    text: bool = False
    distance: float | None = None

    def add(self, field_name: str, rule: str, value: Any, score: float) -> None:
        self.score += score
        self.why.append({"field": field_name, "rule": rule, "value": value})


@dataclass
class Source:
    name: str
    ids: Any  # a SELECT of record_id (bounded by SCAN), or None to scan search_doc by its own indexes
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    scan: int = SCAN  # index entries `ids` may read for a full CAP of rows (less in proportion for less)


# ---------------------------------------------------------------------------------------------------------
# bounding the work
# ---------------------------------------------------------------------------------------------------------


@contextmanager
def deadline(conn: Connection, seconds: float = DEADLINE_S, *, plan_per_call: bool = False) -> Iterator[None]:
    """Abort any statement of this search still running after `seconds` (a 400 asking for a narrower one).

    `plan_per_call` (PostgreSQL): plan each statement for its own values. The driver prepares a statement
    it has run five times, and PostgreSQL may then reuse one generic plan for any values. For free text
    that plan is wrong half the time: a word in every tenth narrative is found fastest by reading the table
    until the LIMIT is reached, a rare one through the GIN index, and the generic plan always takes the
    index, which for a common word builds a bitmap of every match (hundreds of thousands at full scale)
    before returning the first row. Planning afresh costs a fraction of a millisecond."""
    if conn.dialect.name == "postgresql":
        settings = f"SET LOCAL statement_timeout = {int(seconds * 1000)}"
        if plan_per_call:
            settings += "; SET LOCAL plan_cache_mode = force_custom_plan"
        conn.exec_driver_sql(settings)
        raw = None
    else:
        raw = conn.connection.driver_connection
        stop = time.monotonic() + seconds
        raw.set_progress_handler(lambda: 1 if time.monotonic() > stop else 0, 20000)
    try:
        yield
    except OperationalError as exc:
        text = str(exc.orig or exc).lower()
        if "interrupt" in text or "statement timeout" in text or "canceling statement" in text:
            raise BadRequest("the search took too long; narrow it down with more criteria") from None
        raise
    finally:
        if raw is not None:
            raw.set_progress_handler(None, 0)


# ---------------------------------------------------------------------------------------------------------
# conditions and sources
# ---------------------------------------------------------------------------------------------------------


def _term_ids(terms: Sequence[str]) -> Any:
    return select(search_term.c.record_id).where(search_term.c.term.in_(list(terms))).limit(SCAN)


def _has_term(terms: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(search_term.c.record_id == d.c.record_id, search_term.c.term.in_(list(terms)))


def _date_condition(column: Any, year_column: Any, lo: str, hi: str) -> ColumnElement[bool]:
    """A stored date at any precision (1985, 1985-03, 1985-03-02) within [lo, hi]."""
    parts = [column.between(lo, hi), and_(func.length(column) == 7, column.between(lo[:7], hi[:7]))]
    parts.append(and_(func.length(column) == 4, column.between(lo[:4], hi[:4])))
    cond = or_(*parts)
    if year_column is not None:
        cond = and_(year_column.between(int(lo[:4]), int(hi[:4])), cond)
    return cond


def _prefix(column: Any, value: str) -> ColumnElement[bool]:
    """`column` is `value` or starts with `value` and a space: an index range, never LIKE '%x%'."""
    return or_(column == value, and_(column >= value + " ", column < value + "!"))


def _geo_box(query: SearchQuery) -> tuple[float, float, float, float] | None:
    if query.circle is not None:
        c = query.circle
        dlat = c.radius_m / 111_320.0
        dlon = c.radius_m / (111_320.0 * max(math.cos(math.radians(c.lat)), 0.01))
        return c.lat - dlat, max(c.lon - dlon, -180.0), c.lat + dlat, min(c.lon + dlon, 180.0)
    if query.box is not None:
        b = query.box
        return b.min_lat, b.min_lon, b.max_lat, b.max_lon
    return None


def _cells(box: tuple[float, float, float, float]) -> tuple[Any, list[int]]:
    fine = cells_covering(*box, per_degree=CELL)
    if len(fine) <= MAX_CELLS:
        return d.c.cell, fine
    coarse = cells_covering(*box, per_degree=CELL10)
    if len(coarse) <= MAX_CELLS:
        return d.c.cell10, coarse
    raise BadRequest("the area is too long and thin to search; give a more compact box", parameter="bbox")


class _Doc:
    """search_doc's columns as filters see them. With `unindexed` each is wrapped in a no-op (SQLite
    `+column`, PostgreSQL `column || ''` or `column + 0`) so that neither planner starts at a filter's index
    (entity type, a date-of-birth range it misjudges...) instead of at the bounded candidate source."""

    def __init__(self, unindexed: str | None) -> None:
        self.unindexed = unindexed

    def __getattr__(self, name: str) -> Any:
        col = d.c[name]
        if self.unindexed is None or name in ("lat", "lon", "hate"):
            return col
        if self.unindexed == "sqlite":
            return literal_column(f"+search_doc.{name}", type_=col.type)
        wrapped = f"(search_doc.{name} + 0)" if name == "dob_year" else f"(search_doc.{name} || '')"
        return literal_column(wrapped, type_=col.type)


def _filters(query: SearchQuery, driver: str, unindexed: str | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions for every criterion except the one driving the search (`driver`)."""
    out: list[ColumnElement[bool]] = []
    c = _Doc(unindexed)
    if query.types:
        out.append(c.entity_type.in_(query.types))
    if query.dob is not None:
        out.append(_date_condition(c.dob, c.dob_year, query.dob.lo, query.dob.hi))
    if query.gender:
        out.append(c.gender == query.gender)
    if query.ids and driver != "ids":
        for kind, value in query.ids:
            out.append(_has_term([f"id:{kind}:{value}"]))
    if (query.surname or query.forename) and driver != "name":
        out.append(_has_term(_name_filter_terms(query)))
    if query.vrm is not None and driver != "vrm":
        out.append(c.vrm.is_not(None))
    for name in ("make", "model", "colour", "ho_class", "offence_code", "crime_type", "outcome"):
        value = getattr(query, name)
        if value:
            out.append(getattr(c, name) == value)
    if query.phone and driver != "phone":
        out.append(_has_term([f"ph:{query.phone}"]))
    if query.email and driver != "email":
        out.append(_has_term([f"em:{query.email}"]))
    if query.postcode is not None:
        level, value = query.postcode
        out.append(getattr(c, level) == value)
    if query.street:
        out.append(_prefix(c.street, query.street))
    if query.town:
        out.append(_prefix(c.town, query.town))
    if query.area:
        out.append(or_(c.area_code == query.area.replace(" ", ""), _prefix(c.area, query.area)))
    if query.event_types:
        out.append(c.event_type.in_(query.event_types))
    if query.dates is not None:
        out.append(c.event_date.between(query.dates.lo, query.dates.hi))
    if query.hate is not None:
        out.append(c.hate.is_(True) if query.hate else or_(c.hate.is_(False), c.hate.is_(None)))
    box = _geo_box(query)
    if box is not None:
        out += [c.lat.between(box[0], box[2]), c.lon.between(box[1], box[3])]
    return out


def _name_filter_terms(query: SearchQuery) -> list[str]:
    terms: list[str] = []
    if query.surname:
        terms += [t for t in surname_terms(query.surname, None) if _tier_allows(query, t)]
    elif query.forename:
        terms += _forename_terms(query, query.forename)
    return terms


def _tier_allows(query: SearchQuery, term: str) -> bool:
    kind = term.split(":", 1)[0]
    if kind in ("sp", "spy", "fp", "spfp"):
        return query.phonetic
    if kind in ("s3", "s3y"):
        return query.fuzzy
    return True


def _forename_terms(query: SearchQuery, forename: str) -> list[str]:
    terms = [f"fn:{forename}"]
    if query.nicknames:
        terms += [f"nr:{root}" for root in n.nickname_roots(forename)]
    if query.phonetic and (fp := n.phonetic(forename)):
        terms.append(f"fp:{fp}")
    return terms


def _name_tiers(query: SearchQuery, forename: str | None, surname: str | None) -> list[tuple[str, list[str]]]:
    """Key look-ups for a name, most certain first: (tier, keys)."""
    years: list[int] = []
    if query.dob is not None:
        y0, y1 = query.dob.years
        if y1 - y0 <= 6:
            years = list(range(y0, y1 + 1))
    tiers: list[tuple[str, list[str]]] = []
    if not surname:
        if forename:
            tiers.append(("name", _forename_terms(query, forename)))
        return tiers
    sp = n.phonetic(surname)
    roots = n.nickname_roots(forename) if forename and query.nicknames else ((forename,) if forename else ())
    if years:
        tiers.append(("exact", [f"sy:{surname}|{y}" for y in years]))
        if query.phonetic and sp:
            tiers.append(("phonetic", [f"spy:{sp}|{y}" for y in years]))
        if query.fuzzy:
            tiers.append(("fuzzy", [f"s3y:{surname[:3]}|{y}" for y in years]))
        return tiers
    if roots:
        tiers.append(("exact", [f"snr:{surname}|{root}" for root in roots]))
        fp = n.phonetic(forename) if forename else None
        if query.phonetic and sp and fp:
            tiers.append(("phonetic", [f"spfp:{sp}|{fp}"]))
    tiers.append(("surname", [f"sn:{surname}"]))
    if query.phonetic and sp:
        tiers.append(("phonetic", [f"sp:{sp}"]))
    if query.fuzzy:
        tiers.append(("fuzzy", [f"s3:{surname[:3]}"]))
    return tiers


def _vrm_source(conn: Connection, pattern: VrmPattern, name: str) -> Source:
    if pattern.prefix and len(pattern.prefix) >= 2:
        upper = pattern.prefix[:-1] + chr(ord(pattern.prefix[-1]) + 1)
        ids = select(d.c.record_id).where(d.c.vrm >= pattern.prefix, d.c.vrm < upper).limit(SCAN)
        return Source(name, ids)
    grams = list(pattern.grams)
    # drive from the rarest piece; the others are checked by primary-key look-ups
    counts = dialects.term_counts(conn, [f"vg:{g}" for g in grams], SCAN * 4)
    grams.sort(key=lambda g: counts.get(f"vg:{g}", 0))
    first, rest = grams[0], grams[1:4]
    t0 = search_term.alias("t0")
    ids = select(t0.c.record_id).where(t0.c.term == f"vg:{first}")
    for i, gram in enumerate(rest, start=1):
        ti = search_term.alias(f"t{i}")
        ids = ids.where(exists().where(ti.c.term == f"vg:{gram}", ti.c.record_id == t0.c.record_id))
    return Source(name, ids.limit(SCAN))


def _sources(conn: Connection, query: SearchQuery) -> tuple[str, list[Source]]:
    """The sources of candidates, and which criterion drives them (its filter is then not repeated)."""
    sources: list[Source] = []
    if query.q is not None:
        q = query.q
        if q.words:
            sources.append(Source("text", dialects.text_ids(conn, q.words, SCAN)))
        if q.name is not None:
            fore, sur = q.name
            fkey = n.forename_key(fore) if fore else None
            skey = n.surname_key(sur)
            for tier, terms in _name_tiers(query, fkey, skey):
                sources.append(Source(f"q-name:{tier}", _term_ids(terms)))
        if q.keys:
            sources.append(Source("q-keys", _term_ids(q.keys)))
        if q.vrm is not None:
            sources.append(_vrm_source(conn, q.vrm, "q-vrm"))
        if q.postcode:
            sources.append(Source("q-postcode", None, [d.c.postcode == q.postcode]))
        return "q", sources
    if query.ids:
        terms = [f"id:{kind}:{value}" for kind, value in query.ids]
        return "ids", [Source("ids", _term_ids(terms[:1]))]
    if query.phone:
        return "phone", [Source("phone", _term_ids([f"ph:{query.phone}"]))]
    if query.email:
        return "email", [Source("email", _term_ids([f"em:{query.email}"]))]
    if query.surname or query.forename:
        tiers = _name_tiers(query, query.forename, query.surname)
        return "name", [Source(f"name:{tier}", _term_ids(terms)) for tier, terms in tiers]
    if query.vrm is not None:
        return "vrm", [_vrm_source(conn, query.vrm, "vrm")]
    box = _geo_box(query)
    if box is not None and query.postcode is None:
        column, cells = _cells(box)
        ids = select(d.c.record_id).where(
            column.in_(cells), d.c.lat.between(box[0], box[2]), d.c.lon.between(box[1], box[3])
        )
        if query.dates is not None:
            ids = ids.where(d.c.event_date.between(query.dates.lo, query.dates.hi))
        return "geo", [Source("geo", ids.limit(SCAN * 4), scan=SCAN * 4)]
    return "columns", [Source("columns", None)]


# ---------------------------------------------------------------------------------------------------------
# scoring
# ---------------------------------------------------------------------------------------------------------


def _surname_rule(query: SearchQuery, wanted: str, surname: str, parts: Sequence[str]) -> tuple[str, float]:
    if not surname:
        return "", 0.0
    if wanted == surname or wanted in parts:
        return "exact", WEIGHT["exact"]
    if query.phonetic and n.phonetic(wanted) and n.phonetic(wanted) == n.phonetic(surname):
        return "phonetic", WEIGHT["phonetic"]
    if query.fuzzy:
        sim = max(JaroWinkler.similarity(wanted, p) for p in (surname, *parts))
        if sim >= FUZZY_AT:
            return "fuzzy", WEIGHT["fuzzy"] * sim
    return "", 0.0


def _forename_rule(query: SearchQuery, wanted: str, forenames: Sequence[str]) -> tuple[str, float]:
    if not forenames:
        return "", 0.0
    if wanted in forenames:
        return "exact", WEIGHT["exact"]
    if len(wanted) == 1:
        return ("initial", WEIGHT["initial"]) if any(f.startswith(wanted) for f in forenames) else ("", 0.0)
    if any(len(f) == 1 and wanted.startswith(f) for f in forenames):
        return "initial", WEIGHT["initial"]
    first = forenames[0]
    if query.nicknames and set(n.nickname_roots(wanted)) & set(n.nickname_roots(first)):
        return "nickname", WEIGHT["nickname"]
    if query.phonetic and n.phonetic(wanted) and any(n.phonetic(f) == n.phonetic(wanted) for f in forenames):
        return "phonetic", WEIGHT["phonetic"]
    if query.fuzzy:
        sim = max(JaroWinkler.similarity(wanted, f) for f in forenames)
        if sim >= FUZZY_AT:
            return "fuzzy", WEIGHT["fuzzy"] * sim
    return "", 0.0


def _name_match(
    query: SearchQuery, forename: str | None, surname: str | None, names: str | None
) -> tuple[float, list[dict[str, Any]]] | None:
    """The best way a record's names match (forename, surname); None if a given part matches no name."""
    best: tuple[float, list[dict[str, Any]]] | None = None
    for v in decode_names(names):
        why: list[dict[str, Any]] = []
        total = 0.0
        if surname:
            rule, score = _surname_rule(query, surname, v.surname, v.parts)
            if not rule:
                continue
            why.append({"field": "surname", "rule": rule, "value": v.surname})
            total += 2.0 * score
        if forename:
            rule, score = _forename_rule(query, forename, v.forenames)
            if not rule:
                continue
            why.append({"field": "forenames", "rule": rule, "value": " ".join(v.forenames)})
            total += 1.4 * score
        if best is None or total > best[0]:
            best = (total, why)
    return best


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def _score(query: SearchQuery, row: Any, sources: set[str]) -> Hit | None:
    """Check a candidate against the criteria Python decides (names, VRM pattern, radius); score it."""
    hit = Hit(row)
    q = query.q
    if query.surname or query.forename:
        if row.entity_type != "person":
            return None
        matched = _name_match(query, query.forename, query.surname, row.names)
        if matched is None:
            return None
        hit.score += matched[0]
        hit.why += matched[1]
    if query.vrm is not None:
        rule = query.vrm.matches(row.vrm)
        if rule is None:
            return None
        hit.add("vrm", rule, row.vrm, 2.0 if rule == "exact" else 1.5)
    if query.circle is not None:
        if row.lat is None:
            return None
        c = query.circle
        dist = _distance_m(c.lat, c.lon, row.lat, row.lon)
        if dist > c.radius_m:
            return None
        hit.distance = dist
        hit.add("location", "geo", f"{dist:.0f} m", 1.0 - 0.5 * dist / c.radius_m)
    elif query.box is not None:
        hit.add("location", "geo", f"{row.lat:.5f},{row.lon:.5f}", 0.5)
    if q is not None:
        matched_q = False
        if (
            q.name is not None
            and row.entity_type == "person"
            and any(s.startswith("q-name") for s in sources)
        ):
            fore, sur = q.name
            fkey = n.forename_key(fore) if fore else None
            skey = n.surname_key(sur)
            found = _name_match(query, fkey, skey, row.names)
            if found is None and fkey:  # "Smith John": surname first
                found = _name_match(query, n.forename_key(sur), n.surname_key(fore), row.names)
            if found is not None:
                hit.score += found[0]
                hit.why += found[1]
                matched_q = True
        if q.vrm is not None and "q-vrm" in sources:
            rule = q.vrm.matches(row.vrm)
            if rule is not None:
                hit.add("vrm", rule, row.vrm, 2.0 if rule == "exact" else 1.5)
                matched_q = True
        if "q-keys" in sources:
            hit.add("identifier", "exact", q.raw, 3.0)
            matched_q = True
        if "q-postcode" in sources:
            hit.add("postcode", "exact", row.postcode, 1.5)
            matched_q = True
        if "text" in sources:
            title_words = set(re.findall(r"[a-z0-9]+", n.fold(row.title).lower()))
            in_title = sum(1 for w in q.words if w in title_words)
            hit.text = True
            hit.add("text", "text", " ".join(q.words), 0.5 + 0.5 * in_title / max(len(q.words), 1))
            matched_q = True
        if not matched_q:
            return None
    if query.ids:
        for kind, value in query.ids:
            hit.add(kind, "exact", value, 3.0)
    if query.phone:
        hit.add("phone", "exact", query.phone, 3.0)
    if query.email:
        hit.add("email", "exact", query.email, 3.0)
    if query.dob is not None and row.dob:
        rule = query.dob.rule
        bonus = 0.5
        if rule == "about":
            centre = (query.dob.years[0] + query.dob.years[1]) / 2
            bonus = 0.5 * (1 - abs(int(row.dob[:4]) - centre) / (ABOUT_YEARS + 1))
        hit.add("date_of_birth", rule, row.dob, bonus)
    for name, column in (
        ("gender", "gender"),
        ("make", "make"),
        ("model", "model"),
        ("colour", "colour"),
        ("street", "street"),
        ("town", "town"),
        ("area", "area"),
        ("ho_class", "ho_class"),
        ("offence_code", "offence_code"),
        ("crime_type", "crime_type"),
        ("outcome", "outcome"),
    ):
        if getattr(query, name):
            hit.add(name, "filter", getattr(row, column), 0.2)
    if query.postcode is not None:
        hit.add("postcode", "exact" if query.postcode[0] == "postcode" else "filter", row.postcode, 1.0)
    if query.event_types:
        hit.add("event_type", "filter", row.event_type, 0.2)
    if query.dates is not None:
        hit.add("date", "filter", row.event_date, 0.2)
    if query.hate is not None:
        hit.add("hate", "filter", bool(row.hate), 0.1)
    if not hit.why:
        hit.add("type", "filter", row.entity_type, 0.1)
    return hit


# ---------------------------------------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------------------------------------


# The record fields each criterion matches on. A record shared under an agreement that redacts some fields
# must not be found through them (that would disclose the hidden value), so the scope is told which fields
# a query reads; free text reads them all.
_CRITERION_FIELDS: dict[str, tuple[str, ...]] = {
    "surname": ("surname", "forenames"),
    "forename": ("surname", "forenames"),
    "dob": ("date_of_birth",),
    "gender": ("gender",),
    "ids": ("pnc_id", "cro_number", "ni_number", "passport_number", "driving_licence"),
    "vrm": ("vrm",),
    "make": ("make",),
    "model": ("model",),
    "colour": ("colour",),
    "phone": ("number",),
    "email": ("address",),
    "postcode": ("postcode",),
    "street": ("street",),
    "town": ("town",),
    "circle": ("latitude", "longitude"),
    "box": ("latitude", "longitude"),
    "ho_class": ("ho_class",),
    "offence_code": ("offence_code",),
    "crime_type": ("crime_type",),
    "outcome": ("outcome",),
    "dates": ("occurred_from", "occurred_to"),
    "hate": ("hate_crime",),
    "event_types": ("crime_type", "incident_type", "category", "concern_type"),
    "area": ("area",),
}


def searched_fields(query: SearchQuery) -> frozenset[str] | None:
    """The fields `query` matches on (None: every field, for free text)."""
    if query.q is not None:
        return None
    wanted: set[str] = set()
    for name, fields in _CRITERION_FIELDS.items():
        value = getattr(query, name)
        if value not in (None, (), ""):
            wanted.update(fields)
    return frozenset(wanted)


def _run(
    conn: Connection,
    source: Source,
    filters: list[ColumnElement[bool]],
    visible: list[ColumnElement[bool]],
    limit: int = CAP,
) -> list[Any]:
    if source.ids is None:
        stmt = select(*_COLUMNS).select_from(d.join(r, r.c.id == d.c.record_id))
    else:
        # the source's share of the rows bounds how far it reads its index, in the same proportion
        ids = source.ids.limit(max(limit + 1, source.scan * limit // CAP)).subquery("c")
        stmt = select(*_COLUMNS).select_from(
            ids.join(d, d.c.record_id == ids.c.record_id).join(r, r.c.id == d.c.record_id)
        )
    stmt = stmt.where(*visible, *filters, *source.conditions).limit(limit + 1)
    return list(conn.execute(stmt).all())


def candidates(conn: Connection, query: SearchQuery, scope: ReadScope) -> tuple[list[Hit], bool]:
    """Every checked, scored candidate the caller may see (at most CAP in all), and whether a source was
    cut off at its bound.

    The sources share the CAP rows: each in turn may read an equal part of what the ones before it left,
    so the most certain sources (they come first) cannot crowd out the rest, and a search's work is bounded
    however many sources it has. Free text takes no more than an equal share per source: it casts a wide
    net (text, names, identifiers...), and the share its exact and phonetic name look-ups leave unused
    would otherwise all go to the last and loosest source, fuzzy names (every surname sharing the word's
    first three letters), whose extra candidates are the least likely to be wanted and the dearest to
    fetch and score."""
    driver, sources = _sources(conn, query)
    filters = _filters(query, driver)
    pinned = _filters(query, driver, unindexed=conn.dialect.name)
    visible = [scope.records(r, searched_fields(query)), r.c.deleted.is_(False)]
    rows: dict[str, Any] = {}
    came_from: dict[str, set[str]] = defaultdict(set)
    truncated = False
    used = 0
    for index, source in enumerate(sources):
        limit = max((CAP - used) // (len(sources) - index), 1)
        if query.q is not None:
            limit = min(limit, max(CAP // len(sources), 1))
        found = _run(conn, source, filters if source.ids is None else pinned, visible, limit)
        if len(found) > limit:
            truncated = True
            found = found[:limit]
        used += len(found)
        for row in found:
            rows.setdefault(row.record_id, row)
            came_from[row.record_id].add(source.name)
    hits = []
    for rid, row in rows.items():
        hit = _score(query, row, came_from[rid])
        if hit is not None:
            hits.append(hit)
    return hits, truncated


@dataclass
class Group:
    master_id: str
    best: Hit
    hits: list[Hit]

    @property
    def score(self) -> float:
        return self.best.score


def _group(hits: list[Hit]) -> list[Group]:
    by_master: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_master[hit.row.master_id].append(hit)
    groups = []
    for master_id, members in by_master.items():
        members.sort(key=lambda h: (-h.score, h.row.record_id))
        groups.append(Group(master_id, members[0], members))
    return groups


def _sort(groups: list[Group], sort: str) -> None:
    if sort == "date":
        groups.sort(key=lambda g: (g.best.row.event_date or "", g.score, g.master_id), reverse=True)
    elif sort == "name":
        groups.sort(key=lambda g: (n.fold(g.best.row.title), -g.score, g.master_id))
    else:
        groups.sort(key=lambda g: (-round(g.score, 6), g.best.distance or 0.0, g.best.row.title, g.master_id))


def _facets(groups: list[Group]) -> dict[str, list[dict[str, Any]]]:
    reg = registry()
    types: Counter[str] = Counter()
    events: Counter[str] = Counter()
    months: Counter[str] = Counter()
    for g in groups:
        row = g.best.row
        types[row.entity_type] += 1
        if row.category == "event" and row.event_type:
            events[row.event_type] += 1
        if row.month:
            months[row.month] += 1
    labels = {}
    for listname in ("crime_type", "incident_type", "asb_category", "safeguarding_concern_type"):
        labels.update(reg.codelists[listname].codes)
    return {
        "type": [
            {"value": k, "label": reg.entity_types[k].label if k in reg.entity_types else k, "count": v}
            for k, v in types.most_common(20)
        ],
        "event_type": [
            {"value": k, "label": labels.get(k, k), "count": v} for k, v in events.most_common(20)
        ],
        "month": [{"value": k, "count": v} for k, v in sorted(months.items(), reverse=True)[:24]],
    }


def _record_counts(conn: Connection, masters: list[str], scope: ReadScope) -> dict[str, int]:
    """Source records the caller may see behind each master (a hidden one is not counted)."""
    if not masters:
        return {}
    rows = conn.execute(
        select(r.c.master_id, func.count())
        .where(r.c.master_id.in_(masters), r.c.deleted.is_(False), scope.records(r))
        .group_by(r.c.master_id)
    )
    return {m: int(c) for m, c in rows}


_MARK_WORD = re.compile(r"[0-9A-Za-z\u00c0-\uffff]+")


def _token_key(token: str) -> str:
    """A token of text as the free-text index reads it (lower case, accents off); plain ASCII is the
    common case and needs no folding."""
    return token.lower() if token.isascii() else n.fold(token).lower().replace(" ", "")


def snippet(body: str, words: Sequence[str], width: int = 80) -> str | None:
    """The part of `body` around the first matched word, HTML-escaped, matched words in <mark>."""
    wanted = {w.lower() for w in words}
    tokens = list(_MARK_WORD.finditer(body))
    hits = [t for t in tokens if _token_key(t.group()) in wanted]
    if not hits:
        return None
    start = max(0, hits[0].start() - width // 2)
    end = min(len(body), start + width * 2)
    out: list[str] = []
    pos = start
    for t in hits:
        if t.start() < start or t.end() > end:
            continue
        out.append(html.escape(body[pos : t.start()]))
        out.append(f"<mark>{html.escape(t.group())}</mark>")
        pos = t.end()
    out.append(html.escape(body[pos:end]))
    return ("…" if start > 0 else "") + "".join(out) + ("…" if end < len(body) else "")


def _snippets(conn: Connection, hits: list[Hit], words: Sequence[str]) -> dict[str, str]:
    ids = [h.row.record_id for h in hits if h.text]
    if not ids or not words:
        return {}
    rows = conn.execute(
        select(search_text.c.record_id, search_text.c.body).where(search_text.c.record_id.in_(ids))
    )
    out = {}
    for rid, body in rows:
        text = snippet(body, words)
        if text:
            out[rid] = text
    return out


def search(conn: Connection, query: SearchQuery, scope: ReadScope) -> dict[str, Any]:
    """One page of results for `query` as the caller (`scope`) may see them, grouped by master."""
    started = time.perf_counter()
    with deadline(conn, plan_per_call=query.q is not None and bool(query.q.words)):
        hits, truncated = candidates(conn, query, scope)
        groups = _group(hits)
        _sort(groups, query.sort)
        facets = _facets(groups)
        first = (query.page - 1) * query.per_page
        page = groups[first : first + query.per_page]
        counts = _record_counts(conn, [g.master_id for g in page], scope)
        words = query.q.words if query.q is not None else ()
        snippets = _snippets(conn, [h for g in page for h in g.hits[:3]], words)
    results = []
    for g in page:
        row = g.best.row
        item: dict[str, Any] = {
            "master_id": g.master_id,
            "record_id": row.record_id,
            "entity_type": row.entity_type,
            "category": row.category,
            "title": row.title,
            "records": counts.get(g.master_id, len(g.hits)),
            "matched_records": [h.row.record_id for h in g.hits],
            "score": round(g.score, 4),
            "why": g.best.why,
            "snippets": [snippets[h.row.record_id] for h in g.hits[:3] if h.row.record_id in snippets],
        }
        if row.event_date:
            item["date"] = row.event_date
        if row.lat is not None:
            item["lat"], item["lon"] = row.lat, row.lon
        if g.best.distance is not None:
            item["distance_m"] = round(g.best.distance, 1)
        results.append(item)
    return {
        "total": len(groups),
        "truncated": truncated,
        "page": query.page,
        "per_page": query.per_page,
        "sort": query.sort,
        "results": results,
        "facets": facets,
        "facets_truncated": truncated,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }


__all__ = ["CAP", "candidates", "search", "snippet"]
