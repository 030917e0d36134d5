"""Real-time resolution: every written record finds its master, and `match` checks one before it is saved.

For each record written, candidates come from the blocking index, are scored (persons by the trained model,
other types by their rules), and then: the record joins the best candidate's master at or above the match
threshold; pairs between the review and match thresholds wait in the review queue; below, the record stays
its own master. A person's "different" judgement is never overridden, a record that already shares its
master with others is not moved by the model (only queued), so the model never undoes a person's merge, and
a record matching several people who do not match each other joins none of them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from typing import Any

from sqlalchemy import Connection, func, or_, select

from openrms.errors import BadRequest
from openrms.identity import judgements, membership
from openrms.identity.features import RULE_TYPES, Features
from openrms.identity.index import Candidate, Indexed, candidate_ids, candidates, index_of, write_index
from openrms.identity.model import MatchModel, grade, probability
from openrms.identity.saved_models import current_model
from openrms.store.hooks import Written
from openrms.store.ids import master_id_for
from openrms.store.scope import ReadScope
from openrms.store.tables import judgement, record

# Most candidate pairs judged (joined or queued) per written record. Records that look like dozens of others
# (placeholder names, a shared address) would otherwise fill the review queue and slow every write.
MAX_PAIRS = 5


def rule_score(entity_type: str, a: Features, b: Features) -> tuple[float, list[dict[str, Any]]]:
    """Rule types: a shared key is a match unless a conflicting feature (another VIN, UPRN...) differs."""
    _, key_names, conflicts = RULE_TYPES[entity_type]
    for name in conflicts:
        if a.get(name) and b.get(name) and a[name] != b[name]:
            return 0.0, [{"comparison": name, "level": "different", "rule": "conflict"}]
    agree = [name for name in key_names if a.get(name) and a.get(name) == b.get(name)]
    if not agree:
        return 0.0, []
    return 1.0, [{"comparison": name, "level": "exact", "rule": "same normalised value"} for name in agree]


class Scorer:
    """Scores pairs of one entity type, with the model in use for persons."""

    def __init__(self, conn: Connection, entity_type: str) -> None:
        self.entity_type = entity_type
        self.model: MatchModel | None = current_model(conn) if entity_type == "person" else None

    @property
    def thresholds(self) -> tuple[float, float]:
        return (self.model.match_at, self.model.review_at) if self.model else (1.0, 1.0)

    def score(self, a: Features, b: Features) -> float:
        if self.model is not None:
            return probability(self.model.weight(a, b))
        return rule_score(self.entity_type, a, b)[0]

    def explain(self, a: Features, b: Features) -> tuple[float, list[dict[str, Any]]]:
        if self.model is not None:
            return self.model.explain(a, b)
        return rule_score(self.entity_type, a, b)

    @property
    def by(self) -> str:
        return f"model person v{self.model.version}" if self.model else f"rules {self.entity_type}"


# Most candidates scored per record: those sharing the most blocking keys with it. A record in several full
# blocks (a common name in a common year, a shared address) would otherwise cost hundreds of comparisons.
MAX_CANDIDATES = 20


def _most_shared(item: Indexed, blocks: Mapping[str, set[str]]) -> list[str]:
    shared: dict[str, int] = defaultdict(int)
    for key in item.keys:
        for rid in blocks.get(key, ()):
            shared[rid] += 1
    shared.pop(item.id, None)
    if len(shared) <= MAX_CANDIDATES:
        return list(shared)
    return sorted(shared, key=lambda rid: (-shared[rid], rid))[:MAX_CANDIDATES]


def _scored(
    conn: Connection, scorer: Scorer, items: Sequence[Indexed], scope: ReadScope | None = None
) -> dict[str, list[tuple[float, Candidate]]]:
    """For each item, its candidates scored, best first (the item itself excluded)."""
    blocks = candidate_ids(conn, (k for i in items for k in i.keys))
    wanted = {i.id: _most_shared(i, blocks) for i in items}
    found = candidates(conn, {rid for ids in wanted.values() for rid in ids}, scope)
    out: dict[str, list[tuple[float, Candidate]]] = {}
    for item in items:
        scored = [
            (scorer.score(item.features, found[c].features), found[c]) for c in wanted[item.id] if c in found
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        out[item.id] = scored
    return out


def on_records_written(conn: Connection, written: list[Written], now: dt.datetime) -> dict[str, str]:
    """The store's write hook: index the records and resolve them; returns the records moved to a master."""
    by_type: dict[str, list[Indexed]] = defaultdict(list)
    dropped: list[str] = []
    created = {w.id for w in written if w.created}
    for w in written:
        if w.data is None:
            dropped.append(w.id)
            continue
        item = w.extras["identity"] if "identity" in w.extras else index_of(w.id, w.entity_type, w.data)
        if item is not None:
            by_type[w.entity_type].append(item)
    if dropped:
        write_index(conn, [], drop=dropped)
    moved: dict[str, str] = {}
    for entity_type, items in by_type.items():
        write_index(conn, items, replace=[i.id for i in items if i.id not in created])
        moved.update(resolve(conn, entity_type, items, now, created))
    return moved


