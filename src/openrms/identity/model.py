"""The person match model: Fellegi–Sunter weights trained without labels by Splink, scored in Python.

`train` hands the index's own features to Splink (DuckDB in memory): the prior from deterministic rules,
u from random pairs, m by expectation maximisation on two blocking rules, exactly as Splink is meant to be
used. The trained Splink model is kept whole (it can be loaded into Splink on Spark) alongside the m and u of
each level, which `MatchModel.score` turns into a probability and a per-comparison explanation.

Evidence a model cannot learn well without labels is written down as floors: a conflicting identifier is at
least strong evidence against, a date of birth years apart is too. They apply after training so EM cannot
talk itself out of them on a small or odd index.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from openrms.identity.comparisons import PERSON, PERSON_COLUMNS, Comparison

# Probability at or above which the real-time resolver joins a record to its candidate's master, and at or
# above which (below the first) it queues the pair for a person to review.
MATCH_AT = 0.99
REVIEW_AT = 0.5

# Grades for entry forms (DOMAIN: person matching APIs grade candidates certain / probable / possible).
GRADES = ((0.999, "certain"), (MATCH_AT, "probable"), (REVIEW_AT, "possible"))

# Bayes factor ceilings for levels that must count against a match whatever EM learnt (see the docstring).
AGAINST = {
    ("pnc_id", "different"): 1 / 200,
    ("cro_number", "different"): 1 / 100,
    ("ni_number", "different"): 1 / 100,
    ("passport_number", "different"): 1 / 20,
    ("driving_licence", "different"): 1 / 50,
    ("date_of_birth", "different"): 1 / 50,
    ("sex", "different"): 1 / 10,
}

# A different address is weak evidence (people move), whatever EM makes of it.
BOUNDS = {(name, "different"): (0.25, 1.0) for name in ("postcode", "street", "town", "building_number")}

MIN_PRESENT = 50  # a comparison needs this many records with its features to be trained and used


@dataclass
class MatchModel:
    """Weights per comparison level, the prior, the thresholds, and the Splink model they came from."""

    entity_type: str
    comparisons: list[str]  # names of the comparisons in use, in PERSON order
    bayes: dict[str, list[float]]  # comparison -> Bayes factor (m/u) per level; level 0 (null) is 1.0
    prior: float  # probability two random records match
    match_at: float = MATCH_AT
    review_at: float = REVIEW_AT
    version: int = 0
    splink: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_name = {c.name: c for c in PERSON}
        for name in self.comparisons:
            if name not in by_name or len(self.bayes[name]) != len(by_name[name].levels):
                raise ValueError(
                    f"model version {self.version} was trained with another definition of comparison "
                    f"{name!r}; train a new one with `openrms resolve`"
                )
        self._active: list[tuple[Comparison, list[float]]] = [
            (by_name[name], [math.log2(b) for b in self.bayes[name]]) for name in self.comparisons
        ]
        self._prior_weight = math.log2(self.prior / (1 - self.prior))

    def weight(self, a: dict[str, Any], b: dict[str, Any]) -> float:
        """The match weight (log2 odds) of two feature sets: the hot path, no explanation kept."""
        total = self._prior_weight
        for comparison, weights in self._active:
            total += weights[comparison.level_of(a, b)]
        return total

    def explain(self, a: dict[str, Any], b: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
        """The probability and, per comparison with evidence, its level and Bayes factor."""
        total = self._prior_weight
        why: list[dict[str, Any]] = []
        for comparison, weights in self._active:
            level = comparison.level_of(a, b)
            total += weights[level]
            if level:
                why.append(
                    {
                        "comparison": comparison.name,
                        "level": comparison.levels[level].label,
                        "bayes_factor": round(2 ** weights[level], 4),
                        "weight": round(weights[level], 3),
                    }
                )
        why.sort(key=lambda w: -abs(w["weight"]))
        return probability(total), why

    def as_document(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "comparisons": self.comparisons,
            "bayes": self.bayes,
            "prior": self.prior,
            "match_at": self.match_at,
            "review_at": self.review_at,
            "splink": self.splink,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any], version: int = 0, summary: dict | None = None) -> MatchModel:
        return cls(
            entity_type=doc["entity_type"],
            comparisons=list(doc["comparisons"]),
            bayes={k: list(v) for k, v in doc["bayes"].items()},
            prior=doc["prior"],
            match_at=doc.get("match_at", MATCH_AT),
            review_at=doc.get("review_at", REVIEW_AT),
            version=version,
            splink=doc.get("splink", {}),
            summary=summary or {},
        )


def probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    odds = 2**weight
    return odds / (1 + odds)


def grade(p: float) -> str | None:
    for at, name in GRADES:
        if p >= at:
            return name
    return None


def default_model() -> MatchModel:
    """The model shipped with OpenRMS (trained by `openrms resolve` on the synthetic population), used until
    an index has trained its own."""
    text = resources.files("openrms.identity").joinpath("data/person_model.json").read_bytes()
    return MatchModel.from_document(orjson.loads(text), version=0, summary={"shipped": True})


# ---- training with Splink ----


def feature_table(rows: Iterable[tuple[str, dict[str, Any]]]) -> Any:
    """A pyarrow table of (unique_id, the person feature columns) for DuckDB and Splink."""
    import pyarrow as pa

    ids: list[str] = []
    columns: dict[str, list[Any]] = {name: [] for name in PERSON_COLUMNS}
    for record_id, f in rows:
        ids.append(record_id)
        for name, values in columns.items():
            values.append(f.get(name))
    arrays = {"unique_id": pa.array(ids, pa.string())}
    for name, kind in PERSON_COLUMNS.items():
        if kind == "VARCHAR[]":
            arrays[name] = pa.array(columns[name], pa.list_(pa.string()))
        elif kind == "INTEGER":
            arrays[name] = pa.array(columns[name], pa.int32())
        else:
            arrays[name] = pa.array(columns[name], pa.string())
    return pa.table(arrays)


def present_comparisons(table: Any) -> list[Comparison]:
    """The comparisons with enough data in `table` to be trained (a column nobody fills teaches nothing)."""
    counts = {name: len(table) - table.column(name).null_count for name in PERSON_COLUMNS}
    return [c for c in PERSON if all(counts[col] >= MIN_PRESENT for col in c.columns)]


def splink_settings(comparisons: Sequence[Comparison], prior: float = 1e-4) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "comparisons": [c.splink() for c in comparisons],
        "blocking_rules_to_generate_predictions": [],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train(table: Any, *, seed: int = 42, u_pairs: float = 2e6) -> MatchModel:
    """Train a person model on a feature table (see `feature_table`) with Splink, without labels."""
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    comparisons = present_comparisons(table)
    if not any(c.name == "forename" for c in comparisons) or len(table) < MIN_PRESENT:
        raise ValueError(f"too few person records with names to train a model ({len(table)})")
    api = DuckDBAPI()
    frame = api.register(table, dataset_display_name="features")
    linker = Linker(frame, splink_settings(comparisons), log_level=logging.ERROR)
    deterministic = ['l."fn" = r."fn" AND l."sn" = r."sn" AND l."dob" = r."dob"']
    deterministic += [
        f'l."{col}" = r."{col}"' for col in ("pnc", "ni", "pp", "dl", "oid") if _has(comparisons, col)
    ]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    # EM twice: blocked on date of birth it learns the names and identifiers; blocked on the names it learns
    # the date of birth. Each session leaves the comparisons in its blocking rule untouched.
    linker.training.estimate_parameters_using_expectation_maximisation('l."dob" = r."dob"')
    linker.training.estimate_parameters_using_expectation_maximisation(
        'l."sn_dm" = r."sn_dm" AND l."fn_dm" = r."fn_dm"'
    )
    # The address comparison reads names and dates too, so neither session above trains it. Pairs sharing an
    # identifier are nearly all the same person: they teach it what a person's own address looks like.
    shared = [f'l."{col}" = r."{col}"' for col in ("pnc", "ni", "pp", "dl", "oid") if _has(comparisons, col)]
    if shared and _has(comparisons, "pc"):
        linker.training.estimate_parameters_using_expectation_maximisation(" OR ".join(shared))
    settings = linker.misc.save_model_to_json()
    return from_splink(settings, comparisons, summary={"records": len(table)})


def _has(comparisons: Sequence[Comparison], column: str) -> bool:
    return any(column in c.columns for c in comparisons)


def from_splink(settings: dict[str, Any], comparisons: Sequence[Comparison], summary: dict) -> MatchModel:
    """Bayes factors per level from a trained Splink settings dict, with the documented floors."""
    bayes: dict[str, list[float]] = {}
    trained = {c["output_column_name"]: c for c in settings["comparisons"]}
    for comparison in comparisons:
        factors: list[float] = []
        for index, level in enumerate(trained[comparison.name]["comparison_levels"]):
            if index == 0:
                factors.append(1.0)
                continue
            m = level.get("m_probability") or 1e-6
            u = level.get("u_probability") or 1e-6
            factor = max(min(m / u, 1e6), 1e-6)
            ceiling = AGAINST.get((comparison.name, comparison.levels[index].label))
            if ceiling is not None:
                factor = min(factor, ceiling)
            low, high = BOUNDS.get((comparison.name, comparison.levels[index].label), (0.0, math.inf))
            factor = min(max(factor, low), high)
            factors.append(factor)
        bayes[comparison.name] = factors
    prior = settings.get("probability_two_random_records_match") or 1e-4
    return MatchModel(
        entity_type="person",
        comparisons=[c.name for c in comparisons],
        bayes=bayes,
        prior=prior,
        splink=settings,
        summary=summary,
    )
