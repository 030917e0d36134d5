"""The code lists every import mapping and form is checked against, as loaded, and as `openrms schema` shows
them to someone writing a mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

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
