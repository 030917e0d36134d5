"""The baseline the master index is measured against: Splink 5 on DuckDB, configured as its tutorials do.

    python -m benchmarks.identity_baseline [--synthetic 20000] [--threshold 0.95] [--preset febrl3]

Deduplicates FEBRL 1-4 and our synthetic population (`benchmarks.identity_data`) with `splink_baseline` and
prints the pairwise precision, recall and F1 of its clusters against the truth, and the time it took.

The model follows Splink's deduplication tutorial ('fake_1000') and FEBRL 3 example: NameComparison on
forenames and surname (term frequencies on exact matches), DateOfBirthComparison, Damerau-Levenshtein <= 2 on
the one identifier column (FEBRL's soc_sec_id, else the NI number), exact matches with term frequencies on
building number, town and postcode; prediction blocked on the identifier, both names, surname and date of
birth, date of birth, and postcode. The probability two random records match comes from deterministic rules,
u from random sampling of 1e6 pairs, m from expectation maximisation on two blocking rules (PRESETS); the
predictions are clustered at one threshold. Nothing is tuned for our data: it is the configuration a new
Splink user would start from.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.identity_data import Dataset, febrl, synthetic, to_frame


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(predicted: Sequence[str], truth: Sequence[str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of one clustering against another of the same records.

    A pair of records is predicted when both are in one predicted cluster and true when both are in one true
    cluster. The pairs are counted from the cluster sizes and the contingency table (records per predicted,
    true cluster pair): O(n), never pair by pair. Precision is 1.0 when no pair is predicted, recall 1.0 when
    there is no true pair.
    """
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predicted labels for {len(truth)} records")
    both = sum(_pairs(n) for n in Counter(zip(predicted, truth, strict=True)).values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted).values())
    true_pairs = sum(_pairs(n) for n in Counter(truth).values())
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """No Splink log lines (its 'splink' logger, up to WARNING) and no Python warnings while it runs."""
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        splink_logger.setLevel(level)


# The worked examples training can follow: (recall guessed for the deterministic rules, EM blocking rules).
# 'tutorial' is the Splink tutorial's (fake_1000: EM blocked on both names, then on date of birth); 'febrl3'
# its FEBRL 3 example's (EM on date of birth, then postcode). On our synthetic data, where families share a
# surname and an address, EM blocked on postcode learns households rather than people (F1 0.40 at 20,000
# records against 0.64), so the tutorial's is the default.
PRESETS: dict[str, tuple[float, tuple[tuple[str, ...], ...]]] = {
    "tutorial": (0.7, (("forenames", "surname"), ("date_of_birth",))),
    "febrl3": (0.9, (("date_of_birth",), ("postcode",))),
}


def _present(ds: Dataset, key: str) -> bool:
    return any(r.get(key) not in (None, "", []) for r in ds.records)


