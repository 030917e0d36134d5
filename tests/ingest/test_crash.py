"""Crash safety: a real `openrms import` process is killed with SIGKILL mid-import, then run again.

The pipeline's promise (src/openrms/ingest/pipeline.py): a batch's records, links, quarantine entries and the
run's checkpoint commit in one transaction, so after a kill the checkpoint names the last row fully in, and
the same command resumes that run after it. Checked here on each back end of the `db` fixture with a
generated person file (a person and an address per row, a RESIDES_AT link, 1% of rows invalid):

- at the kill: the run is still "running", its checkpoint is a whole number of batches short of the end,
  and the database holds exactly the rows up to the checkpoint (records, links and quarantine entries);
- after the second run: the same run completed and balanced, it says it resumed after the checkpoint, and
  every row is in exactly once (no duplicate records, no duplicate quarantine entries, none lost).

The kill is not a guess: the test polls the run's checkpoint and kills only once it has passed a fifth of
the rows, so the kill always lands after at least one committed batch and well before the end. The whole
test takes about 30-40 s per back end.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import distinct, func, select

from openrms.store.database import Database
from openrms.store.tables import import_run, link, quarantine, record

BATCH = 500
ROWS = 20_000
SYSTEM = "CRASHTEST"
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Khan", "Patel", "Walker", "Wright"]
FORENAMES = ["John", "Mary", "Ali", "Sophie", "Liam", "Grace", "Omar", "Chloe", "Jack", "Emma"]
MAPPING = f"""\
name: crash-people
source: {{format: csv}}
agency: WYP
source_system: {SYSTEM}
records:
  person:
    entity: person
    key: "{{PERSON_ID}}"
    fields:
      surname: SURNAME
      forenames: FORENAMES
      date_of_birth: {{from: DOB, date: ["%d/%m/%Y"]}}
      gender: SEX
  home:
    entity: address
    key: "{{PERSON_ID}}/home"
    fields:
      building_number: HOUSE
      street: STREET
      town: TOWN
      postcode: POSTCODE
links:
  - {{type: RESIDES_AT, from: person, to: home}}
"""
# python -m openrms.cli does not start (see test_python_m_openrms_cli_starts), so the command runs as:
OPENRMS = [sys.executable, "-c", "import sys; from openrms.cli import main; sys.argv[0] = 'openrms'; main()"]


def is_bad(number: int) -> bool:
    return number % 100 == 37


def _letters(n: int) -> str:
    """n written in letters (Aab, Aac...), so every generated surname is a different, valid name."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
        if n == 0:
            return out.capitalize()


def write_people(path: Path, rows: int) -> None:
    """`rows` people; row N is bad (31 February as date of birth) when N % 100 == 37."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            ["PERSON_ID", "SURNAME", "FORENAMES", "DOB", "SEX", "HOUSE", "STREET", "TOWN", "POSTCODE"]
        )
        for n in range(1, rows + 1):
            born = "31/02/1990" if is_bad(n) else f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1950 + n % 50}"
            out.writerow(
                [
                    f"P{n:07d}",
                    f"{SURNAMES[n % 10]}-{_letters(n)}",  # distinct people: the master index keeps them apart
                    FORENAMES[(n // 10) % 10],
                    born,
                    "MF"[n % 2],
                    str(1 + n % 200),
                    f"{SURNAMES[(n // 7) % 10]} Street",
                    "Leeds",
                    f"LS{1 + n % 28} {1 + n % 9}AB",
                ]
            )


def the_run(db: Database) -> Any:
    with db.read() as conn:
        runs = conn.execute(select(import_run)).all()
    assert len(runs) <= 1, f"expected one import run, found {len(runs)}"
    return runs[0] if runs else None


def stored(db: Database, run_id: str) -> dict[str, Any]:
    """What the database holds for the crash test's source: counts, distinct keys, quarantined row numbers."""
    people = select(func.count(), func.count(distinct(record.c.source_key))).where(
        record.c.source_system == SYSTEM, record.c.entity_type == "person"
    )
    homes = select(func.count()).where(record.c.source_system == SYSTEM, record.c.entity_type == "address")
    links = select(func.count()).select_from(link).where(link.c.link_type == "RESIDES_AT")
    numbers = select(quarantine.c.row_number).where(quarantine.c.run_id == run_id)
    with db.read() as conn:
        person_rows, person_keys = conn.execute(people).one()
        return {
            "people": person_rows,
            "person_keys": person_keys,
            "homes": conn.execute(homes).scalar_one(),
            "links": conn.execute(links).scalar_one(),
            "quarantined": sorted(conn.execute(numbers).scalars().all()),
        }


