"""Web UI figures (issue 7): server render time p95 of a person profile with 500 involvements and of a full
page of search results, on SQLite, through the real app.

    python -m benchmarks.bench_web [--scale 0.01] [--workdir .bench-search] [--timed 200]

The database is a copy of the search benchmark's index (`--scale` x its counts: 10,000 persons, 10,000
vehicles, 5,000 places and 20,000 events at 0.01; built by `benchmarks.bench_search` and cached in
`--workdir`), plus one man written through the library with the write hooks on: two source records
(NICHE and CUSTODY), 500 events of mixed types (crimes, incidents, anti-social behaviour) he is linked to
in mixed roles, three vehicles, two phones, two addresses and four associates.

Each figure is the wall time of the TestClient call with a signed-in session (the whole server side:
session, purpose, policy, reads, audit entry, template), `--timed` calls after WARMUP warm-up calls:

- GET /ui/people/{master}: the profile with 500 involvements;
- GET /ui/search?q=<surname>: a full page of results (20) for each of the index's most common surnames in
  turn (each checked to fill a page).

Targets: p95 < 100 ms each. Prints one table; exits 1 if a figure misses its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_search import sqlite_index
from benchmarks.common import Figure, p95, print_table

TARGET_MS = 100.0
WARMUP = 20
INVOLVEMENTS = 500
USERNAME, PASSWORD, AGENCY = "bench.web", "correct horse battery staple", "WYP"
ROLES = ("SUSPECT", "VICTIM", "WITNESS", "INVOLVED_PARTY", "PERSON_REPORTING", "OFFENDER")
EVENT_TYPES = {
    "crime": {"crime_type": "BURGLARY", "ho_class": "028/01"},
    "incident": {"incident_type": "DOMESTIC"},
    "anti_social_behaviour": {"asb_category": "NUISANCE"},
}


def say(message: str) -> None:
    print(f"[bench_web {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def copy_database(source: Path, scratch: Path) -> Path:
    """A private copy of the cached index, so adding the profile's records leaves the cache as it was."""
    target = scratch / "web.db"
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


# --- the person with 500 involvements ---------------------------------------------------------------------


def _prov(key: str, system: str = "NICHE") -> Any:
    from openrms.store.provenance import Provenance

    return Provenance(agency=AGENCY, source_system=system, recorded_by="PC 1", source_key=f"web-{key}")


def _profile_records() -> dict[str, Any]:
    from openrms.store.records import NewRecord

    man = {"forenames": "Bartholomew", "surname": "Quennell", "date_of_birth": "1979-11-23", "gender": "M"}
    items: dict[str, Any] = {
        "man": NewRecord("person", {**man, "pnc_id": "79/654321V", "warning_markers": ["VI"]}, _prov("p1")),
        "custody": NewRecord(
            "person", {**man, "forenames": "Bart", "pnc_id": "79/654321V"}, _prov("p2", "CUSTODY")
        ),
    }
    kinds = list(EVENT_TYPES)
    for i in range(INVOLVEMENTS):
        kind = kinds[i % len(kinds)]
        when = dt.datetime(2010, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=160 * i)
        data = {
            "reference": f"13/{when.year}/{900000 + i}",
            "occurred_from": when.strftime("%Y-%m-%dT%H:%M:00Z"),
            "summary": f"Event {i} involving the subject",
            **EVENT_TYPES[kind],
        }
        items[f"e{i}"] = NewRecord(kind, data, _prov(f"e{i}"))
    for i, vrm in enumerate(("QW12ERT", "AS34DFG", "ZX56CVB")):
        items[f"v{i}"] = NewRecord("vehicle", {"vrm": vrm, "make": "Ford", "colour": "BLUE"}, _prov(f"v{i}"))
    for i in range(2):
        items[f"t{i}"] = NewRecord("telephone", {"number": f"0770090012{i}"}, _prov(f"t{i}"))
        items[f"a{i}"] = NewRecord(
            "address", {"building_number": str(10 + i), "street": "Briggate", "town": "Leeds"}, _prov(f"a{i}")
        )
    for i, name in enumerate(("Aldous", "Benedict", "Cuthbert", "Dorothea")):
        data = {"forenames": name, "surname": "Fairweather", "date_of_birth": f"198{i}-01-0{i + 1}"}
        items[f"s{i}"] = NewRecord("person", data, _prov(f"s{i}"))
    return items


def _profile_links(ids: dict[str, str]) -> list[Any]:
    from openrms.store.links import NewLink

    def made(kind: str, a: str, b: str, key: str, **dates: str) -> NewLink:
        return NewLink(kind, ids[a], ids[b], _prov(key), **dates)

    out = [made(ROLES[i % len(ROLES)], "man", f"e{i}", f"k{i}") for i in range(INVOLVEMENTS)]
    out += [made("KEEPER_OF", "custody", f"v{i}", f"kv{i}", valid_from="2018-01-01") for i in range(3)]
    out += [made("USED_BY", f"t{i}", "man", f"kt{i}") for i in range(2)]
    out += [made("RESIDES_AT", "man", f"a{i}", f"ka{i}", valid_from=f"201{i}-06-01") for i in range(2)]
    out += [made("ASSOCIATE_OF", "man", f"s{i}", f"ks{i}") for i in range(4)]
    return out