def resolve(
    conn: Connection,
    entity_type: str,
    items: Sequence[Indexed],
    now: dt.datetime,
    created: Set[str] = frozenset(),
) -> dict[str, str]:
    """Join each of `items` to its best candidate's master, or queue the doubtful pairs; returns the moves
    (record id -> master id).

    A record that is alone in its master joins the best candidate's master at or above the match threshold;
    other candidates at or above it that are alone in theirs join too (the new record shows they are one).
    Masters of several records are never merged here: the pair waits for review or for `openrms resolve`.
    All moves of one call are one master event, so they are undone together.
    """
    scorer = Scorer(conn, entity_type)
    match_at, review_at = scorer.thresholds
    scored = _scored(conn, scorer, items)
    ids = [i.id for i in items]
    # A record created by this write is still the only record of its own master: no need to look it up.
    master_of = {i: master_id_for(i) for i in ids if i in created}
    master_of.update(_masters(conn, [i for i in ids if i not in created]))
    for ranked in scored.values():
        for _, cand in ranked:
            master_of.setdefault(cand.id, cand.master_id)
    # A person's "different" between any two records in play (candidates too: a new record must not bring
    # together two records a person called different), with the masters of the records judged against them.
    refused = _person_different(conn, list(master_of))
    master_of.update(_masters(conn, sorted({r for pair in refused for r in pair} - master_of.keys())))
    own = {master_of[i] for i in ids if i in created}
    size = dict.fromkeys(own, 1) | _sizes(conn, set(master_of.values()) - own)
    pending = _judged_pairs(conn, [i for i in ids if i not in created])  # new records have none yet
    moves: dict[str, str] = {}
    verdicts: list[dict[str, Any]] = []

    def move(record_id: str, target: str) -> None:
        size[master_of[record_id]] -= 1
        size[target] = size.get(target, 0) + 1
        master_of[record_id] = moves[record_id] = target

    for item in items:
        live = [
            (p, cand, (min(item.id, cand.id), max(item.id, cand.id)))
            for p, cand in scored[item.id]
            if p >= review_at and master_of[cand.id] != master_of[item.id]
        ]
        live = [(p, cand, pair) for p, cand, pair in live if pair not in refused and pair not in pending]
        live = live[:MAX_PAIRS]  # the strongest: a record looking like dozens of others needs a person anyway
        strong = [(p, cand) for p, cand, _ in live if p >= match_at]
        joins = _joins(scorer, match_at, strong, master_of)
        target: str | None = None
        for p, cand, pair in live:
            decision = "review"
            theirs = master_of[cand.id]
            if cand.id not in joins:
                pass
            elif target is None:
                if size[master_of[item.id]] == 1 and not _refused_master(refused, item.id, theirs, master_of):
                    move(item.id, theirs)
                    target, decision = theirs, "same"
            elif size[theirs] == 1 and not _refused_master(refused, cand.id, target, master_of):
                move(cand.id, target)
                decision = "same"
            pending.add(pair)
            verdicts.append(_verdict(scorer, item.features, cand.features, pair, decision, p))
    if moves:
        membership.apply_moves(conn, moves, entity_type=entity_type, action="resolve", by=scorer.by, now=now)
    if verdicts:
        judgements.record_judgements(conn, verdicts, now=now)
    return moves


def _joins(
    scorer: Scorer, match_at: float, strong: list[tuple[float, Candidate]], master_of: Mapping[str, str]
) -> set[str]:
    """Which of the candidates at or above the threshold a new record may join (the first) or pull in (the
    others): those that also match the best one. If candidates in other masters do not match the best one,
    the new record is ambiguous ("John Smith, born 1985" between two John Smiths): it joins none of them,
    and every pair waits for review. A vague record never chains two different people together."""
    if not strong:
        return set()
    best = strong[0][1]
    chosen = {best.id}
    for _, cand in strong[1:]:
        if master_of[cand.id] == master_of[best.id] or scorer.score(best.features, cand.features) >= match_at:
            chosen.add(cand.id)
        else:
            return set()
    return chosen


