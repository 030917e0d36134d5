"""`frozen()` conditions reuse compiled SQL by a fixed token: two conditions of the same shape but different
values must never share compiled SQL, and one condition must give the same rows in any statement."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select

from openrms.store.database import Database
from openrms.store.frozen import frozen
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.tables import record


def _seed(db: Database) -> None:
    items = [
        NewRecord(
            "vehicle",
            {"vrm": f"AB{i:02d}CDE"},
            Provenance(agency=agency, source_system="T", recorded_by="t", source_key=f"{agency}{i}"),
        )
        for agency in ("WYP", "NYP")
        for i in range(3)
    ]
    with db.write() as conn:
        create_records(conn, items)


def test_same_shape_different_values_never_share_compiled_sql(db: Database) -> None:
    _seed(db)
    wyp = frozen(and_(record.c.agency == bindparam(None, "WYP"), record.c.deleted.is_(False)))
    nyp = frozen(and_(record.c.agency == bindparam(None, "NYP"), record.c.deleted.is_(False)))
    with db.read() as conn:
        for _ in range(3):  # the second and third runs come from the compiled cache
            for condition, agency in ((wyp, "WYP"), (nyp, "NYP")):
                agencies = set(conn.execute(select(record.c.agency).where(condition)).scalars())
                assert agencies == {agency}


def test_one_condition_in_statements_with_their_own_parameters(db: Database) -> None:
    _seed(db)
    wyp = frozen(record.c.agency == bindparam(None, "WYP"))
    with db.read() as conn:
        for key, expected in (("WYP1", 1), ("WYP2", 1), ("NYP1", 0)):
            stmt = select(record.c.id).where(record.c.source_key == key, wyp)
            assert len(conn.execute(stmt).all()) == expected
        both = select(record.c.id).where(wyp).union_all(select(record.c.id).where(wyp))
        assert len(conn.execute(both).all()) == 6
        nested = select(record.c.id).where(record.c.id.in_(select(record.c.id).where(wyp)), wyp)
        assert len(conn.execute(nested).all()) == 3
