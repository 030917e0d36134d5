"""The person match model's comparisons, each level written twice: as Splink SQL and as a Python test.

Splink trains the model (EM, no labels) and scores pairs in batch from the SQL; the real-time scorer scores
one record against its candidates in Python from the same levels, because a database round trip to Splink
per keystroke would cost about 100 ms where the target is 5. Both read the features of `features`, and the
test suite checks the two agree level for level on generated pairs. SQL is written in the DuckDB dialect that
Splink transpiles for Spark, so the same model runs at national scale.

Levels are tried in order; the first that holds is the pair's level. Level 0 of each comparison is "null":
a missing value is no evidence either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein

Pair = tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Level:
    label: str
    sql: str
    test: Callable[[dict[str, Any], dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    columns: tuple[str, ...]  # the features the comparison reads (all must be absent for "null")
    levels: tuple[Level, ...]  # the null level first, the "else" level last

    def level_of(self, a: dict[str, Any], b: dict[str, Any]) -> int:
        for index, level in enumerate(self.levels):
            if level.test(a, b):
                return index
        return len(self.levels) - 1

    def splink(self) -> dict[str, Any]:
        """This comparison as a Splink settings dict."""
        levels: list[dict[str, Any]] = []
        for index, level in enumerate(self.levels):
            entry: dict[str, Any] = {"sql_condition": level.sql, "label_for_charts": level.label}
            if index == 0:
                entry["is_null_level"] = True
            levels.append(entry)
        return {"output_column_name": self.name, "comparison_levels": levels}


def _null(col: str) -> Level:
    return Level("null", f'"{col}_l" IS NULL OR "{col}_r" IS NULL', lambda a, b: col not in a or col not in b)


def _exact(col: str) -> Level:
    return Level("exact", f'"{col}_l" = "{col}_r"', lambda a, b: a[col] == b[col])


def _jw(col: str, at: float) -> Level:
    return Level(
        f"similar (Jaro-Winkler >= {at})",
        f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {at}',
        lambda a, b: JaroWinkler.similarity(a[col], b[col]) >= at,
    )


def _typo(col: str, edits: int = 1) -> Level:
    return Level(
        f"{edits} edit apart",
        f'levenshtein("{col}_l", "{col}_r") <= {edits}',
        lambda a, b: Levenshtein.distance(a[col], b[col]) <= edits,
    )


def _else() -> Level:
    return Level("different", "ELSE", lambda a, b: True)


def _overlap(left: str, right: str, label: str) -> Level:
    """Any value of list feature `left` of one record in list feature `right` of the other."""

    def test(a: dict[str, Any], b: dict[str, Any]) -> bool:
        x, y = a.get(left), b.get(right)
        return bool(x and y and not set(x).isdisjoint(y))

    return Level(label, f'list_has_any("{left}_l", "{right}_r")', test)


def _swapped_test(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("fn") is not None and a.get("fn") == b.get("sn") and a.get("sn") == b.get("fn"):
        return True
    return (
        a.get("fn_dm") is not None and a.get("fn_dm") == b.get("sn_dm") and a.get("sn_dm") == b.get("fn_dm")
    )


def _swapped() -> Level:
    """Forename and surname written the other way round, as they are or sounding the same ("Whtie Brandon"
    for "Brandon White")."""
    return Level(
        "forename and surname swapped",
        '("fn_l" = "sn_r" AND "sn_l" = "fn_r") OR ("fn_dm_l" = "sn_dm_r" AND "sn_dm_l" = "fn_dm_r")',
        _swapped_test,
    )


def _same(col: str, label: str) -> Level:
    return Level(
        label, f'"{col}_l" = "{col}_r"', lambda a, b: a.get(col) is not None and a.get(col) == b.get(col)
    )


FORENAME = Comparison(
    "forename",
    ("fn",),
    (
        _null("fn"),
        _exact("fn"),
        _swapped(),
        _overlap("fn_roots", "fn_roots", "nickname of the same name"),
        _jw("fn", 0.92),
        _same("fn_dm", "sounds the same"),
        Level(
            "initial agrees",
            '(length("fn_l") = 1 OR length("fn_r") = 1) AND substr("fn_l", 1, 1) = substr("fn_r", 1, 1)',
            lambda a, b: (len(a["fn"]) == 1 or len(b["fn"]) == 1) and a["fn"][0] == b["fn"][0],
        ),
        _jw("fn", 0.8),
        _else(),
    ),
)

SURNAME = Comparison(
    "surname",
    ("sn",),
    (
        _null("sn"),
        _exact("sn"),
        _swapped(),
        _jw("sn", 0.92),
        _same("sn_dm", "sounds the same"),
        _overlap("sn_alt", "sn_alt", "a previous, alias or hyphenated surname agrees"),
        _jw("sn", 0.8),
        _else(),
    ),
)


def _dob_partial(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if "dob" in a and "dob" in b:
        return False
    if a["dob_y"] != b["dob_y"]:
        return False
    return "dob_ym" not in a or "dob_ym" not in b or a["dob_ym"] == b["dob_ym"]


DATE_OF_BIRTH = Comparison(
    "date_of_birth",
    ("dob_y",),
    (
        _null("dob_y"),
        Level(
            "exact",
            '"dob_l" = "dob_r"',
            lambda a, b: a.get("dob") is not None and a.get("dob") == b.get("dob"),
        ),
        Level(
            "day and month swapped",
            '"dob_sw_l" = "dob_r"',
            lambda a, b: a.get("dob_sw") is not None and a.get("dob_sw") == b.get("dob"),
        ),
        Level(
            "partial date agrees",
            '("dob_l" IS NULL OR "dob_r" IS NULL) AND "dob_y_l" = "dob_y_r" '
            'AND ("dob_ym_l" IS NULL OR "dob_ym_r" IS NULL OR "dob_ym_l" = "dob_ym_r")',
            _dob_partial,
        ),
        Level(
            "one digit differs",
            'levenshtein("dob_l", "dob_r") <= 1',
            lambda a, b: "dob" in a and "dob" in b and Levenshtein.distance(a["dob"], b["dob"]) <= 1,
        ),
        Level(
            "two digits differ",
            'levenshtein("dob_l", "dob_r") <= 2',
            lambda a, b: "dob" in a and "dob" in b and Levenshtein.distance(a["dob"], b["dob"]) <= 2,
        ),
        Level(
            "within two years",
            'abs("dob_y_l" - "dob_y_r") <= 2',
            lambda a, b: abs(a["dob_y"] - b["dob_y"]) <= 2,
        ),
        _else(),
    ),
)

SEX = Comparison("sex", ("sex",), (_null("sex"), _exact("sex"), _else()))


def identifier(col: str, name: str, *, checked: bool = False) -> Comparison:
    """A person identifier: agreeing is strong evidence, a different one strong evidence against. One with a
    check character (PNC ID, CRO number) that passed validation cannot carry a typo: any difference is
    another identifier; others can be mistyped by one or two characters."""
    if checked:
        return Comparison(name, (col,), (_null(col), _exact(col), _else()))
    return Comparison(name, (col,), (_null(col), _exact(col), _typo(col, 1), _typo(col, 2), _else()))


IDENTIFIERS = (
    identifier("pnc", "pnc_id", checked=True),
    identifier("cro", "cro_number", checked=True),
    identifier("ni", "ni_number"),
    identifier("pp", "passport_number"),
    identifier("dl", "driving_licence"),
    identifier("oid", "other_id"),
)


def _any_of(levels: tuple[Level, ...]) -> str:
    return "(" + " OR ".join(f"({level.sql})" for level in levels) + ")"


# A name and a date of birth that do not contradict each other: any forename level but "different", and a
# date of birth that is missing, equal, swapped, partial or at most two digits off.
_CONSISTENT_LEVELS = (FORENAME.levels[:-1], DATE_OF_BIRTH.levels[:6])
_CONSISTENT_SQL = f"{_any_of(_CONSISTENT_LEVELS[0])} AND {_any_of(_CONSISTENT_LEVELS[1])}"


def _consistent(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return FORENAME.level_of(a, b) < len(FORENAME.levels) - 1 and DATE_OF_BIRTH.level_of(a, b) < 6


def _place(col: str, name: str, similar: float | None) -> Comparison:
    """An address part the source holds for the person. Agreeing on it is evidence of identity only when
    name and birth do not contradict it: a household shares an address, so agreement with someone of another
    forename or birth date is its own level, which EM learns apart (it is rare among true matches)."""
    levels = [
        _null(col),
        Level(
            "exact, name and birth agree",
            f'"{col}_l" = "{col}_r" AND {_CONSISTENT_SQL}',
            lambda a, b: a[col] == b[col] and _consistent(a, b),
        ),
        Level(
            "exact, another name or birth date (a household)",
            f'"{col}_l" = "{col}_r"',
            lambda a, b: a[col] == b[col],
        ),
    ]
    if similar is not None:
        levels.append(_jw(col, similar))
    else:
        levels.append(_typo(col, 1))
    levels.append(_else())
    return Comparison(name, (col,), tuple(levels))


ADDRESS = (
    _place("pc", "postcode", None),
    _place("st", "street", 0.9),
    _place("town", "town", 0.9),
    _place("bno", "building_number", None),
)

PERSON: tuple[Comparison, ...] = (FORENAME, SURNAME, DATE_OF_BIRTH, SEX, *IDENTIFIERS, *ADDRESS)

# Every feature a comparison reads, with its DuckDB type, for the table handed to Splink.
PERSON_COLUMNS: dict[str, str] = {
    "fn": "VARCHAR",
    "fn_dm": "VARCHAR",
    "fn_roots": "VARCHAR[]",
    "sn": "VARCHAR",
    "sn_dm": "VARCHAR",
    "sn_alt": "VARCHAR[]",
    "dob": "VARCHAR",
    "dob_sw": "VARCHAR",
    "dob_ym": "VARCHAR",
    "dob_y": "INTEGER",
    "sex": "VARCHAR",
    "pnc": "VARCHAR",
    "cro": "VARCHAR",
    "ni": "VARCHAR",
    "pp": "VARCHAR",
    "dl": "VARCHAR",
    "oid": "VARCHAR",
    "pc": "VARCHAR",
    "st": "VARCHAR",
    "town": "VARCHAR",
    "bno": "VARCHAR",
}