def add_profile(db: Any) -> str:
    """Write the man and everything he is linked to (through the write hooks); returns his master id."""
    from sqlalchemy import select

    import openrms.identity.hooks  # his two records resolve to one master
    import openrms.search.hooks  # noqa: F401
    from openrms.store.links import upsert_links
    from openrms.store.records import create_records
    from openrms.store.tables import record

    items = _profile_records()
    with db.write() as conn:
        outcomes = create_records(conn, list(items.values()))
        ids = {name: o.id for name, o in zip(items, outcomes, strict=True)}
        upsert_links(conn, _profile_links(ids))
    with db.read() as conn:
        masters = {
            conn.execute(select(record.c.master_id).where(record.c.id == ids[n])).scalar_one()
            for n in ("man", "custody")
        }
    if len(masters) != 1:
        raise SystemExit(f"the man's two records did not resolve to one master: {sorted(masters)}")
    return masters.pop()


# --- signing in and timing --------------------------------------------------------------------------------


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    if not found:
        raise SystemExit(f"no {name} field in the page")
    return found.group(1)


def sign_in(client: Any, db: Any) -> None:
    """An officer of the indexed agency, signed in through the forms with a purpose and reason."""
    from openrms.access import accounts

    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        if AGENCY not in {a["code"] for a in accounts.list_agencies(conn)}:
            accounts.create_agency(conn, AGENCY, "West Yorkshire Police", "police", now)
        accounts.create_user(
            conn, USERNAME, "Bench", AGENCY, ["investigator"], "SECRET", PASSWORD, now, "bench"
        )
    form = client.get("/ui/sign-in")
    done = client.post(
        "/ui/sign-in",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": _hidden(form.text, "csrf_token")},
    )
    purpose = client.get(done.headers["location"])
    chosen = client.post(
        "/ui/purpose",
        data={
            "purpose": "investigation",
            "reason": "Benchmark",
            "csrf_token": _hidden(purpose.text, "csrf_token"),
            "next": "/ui/",
        },
    )
    if chosen.status_code != 303:
        raise SystemExit(f"could not sign in: {chosen.status_code} {chosen.text[:300]}")


def common_surnames(db: Any, count: int = 8) -> list[str]:
    """The index's most common surnames (each gives a full page of results)."""
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT json_extract(v.data, '$.surname') AS s, count(*) AS n FROM record r "
            "JOIN record_version v ON v.record_id = r.id AND v.version = r.current_version "
            "WHERE r.entity_type = 'person' GROUP BY s ORDER BY n DESC LIMIT ?",
            (count,),
        ).fetchall()
    return [row[0] for row in rows if row[0]]


def _full_collections() -> int:
    return gc.get_stats()[-1]["collections"]


def timed(call: Callable[[int], None], reps: int) -> tuple[list[float], int]:
    """Milliseconds of each of `reps` calls, after WARMUP untimed ones, and how many full garbage
    collections ran meanwhile (each pauses the server for tens of ms: they make most of the tail)."""
    for n in range(WARMUP):
        call(n)
    samples = []
    before = _full_collections()
    for n in range(reps):
        started = time.perf_counter()
        call(n)
        samples.append((time.perf_counter() - started) * 1000)
    return samples, _full_collections() - before


def _figure(name: str, timing: tuple[list[float], int]) -> Figure:
    samples, collections = timing
    value = p95(samples)
    median = sorted(samples)[len(samples) // 2]
    measured = (
        f"{value:.1f} ms (median {median:.1f}, max {max(samples):.1f}; "
        f"{collections} full GCs in {len(samples)} requests)"
    )
    return Figure(name, f"< {TARGET_MS:.0f} ms", measured, value < TARGET_MS)


def profile_figure(client: Any, master_id: str, reps: int) -> Figure:
    def call(_: int) -> None:
        page = client.get(f"/ui/people/{master_id}")
        if page.status_code != 200 or f"Involvements ({INVOLVEMENTS})" not in page.text:
            raise SystemExit(f"the profile did not show {INVOLVEMENTS} involvements: {page.status_code}")

    return _figure(f"SQLite: person profile, {INVOLVEMENTS} involvements, p95", timed(call, reps))


def search_figure(client: Any, surnames: list[str], reps: int) -> Figure:
    full = []
    for name in surnames:
        page = client.get("/ui/search", params={"q": name})
        if page.status_code == 200 and page.text.count('class="app-result"') >= 20:
            full.append(name)
    if not full:
        raise SystemExit(f"no surname of {surnames} gives a full page of results")

    def call(n: int) -> None:
        page = client.get("/ui/search", params={"q": full[n % len(full)]})
        if page.status_code != 200:
            raise SystemExit(f"search failed: {page.status_code}")

    return _figure("SQLite: search results page (a full page of 20, q=surname), p95", timed(call, reps))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.01, help="the search benchmark's index scale")
    parser.add_argument("--workdir", type=Path, default=Path(".bench-search"), help="cached databases")
    parser.add_argument("--timed", type=int, default=200, help="timed requests per figure")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    cached, _ = sqlite_index(args.workdir, args.scale)
    from fastapi.testclient import TestClient

    from openrms.api.app import create_app
    from openrms.store import migrate
    from openrms.store.database import Database

    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{copy_database(cached, Path(scratch))}")
        try:
            migrate.upgrade(db)
            say(f"adding a person with {INVOLVEMENTS} involvements")
            master_id = add_profile(db)
            with TestClient(create_app(db), follow_redirects=False) as client:
                sign_in(client, db)
                say("timing the profile")
                figures = [profile_figure(client, master_id, args.timed)]
                say("timing search")
                figures.append(search_figure(client, common_surnames(db), args.timed))
        finally:
            db.dispose()
    title = f"OpenRMS web render times, index scale {args.scale:g} (load {load:.2f} at start)"
    return 0 if print_table(title, figures) else 1


if __name__ == "__main__":
    sys.exit(main())
