"""Record-level rules: small pure functions, one per code, each returning the issues it finds.

Field-level checks (types, formats, code lists) run first; these rules see the normalised record and check
what involves several fields. An entity type lists the rules it uses in its YAML; the loader fails on a name
that is not registered here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from openrms.errors import Issue
from openrms.schema import formats


@dataclass(frozen=True)
class RuleContext:
    entity_type: str
    now: dt.datetime


Rule = Callable[[dict[str, Any], RuleContext], Iterable[Issue]]
RULES: dict[str, Rule] = {}


def rule(fn: Rule) -> Rule:
    RULES[fn.__name__] = fn
    return fn


def _moment(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


HOUR = dt.timedelta(hours=1)


@rule
def event_window_ordered(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    start, end = _moment(data.get("occurred_from")), _moment(data.get("occurred_to"))
    if start and end and end < start:
        yield Issue(
            "event_window_ordered",
            "occurred_to",
            f"'to' ({data['occurred_to']}) is before 'from' ({data['occurred_from']})",
        )
    reported = _moment(data.get("reported_at"))
    if reported and start and reported < start:
        yield Issue(
            "event_window_ordered",
            "reported_at",
            f"reported ({data['reported_at']}) before the event could have started ({data['occurred_from']})",
        )


@rule
def coordinates_paired(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    if ("latitude" in data) != ("longitude" in data):
        missing = "longitude" if "latitude" in data else "latitude"
        yield Issue(
            "coordinates_paired",
            missing,
            f"{missing} is missing; give both latitude and longitude or neither",
        )


@rule
def point_has_coordinates(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    if "latitude" not in data and "longitude" not in data:
        yield Issue("point_has_coordinates", "latitude", "a point needs latitude and longitude")


@rule
def address_locatable(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    keys = ("street", "postcode", "uprn", "building_name", "latitude")
    if not any(k in data for k in keys):
        yield Issue(
            "address_locatable",
            "street",
            "an address needs at least a street, postcode, UPRN, building name or coordinates",
        )
    elif "postcode" not in data and "uprn" not in data:
        yield Issue("address_locatable", "postcode", "address has no postcode or UPRN", "warning")


@rule
def death_not_before_birth(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    born, died = data.get("date_of_birth"), data.get("date_of_death")
    # Partial birth dates compare on their known prefix: born "1980" and died "1979-05-01" is still wrong.
    if born and died and died[: len(born)] < born:
        yield Issue(
            "death_not_before_birth", "date_of_death", f"date of death {died} is before date of birth {born}"
        )


@rule
def licence_agrees_with_person(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    licence = data.get("driving_licence")
    if not licence:
        return
    surname = "".join(ch for ch in (data.get("surname") or "").upper() if ch.isalpha())
    if surname and licence[:5].rstrip("9") != surname[:5]:
        yield Issue(
            "licence_agrees_with_person",
            "driving_licence",
            f"licence starts {licence[:5]!r} but the surname gives {surname[:5].ljust(5, '9')!r}",
            "warning",
        )
    born = data.get("date_of_birth") or ""
    if len(born) == 10:
        year2, month, day, sex = formats.driving_licence_birth_facts(licence)
        if (int(born[2:4]), int(born[5:7]), int(born[8:10])) != (year2, month, day):
            yield Issue(
                "licence_agrees_with_person",
                "driving_licence",
                f"licence encodes birth date {day:02d}/{month:02d}/..{year2:02d}, record says {born}",
                "warning",
            )
        gender = data.get("gender")
        if gender in ("M", "F") and gender != sex:
            yield Issue(
                "licence_agrees_with_person",
                "driving_licence",
                f"licence encodes sex {sex}, record says gender {gender}",
                "warning",
            )


@rule
def person_four_plus_one(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    """The NPCC "4+1": the four here; the "+1" contact reference is checked by the store, which sees links."""
    labels = {
        "forenames": "forename",
        "surname": "surname",
        "date_of_birth": "date of birth",
        "gender": "gender",
    }
    missing = [label for key, label in labels.items() if key not in data]
    if missing:
        yield Issue(
            "person_four_plus_one",
            next(k for k in labels if k not in data),
            f"incomplete person: missing {', '.join(missing)} (the 4+1 standard)",
            "warning",
        )


@rule
def vehicle_identified(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    if "vrm" not in data and "vin" not in data:
        yield Issue("vehicle_identified", "vrm", "vehicle has neither registration nor VIN", "warning")


@rule
def hate_strands_need_flag(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    if data.get("hate_strands") and data.get("hate_crime") is not True:
        yield Issue(
            "hate_strands_need_flag", "hate_crime", "hate crime strands are given but hate_crime is not true"
        )


@rule
def missing_risk_needs_missing_person(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    """A risk grading belongs to a missing person episode; on any other incident it is a mapping or keying
    slip (often the wrong column), which would otherwise pass silently."""
    if data.get("missing_risk") and data.get("incident_type") != "MISSING_PERSON":
        yield Issue(
            "missing_risk_needs_missing_person",
            "missing_risk",
            f"a missing person risk grade is given but the incident type is {data.get('incident_type')!r}, "
            "not MISSING_PERSON",
        )


@rule
def handling_conditions_given(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    if data.get("handling_code") == "C" and not data.get("handling_conditions"):
        yield Issue(
            "handling_conditions_given", "handling_conditions", "handling code C requires the conditions text"
        )


@rule
def custody_clock(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    """PACE limits: 24 h, 36 h with a superintendent's extension, 96 h in all with a warrant."""
    relevant = _moment(data.get("relevant_time"))
    if not relevant:
        return
    extension = _moment(data.get("extension_authorised_to"))
    warrant = _moment(data.get("warrant_of_further_detention_to"))
    if extension and extension > relevant + 36 * HOUR:
        yield Issue(
            "custody_clock",
            "extension_authorised_to",
            "a superintendent may extend detention to at most 36 hours after the relevant time",
        )
    if warrant and warrant > relevant + 96 * HOUR:
        yield Issue(
            "custody_clock",
            "warrant_of_further_detention_to",
            "a warrant of further detention may run to at most 96 hours after the relevant time",
        )
    released = _moment(data.get("released_at"))
    if released and released < relevant:
        yield Issue("custody_clock", "released_at", "released before the relevant time")
    limit = max(t for t in (relevant + 24 * HOUR, extension, warrant) if t)
    end = released or ctx.now
    if end > limit:
        yield Issue(
            "custody_clock",
            "released_at",
            f"detention ran {(end - relevant) / HOUR:.1f} hours, past its authorised limit "
            f"of {(limit - relevant) / HOUR:.0f} hours",
            "warning",
        )


@rule
def custody_reviews_in_time(data: dict[str, Any], ctx: RuleContext) -> Iterable[Issue]:
    """First review within 6 hours of authorisation, then at most every 9 hours, until release."""
    start = _moment(data.get("detention_authorised_at"))
    if not start:
        return
    end = _moment(data.get("released_at")) or ctx.now
    due, gap = start + 6 * HOUR, 6
    times = sorted(t for r in data.get("reviews", []) if (t := _moment(r.get("reviewed_at"))))
    for index, reviewed in enumerate([*times, None]):
        if due >= end:
            return
        if reviewed is None or reviewed > due:
            yield Issue(
                "custody_reviews_in_time",
                f"reviews[{index}]",
                f"a review was due by {due.isoformat()} ({gap} hours after the last)",
                "warning",
            )
            return
        due, gap = reviewed + 9 * HOUR, 9
