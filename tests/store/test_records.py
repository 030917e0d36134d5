"""The store on both back ends: versions, "as at", optimistic concurrency, idempotent upserts, nothing
half-written."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from openrms.errors import BatchInvalid, Conflict, NotFound, RecordInvalid
from openrms.store import ids
from openrms.store.export import export_jsonl
from openrms.store.links import NewLink, links_of, upsert_links
from openrms.store.masters import master_view
from openrms.store.records import (
    NewRecord,
    create_record,
    create_records,
    retract_records,
    update_record,
    upsert_records,
)
from openrms.store.scope import Unrestricted
from openrms.store.views import count_records, get_record, history, list_records
from tests.helpers import person, prov

ALL = Unrestricted("test")
T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_create_assigns_deterministic_id_and_own_master(db):
    with db.write() as conn:
        out = create_record(conn, person("P1"))
    assert out.id == ids.record_id("person", "WYP", "NICHE", "P1")
    assert out.master_id == ids.master_id_for(out.id)
    with db.read() as conn:
        view = get_record(conn, out.id, ALL)
    assert view["data"]["surname"] == "Smith"
    assert view["provenance"]["source_key"] == "P1"
    assert view["provenance"]["agency"] == "WYP"


def test_versions_history_and_as_at(db):
    with db.write() as conn:
        out = create_record(conn, person("P1"), now=T0)
    with db.write() as conn:
        update_record(
            conn,
            out.id,
            {"surname": "Smyth"},
            1,
            recorded_by="PC 2",
            merge=True,
            now=T0 + dt.timedelta(days=1),
        )
    with db.read() as conn:
        versions = history(conn, out.id, ALL)
        assert [v["data"]["surname"] for v in versions] == ["Smith", "Smyth"]
        assert get_record(conn, out.id, ALL)["data"]["surname"] == "Smyth"
        then = get_record(conn, out.id, ALL, as_at=T0 + dt.timedelta(hours=1))
        assert then["data"]["surname"] == "Smith" and then["version"] == 1
        with pytest.raises(NotFound, match="first recorded"):
            get_record(conn, out.id, ALL, as_at=T0 - dt.timedelta(days=1))


def test_stale_update_is_refused_and_loses_nothing(db):
    with db.write() as conn:
        out = create_record(conn, person("P1"))
    with db.write() as conn:
        update_record(conn, out.id, {"surname": "Smyth"}, 1, recorded_by="first", merge=True)
    with pytest.raises(Conflict) as info, db.write() as conn:
        update_record(conn, out.id, {"surname": "Smythe"}, 1, recorded_by="second", merge=True)
    assert info.value.extra["current_version"] == 2
    with db.read() as conn:
        assert get_record(conn, out.id, ALL)["data"]["surname"] == "Smyth"
        assert len(history(conn, out.id, ALL)) == 2


def test_invalid_batch_writes_nothing_and_lists_every_failure(db):
    items = [person("ok"), person("bad1", surname="Sm1th"), person("bad2", date_of_birth="2999-01-01")]
    with pytest.raises(BatchInvalid) as info, db.write() as conn:
        create_records(conn, items)
    assert len(info.value.failures) == 2
    assert "bad1" in info.value.failures[0].record_ref
    with db.read() as conn:
        assert count_records(conn, ALL) == 0


def test_single_invalid_record_names_field_and_value(db):
    with pytest.raises(RecordInvalid) as info, db.write() as conn:
        create_record(conn, person("P1", pnc_id="2001/0123456Q"))
    issue = info.value.issues[0]
    assert issue.path == "pnc_id" and "'F'" in issue.message and issue.value == "2001/0123456Q"


def test_duplicate_source_key_is_a_conflict(db):
    with db.write() as conn:
        create_record(conn, person("P1"))
    with pytest.raises(Conflict, match="P1"), db.write() as conn:
        create_record(conn, person("P1"))


def test_upsert_is_idempotent_and_versions_changes(db):
    batch = [person(f"P{i}") for i in range(5)]
    with db.write() as conn:
        assert {o.status for o in upsert_records(conn, batch)} == {"created"}
    with db.write() as conn:
        assert {o.status for o in upsert_records(conn, batch)} == {"unchanged"}
    changed = [*batch[:4], person("P4", surname="Jones")]
    with db.write() as conn:
        statuses = [o.status for o in upsert_records(conn, changed)]
    assert statuses == ["unchanged"] * 4 + ["updated"]
    with db.read() as conn:
        assert count_records(conn, ALL) == 5
        rid = ids.record_id("person", "WYP", "NICHE", "P4")
        assert [v["data"]["surname"] for v in history(conn, rid, ALL)] == ["Smith", "Jones"]


def test_retract_keeps_history_and_hides_from_lists(db):
    with db.write() as conn:
        out = create_record(conn, person("P1"))
        retract_records(conn, [out.id], recorded_by="import", reason="deleted at source")
    with db.read() as conn:
        assert list_records(conn, ALL, entity_type="person").items == []
        assert len(list_records(conn, ALL, entity_type="person", include_deleted=True).items) == 1
        view = get_record(conn, out.id, ALL)
        assert view["deleted"] and view["version"] == 2


def test_list_filters_and_keyset_pages(db):
    with db.write() as conn:
        create_records(conn, [person(f"P{i}", surname="Jones" if i % 2 else "Smith") for i in range(25)])
    with db.read() as conn:
        seen, after = [], None
        while True:
            page = list_records(conn, ALL, entity_type="person", after=after, limit=10)
            seen += [r["id"] for r in page.items]
            after = page.next_after
            if after is None:
                break
        assert len(seen) == len(set(seen)) == 25
        jones = list_records(conn, ALL, entity_type="person", fields={"surname": "Jones"}, limit=100).items
        assert len(jones) == 12


def test_links_master_view_and_export(db):
    address = NewRecord(
        "address", {"building_number": "12", "street": "High Street", "postcode": "ls1 4ap"}, prov("A1")
    )
    crime = NewRecord("crime", {"crime_type": "Burglary", "occurred_from": "2024-01-01T10:00"}, prov("C1"))
    with db.write() as conn:
        p, a, c = create_records(conn, [person("P1"), address, crime])
        upsert_links(
            conn,
            [
                NewLink("RESIDES_AT", p.id, a.id, prov("L1"), valid_from="2019"),
                NewLink("SUSPECT", p.id, c.id, prov("L2")),
            ],
        )
    with db.read() as conn:
        view = master_view(conn, p.master_id, ALL)
        assert [r["id"] for r in view["records"]] == [p.id]
        assert view["golden"]["surname"] == {"value": "Smith", "record_id": p.id, "agency": "WYP"}
        assert {lk["link_type"] for lk in view["links"]} == {"RESIDES_AT", "SUSPECT"}
        assert {lk["link_type"] for lk in links_of(conn, [c.id], ALL)} == {"SUSPECT"}
        assert get_record(conn, a.id, ALL)["data"]["postcode"] == "LS1 4AP"
        assert get_record(conn, p.id, ALL)["quality"] == []
        buffer = io.StringIO()
        counts = export_jsonl(conn, buffer, ALL)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert counts == {"records": 3, "links": 2}
    assert [x["kind"] for x in lines].count("link") == 2


def test_link_rejects_wrong_end_types(db):
    crime = NewRecord("crime", {"crime_type": "BURGLARY"}, prov("C1"))
    with db.write() as conn:
        p, c = create_records(conn, [person("P1"), crime])
    with pytest.raises(RecordInvalid, match="allowed"), db.write() as conn:
        upsert_links(conn, [NewLink("RESIDES_AT", p.id, c.id, prov("L1"))])


def test_orphan_and_four_plus_one_flags(db):
    with db.write() as conn:
        out = create_record(conn, person("P1"))
    with db.read() as conn:
        codes = {q["code"] for q in get_record(conn, out.id, ALL)["quality"]}
    assert codes == {"orphan", "person_four_plus_one"}
