"""The code lists every import mapping and form is checked against, as loaded, and as `openrms schema` shows
them to someone writing a mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openrms.cli import app
from openrms.schema import registry
from openrms.schema.loader import RegistryError, load_codelists


def test_a_label_holding_an_unquoted_comma_is_refused(tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/schema/data/codelists/people.yaml and events.yaml, and
    load_codelists): in a flow mapping `{IC5: Chinese, Japanese or other South East Asian}` the text after
    the comma is a second code with no label, so 'Japanese or other South East Asian' was an accepted
    officer-defined ethnicity code and IC5 read 'Chinese'."""
    (tmp_path / "people.yaml").write_text("eth:\n  codes: {IC4: Asian, IC5: Chinese, Japanese}\n")
    with pytest.raises(RegistryError, match="code 'Japanese' of code list 'eth' has no label"):
        load_codelists(tmp_path)


def test_the_shipped_code_lists_have_a_label_for_every_code() -> None:
    lists = registry().codelists
    assert lists["ethnicity_officer_defined"].codes["IC5"] == "Chinese, Japanese or other South East Asian"
    assert list(lists["intelligence_priority"].codes) == ["HIGH", "MEDIUM", "LOW"]
    for codelist in lists.values():
        for code, label in codelist.codes.items():
            assert code.strip() and label.strip() and label != "None", (codelist.name, code)


def test_schema_shows_an_entity_types_code_lists_and_links_and_one_list_whole() -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    shown = runner.invoke(app, ["schema", "person"])
    assert shown.exit_code == 0, shown.output
    assert "│ gender" in shown.stdout and "M, F, X, U" in shown.stdout
    assert "more: openrms schema --codes nationality" in shown.stdout
    assert (
        "Links a person can have" in shown.stdout
        and "│ MISSING_PERSON     │ Missing person in" in shown.stdout
    )
    whole = runner.invoke(app, ["schema", "--codes", "nationality", "--json"])
    assert whole.exit_code == 0 and '"GBR"' in whole.stdout
    listed = runner.invoke(app, ["schema", "--codes", "gender"])
    assert "Not known" in listed.stdout
    missing = runner.invoke(app, ["schema", "--codes", "genders"])
    assert missing.exit_code == 2 and "no code list 'genders'" in missing.output