def splink_baseline(
    ds: Dataset, threshold: float = 0.95, *, preset: str = "tutorial"
) -> tuple[list[str], dict[str, Any]]:
    """Splink's cluster label for each record of `ds` (in its order) and how long each step took.

    `preset` picks the recall guess and the EM blocking rules of one of Splink's examples (PRESETS). Uses only
    the columns `ds` has values in. Records in no predicted pair are clusters of their own. The
    dict holds seconds per step ('load', 'train', 'predict', 'cluster', 'total') and the number of pairs
    predicted at or above `threshold` ('pairs').
    """
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    identifier = next((key for key in ("other_id", "ni_number") if _present(ds, key)), None)
    columns = [
        key
        for key in (
            "forenames",
            "surname",
            "date_of_birth",
            identifier,
            "building_number",
            "town",
            "postcode",
        )
        if key is not None and _present(ds, key)
    ]
    has = set(columns)

    comparisons = []
    if "forenames" in has:
        comparisons.append(cl.NameComparison("forenames"))
    if "surname" in has:
        comparisons.append(cl.NameComparison("surname"))
    if "date_of_birth" in has:
        comparisons.append(cl.DateOfBirthComparison("date_of_birth", input_is_string=True))
    if identifier:
        comparisons.append(cl.DamerauLevenshteinAtThresholds(identifier, [2]))
    for key in ("building_number", "town", "postcode"):
        if key in has:
            comparisons.append(cl.ExactMatch(key).configure(term_frequency_adjustments=True))

    blocking = [block_on(identifier)] if identifier else []
    blocking += [
        block_on(*keys)
        for keys in (
            ("forenames", "surname"),
            ("surname", "date_of_birth"),
            ("date_of_birth",),
            ("postcode",),
        )
        if has.issuperset(keys)
    ]
    deterministic: list[Any] = [block_on(identifier)] if identifier else []
    if has.issuperset(("forenames", "surname", "date_of_birth")):
        deterministic += [
            block_on("forenames", "surname", "date_of_birth"),
            "l.forenames = r.surname and l.surname = r.forenames and l.date_of_birth = r.date_of_birth",
        ]
    recall, em_keys = PRESETS[preset]
    em_rules = [block_on(*keys) for keys in em_keys if has.issuperset(keys)]

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    timings: dict[str, Any] = {}
    con = duckdb.connect()
    con.sql("SET enable_progress_bar = false")
    try:
        with _quiet_splink():
            db_api = DuckDBAPI(connection=con)
            records = db_api.register(to_frame(ds, columns), table_name="records")
            linker = Linker(records, settings, log_level=None)
            timings["load"] = time.perf_counter() - started

            step = time.perf_counter()
            linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
            linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
            for rule in em_rules:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
            timings["train"] = time.perf_counter() - step

            step = time.perf_counter()
            predictions = linker.inference.predict(threshold_match_probability=threshold)
            timings["pairs"] = con.sql(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]
            timings["predict"] = time.perf_counter() - step

            step = time.perf_counter()
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            found = dict(con.sql(f"select unique_id, cluster_id from {clusters.physical_name}").fetchall())
            timings["cluster"] = time.perf_counter() - step
    finally:
        con.close()
    labels = [str(found.get(rid, rid)) for rid in ds.ids]
    timings["total"] = time.perf_counter() - started
    return labels, timings


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--synthetic", type=int, default=20_000, help="synthetic person records")
    parser.add_argument("--threshold", type=float, default=0.95, help="match probability to cluster at")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="tutorial", help="training as in which example"
    )
    args = parser.parse_args()
    console = Console()
    table = Table(
        "dataset",
        "records",
        "true pairs",
        "precision",
        "recall",
        "F1",
        "seconds",
        "train/predict/cluster",
        title=f"Splink {_splink_version()} ({args.preset} training) clustered at {args.threshold:g}",
    )
    loaders = [(f"FEBRL {n}", lambda n=n: febrl(n)) for n in (1, 2, 3, 4)]
    loaders.append((f"synthetic {args.synthetic:,}", lambda: synthetic(args.synthetic)))
    for name, load in loaders:
        ds = load()
        with console.status(f"Splink on {name}..."):
            labels, timings = splink_baseline(ds, args.threshold, preset=args.preset)
        precision, recall, f1 = pairwise_scores(labels, ds.truth)
        true_pairs = sum(_pairs(n) for n in Counter(ds.truth).values())
        table.add_row(
            name,
            f"{len(ds):,}",
            f"{true_pairs:,}",
            f"{precision:.4f}",
            f"{recall:.4f}",
            f"{f1:.4f}",
            f"{timings['total']:.1f}",
            f"{timings['train']:.1f}/{timings['predict']:.1f}/{timings['cluster']:.1f}",
        )
    console.print(table)
    return 0


def _splink_version() -> str:
    import splink

    return splink.__version__


if __name__ == "__main__":
    sys.exit(main())
