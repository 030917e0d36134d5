"""How an import cuts its rows into committed batches: every row after the checkpoint exactly once, in
order, and no batch much bigger in source text than the cap, so rows with long narratives cannot make a
batch (and the memory it takes while it is mapped and written) grow without bound."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

from openrms.ingest.pipeline import _batches
from openrms.ingest.rows import SourceRow


def _rows(lengths: list[int]) -> list[SourceRow]:
    return [SourceRow(n, f"line {n}", "x" * length, {}) for n, length in enumerate(lengths, start=1)]


@given(
    lengths=st.lists(st.integers(min_value=0, max_value=400), max_size=60),
    size=st.integers(min_value=1, max_value=20),
    max_bytes=st.integers(min_value=1, max_value=2000),
    after=st.integers(min_value=0, max_value=70),
)
def test_batches_keep_every_row_once_within_both_caps(
    lengths: list[int], size: int, max_bytes: int, after: int
) -> None:
    rows = _rows(lengths)
    batches = list(_batches(iter(rows), size, after, max_bytes))
    assert [r.number for b in batches for r in b] == [r.number for r in rows if r.number > after]
    for batch in batches:
        assert batch and len(batch) <= size
        # a batch stops at the first row that takes it to the cap: without its last row it is under it
        assert sum(len(r.raw) for r in batch[:-1]) < max_bytes
    for batch in batches[:-1]:
        assert len(batch) == size or sum(len(r.raw) for r in batch) >= max_bytes


def test_long_rows_come_in_smaller_batches() -> None:
    rows = _rows([100_000] * 50)
    assert [len(b) for b in _batches(iter(rows), 2000, 0, 1 << 20)] == [11, 11, 11, 11, 6]
