"""Generated POLE records for the search benchmark: persons, vehicles, places and the events at them.

    generate(scale) -> Generated: iterators of NewRecord chunks and of NewLink, all made from one seed

Everything is drawn from a seeded `random.Random`, so every run (and every back end) gets the same records
with the same ids. Names come from the synthetic population's pools (Faker's en_GB names with their
weights, plus a long tail from other English-speaking locales); VRMs are current-format GB plates
("AB12CDE"); places are addresses (number, street, town, a valid postcode of the town's districts) and
crime-map points, clustered on streets around the West Yorkshire towns; events are crimes, incidents and
anti-social behaviour from 2015 to 2024, each OCCURRED_AT one place, with summaries, narratives and MOs
drawn from a vocabulary of about 2,000 words with a Zipf-like frequency (so free text has realistic
selectivity: a few words in most events, most words in few).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from openrms.demo.synthetic.tables import (
    COLOURS,
    INWARD_LETTERS,
    OFFENCES,
    PLATE_LETTERS,
    TOWNS,
    VEHICLES,
    name_pools,
    street_suffixes,
)
from openrms.store.ids import record_id
from openrms.store.links import NewLink
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord

AGENCY, SYSTEM = "WYP", "BENCH"
COUNTS = {"person": 1_000_000, "vehicle": 1_000_000, "location": 500_000, "event": 2_000_000}
CHUNK = 100_000
SEED = 20240601
LAT, LON = (53.6, 53.95), (-2.0, -1.3)
YEARS = (2015, 2024)

# Words an officer writes in a summary, narrative or MO: the most frequent part of the vocabulary.
POLICE_WORDS = (
    "suspect victim witness offender male female person persons vehicle car van motorcycle bicycle "
    "property address house flat dwelling garage shed garden rear front door window lock entry forced "
    "damaged smashed broken stolen taken removed items cash wallet purse phone mobile laptop tablet "
    "jewellery keys bag handbag tools television games console watch ring necklace passport documents "
    "cards bank credit debit approached assaulted punched kicked pushed threatened knife blade weapon "
    "bottle bat hammer screwdriver crowbar injury injuries minor serious hospital ambulance paramedics "
    "treated arrested detained custody interview charged bailed released investigation enquiries cctv "
    "footage forensic fingerprints dna scene examined officers attended reported called informed "
    "neighbour neighbours friend partner former husband wife mother father son daughter brother sister "
    "youth youths group gang hooded wearing dark clothing jacket hoodie jeans trainers cap balaclava "
    "gloves mask tall short slim stocky build aged approximately years old white black asian mixed hair "
    "beard glasses tattoo accent local area street road lane avenue park alley car park shop store "
    "supermarket petrol station pub bar club takeaway school college hospital bus stop train station "
    "town centre city night evening morning afternoon weekend midnight early hours late entered exited "
    "climbed fled ran drove decamped direction towards unknown known unidentified identified description "
    "vehicle registration plate silver white red blue grey black green seen heard shouting fighting "
    "drunk intoxicated drugs cannabis cocaine heroin dealing supply possession smell packages cash "
    "needles paraphernalia damage graffiti fire arson set alight burnt rubbish fly tipping noise music "
    "party loud nuisance abusive aggressive behaviour harassment stalking messages calls social media "
    "online threats domestic incident argument dispute relationship children present welfare concern "
    "missing vulnerable elderly alone found safe returned home collision injury road traffic accident "
    "damage only driver passenger pedestrian cyclist speeding drink driving uninsured disqualified no "
    "licence seized recovered abandoned burnt out cloned plates false stolen vehicle tracked searched "
    "search stop grounds nothing found found caution warning community resolution penalty notice summons "
    "court remand refused bail conditions breach order injunction restraining protective harassment "
    "notice closure premises licence revoked shoplifting shoplifter security guard staff member manager "
    "till receipts alcohol meat razor blades cosmetics clothing concealed walked out without paying "
    "detained by staff previous occasions banned burglary burglar break insecure unlocked garage tools "
    "bikes bicycle pedal cycle mountain bike lock cut robbery robbed mugged snatched grabbed demanded "
    "handed over threatened with used force fled on foot theft from person pickpocket distraction pocket "
    "distraction technique crowded market festival event criminal damage smashed windows tyres slashed "
    "keyed scratched paint egged kicked panels wing mirror catalytic converter number plates fuel "
    "siphoned diesel petrol tank radio satnav airbag badges"
)


@cache
def vocabulary() -> tuple[list[str], list[float]]:
    """About 2,000 lower-case words and their cumulative Zipf weights (police words first, most frequent)."""
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.job.en_US import Provider as Job
    from faker.providers.lorem.en_US import Provider as Lorem

    rest: set[str] = set(Lorem.word_list)
    for words in (*Company.catch_phrase_words, *Company.bsWords):
        rest.update(w.lower() for w in words)
    for job in Job.jobs:
        rest.update(w.lower() for w in re.findall(r"[A-Za-z]+", job))
    head = list(dict.fromkeys(w for w in POLICE_WORDS.split() if w.isalpha()))
    tail = sorted(w for w in rest if w.isalpha() and len(w) > 2 and w not in head)
    random.Random(SEED).shuffle(tail)
    words = head + tail
    weights = list(itertools.accumulate(1.0 / (rank + 8) ** 1.05 for rank in range(len(words))))
    return words, weights


@cache
def surnames() -> tuple[list[str], list[float]]:
    """Faker en_GB surnames with their weights, then a long tail from other English-speaking locales."""
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.en_IE import Provider as Irish
    from faker.providers.person.en_US import Provider as American

    base = {n: float(w) for n, w in British.last_names.items()}
    low = min(base.values()) / 2
    tail = sorted(n for n in {*American.last_names, *Irish.last_names} - set(base) if n.isalpha())
    out = {**base, **dict.fromkeys(tail, low)}
    return list(out), list(itertools.accumulate(out.values()))


def _pick(rng: random.Random, items: list[Any], cumulative: list[float]) -> Any:
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


@dataclass
class Street:
    name: str
    town: str
    district: str
    sector: int
    lat: float
    lon: float


def _streets(rng: random.Random, count: int) -> list[Street]:
    """Streets clustered around the towns (by population), each in one postcode sector of its town."""
    towns = [t[0] for t in TOWNS]
    tw = list(itertools.accumulate(t[1] for t in TOWNS))
    info = {t[0]: t for t in TOWNS}
    names, nw = surnames()
    suffixes = street_suffixes()
    forenames = name_pools()["male"] + name_pools()["female"]
    out = []
    for _ in range(count):
        town = _pick(rng, towns, tw)
        _, _, lat0, lon0, districts = info[town]
        spread = 0.03 if town in ("Leeds", "Bradford") else 0.015
        lat = min(max(rng.gauss(lat0, spread), LAT[0] + 0.002), LAT[1] - 0.002)
        lon = min(max(rng.gauss(lon0, spread * 1.6), LON[0] + 0.002), LON[1] - 0.002)
        stem = _pick(rng, names, nw) if rng.random() < 0.7 else rng.choice(forenames)
        out.append(
            Street(f"{stem} {rng.choice(suffixes)}", town, rng.choice(districts), rng.randrange(10), lat, lon)
        )
    return out


def _plate(rng: random.Random) -> str:
    """A current-format GB registration: area letters, age identifier, three random letters."""
    year = rng.randint(2, 24)
    age = f"{year:02d}" if rng.random() < 0.5 else f"{year + 50:02d}"
    letters = PLATE_LETTERS
    return (
        rng.choice(letters) + rng.choice(letters) + age + " " + "".join(rng.choice(letters) for _ in range(3))
    )


def _words(rng: random.Random, low: int, high: int) -> str:
    words, cum = vocabulary()
    return " ".join(_pick(rng, words, cum) for _ in range(rng.randint(low, high)))


def _sentence(rng: random.Random, low: int, high: int) -> str:
    text = _words(rng, low, high)
    return text[:1].upper() + text[1:] + "."


@dataclass
class Generated:
    counts: dict[str, int]

    def records(self) -> Iterator[list[NewRecord]]:
        """Chunks of records: places first, then persons, vehicles and events."""
        yield from _records(self.counts)

    def links(self) -> Iterator[NewLink]:
        yield from _links(self.counts)

    def known_types(self) -> dict[str, str]:
        return _known_types(self.counts)


def counts_for(scale: float) -> dict[str, int]:
    return {k: max(50, round(v * scale)) for k, v in COUNTS.items()}


def generate(scale: float) -> Generated:
    return Generated(counts_for(scale))


def _prov(kind: str, i: int) -> Provenance:
    return Provenance(AGENCY, SYSTEM, "bench", f"{kind}-{i}")


def location_type(i: int) -> str:
    return "point" if i % 10 < 3 else "address"


def event_type(i: int) -> str:
    k = i % 20
    return "crime" if k < 12 else "incident" if k < 17 else "anti_social_behaviour"


def location_id(i: int) -> str:
    return record_id(location_type(i), AGENCY, SYSTEM, f"location-{i}")


def event_id(i: int) -> str:
    return record_id(event_type(i), AGENCY, SYSTEM, f"event-{i}")


def place_of(i: int, locations: int) -> int:
    """The place event `i` happened at (events cluster on places: some places see many)."""
    rng = random.Random(SEED * 7 + i)
    if rng.random() < 0.3:  # repeat locations: the first tenth of places get 30% of events
        return rng.randrange(max(1, locations // 10))
    return rng.randrange(locations)


def _location(rng: random.Random, i: int, street: Street) -> NewRecord:
    lat = round(street.lat + rng.gauss(0, 0.0012), 6)
    lon = round(street.lon + rng.gauss(0, 0.002), 6)
    if location_type(i) == "point":
        data: dict[str, Any] = {
            "description": f"On or near {street.name}",
            "latitude": lat,
            "longitude": lon,
            "lsoa_code": f"E0101{rng.randrange(1000, 9999)}",
            "lsoa_name": f"{street.town} {rng.randrange(1, 120):03d}{rng.choice('ABCDEF')}",
        }
    else:
        inward = f"{street.sector}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
        data = {
            "building_number": str(rng.randint(1, 250)),
            "street": street.name,
            "town": street.town,
            "postcode": f"{street.district} {inward}",
            "latitude": lat,
            "longitude": lon,
        }
    return NewRecord(location_type(i), data, _prov("location", i))


def _person(rng: random.Random, i: int) -> NewRecord:
    pools = name_pools()
    names, cum = surnames()
    gender = "M" if rng.random() < 0.5 else "F"
    forenames = pools[gender](rng)
    if rng.random() < 0.25:
        forenames += " " + pools[gender](rng)
    year = rng.randint(1940, 2010)
    data: dict[str, Any] = {
        "forenames": forenames,
        "surname": _pick(rng, names, cum),
        "date_of_birth": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "gender": gender,
    }
    return NewRecord("person", data, _prov("person", i))


_VEHICLE_CUM = list(itertools.accumulate(v[3] for v in VEHICLES))
_COLOUR_CUM = list(itertools.accumulate(c[1] for c in COLOURS))


def _vehicle(rng: random.Random, i: int) -> NewRecord:
    make, model, kind, _ = _pick(rng, list(VEHICLES), _VEHICLE_CUM)
    data = {
        "vrm": _plate(rng),
        "make": make,
        "model": model,
        "vehicle_type": kind,
        "colour": _pick(rng, [c[0] for c in COLOURS], _COLOUR_CUM),
    }
    return NewRecord("vehicle", data, _prov("vehicle", i))


_CRIME_TYPES = list(OFFENCES)
_HO_CLASS = {
    "VIOLENCE_SEXUAL": "008/01",
    "ROBBERY": "034/01",
    "THEFT_FROM_THE_PERSON": "039/00",
    "BURGLARY": "028/01",
    "VEHICLE_CRIME": "045/00",
    "BICYCLE_THEFT": "044/00",
    "CRIMINAL_DAMAGE_ARSON": "058/01",
    "OTHER_THEFT": "049/00",
    "SHOPLIFTING": "046/00",
    "DRUGS": "092/01",
    "POSSESSION_OF_WEAPONS": "010/01",
    "PUBLIC_ORDER": "062/01",
    "OTHER_CRIME": "099/00",
}
_INCIDENT_TYPES = (
    "PUBLIC_SAFETY",
    "CONCERN_FOR_WELFARE",
    "MISSING_PERSON",
    "ROAD_TRAFFIC_COLLISION",
    "DOMESTIC",
    "SUSPICIOUS_CIRCUMSTANCES",
    "ALARM",
    "TRANSPORT",
    "OTHER",
)
_OUTCOMES = ("NO_SUSPECT", "UNABLE_TO_PROSECUTE", "UNDER_INVESTIGATION", "LOCAL_RESOLUTION", "AWAITING_COURT")
_START = dt.datetime(YEARS[0], 1, 1, tzinfo=dt.UTC)
_SPAN_MIN = int((dt.datetime(YEARS[1] + 1, 1, 1, tzinfo=dt.UTC) - _START).total_seconds() // 60)


def _event(rng: random.Random, i: int) -> NewRecord:
    etype = event_type(i)
    when = _START + dt.timedelta(minutes=rng.randrange(_SPAN_MIN))
    data: dict[str, Any] = {
        "reference": f"{13 + i % 3}/{when.year}/{i:07d}",
        "occurred_from": when.strftime("%Y-%m-%dT%H:%M:00Z"),
        "summary": _sentence(rng, 5, 12),
        "narrative": " ".join(_sentence(rng, 6, 16) for _ in range(rng.randint(2, 5))),
    }
    if etype == "crime":
        crime = rng.choice(_CRIME_TYPES)
        data.update(
            crime_type=crime,
            ho_class=_HO_CLASS[crime],
            offence_code=rng.choice(OFFENCES[crime][0]),
            mo=_sentence(rng, 6, 14),
            outcome=rng.choice(_OUTCOMES),
        )
    elif etype == "incident":
        data["incident_type"] = rng.choice(_INCIDENT_TYPES)
    else:
        data["asb_category"] = rng.choice(("PERSONAL", "NUISANCE", "ENVIRONMENTAL"))
    return NewRecord(etype, data, _prov("event", i))


def _records(counts: dict[str, int]) -> Iterator[list[NewRecord]]:
    rng = random.Random(SEED)
    streets = _streets(rng, max(20, counts["location"] // 25))
    for kind, make in (("location", None), ("person", _person), ("vehicle", _vehicle), ("event", _event)):
        total = counts[kind]
        for start in range(0, total, CHUNK):
            chunk = []
            for i in range(start, min(total, start + CHUNK)):
                if make is None:  # every street has a place, then places fall on streets at random
                    chunk.append(_location(rng, i, streets[i] if i < len(streets) else rng.choice(streets)))
                else:
                    chunk.append(make(rng, i))
            yield chunk


def _links(counts: dict[str, int]) -> Iterator[NewLink]:
    prov = Provenance(AGENCY, SYSTEM, "bench")
    for i in range(counts["event"]):
        place = place_of(i, counts["location"])
        yield NewLink(
            "OCCURRED_AT",
            event_id(i),
            location_id(place),
            Provenance(prov.agency, prov.source_system, prov.recorded_by, f"at-{i}"),
        )


def _known_types(counts: dict[str, int]) -> dict[str, str]:
    out = {location_id(i): location_type(i) for i in range(counts["location"])}
    out.update({event_id(i): event_type(i) for i in range(counts["event"])})
    return out
