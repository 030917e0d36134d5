"""The index is written with the record: findable at commit, merges show at once, scope in the query."""

from __future__ import annotations

import json

from openrms.identity.membership import merge_masters, undo
from openrms.store.links import NewLink, upsert_links
from openrms.store.records import NewRecord, create_record, retract_records, update_record
from tests.search.conftest import LEEDS, HideAgency, prov


def test_a_record_is_findable_the_moment_its_write_commits(seeded):
    with seeded.db.write() as conn:
        out = create_record(
            conn, NewRecord("person", {"forenames": "Quentin", "surname": "Blake"}, prov("qb"))
        )
        # inside the same transaction too
        from openrms.search.engine import search
        from openrms.search.query import parse_query
        from openrms.store.scope import Unrestricted

        assert search(conn, parse_query({"surname": "Blake"}), Unrestricted())["total"] == 1
    assert seeded.first(surname="Blake")["record_id"] == out.id


def test_an_update_replaces_the_entry_and_a_retraction_removes_it(seeded):
    rid = seeded.ids["car2"]
    with seeded.db.write() as conn:
        update_record(conn, rid, {"vrm": "ZZ99ZZZ"}, 1, recorded_by="PC 1", merge=True)
    assert seeded.found(vrm="AB19CXY") == set()
    assert seeded.found(vrm="ZZ9*") == {"car2"}
    with seeded.db.write() as conn:
        retract_records(conn, [rid], recorded_by="PC 1", reason="entered in error")
    assert seeded.found(vrm="ZZ9*") == set()


def test_an_event_moves_with_its_place(seeded):
    near = {"lat": str(LEEDS[0]), "lon": str(LEEDS[1]), "radius_m": "500", "crime_type": "BURGLARY"}
    assert "burglary_far" not in seeded.found(**near)
    with seeded.db.write() as conn:
        upsert_links(
            conn, [NewLink("OCCURRED_AT", seeded.ids["burglary_far"], seeded.ids["home"], prov("moved"))]
        )
    # the event now occurred at two places; the first by link id is used, so check the place itself moving
    with seeded.db.write() as conn:
        update_record(
            conn,
            seeded.ids["point_far"],
            {"latitude": 53.8009, "longitude": -1.5492},
            1,
            recorded_by="PC 1",
            merge=True,
        )
    assert "burglary_far" in seeded.found(**near)


def test_merge_and_unmerge_show_at_once(seeded):
    a, b = seeded.masters["john"], seeded.masters["old_john"]
    before = seeded.find(surname="Smith", forename="John")
    assert {r["master_id"] for r in before["results"]} >= {a, b}
    with seeded.db.write() as conn:
        merged = merge_masters(conn, [a, b], by="test")
    after = seeded.find(surname="Smith", forename="John")
    survivor = [r for r in after["results"] if r["master_id"] == merged.master_id]
    assert len(survivor) == 1 and survivor[0]["records"] == 3
    assert after["total"] == before["total"] - 1
    with seeded.db.write() as conn:
        undo(conn, merged.event_id, by="test")
    again = seeded.find(surname="Smith", forename="John")
    assert {r["master_id"] for r in again["results"]} == {r["master_id"] for r in before["results"]}


def test_a_hidden_agency_leaks_nothing(seeded):
    scope = HideAgency("NCA")
    hidden = {
        seeded.ids["hidden_person"],
        seeded.ids["hidden_crime"],
        seeded.masters["hidden_person"],
        seeded.masters["hidden_crime"],
    }
    queries = [
        {"surname": "Smith"},
        {"q": "jewellery"},
        {"crime_type": "BURGLARY", "lat": str(LEEDS[0]), "lon": str(LEEDS[1]), "radius_m": "500"},
        {"dob": "1985"},
        {"q": "Zebedee"},
    ]
    for params in queries:
        everyone = seeded.find(**params)
        limited = seeded.find(scope=scope, **params)
        text = json.dumps(limited)
        assert not any(h in text for h in hidden), params
        assert "Zebedee" not in text and "Covert" not in text, params
        assert limited["total"] == everyone["total"] - 1, params
        assert sum(f["count"] for f in limited["facets"]["type"]) == limited["total"]
    # the merged John Smith counts only the records the caller may see
    with seeded.db.write() as conn:
        merge_masters(conn, [seeded.masters["john"], seeded.masters["hidden_person"]], by="test")
    first = seeded.find(scope=HideAgency("NCA"), surname="Smith", forename="John", dob="1985")["results"][0]
    assert first["records"] == 2
    first = seeded.find(scope=HideAgency("BTP"), surname="Smith", forename="John", dob="1985")["results"][0]
    assert first["records"] == 2


def test_suggest_is_scoped(seeded):
    from openrms.search.suggest import suggest

    with seeded.db.read() as conn:
        all_names = [s["label"] for s in suggest(conn, "name", "smith", HideAgency("NOBODY"))["suggestions"]]
        seen = [s["label"] for s in suggest(conn, "name", "smith", HideAgency("NCA"))["suggestions"]]
        vrms = [s["label"] for s in suggest(conn, "vrm", "ab1", HideAgency("NCA"))["suggestions"]]
    assert any("Zebedee" in n for n in all_names) and not any("Zebedee" in n for n in seen)
    assert len(seen) == len(set(seen)) and any("John Smith" in n for n in seen)
    assert [v.split()[0] for v in vrms] == ["AB12CDE", "AB19CXY"]
