"""Generated reference pages must match the code; regenerate: `openrms reference --out docs/reference`."""

from __future__ import annotations

from pathlib import Path

import pytest

from openrms.cli import app
from openrms.cli.reference import pages

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reference"


@pytest.mark.parametrize("name", ["cli.md", "schema.md"])
def test_reference_page_is_current(name):
    expected = pages(app)[name]
    actual = (DOCS / name).read_text(encoding="utf-8")
    assert actual == expected, (
        f"docs/reference/{name} is out of date: run `openrms reference --out docs/reference`"
    )
