"""Several files in one `openrms import` (a force's monthly extracts: `openrms import 2018-*.csv ...`), on
each back end: one run per file in the order given, each with its own summary, then their totals; a file
that cannot be imported stops the command there, and the same command run again finishes the rest.
"""

from __future__ import annotations

from pathlib import Path

from tests.ingest.test_import_cli import Cli, street_slice


def monthly_files(tmp_path: Path, count: int = 3, rows: int = 60) -> list[Path]:
    """`count` files of `rows` rows each, cut from one real police.uk file, each with its header."""
    _, lines = street_slice(tmp_path, count * rows)
    folder = tmp_path / "extracts"
    folder.mkdir()
    files = []
    for n in range(count):
        path = folder / f"part-{n + 1}.csv"
        path.write_text(lines[0] + "".join(lines[1 + n * rows : 1 + (n + 1) * rows]), newline="")
        files.append(path)
    return files


def test_each_file_is_a_run_of_its_own_and_the_totals_add_up(cli: Cli, tmp_path: Path) -> None:
    files = monthly_files(tmp_path)
    args = ("import", *map(str, files), "--mapping", "police-uk")
    reports = cli.json(*args, "--json")
    assert isinstance(reports, list) and len(reports) == 3
    assert [r["rows"] for r in reports] == [{"read": 60, "created": 60}] * 3
    assert len({r["run_id"] for r in reports}) == 3
    listed = cli.json("import", "runs", "--json")
    assert [Path(r["source"]).name for r in listed] == ["part-3.csv", "part-2.csv", "part-1.csv"]  # in order

    again = cli.run(*args)
    said = " ".join(again.stdout.split())
    assert said.count("Import run ") == 3  # a summary for each file
    assert "3 files" in said and "all files │ │ 180 │ 0 │ 0 │ 180 │ 0" in said

    one = cli.json("import", str(files[0]), "--mapping", "police-uk", "--json")
    assert isinstance(one, dict) and one["rows"] == {"read": 60, "unchanged": 60}  # one file: one report


def test_a_file_that_cannot_be_imported_stops_the_command_and_running_it_again_finishes(
    cli: Cli, tmp_path: Path
) -> None:
    first, second, third = monthly_files(tmp_path)
    good = second.read_text()
    second.write_text(good.replace("Crime ID,", "Crime,", 1))  # a column the mapping needs is not there
    args = ("import", str(first), str(second), str(third), "--mapping", "police-uk")
    said = cli.fails(*args)
    assert "'Crime ID'" in said and f"stopped at {second} (2 of 3): 1 file(s) before it were imported" in said
    assert "1 not started; once it is fixed, the same command imports the rest" in said
    assert [Path(r["source"]).name for r in cli.json("import", "runs", "--json")] == ["part-1.csv"]

    second.write_text(good)
    reports = cli.json(*args, "--json")
    assert [r["rows"] for r in reports] == [
        {"read": 60, "unchanged": 60},
        {"read": 60, "created": 60},
        {"read": 60, "created": 60},
    ]


def test_what_needs_one_file_refuses_several_before_anything_is_written(cli: Cli, tmp_path: Path) -> None:
    files = [str(f) for f in monthly_files(tmp_path, count=2)]
    for option, why in (
        (["--snapshot"], "a snapshot is one file holding the source's whole extract: give one file, not 2"),
        (["--preview", "3"], "--preview shows the rows of one file: give one file, not 2"),
        (
            ["--from-sql", "sqlite://", "--query", "t"],
            "--from-sql reads a query: give no file with it (given: ",
        ),
    ):
        result = cli.run("import", *files, "--mapping", "police-uk", *option, expect=2)
        assert why in " ".join((result.stdout + result.stderr).split())
    result = cli.run("import", files[0], str(tmp_path / "missing.csv"), "--mapping", "police-uk", expect=2)
    assert f"no file {tmp_path / 'missing.csv'}" in " ".join((result.stdout + result.stderr).split())
    assert cli.json("import", "runs", "--json") == []
