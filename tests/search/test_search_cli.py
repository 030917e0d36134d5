"""`openrms search`, `openrms suggest` and `openrms search-reindex` on each back end."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from openrms.cli import app
from tests.search.conftest import LEEDS


def _run(seeded, *args, expect=0):
    result = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(app, [*args, "--db", seeded.db.url])
    assert result.exit_code == expect, (result.stdout, result.stderr)
    return result


def test_cli_search_as_json_and_table(seeded):
    answer = json.loads(_run(seeded, "search", "Jon Smyth born about 1985", "--json").stdout)
    assert answer["results"][0]["master_id"] == seeded.masters["john"]
    answer = json.loads(_run(seeded, "search", "--vrm", "AB1?C*", "--json").stdout)
    assert {r["title"].split()[0] for r in answer["results"]} == {"AB12CDE", "AB19CXY"}
    args = ["--crime-type", "burglary", "--lat", str(LEEDS[0]), "--lon", str(LEEDS[1]), "--radius-m", "500"]
    answer = json.loads(
        _run(seeded, "search", *args, "--from", "2018-07", "--to", "2018-07", "--json").stdout
    )
    assert {r["record_id"] for r in answer["results"]} == {
        seeded.ids["burglary_centre"],
        seeded.ids["hidden_crime"],
    }
    table = _run(
        seeded, "search", "--surname", "Smyth", "--forename", "Jon", "--no-fuzzy", "--type", "person"
    ).stdout
    assert "John Smith" in table and "nickname" in table


def test_cli_bad_input_is_exit_2_with_the_reason(seeded):
    result = _run(seeded, "search", "--vrm", "*", expect=2)
    assert "at least 2" in result.stderr
    result = _run(seeded, "search", expect=2)
    assert "at least one search criterion" in result.stderr


def test_cli_suggest_and_reindex(seeded):
    answer = json.loads(_run(seeded, "suggest", "vrm", "AB12").stdout)
    assert answer["suggestions"][0]["label"].startswith("AB12CDE")
    result = _run(seeded, "search-reindex")
    assert "indexed" in result.stderr
    answer = json.loads(_run(seeded, "search", "--vrm", "AB1?C*", "--json").stdout)
    assert answer["total"] == 2
    answer = json.loads(
        _run(
            seeded,
            "search",
            "--crime-type",
            "burglary",
            "--lat",
            str(LEEDS[0]),
            "--lon",
            str(LEEDS[1]),
            "--radius-m",
            "500",
            "--json",
        ).stdout
    )
    assert answer["total"] == 3  # events found their places again after the rebuild
