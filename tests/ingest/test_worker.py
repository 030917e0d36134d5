"""The worker's side of an import: links leave it checked and encoded exactly as the writer would have
made them, a row's link problems quarantine it with the same reasons as before, and a batch crosses from
the worker to the main process (pickled) unchanged."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import pickle
import textwrap
from collections.abc import Iterator

import pytest

from openrms.errors import BadRequest
from openrms.ingest import pipeline, worker
from openrms.ingest.mapping import parse_mapping
from openrms.ingest.rows import SourceRow
from openrms.store.database import Database
from openrms.store.links import (
    LinkPreparer,
    NewLink,
    check_dates,
    check_ends,
    prepare_links,
    upsert_links,
)
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, Preparer

MAPPING = textwrap.dedent(
    """
    name: worker-test
    agency: WYP
    source_system: NICHE
    records:
      crime:
        entity: crime
        key: "{CrimeNo}"
        fields: {reference: CrimeNo, crime_type: {const: BURGLARY}}
      person:
        entity: person
        key: "{PersonId}"
        fields: {surname: Surname}
    links:
      - {type: SUSPECT, from: person, to: crime, valid_from: {from: From}, valid_to: {from: To}}
      - {type: VICTIM, from: {lookup: {entity: person, key: "{VictimRef}"}}, to: crime}
    """
)
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _row(number: int, **fields: str) -> SourceRow:
    base = {"CrimeNo": f"C{number}", "PersonId": f"P{number}", "Surname": "Smith", "From": "", "To": ""}
    base.update(fields)
    base.setdefault("VictimRef", "")
    return SourceRow(number, f"line {number + 1}", ",".join(base.values()), base)


ROWS = [
    _row(1, From="2019-02-01", To="2019-03-01"),
    _row(2, VictimRef="V9"),
    _row(3, From="2019-05-01", To="2019-04-01"),  # ends before it starts
    _row(4, From="31/02/2019"),  # not a date
    _row(5, PersonId="P1", From="2019-02-01", To="2019-03-01"),  # the same person again
]


@pytest.fixture(params=["sqlite", "postgresql"])
def context(request: pytest.FixtureRequest) -> Iterator[worker.WorkerContext]:
    mapping = parse_mapping(MAPPING)
    saved = worker.CONTEXT
    worker.CONTEXT = worker.WorkerContext(mapping, "WYP", "NICHE", "import", request.param)
    yield worker.CONTEXT
    worker.CONTEXT = saved


def test_links_are_prepared_as_the_writer_would_prepare_them(context: worker.WorkerContext) -> None:
    batch = worker.map_batch(ROWS, NOW)
    assert [r.status for r in batch.rows] == ["ok", "ok", "quarantined", "quarantined", "ok"]
    assert batch.links_ready()
    assert len(batch.prepared_links) == len(batch.links) == 4
    assert batch.prepared_links == prepare_links(batch.links, batch.types, NOW, context.dialect)


def test_link_problems_quarantine_the_row_with_the_same_reasons(context: worker.WorkerContext) -> None:
    batch = worker.map_batch(ROWS, NOW)
    preparer = Preparer(NOW, context.dialect)
    quarantined = [(row, result) for row, result in zip(ROWS, batch.rows, strict=True) if result.reasons]
    assert [row.number for row, _ in quarantined] == [3, 4]
    for row, result in quarantined:
        # what the worker checked before it prepared links: their ends and their dates, every issue
        mapped = context.mapping.apply(row.fields)
        prepared = {
            name: preparer(NewRecord(r.entity_type, r.data, worker._provenance(context, r.source_key, r)))
            for name, r in mapped.records.items()
        }
        types = {p.id: p.entity_type for p in prepared.values()}
        expected = []
        for link in mapped.links:
            item = worker._new_link(context, link, prepared, types, {})
            issues = check_ends(item, types) + check_dates(item)[0]
            expected += [f"link {link.link_type}.{i.path}: {i.message}" for i in issues]
        assert result.reasons == expected


def test_a_refused_link_provenance_is_left_to_the_writer() -> None:
    refused = Provenance("WYP", "NICHE", "import", "k1", None, "NOT-A-MARKING", "P", None)
    item = NewLink("SUSPECT", "a", "b", refused, "2019-05-01", "2019-04-01")
    types = {"a": "person", "b": "crime"}
    with pytest.raises(BadRequest):
        LinkPreparer(NOW, "sqlite")(item, types)
    issues, ready = worker._prepare_link(LinkPreparer(NOW, "sqlite"), item, types)
    assert ready is None
    assert issues == check_ends(item, types) + check_dates(item)[0]
    batch = worker.MappedBatch([], {}, [item], types, 1, [None])
    assert not batch.links_ready()


def test_the_writer_prepares_links_itself_when_the_worker_could_not(db: Database) -> None:
    """A refused provenance fails the batch in the writer with the same error as before."""
    refused = Provenance("WYP", "NICHE", "import", "k1", None, "NOT-A-MARKING", "P", None)
    item = NewLink("SUSPECT", "a", "b", refused)
    batch = worker.MappedBatch([], {}, [item], {"a": "person", "b": "crime"}, 1, [None])
    with pytest.raises(BadRequest) as raised, db.write() as conn:
        pipeline._write_links(conn, batch, NOW, {}, NOW, "import")
    with pytest.raises(BadRequest) as before, db.write() as conn:
        upsert_links(conn, [item], NOW, known_types=batch.types)
    assert str(raised.value) == str(before.value)


def test_excluded_rows_take_their_prepared_links_with_them(context: worker.WorkerContext) -> None:
    batch = worker.map_batch(ROWS, NOW)
    victim = next(rid for row in batch.rows for rid in row.refs)
    pipeline._exclude(batch, {victim})
    assert [r.status for r in batch.rows] == ["ok", "quarantined", "quarantined", "quarantined", "ok"]
    assert len(batch.links) == len(batch.prepared_links) == 2
    assert [p.link_row[1:4] for p in batch.prepared_links] == [
        (link.link_type, link.from_id, link.to_id) for link in batch.links
    ]


def test_a_batch_crosses_to_the_main_process_unchanged(context: worker.WorkerContext) -> None:
    direct = worker.map_batch(ROWS, NOW)
    carried = worker.unpack(worker.map_batch_packed(ROWS, NOW))
    assert carried == direct
    assert list(carried.prepared) == list(direct.prepared)
    for record in carried.prepared.values():
        assert record == direct.prepared[record.id]
        assert type(record.extras) is type(direct.prepared[record.id].extras)


@dataclasses.dataclass(slots=True)
class _Slotted:
    a: int
    b: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class _Computed:
    a: int
    b: int = dataclasses.field(init=False, default=0)


@dataclasses.dataclass
class _Plain:
    a: int


def test_only_slotted_dataclasses_their_constructor_rebuilds_are_pickled_as_calls() -> None:
    assert worker._fields_of(_Slotted)(_Slotted(1, [2])) == (1, [2])
    assert worker._fields_of(_Computed) is None
    assert worker._fields_of(_Plain) is None
    assert worker._fields_of(dict) is None
    shared = [3]
    value = {"x": _Slotted(1, shared), "y": shared, "z": _Plain(2), "c": _Computed(4)}
    copy = worker.unpack(_dumps(value))
    assert copy == value
    assert copy["x"].b is copy["y"]  # shared references stay shared


def _dumps(value: object) -> bytes:
    buffer = io.BytesIO()
    worker._BatchPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()
