"""The `openrms` command line, run in-process with CliRunner against each back end."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from zoneinfo import ZoneInfo

import pytest

from openrms import __version__
from openrms.schema import registry
from openrms.store import migrate
from openrms.store.database import Database
from openrms.store.records import retract_records

LONDON = ZoneInfo("Europe/London")  # --as-at without an offset is UK local time
JOHN = ("forenames=John", "surname=Smith", "date_of_birth=1985-03-02", "gender=M")


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- set-up and meta commands ---


def test_init_is_idempotent_and_prints_the_revision(cli):
    head = migrate.head()
    first = cli.run("init")
    assert f"-> {head}" in first.stderr
    second = cli.run("init")
    assert f"schema {head} -> {head}" in second.stderr


def test_init_creates_a_new_sqlite_database_then_changes_nothing(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'openrms.db'}"
    head = migrate.head()
    first = cli.run("init", "--db", url, with_db=False)
    assert f"schema none -> {head}" in first.stderr
    second = cli.run("init", "--db", url, with_db=False)
    assert f"schema {head} -> {head}" in second.stderr
    database = Database(url)
    assert migrate.current(database) == head
    database.dispose()
    assert cli.run("record", "list", "--db", url, with_db=False).exit_code == 0


def test_version_option_prints_the_version(cli):
    result = cli.run("--version", with_db=False)
    assert result.stdout.strip() == f"openrms {__version__}"


def test_demo_help_works_without_loading_anything(cli):
    result = cli.run("demo", "--help", with_db=False)
    assert "Usage" in result.stdout
    for option in ("--db", "--people", "--seed", "--fresh", "--serve"):
        assert option in result.stdout


def test_schema_lists_entity_and_link_types(cli):
    out = cli.run("schema", with_db=False).stdout
    for name in registry().entity_types:
        assert name in out
    assert "SUSPECT" in out and "RESIDES_AT" in out


def test_schema_of_one_type_lists_its_fields(cli):
    out = cli.run("schema", "person", with_db=False).stdout
    for name in registry().entity("person").fields:
        assert name in out
    assert "code(gender)" in out


def test_schema_json_is_the_registry(cli):
    body = json.loads(cli.run("schema", "--json", with_db=False).stdout)
    assert sorted(e["name"] for e in body["entity_types"]) == sorted(registry().entity_types)


def test_schema_of_unknown_type_exits_2(cli):
    result = cli.run("schema", "unicorn", expect=2, with_db=False)
    assert "unicorn" in result.stderr
    assert "person" in result.stderr


# --- records ---


def test_record_add_prints_json_with_the_id(cli):
    created = cli.add("person", *JOHN, "pnc_id=01/123456f", agency="wyp", source_key="N-1")
    assert created["status"] == "created" and created["version"] == 1
    assert len(created["id"]) == 24
    shown = cli.json("record", "show", created["id"])
    assert shown["data"] == {
        "forenames": "John",
        "surname": "Smith",
        "date_of_birth": "1985-03-02",
        "gender": "M",
        "pnc_id": "2001/0123456F",
    }
    assert shown["provenance"]["agency"] == "WYP"
    assert shown["provenance"]["source_system"] == "CLI"
    assert shown["provenance"]["source_key"] == "N-1"
    assert shown["provenance"]["recorded_by"] == "PC 1234"


def test_record_add_prints_warnings(cli):
    result = cli.run("record", "add", "person", "--by", "PC 1", "--set", "surname=Smith")
    created = json.loads(result.stdout)
    assert created["warnings"]
    assert "warning" in result.stderr
    assert "4+1" in _flat(result.stderr)


def test_record_add_takes_json_lists_and_sub_fields(cli):
    created = cli.add(
        "person",
        "surname=Smith",
        'aliases=["Johnny Smith", "J Smith"]',
        "physical_description.height_cm=180",
        "physical_description.build=Slim",
    )
    data = cli.json("record", "show", created["id"])["data"]
    assert data["aliases"] == ["Johnny Smith", "J Smith"]
    assert data["physical_description"] == {"height_cm": 180, "build": "SLIM"}


def test_record_add_from_json_and_file(cli, tmp_path):
    path = tmp_path / "address.json"
    path.write_text(json.dumps({"street": "Park Row", "postcode": "ls14ap"}), encoding="utf-8")
    result = cli.run(
        "record", "add", "address", "--by", "PC 1", "--file", str(path), "--json", '{"town": "Leeds"}'
    )
    data = cli.json("record", "show", json.loads(result.stdout)["id"])["data"]
    assert data == {"street": "Park Row", "postcode": "LS1 4AP", "town": "Leeds"}


@pytest.mark.parametrize(
    ("entity_type", "assignments", "field"),
    [
        ("person", ["surname=Sm1th"], "surname"),
        ("person", ["surname=Smith", "pnc_id=2001/0123456A"], "pnc_id"),
        ("address", ["postcode=LS1"], "postcode"),
        ("crime", ["summary=Shed"], "crime_type"),
        ("person", ["shoe_size=9"], "shoe_size"),
    ],
)
def test_record_add_invalid_exits_2_naming_the_field(cli, entity_type, assignments, field):
    argv = ["record", "add", entity_type, "--by", "PC 1"]
    for assignment in assignments:
        argv += ["--set", assignment]
    result = cli.run(*argv, expect=2)
    assert f"{field}:" in result.stderr
    assert "invalid" in result.stderr
    assert result.stdout == ""
    assert cli.json("record", "list")["items"] == []


def test_record_add_bad_provenance_exits_2(cli):
    result = cli.run(
        "record", "add", "person", "--by", "PC 1", "--set", "surname=Smith", "--agency", "!!", expect=2
    )
    assert "agency" in result.stderr
    assert cli.json("record", "list")["items"] == []


def test_record_add_unknown_entity_type_exits_2(cli):
    result = cli.run("record", "add", "unicorn", "--by", "PC 1", "--set", "name=Sparkle", expect=2)
    assert "unicorn" in result.stderr


def test_record_add_with_malformed_json_is_a_clear_error(cli):
    """Bad input gets exit code 2 and a message, as for every other bad input; not a traceback."""
    result = cli.run("record", "add", "person", "--by", "PC 1", "--json", "{surname: Smith", expect=None)
    assert result.exit_code == 2, (result.exit_code, result.exception)
    assert "json" in result.stderr.lower()


def test_record_add_same_source_key_twice_exits_2(cli):
    cli.add("person", "surname=Smith", source_key="K1")
    result = cli.run(
        "record", "add", "person", "--by", "PC 1", "--set", "surname=Jones", "--source-key", "K1", expect=2
    )
    assert "409" in result.stderr and "K1" in result.stderr


def test_record_update_and_stale_update(cli):
    created = cli.add("person", *JOHN)
    updated = cli.json(
        "record", "update", created["id"], "--version", "1", "--by", "PC 2", "--set", "surname=Smyth"
    )
    assert (updated["status"], updated["version"]) == ("updated", 2)
    stale = cli.run(
        "record",
        "update",
        created["id"],
        "--version",
        "1",
        "--by",
        "PC 3",
        "--set",
        "surname=Smithe",
        expect=2,
    )
    message = _flat(stale.stderr)
    assert "409" in message
    assert "version 2" in message
    assert cli.json("record", "show", created["id"])["data"]["surname"] == "Smyth"


def test_record_update_merges_and_null_removes(cli):
    created = cli.add("person", *JOHN, "occupation=Baker")
    cli.run("record", "update", created["id"], "--version", "1", "--by", "PC 2", "--set", "occupation=null")
    data = cli.json("record", "show", created["id"])["data"]
    assert "occupation" not in data
    assert data["surname"] == "Smith"


def test_record_update_invalid_exits_2_and_keeps_the_record(cli):
    created = cli.add("person", *JOHN)
    result = cli.run(
        "record", "update", created["id"], "--version", "1", "--by", "PC 2", "--set", "gender=Q", expect=2
    )
    assert "gender:" in result.stderr
    assert cli.json("record", "show", created["id"])["current_version"] == 1


def test_record_update_of_missing_record_exits_2(cli):
    result = cli.run(
        "record", "update", "0" * 24, "--version", "1", "--by", "PC 2", "--set", "surname=X", expect=2
    )
    assert "404" in result.stderr


def test_record_show_version_and_as_at(cli):
    created = cli.add("person", *JOHN)
    first = dt.datetime.fromisoformat(
        cli.json("record", "history", created["id"], "--json")[0]["provenance"]["recorded_at"]
    )
    # --as-at takes whole seconds: write version 2 in a later second than version 1.
    boundary = first.replace(microsecond=0) + dt.timedelta(seconds=1)
    time.sleep(max(0.0, (boundary - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    cli.run("record", "update", created["id"], "--version", "1", "--by", "PC 2", "--set", "surname=Smyth")

    v1 = cli.json("record", "show", created["id"], "--version", "1")
    assert (v1["version"], v1["current_version"], v1["data"]["surname"]) == (1, 2, "Smith")
    as_at = cli.json(
        "record", "show", created["id"], "--as-at", boundary.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert (as_at["version"], as_at["data"]["surname"]) == (1, "Smith")
    now = cli.json("record", "show", created["id"])
    assert (now["version"], now["data"]["surname"]) == (2, "Smyth")
    before = (first - dt.timedelta(seconds=5)).astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S")
    missing = cli.run("record", "show", created["id"], "--as-at", before, expect=2)
    assert "first recorded at" in _flat(missing.stderr)
    cli.run("record", "show", created["id"], "--version", "3", expect=2)


def test_record_show_of_missing_record_exits_2(cli):
    result = cli.run("record", "show", "0" * 24, expect=2)
    assert "0" * 24 in result.stderr


def test_record_history_as_table_and_json(cli):
    created = cli.add("person", *JOHN)
    cli.run("record", "update", created["id"], "--version", "1", "--by", "PC 2", "--set", "surname=Smyth")
    versions = cli.json("record", "history", created["id"], "--json")
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["data"]["surname"] for v in versions] == ["Smith", "Smyth"]
    assert [v["provenance"]["recorded_by"] for v in versions] == ["PC 1234", "PC 2"]
    table = cli.run("record", "history", created["id"]).stdout
    assert "version" in table and "recorded at" in table
    assert "PC 1234" in table and "PC 2" in table
    assert table.index("PC 1234") < table.index("PC 2")
    assert '"Smyth"' in table


def test_record_list_pages_through_everything(cli):
    ids = sorted(cli.add("person", "surname=Smith", f"occupation=job {i}")["id"] for i in range(5))
    cli.add("address", "street=Park Row", "postcode=LS1 4AP")
    seen = []
    after = None
    while True:
        args = ["record", "list", "--type", "person", "--limit", "2"]
        page = cli.json(*args, *(["--after", after] if after else []))
        assert len(page["items"]) <= 2
        assert all(item["type"] == "person" for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == ids
    everything = cli.json("record", "list", "--limit", "50")
    assert len(everything["items"]) == 6 and everything["next_after"] is None
    assert {"id", "type", "title"} == set(everything["items"][0])


def test_record_list_bad_arguments_exit_2(cli):
    cli.run("record", "list", "--type", "unicorn", expect=2)
    cli.run("record", "list", "--limit", "0", expect=2)


# --- links, masters, export ---


def test_link_add_valid_and_invalid_end_types(cli):
    person = cli.add("person", *JOHN)["id"]
    address = cli.add("address", "street=Park Row", "postcode=LS1 4AP")["id"]
    link = cli.json("link", "add", "RESIDES_AT", person, address, "--by", "PC 1", "--valid-from", "2019-05")
    assert link["status"] == "created" and len(link["id"]) == 24
    shown = cli.json("link", "show", link["id"])
    assert (shown["link_type"], shown["from_id"], shown["to_id"], shown["valid_from"]) == (
        "RESIDES_AT",
        person,
        address,
        "2019-05",
    )
    [listed] = cli.json("link", "list", person)
    assert (listed["id"], listed["to_id"]) == (link["id"], address)
    assert cli.json("link", "list", address, "--type", "RESIDES_AT") == [listed]
    assert cli.json("link", "list", address, "--type", "SUSPECT") == []
    assert "no record" in cli.run("link", "list", "f" * 24, expect=2).stderr
    wrong = cli.run("link", "add", "RESIDES_AT", address, person, "--by", "PC 1", expect=2)
    message = _flat(wrong.stderr)
    assert "from_id" in message and "to_id" in message
    assert "allowed: address, no_fixed_abode" in message
    unknown = cli.run("link", "add", "BEST_FRIEND", person, address, "--by", "PC 1", expect=2)
    assert "BEST_FRIEND" in unknown.stderr
    missing = cli.run("link", "add", "RESIDES_AT", person, "f" * 24, "--by", "PC 1", expect=2)
    assert "f" * 24 in missing.stderr
    dates = cli.run(
        "link",
        "add",
        "RESIDES_AT",
        person,
        address,
        "--by",
        "PC 1",
        "--valid-from",
        "2020",
        "--valid-to",
        "2019",
        expect=2,
    )
    assert "valid_to" in dates.stderr


def test_master_show(cli):
    created = cli.add("person", *JOHN)
    crime = cli.add("crime", "crime_type=Burglary")["id"]
    cli.run("link", "add", "SUSPECT", created["id"], crime, "--by", "PC 1")
    master = cli.json("master", "show", created["master_id"])
    assert master["id"] == created["master_id"]
    assert [r["id"] for r in master["records"]] == [created["id"]]
    assert master["golden"]["surname"] == {
        "value": "Smith",
        "record_id": created["id"],
        "agency": "LOCAL",
        "source_system": "CLI",
        "rule": "most_recent",
    }
    assert [(lk["link_type"], lk["to_id"]) for lk in master["links"]] == [("SUSPECT", crime)]
    missing = cli.run("master", "show", "0" * 24, expect=2)
    assert "0" * 24 in missing.stderr


def _exported(message: str) -> tuple[int, int]:
    """The record and link counts of the export summary ("exported 3 records and 1 link")."""
    found = re.search(r"exported ([\d,]+) records? and ([\d,]+) links?", message)
    assert found, message
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


def _export_lines(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_export_to_a_file_as_json_lines(cli, db, tmp_path):
    person = cli.add("person", *JOHN)["id"]
    crime = cli.add("crime", "crime_type=Burglary")["id"]
    address = cli.add("address", "street=Park Row", "postcode=LS1 4AP")["id"]
    retracted = cli.add("person", "surname=Gone")["id"]
    cli.run("link", "add", "SUSPECT", person, crime, "--by", "PC 1")
    cli.run("link", "add", "OCCURRED_AT", crime, address, "--by", "PC 1")
    cli.run("link", "add", "WITNESS", retracted, crime, "--by", "PC 1")
    out = tmp_path / "export.jsonl"
    # there is no retract command yet: retract through the store
    with db.write() as conn:
        retract_records(conn, [retracted], recorded_by="PC 1", reason="duplicate")
    result = cli.run("export", "--out", str(out))
    rows = _export_lines(out)
    records = [r for r in rows if r["kind"] == "record"]
    links = [r for r in rows if r["kind"] == "link"]
    assert len(records) + len(links) == len(rows)
    assert {r["id"] for r in records} == {person, crime, address}
    assert {(lk["link_type"], lk["from_id"], lk["to_id"]) for lk in links} == {
        ("SUSPECT", person, crime),
        ("OCCURRED_AT", crime, address),
    }
    assert rows.index(records[-1]) < rows.index(links[0])
    assert _exported(result.stderr) == (3, 2)
    assert result.stdout == ""


def test_export_of_one_type(cli, tmp_path):
    person = cli.add("person", *JOHN)["id"]
    crime = cli.add("crime", "crime_type=Burglary")["id"]
    address = cli.add("address", "street=Park Row", "postcode=LS1 4AP")["id"]
    cli.run("link", "add", "SUSPECT", person, crime, "--by", "PC 1")
    cli.run("link", "add", "OCCURRED_AT", crime, address, "--by", "PC 1")
    out = tmp_path / "people.jsonl"
    result = cli.run("export", "--type", "person", "--out", str(out))
    rows = _export_lines(out)
    assert [(r["kind"], r["id"]) for r in rows if r["kind"] == "record"] == [("record", person)]
    assert [(r["kind"], r["link_type"]) for r in rows if r["kind"] == "link"] == [("link", "SUSPECT")]
    assert _exported(result.stderr) == (1, 1)
    no_links = tmp_path / "people-only.jsonl"
    cli.run("export", "--type", "person", "--no-links", "--out", str(no_links))
    assert [r["kind"] for r in _export_lines(no_links)] == ["record"]


def test_export_to_standard_output(cli):
    cli.add("person", *JOHN)
    result = cli.run("export")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in rows] == ["record"]
    assert _exported(result.stderr) == (1, 0)
