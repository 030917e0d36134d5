"""An imported event carries the place it OCCURRED_AT in its search entry (coordinates, grid cells, area):
whether the place came in the same row, was imported before, moved since, or the event moved to another
place. The worker fills new events from places of the same batch; the writer checks every event against
its stored places and rewrites only those that differ."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import select

import openrms.search.hooks  # noqa: F401  (the search index is kept by imports)
from openrms.ingest.service import import_source
from openrms.search.terms import geo_columns
from openrms.store import ids
from openrms.store.database import Database
from openrms.store.tables import search_doc

GEO = ("lat", "lon", "cell", "cell10", "area", "area_code")

# The crime record both mappings share; each adds its own name, its place and its link.
CRIME = textwrap.dedent(
    """
    agency: WYP
    source_system: NICHE
    records:
      crime:
        entity: crime
        key: "{Ref}"
        fields: {reference: Ref, crime_type: {const: Burglary}}
    """
)

WITH_PLACE = (
    "name: places-test"
    + CRIME
    + textwrap.dedent(
        """\
          place:
            entity: point
            key: "{PlaceRef}"
            fields:
              latitude: {from: Lat, number: float}
              longitude: {from: Lon, number: float}
              lsoa_code: Lsoa
              lsoa_name: LsoaName
        links:
          - {type: OCCURRED_AT, from: crime, to: place, key: "{Ref}/at"}
        """
    )
)

AT_KNOWN_PLACE = (
    "name: places-lookup-test"
    + CRIME
    + "links:\n"
    + '  - {type: OCCURRED_AT, from: crime, to: {lookup: {entity: point, key: "{PlaceRef}"}}, '
    + 'key: "{Ref}/at"}\n'
)


def _csv(tmp_path: Path, name: str, header: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _mapping(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _rid(entity_type: str, key: str) -> str:
    return ids.record_id(entity_type, "WYP", "NICHE", key)


def _geo(db: Database, entity_type: str, key: str) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(
            select(*(search_doc.c[c] for c in GEO)).where(search_doc.c.record_id == _rid(entity_type, key))
        ).one()
    return dict(zip(GEO, row, strict=True))


def _expected(lat: float, lon: float, area: str, code: str) -> dict[str, Any]:
    return {**geo_columns(lat, lon), "area": area, "area_code": code}


HEADER = "Ref,PlaceRef,Lat,Lon,Lsoa,LsoaName"


def test_an_event_takes_its_place_from_the_same_row(db: Database, tmp_path: Path) -> None:
    source = _csv(
        tmp_path,
        "crimes.csv",
        HEADER,
        "C1,P1,53.7996,-1.5491,E01011365,Leeds 111B",
        "C2,P2,53.8100,-1.5600,E01011366,Leeds 112A",
        "C3,P1,53.7996,-1.5491,E01011365,Leeds 111B",
    )
    report = import_source(db, source, _mapping(tmp_path, "m", WITH_PLACE), workers=1)
    assert report.tally.rows["created"] == 3
    for crime, place in (("C1", "P1"), ("C2", "P2"), ("C3", "P1")):
        assert _geo(db, "crime", crime) == _geo(db, "point", place)
    assert _geo(db, "crime", "C2") == _expected(53.81, -1.56, "LEEDS 112A", "E01011366")


def test_an_event_at_a_place_imported_before_takes_its_columns(db: Database, tmp_path: Path) -> None:
    places = _csv(tmp_path, "places.csv", HEADER, "C0,P9,53.7000,-1.4000,E01000009,Wakefield 009A")
    import_source(db, places, _mapping(tmp_path, "m", WITH_PLACE), workers=1)
    crimes = _csv(tmp_path, "later.csv", "Ref,PlaceRef", "C10,P9")
    report = import_source(db, crimes, _mapping(tmp_path, "lookup", AT_KNOWN_PLACE), workers=0)
    assert report.tally.rows["created"] == 1
    assert _geo(db, "crime", "C10") == _geo(db, "point", "P9")
    assert _geo(db, "crime", "C10")["lat"] == 53.7


def test_events_follow_a_moved_place_and_a_moved_event(db: Database, tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, "m", WITH_PLACE)
    first = _csv(
        tmp_path,
        "v1.csv",
        HEADER,
        "C1,P1,53.7996,-1.5491,E01011365,Leeds 111B",
        "C2,P2,53.8100,-1.5600,E01011366,Leeds 112A",
    )
    import_source(db, first, mapping, workers=1)
    # P1 is resurveyed; C2 turns out to have happened at a third place.
    second = _csv(
        tmp_path,
        "v2.csv",
        HEADER,
        "C1,P1,53.9000,-1.6000,E01011999,Leeds 999Z",
        "C2,P3,51.5000,-0.1200,E01000001,Westminster 001A",
    )
    report = import_source(db, second, mapping, workers=1)
    assert report.tally.rows["read"] == 2
    assert _geo(db, "crime", "C1") == _expected(53.9, -1.6, "LEEDS 999Z", "E01011999")
    assert _geo(db, "crime", "C2") == _expected(51.5, -0.12, "WESTMINSTER 001A", "E01000001")
    assert _geo(db, "point", "P2")["lat"] == 53.81  # the place C2 left is still where it was


TWO_PLACES = (
    "name: two-places-test"
    + CRIME
    + textwrap.dedent(
        """\
          here:
            entity: point
            key: "{PlaceRef}"
            fields: {latitude: {from: Lat, number: float}, longitude: {from: Lon, number: float}}
          there:
            entity: point
            key: "{PlaceRef}-b"
            fields: {latitude: {from: Lat2, number: float}, longitude: {from: Lon2, number: float}}
        links:
          - {type: OCCURRED_AT, from: crime, to: here, key: "{Ref}/at-{Order}"}
          - {type: OCCURRED_AT, from: crime, to: there, key: "{Ref}/at-{Order2}"}
        """
    )
)


def _link(crime: str, place: str, key: str) -> str:
    return ids.link_id("OCCURRED_AT", _rid("crime", crime), _rid("point", place), "WYP", "NICHE", key)


def test_a_new_event_at_two_places_takes_the_first_by_link_id(db: Database, tmp_path: Path) -> None:
    """The worker copies on the place of the row's first link; the writer, which skips events given one
    new link to the place they were filled from, must still correct an event given two."""
    rows = []
    for n in range(40):  # link keys chosen so that, for some crimes, the second link's id sorts first
        rows.append(f"C{n},P{n},53.{n:02d},-1.5,51.{n:02d},-0.1,{n}a,{n}b")
    source = _csv(tmp_path, "two.csv", "Ref,PlaceRef,Lat,Lon,Lat2,Lon2,Order,Order2", *rows)
    import_source(db, source, _mapping(tmp_path, "two", TWO_PLACES), workers=1)
    firsts = set()
    for n in range(40):
        here, there = _link(f"C{n}", f"P{n}", f"C{n}/at-{n}a"), _link(f"C{n}", f"P{n}-b", f"C{n}/at-{n}b")
        first = f"P{n}" if here < there else f"P{n}-b"
        firsts.add(first == f"P{n}")
        assert _geo(db, "crime", f"C{n}") == _geo(db, "point", first)
    assert firsts == {True, False}  # both orders were exercised