def start_import(command: list[str], tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        # Its own session, so that the forked mapping worker can be cleaned up with the process group.
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return process, log


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the worker the killed import had forked, if still alive


def kill_when_past(db: Database, command: list[str], tmp_path: Path, threshold: int, total: int) -> int:
    """Starts the import, kills it with SIGKILL once its checkpoint has passed `threshold`; the checkpoint."""
    process, log = start_import(command, tmp_path, "killed")
    try:
        deadline = time.monotonic() + 240
        while True:
            run = the_run(db)
            if run is not None and run.checkpoint >= threshold:
                os.kill(process.pid, signal.SIGKILL)
                break
            if process.poll() is not None:
                pytest.fail(
                    f"the import ended (exit {process.returncode}) before its checkpoint passed "
                    f"{threshold:,}, so it could not be killed mid-import:\n{log.read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no checkpoint past {threshold:,} within 240 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        kill_group(process)
    run = the_run(db)
    assert run.status == "running", "a killed import must leave its run resumable"
    assert threshold <= run.checkpoint < total and run.checkpoint % BATCH == 0, run.checkpoint
    return run.checkpoint


def test_kill_9_mid_import_then_resume_loses_and_duplicates_nothing(db: Database, tmp_path: Path) -> None:
    total = ROWS
    data = tmp_path / "people.csv"
    write_people(data, total)
    mapping = tmp_path / "people.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    command = [
        *OPENRMS,
        "import",
        str(data),
        "--mapping",
        str(mapping),
        "--db",
        db.url,
        "--batch-size",
        str(BATCH),
        # A commit every batch or two: the kill then lands between commits however fast the machine is.
        "--commit-rows",
        str(2 * BATCH),
    ]

    checkpoint = kill_when_past(db, command, tmp_path, threshold=total // 5, total=total)
    run_id = the_run(db).id
    # Exactly the rows up to the checkpoint are in: the batch being written when killed left nothing.
    bad_before = [n for n in range(1, checkpoint + 1) if is_bad(n)]
    at_kill = stored(db, run_id)
    assert at_kill == {
        "people": checkpoint - len(bad_before),
        "person_keys": checkpoint - len(bad_before),
        "homes": checkpoint - len(bad_before),
        "links": checkpoint - len(bad_before),
        "quarantined": bad_before,
    }

    # The same command again: it finds the unfinished run and carries on after the checkpoint.
    second = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert second.returncode == 0, second.stderr[-3000:]
    said = " ".join((second.stdout + second.stderr).split())
    assert f"resumed an interrupted run after source row {checkpoint:,}" in said
    assert f"Import run {run_id} (completed" in said and "balanced" in said and "NOT balanced" not in said

    run = the_run(db)
    bad = [n for n in range(1, total + 1) if is_bad(n)]
    good = total - len(bad)
    assert (run.id, run.status, run.checkpoint) == (run_id, "completed", total)
    assert run.counts["rows"] == {"read": total, "created": good, "quarantined": len(bad)}
    assert run.counts["records"] == {"person": {"created": good}, "address": {"created": good}}
    after = stored(db, run_id)
    assert after == {"people": good, "person_keys": good, "homes": good, "links": good, "quarantined": bad}


def test_resumed_json_report_and_a_second_resume_after_completion(db: Database, tmp_path: Path) -> None:
    """A smaller file: the JSON report of a resumed run, and running the command once more afterwards starts a
    new run that finds every row unchanged (a completed run is never resumed)."""
    total = 6_000
    data = tmp_path / "people.csv"
    write_people(data, total)
    mapping = tmp_path / "people.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    command = [
        *OPENRMS,
        "import",
        str(data),
        "--mapping",
        str(mapping),
        "--db",
        db.url,
        "--batch-size",
        "200",
        "--commit-rows",
        "400",
    ]
    # 6,000 rows take a few seconds: kill early enough to land mid-import, after at least one batch.
    process, log = start_import(command, tmp_path, "small")
    try:
        while (run := the_run(db)) is None or run.checkpoint < 400:
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        kill_group(process)
    checkpoint = the_run(db).checkpoint
    assert the_run(db).status == "running" and 400 <= checkpoint < total
    resumed = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    report = json.loads(resumed.stdout)
    bad = sum(1 for n in range(1, total + 1) if is_bad(n))
    assert report["resumed_after_row"] == checkpoint and report["status"] == "completed"
    assert report["balanced"] and report["rows"] == {
        "read": total,
        "created": total - bad,
        "quarantined": bad,
    }
    again = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    final = json.loads(again.stdout)
    assert final["run_id"] != report["run_id"] and final["resumed_after_row"] == 0
    assert final["rows"] == {"read": total, "unchanged": total - bad, "quarantined": bad}


def test_python_m_openrms_cli_starts() -> None:
    """Regression test (fixed: src/openrms/cli/ has no __main__.py): `python -m openrms.cli ...`, the form
    the import runbook
    uses, fails with "No module named openrms.cli.__main__; 'openrms.cli' is a package and cannot be
    directly executed". (`openrms` the console script works.)"""
    result = subprocess.run(
        [sys.executable, "-m", "openrms.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.strip()
    assert result.stdout.startswith("openrms ")
