"""Every query class through the library, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from openrms.errors import BadRequest
from openrms.search import engine
from openrms.search.engine import search
from openrms.search.query import parse_query
from openrms.store.records import NewRecord, create_records
from openrms.store.scope import Unrestricted
from tests.search.conftest import LEEDS, prov


def test_name_fuzzy_phonetic_nickname_with_year(seeded):
    answer = seeded.find(forename="Jon", surname="Smyth", dob="~1985")
    first = answer["results"][0]
    assert first["master_id"] == seeded.masters["john"]
    assert first["records"] == 2  # two agencies' records of one man: one result
    rules = {w["field"]: w["rule"] for w in first["why"]}
    assert rules == {"surname": "phonetic", "forenames": "nickname", "date_of_birth": "about"}
    assert seeded.found(forename="Jon", surname="Smyth", dob="~1985") == {"john", "john_btp", "jonathan"}


def test_free_text_name_and_year(seeded):
    first = seeded.first(q="Jon Smyth born about 1985")
    assert first["master_id"] == seeded.masters["john"]
    assert {w["rule"] for w in first["why"]} >= {"phonetic", "nickname"}
    assert "old_john" not in seeded.found(q="Jon Smyth born about 1985")


def test_each_name_rule_can_be_switched_off(seeded):
    assert "jonathan" in seeded.found(surname="Smyth")
    assert seeded.found(surname="Smyth", phonetic="false", fuzzy="false") == set()
    assert "jonathan" in seeded.found(surname="Smytge", phonetic="false")  # fuzzy still on
    assert seeded.found(forename="William", surname="Oddie") == {"bill"}
    assert seeded.found(forename="William", surname="Oddie", nicknames="false", fuzzy="false") == set()


def test_exact_surname_ranks_above_phonetic_and_fuzzy(seeded):
    results = seeded.find(surname="Smith", dob="1985")["results"]
    assert results[0]["master_id"] == seeded.masters["john"]
    assert results[0]["why"][0] == {"field": "surname", "rule": "exact", "value": "SMITH"}


def test_alias_is_searched(seeded):
    first = seeded.first(surname="Odd", forename="Billy")
    assert first["master_id"] == seeded.masters["bill"]


def test_dates_of_birth_exact_partial_range_and_age(seeded):
    assert seeded.found(dob="1985-03-02") == {"john", "john_btp"}
    assert seeded.found(dob="1985-03") == {"john", "john_btp"}
    assert seeded.found(dob="1984") == {"jonathan"}
    assert seeded.found(dob_from="1984-01-01", dob_to="1985-12-31", type="person") >= {"john", "jonathan"}
    assert seeded.found(dob="1990-07-21") == {"bill"}  # a partial date of birth matches a day within it
    assert seeded.found(age_from="17", age_to="17", age_at="2018-06-01") == {"mary"}
    assert seeded.found(gender="F") == {"mary"}


def test_identifiers_in_any_written_form(seeded):
    assert seeded.found(pnc_id="2005/0123456R") == {"john", "john_btp"}
    assert seeded.found(ni_number="ab 12 34 56 c") == {"mary"}
    assert seeded.found(q="13/2018/0001") == {"burglary_centre"}  # a reference (exact field)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("AB1?C*", {"car1", "car2"}),
        ("*12C*", {"car1", "car3"}),
        ("?B12CDE", {"car1", "car3"}),
        ("AB12CDE", {"car1"}),
        ("ab12 cde", {"car1"}),
        ("B12C", {"car1", "car3"}),
        ("*CDE", {"car1", "car3", "car4"}),
    ],
)
def test_vrm_wildcards_in_any_position(seeded, pattern, expected):
    assert seeded.found(vrm=pattern) == expected


def test_vrm_exact_ranks_before_partial(seeded):
    results = seeded.find(vrm="AB12CDE")["results"]
    assert [w["rule"] for w in results[0]["why"]] == ["exact"]


def test_vrm_with_description(seeded):
    assert seeded.found(vrm="*CDE", make="ford", colour="blue") == {"car1", "car3"}
    assert seeded.found(make="Ford", model="Focus") == {"car1"}
    assert seeded.found(q="plate AB1?C*") == {"car1", "car2"}


def test_phone_and_email_in_any_written_form(seeded):
    assert seeded.found(phone="+44 (0)113 496 0000") == {"phone"}
    assert seeded.found(email=" j.smith@EXAMPLE.org") == {"email"}
    assert seeded.found(q="01134960000") == {"phone"}


def test_addresses_by_postcode_sector_district_street_town(seeded):
    assert seeded.found(postcode="LS15AB") == {"home"}
    assert seeded.found(postcode="LS1 5") == {"home"}
    assert seeded.found(postcode="ls1") == {"home"}
    assert seeded.found(street="park row") == {"home"}
    assert seeded.found(street="High Street") == {"far"}
    assert seeded.found(town="bradford") == {"far"}


def test_places_within_radius_and_box(seeded):
    near = seeded.found(lat=str(LEEDS[0]), lon=str(LEEDS[1]), radius_m="500", type="location")
    assert near == {"home", "point_centre"}
    inside = seeded.found(bbox="-1.56,53.79,-1.54,53.81", type="location")
    assert inside == {"home", "point_centre"}
    first = seeded.first(lat=str(LEEDS[0]), lon=str(LEEDS[1]), radius_m="500", type="location")
    assert first["distance_m"] < 50 and first["why"][0]["rule"] == "geo"


def test_events_near_a_place_in_a_month(seeded):
    found = seeded.found(
        crime_type="burglary",
        lat=str(LEEDS[0]),
        lon=str(LEEDS[1]),
        radius_m="500",
        **{"from": "2018-07", "to": "2018-07"},
    )
    assert found == {"burglary_centre", "hidden_crime"}
    assert seeded.found(event_type="crime", hate="true") == {"robbery_centre"}
    assert seeded.found(ho_class="28/1") == {"burglary_centre"}
    assert seeded.found(offence_code="th68010") == {"burglary_centre"}
    assert seeded.found(outcome="Investigation complete; no suspect identified") == {"burglary_centre"}
    assert seeded.found(area="leeds", type="crime") == {
        "burglary_centre",
        "burglary_old",
        "robbery_centre",
        "hidden_crime",
    }
    assert seeded.found(area="E01033010", crime_type="ROBBERY") == {"robbery_centre"}


def test_free_text_with_snippets(seeded):
    first = seeded.first(q="jewellery laptop")
    assert first["master_id"] == seeded.masters["burglary_centre"]
    assert first["why"][0]["rule"] == "text"
    assert any("<mark>jewellery</mark>" in s and "<mark>laptop</mark>" in s for s in first["snippets"])
    assert seeded.found(q="jemmied") == {"burglary_centre"}  # MO text


def test_free_text_is_planned_for_its_own_words(seeded):
    """PostgreSQL would otherwise reuse one generic plan for every word once the driver has prepared the
    statement, and that plan reads the whole GIN posting of a common word before the LIMIT applies."""
    with seeded.db.read() as conn:
        for _ in range(8):  # past the driver's prepare threshold: the same answer every time
            assert search(conn, parse_query({"q": "jewellery laptop"}), Unrestricted("test"))["total"] == 1
        if seeded.db.dialect != "postgresql":
            return  # SQLite plans every statement afresh
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
    with seeded.db.read() as conn:
        search(conn, parse_query({"surname": "Smith"}), Unrestricted("test"))
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"  # only free text needs it


def test_free_text_gives_fuzzy_names_no_more_than_their_share(db, monkeypatch):
    """What the exact and phonetic look-ups leave unused does not all go to the loosest source."""
    surnames = ["Garabe", "Garace", "Garade", "Garafe", "Garake", "Garale", "Garame", "Garane"]  # fuzzy only
    with db.write() as conn:
        create_records(conn, [NewRecord("person", {"surname": s}, prov(s)) for s in surnames])
    monkeypatch.setattr(engine, "CAP", 8)  # four sources (text, surname, phonetic, fuzzy): 2 each
    with db.read() as conn:
        hits, truncated = engine.candidates(conn, parse_query({"q": "garage"}), Unrestricted("test"))
        by_name, _ = engine.candidates(conn, parse_query({"surname": "Garage"}), Unrestricted("test"))
    assert truncated and len(hits) <= 2  # only fuzzy matches exist: its share, not the 8 left over
    assert len(by_name) > 2  # a name search still lets later tiers use what earlier ones left


def test_facets_pagination_and_sort(seeded):
    answer = seeded.find(q="smith")
    types = {f["value"]: f["count"] for f in answer["facets"]["type"]}
    assert types["person"] >= 3 and types["email"] == 1  # the e-mail address holds the word too
    assert sum(types.values()) == answer["total"]
    crimes = seeded.find(crime_type="BURGLARY")
    assert {f["value"]: f["count"] for f in crimes["facets"]["month"]} == {"2018-07": 3, "2017-07": 1}
    assert crimes["facets"]["event_type"] == [{"value": "BURGLARY", "label": "Burglary", "count": 4}]
    by_date = seeded.find(crime_type="BURGLARY", sort="date")["results"]
    assert [r["date"] for r in by_date] == sorted((r["date"] for r in by_date), reverse=True)
    page1 = seeded.find(crime_type="BURGLARY", per_page="3", sort="date")
    page2 = seeded.find(crime_type="BURGLARY", per_page="3", page="2", sort="date")
    assert len(page1["results"]) == 3 and len(page2["results"]) == 1
    assert not {r["master_id"] for r in page1["results"]} & {r["master_id"] for r in page2["results"]}
    names = [r["title"] for r in seeded.find(surname="Smith", sort="name")["results"]]
    assert names == sorted(names)


def test_criteria_that_no_record_could_meet_are_refused():
    with pytest.raises(BadRequest, match="rule"):
        parse_query({"surname": "Smith", "vrm": "AB12CDE"})
