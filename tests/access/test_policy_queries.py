"""Property: for random records, users and agreements, every read path returns exactly what `decide` permits
(nothing it denies; and for listing, everything it permits), with the redactions it names.

Each example adds its own records (with fresh source keys) to the same database; the property holds over
every record in it, so the examples need no clean-up between them.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from sqlalchemy import insert, select

import openrms.identity.hooks
import openrms.search.hooks  # noqa: F401
from openrms.access.model import CLASSIFICATIONS, ROLES, Subject
from openrms.access.policy import Agreement, Policy, Resource, decide
from openrms.errors import NotFound
from openrms.identity.export import master_rows
from openrms.identity.resolver import match
from openrms.search.engine import search
from openrms.search.query import parse_query
from openrms.store.export import export_jsonl
from openrms.store.links import NewLink, links_of, upsert_links
from openrms.store.masters import master_view
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.tables import record, record_restriction
from openrms.store.views import get_record, list_records

AGENCIES = ("AAA", "BBB", "CCC")
SURNAMES = ("SMITH", "JONES", "PATEL")
NOW = dt.datetime.now(dt.UTC)
_serial = itertools.count()

record_spec = st.fixed_dictionaries(
    {
        "agency": st.sampled_from(AGENCIES),
        "type": st.sampled_from(("person", "vehicle")),
        "surname": st.sampled_from(SURNAMES),
        "classification": st.sampled_from(CLASSIFICATIONS),
        "handling": st.sampled_from(("P", "C", "4", "5")),
        "restricted": st.sampled_from(((), ("user:u1",), ("unit:AAA/CID",), ("user:nobody",))),
    }
)
agreement_spec = st.fixed_dictionaries(
    {
        "provider": st.sampled_from(AGENCIES),
        "recipient": st.sampled_from(AGENCIES),
        "types": st.dictionaries(
            st.sampled_from(("person", "vehicle")),
            st.one_of(st.none(), st.sets(st.sampled_from(("surname", "forenames", "vrm", "make")))),
            min_size=1,
        ),
        "purposes": st.sets(st.sampled_from(("investigation", "prosecution", "safeguarding")), min_size=1),
        "expired": st.booleans(),
    }
)
user_spec = st.fixed_dictionaries(
    {
        "agency": st.sampled_from(AGENCIES),
        "roles": st.sets(st.sampled_from(sorted(ROLES)), min_size=1, max_size=2),
        "vetting": st.sampled_from(CLASSIFICATIONS),
        "purpose": st.sampled_from(("investigation", "prosecution", "safeguarding")),
    }
)


def _write(db: Any, specs: list[dict[str, Any]]) -> list[str]:
    items = []
    for spec in specs:
        n = next(_serial)
        data = (
            {"forenames": "Sam", "surname": spec["surname"], "date_of_birth": "1980-01-01"}
            if spec["type"] == "person"
            else {"vrm": f"AB{n % 100:02d}CDE", "make": "FORD"}
        )
        prov = Provenance(
            agency=spec["agency"],
            source_system="T",
            recorded_by="t",
            source_key=f"k{n}",
            classification=spec["classification"],
            handling=spec["handling"],
            handling_conditions="only for this case" if spec["handling"] == "C" else None,
        )
        items.append(NewRecord(spec["type"], data, prov))
    with db.write() as conn:
        ids = [o.id for o in create_records(conn, items, NOW)]
        rows = [
            {"record_id": rid, "principal": p, "added_at": NOW, "added_by": "t"}
            for rid, spec in zip(ids, specs, strict=True)
            for p in spec["restricted"]
        ]
        if rows:
            conn.execute(insert(record_restriction), rows)
        people = [i for i, s in zip(ids, specs, strict=True) if s["type"] == "person"]
        cars = [i for i, s in zip(ids, specs, strict=True) if s["type"] == "vehicle"]
        links = [
            NewLink("OWNS", p, c, Provenance(agency=specs[0]["agency"], source_system="T", recorded_by="t"))
            for p, c in zip(people, cars, strict=False)
        ]
        if links:
            upsert_links(conn, links, NOW)
    return ids


def _agreements(specs: list[dict[str, Any]]) -> list[Agreement]:
    return [
        Agreement(
            id=f"a{i}",
            name="t",
            provider=s["provider"],
            recipient=s["recipient"],
            entity_types={k: (tuple(sorted(v)) if v is not None else None) for k, v in s["types"].items()},
            purposes=frozenset(s["purposes"]),
            valid_from=NOW - dt.timedelta(days=10),
            valid_to=NOW - dt.timedelta(days=1) if s["expired"] else None,
        )
        for i, s in enumerate(specs)
    ]


def _resources(db: Any) -> dict[str, Resource]:
    with db.read() as conn:
        rows = conn.execute(
            select(
                record.c.id, record.c.agency, record.c.entity_type, record.c.classification, record.c.handling
            )
        ).all()
        restrictions: dict[str, set[str]] = {}
        for rid, principal in conn.execute(
            select(record_restriction.c.record_id, record_restriction.c.principal)
        ):
            restrictions.setdefault(rid, set()).add(principal)
    return {
        r.id: Resource(
            r.agency, r.entity_type, r.classification, r.handling, frozenset(restrictions.get(r.id, ()))
        )
        for r in rows
    }


def _check_redacted(view: dict[str, Any], permitted: Any) -> None:
    data = view["data"]
    if permitted.fields is not None:
        assert set(data) <= set(permitted.fields), (view["id"], sorted(data), permitted.fields)
    assert not set(data) & permitted.hidden


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(record_spec, min_size=4, max_size=12),
    agreements=st.lists(agreement_spec, max_size=3),
    users=st.lists(user_spec, min_size=1, max_size=3),
)
def test_nothing_any_read_path_returns_is_denied(db, records, agreements, users):
    _write(db, records)
    known = _resources(db)
    shared = _agreements(agreements)
    for spec in users:
        subject = Subject(
            "u1",
            "user",
            spec["agency"],
            frozenset(spec["roles"]),
            spec["vetting"],
            unit="CID",
            purpose=spec["purpose"],
        )
        scope = Policy(subject, shared, NOW)
        allowed = {
            rid: d
            for rid, res in known.items()
            if (d := decide(subject, "read", res, spec["purpose"], shared, NOW)).permit
        }
        with db.read() as conn:
            # list: exactly the permitted records, redacted as decided
            listed, after = [], None
            while True:
                page = list_records(conn, scope, include_deleted=True, after=after, limit=500)
                listed += page.items
                after = page.next_after
                if after is None:
                    break
            assert {v["id"] for v in listed} == set(allowed)
            for view in listed:
                _check_redacted(view, allowed[view["id"]])
            # get: found exactly when permitted (a hidden record is "not found", like a missing one)
            for rid in known:
                try:
                    view = get_record(conn, rid, scope)
                except NotFound:
                    assert rid not in allowed
                else:
                    assert rid in allowed
                    _check_redacted(view, allowed[rid])
            # links: both ends permitted
            for rid in allowed:
                for link in links_of(conn, [rid], scope):
                    assert {link["from_id"], link["to_id"]} <= set(allowed)
            # master views: only permitted source records
            for master in {v["master_id"] for v in listed}:
                view = master_view(conn, master, scope)
                assert {r["id"] for r in view["records"]} <= set(allowed)
            # search (with its counts and facets): only permitted records, found only through shared fields
            for surname in SURNAMES:
                found = search(conn, parse_query({"surname": [surname]}), scope)
                for item in found["results"]:
                    for rid in item["matched_records"]:
                        assert rid in allowed
                        fields = allowed[rid].fields
                        assert fields is None or {"surname", "forenames"} <= fields
                assert found["total"] <= len(allowed)
            # match: visible candidates are records seen whole; the rest only as "contact the agency"
            result = match(
                conn, "person", {"forenames": "Sam", "surname": "SMITH", "date_of_birth": "1980-01-01"}, scope
            )
            for cand in result["candidates"]:
                assert cand["record_id"] in allowed and allowed[cand["record_id"]].fields is None
            # exports
            out = io.StringIO()
            export_jsonl(conn, out, scope)
            for line in out.getvalue().splitlines():
                item = json.loads(line)
                if item["kind"] == "record":
                    assert item["id"] in allowed
                    _check_redacted(item, allowed[item["id"]])
                else:
                    assert {item["from_id"], item["to_id"]} <= set(allowed)
            assert {row[3] for row in master_rows(conn, "person", scope)} <= set(allowed)
