"""A dry run of a snapshot import says what the snapshot would retract, before anything is marked deleted.

The docs tell a force to dry-run a snapshot and read `retracted` first: a snapshot taken from the wrong file
marks half a source deleted. Through the `openrms` command and the import service, on each back end.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrms.ingest.service import import_source
from openrms.store import ids
from openrms.store.database import Database
from tests.ingest.test_import_cli import PLAIN, Cli, client, street_slice  # noqa: F401 (a fixture)
from tests.ingest.test_moved_links import _rows, _write


def _figures(report: dict) -> tuple[dict, dict, dict, int]:
    return report["rows"], report["records"], report["links"], report["retracted"]


def test_a_snapshot_dry_run_counts_what_the_snapshot_retracts_and_retracts_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    path, lines = street_slice(tmp_path, 120)
    rows = _rows(lines)
    cli.json("import", str(path), "--mapping", "police-uk", "--json")
    crimes = [row for row in rows[1:] if row[0]]
    removed, moved = crimes[0], crimes[1]
    # the source deleted a crime and has another in its place (police-uk keys anti-social behaviour by
    # line, so a removed line would change the keys of those after it): the crime goes, and its link
    gone_key = removed[0]
    removed[0] = gone_key[::-1]
    moved[4], moved[5] = "-1.549200", "53.800900"  # a point no row has: the old link is replaced
    _write(path, rows)
    args = ("import", str(path), "--mapping", "police-uk", "--snapshot", "--json")

    dry = cli.json(*args, "--dry-run")
    gone = ids.record_id("crime", "WYP", "POLICE-UK", gone_key)
    assert cli.json("record", "show", gone)["deleted"] is False, "a dry run marked a record deleted"
    snapshot = cli.json(*args)
    assert _figures(dry) == _figures(snapshot)
    assert snapshot["retracted"] >= 1 and cli.json("record", "show", gone)["deleted"] is True
    # the removed crime's link, and the moved crime's old one, each counted once
    assert snapshot["links"]["retracted"] == 2

    text = cli.run("import", str(path), "--mapping", "police-uk", "--snapshot", "--dry-run")
    said = " ".join((text.stdout + text.stderr).split())
    assert "Dry run: nothing written" in said and "would retract" not in said  # nothing left to retract


def test_a_snapshot_dry_run_says_which_links_it_would_retract(cli: Cli, tmp_path: Path) -> None:
    path, lines = street_slice(tmp_path, 60)
    rows = _rows(lines)
    cli.json("import", str(path), "--mapping", "police-uk", "--json")
    crime_row = next(row for row in rows[1:] if row[0])
    crime_row[4] = crime_row[5] = ""  # no longer located: no point, no link
    _write(path, rows)
    result = cli.run("import", str(path), "--mapping", "police-uk", "--snapshot", "--dry-run")
    said = " ".join((result.stdout + result.stderr).split())
    assert "would retract 1 link(s) the source no longer gives" in said
    crime = ids.record_id("crime", "WYP", "POLICE-UK", crime_row[0])
    assert len(cli.json("link", "list", crime, "--type", "OCCURRED_AT")) == 1  # still there


def test_a_snapshot_dry_run_with_quarantined_rows_warns_that_nothing_would_be_retracted(
    cli: Cli, tmp_path: Path
) -> None:
    mapping, data = tmp_path / "plain.yaml", tmp_path / "people.csv"
    mapping.write_text(PLAIN)
    data.write_text("NAME,SEX\nSmith,M\nJones,F\nBrown,M\n")
    cli.json("import", str(data), "--mapping", str(mapping), "--json")
    data.write_text("NAME,SEX\nSmith,M\nJones,Q\n")  # Brown gone, Jones now bad
    dry = cli.json("import", str(data), "--mapping", str(mapping), "--snapshot", "--dry-run", "--json")
    assert dry["retracted"] == 0 and dry["rows"]["quarantined"] == 1
    assert any("would be marked deleted" in w and "1 row quarantined" in w for w in dry["warnings"])
    # how much the snapshot holds back: Brown, gone, and Jones, whose row is the quarantined one
    lacks = "the file lacks 2 of the source's earlier records, which the snapshot would mark deleted once"
    assert any(lacks in w for w in dry["warnings"])
    done = cli.json("import", str(data), "--mapping", str(mapping), "--snapshot", "--json")
    [stored] = [run for run in cli.json("import", "runs", "--json") if run["id"] == done["run_id"]]
    assert stored["warnings"] == done["warnings"] and "was marked deleted" in done["warnings"][0]
    assert lacks in done["warnings"][0]
    assert stored["snapshot"] is True and done["retracted"] == 0
    listed = cli.run("import", "runs")
    assert f"runs with warnings: {done['run_id']} (1)" in " ".join(listed.stderr.split())

    data.write_text("NAME,SEX\nSmith,M\nJones,Q\nBrown,M\nGreen,Q\n")  # Jones bad again; Green new, bad
    dry = cli.json("import", str(data), "--mapping", str(mapping), "--snapshot", "--dry-run", "--json")
    [warning] = [w for w in dry["warnings"] if "snapshot incomplete" in w]
    assert "2 rows quarantined" in warning and "lacks 1 of the source's earlier records" in warning  # Jones

    data.write_text("NAME,SEX\nSmith,M\nJones,F\nBrown,M\nGreen,Q\n")  # only a new row is bad
    dry = cli.json("import", str(data), "--mapping", str(mapping), "--snapshot", "--dry-run", "--json")
    [warning] = [w for w in dry["warnings"] if "snapshot incomplete" in w]
    assert "lacks" not in warning and warning.endswith(
        "marked deleted at the source; fix them and import again"
    )

    data.write_text("NAME,SEX\nSmith,M\nJones,F\n")  # Jones fixed: only Brown is gone
    dry = cli.json("import", str(data), "--mapping", str(mapping), "--snapshot", "--dry-run", "--json")
    assert dry["retracted"] == 1 and dry["warnings"] == []


def test_the_api_dry_runs_a_snapshot_upload(client: TestClient) -> None:  # noqa: F811 (the fixture)
    def post(people: bytes, **form: str) -> dict:
        files = {"file": ("people.csv", people)}
        response = client.post("/imports", files=files, data={"mapping_yaml": PLAIN, **form})
        assert response.status_code == 200, response.text
        return response.json()

    post(b"NAME,SEX\nSmith,M\nJones,F\nBrown,M\n")
    dry = post(b"NAME,SEX\nSmith,M\n", snapshot="true", dry_run="true")
    assert (dry["dry_run"], dry["run_id"], dry["retracted"]) == (True, None, 2)
    assert dry["rows"] == {"read": 1, "unchanged": 1, "retracted": 2}
    done = post(b"NAME,SEX\nSmith,M\n", snapshot="true")
    assert done["retracted"] == 2 and done["rows"] == dry["rows"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(st.sampled_from(["keep", "drop", "move", "unlocate"]), min_size=40, max_size=40),
    batch_size=st.sampled_from([7, 40]),
)
def test_a_snapshot_dry_run_reports_what_the_snapshot_then_does(
    db: Database, tmp_path: Path, changes: list[str], batch_size: int
) -> None:
    """Whatever the source dropped, moved or left unlocated since, and whatever earlier examples left in
    the database (records retracted by one come back in the next), the dry run's figures are the
    snapshot's."""
    path, lines = street_slice(tmp_path, 40)
    options = {"batch_size": batch_size, "workers": 0}
    import_source(db, path, "police-uk", snapshot=True, **options)  # the full slice, all live again
    header, *rows = _rows(lines)
    kept = [header]
    for row, change in zip(rows, changes, strict=True):
        if change == "drop":
            continue
        if change == "move":
            row[4], row[5] = rows[0][4], rows[0][5]  # to the first row's point
        if change == "unlocate":
            row[4] = row[5] = ""
        kept.append(row)
    _write(path, kept)
    dry = import_source(db, path, "police-uk", snapshot=True, dry_run=True, **options).as_dict()
    done = import_source(db, path, "police-uk", snapshot=True, **options).as_dict()
    assert _figures(dry) == _figures(done)