def _verdict(
    scorer: Scorer, a: Features, b: Features, pair: tuple[str, str], decision: str, p: float
) -> dict[str, Any]:
    _, why = scorer.explain(a, b)
    return {
        "record_a": pair[0],
        "record_b": pair[1],
        "decision": decision,
        "by_kind": "model",
        "by": scorer.by,
        "probability": round(p, 6),
        "model_version": scorer.model.version if scorer.model else None,
        "explanation": {"why": why},
    }


def _masters(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(record.c.id, record.c.master_id).where(record.c.id.in_(ids[start : start + 500]))
        )
        out.update({rid: mid for rid, mid in rows})
    return out


def _sizes(conn: Connection, masters: set[str]) -> dict[str, int]:
    """Records per master, for those of `masters`."""
    wanted = sorted(masters)
    sizes: dict[str, int] = dict.fromkeys(wanted, 0)
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(record.c.master_id, func.count())
            .where(record.c.master_id.in_(wanted[start : start + 500]))
            .group_by(record.c.master_id)
        )
        sizes.update({mid: n for mid, n in rows})
    return sizes


def _judged_pairs(conn: Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    """Pairs involving `ids` with a current judgement: the model does not judge them again."""
    return _pairs(conn, ids, judgement.c.current.is_(True))


def _person_different(conn: Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    """Pairs touching `ids` that a person judged different. People make few such judgements, so all of them
    are read (through the queue index) and filtered here: cheaper than looking every id up."""
    wanted = set(ids)
    rows = conn.execute(
        select(judgement.c.record_a, judgement.c.record_b).where(
            judgement.c.current.is_(True),
            judgement.c.decision == "different",
            judgement.c.by_kind == "person",
        )
    )
    return {(a, b) for a, b in rows if a in wanted or b in wanted}


def _pairs(conn: Connection, ids: Sequence[str], condition: Any) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            select(judgement.c.record_a, judgement.c.record_b).where(
                condition, or_(judgement.c.record_a.in_(chunk), judgement.c.record_b.in_(chunk))
            )
        )
        out.update((a, b) for a, b in rows)
    return out


def _refused_master(
    refused: set[tuple[str, str]], record_id: str, target: str, master_of: Mapping[str, str]
) -> bool:
    """Whether a person said `record_id` is different from some record now in `target`."""
    for a, b in refused:
        other = b if a == record_id else a if b == record_id else None
        if other is not None and master_of.get(other) == target:
            return True
    return False


# ---- checking a record without saving it ----


def match(
    conn: Connection,
    entity_type: str,
    data: Mapping[str, Any],
    scope: ReadScope,
    *,
    limit: int = 10,
) -> dict[str, Any]:
    """Masters that `data` may describe, graded, each with its probability and why.

    A candidate the caller may not see is reported only as a restricted record that may match, with the
    agency to contact: nothing else about it (not its id, master or explanation) leaves this function. One
    no sharing agreement could open (SECRET to an OFFICIAL-vetted officer, handling 4/5, restricted to named
    people) is not reported at all: it is indistinguishable from no record.
    """
    item = index_of("", entity_type, data)
    if item is None:
        raise BadRequest(
            f"records of type {entity_type!r} are not matched; matched types: person, "
            + ", ".join(RULE_TYPES)
        )
    if not item.keys:
        return {"entity_type": entity_type, "candidates": [], "restricted": [], "note": "nothing to match on"}
    scorer = Scorer(conn, entity_type)
    scored = _scored(conn, scorer, [item], scope)[item.id]
    best: dict[str, tuple[float, Candidate]] = {}
    restricted: dict[str, str] = {}
    for p, cand in scored:
        g = grade(p) if scorer.model else ("certain" if p >= 1.0 else None)
        if g is None:
            continue
        if not cand.visible:
            if not cand.mentionable:
                continue
            if cand.agency not in restricted or _rank(g) < _rank(restricted[cand.agency]):
                restricted[cand.agency] = g
            continue
        if cand.master_id not in best:
            best[cand.master_id] = (p, cand)
    top = list(best.values())[:limit]
    results = []
    for _, cand in top:
        prob, why = scorer.explain(item.features, cand.features)
        results.append(
            {
                "master_id": cand.master_id,
                "record_id": cand.id,
                "title": cand.features.get("title"),
                "agency": cand.agency,
                "probability": round(prob, 6),
                "grade": grade(prob) if scorer.model else "certain",
                "why": why,
            }
        )
    return {
        "entity_type": entity_type,
        "model_version": scorer.model.version if scorer.model else None,
        "candidates": results,
        "restricted": [
            {
                "grade": g,
                "agency": agency,
                "message": f"a restricted record may match; contact {agency}",
            }
            for agency, g in sorted(restricted.items())
        ],
    }


def _rank(g: str) -> int:
    return ("certain", "probable", "possible").index(g)
