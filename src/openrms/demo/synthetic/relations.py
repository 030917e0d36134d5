"""Who is related to whom: household relationships and offenders' known associates, drawn and linked.

Associates are drawn with the truth (co-suspects of a crime, plus a few offenders from the same town) and
become ASSOCIATE_OF links in NICHE and INTEL; members of a household become FAMILY_OF links in each force
system that holds both of them.
"""

from __future__ import annotations

import random

from openrms.demo.synthetic.copies import Renderer
from openrms.demo.synthetic.truth import Person


def add_associates(
    people: list[Person], rng: random.Random, pairs: dict[tuple[int, int], str | None]
) -> None:
    """Known associates: co-suspects (already in `pairs`) plus a few offenders from the same town."""
    by_town: dict[str, list[Person]] = {}
    for p in people:
        if p.offender:
            by_town.setdefault(p.address.town, []).append(p)
    for p in people:
        if p.offender:
            town = by_town[p.address.town]
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
                other = rng.choice(town)
                if other.n != p.n:
                    pairs.setdefault((min(p.n, other.n), max(p.n, other.n)), None)


def _relationship(a: Person, b: Person) -> str | None:
    """The FAMILY_OF relationship of two members of a household, from their roles in it; None for sharers."""
    roles = {a.role, b.role}
    if roles == {"spouse"}:
        return "SPOUSE"
    if roles == {"partner"}:
        return "PARTNER"
    if roles == {"child"}:
        return "SIBLING"
    if "child" in roles and roles & {"spouse", "partner", "parent"}:
        return "PARENT_CHILD"
    return None  # sharers of a house, single people


def write_relations(
    r: Renderer, households: dict[int, list[Person]], pairs: dict[tuple[int, int], str | None]
) -> None:
    """FAMILY_OF within households (in each force system holding both) and ASSOCIATE_OF between offenders."""
    out, people = r.out, r.people
    for members in households.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                relationship = _relationship(a, b)
                if relationship is None:
                    continue
                since = a.moved_in.isoformat() if relationship in ("SPOUSE", "PARTNER") else None
                for code in ("NICHE", "RMS"):
                    ra, rb = a.copy_in(code), b.copy_in(code)
                    if ra and rb:
                        out.link(code, "FAMILY_OF", ra, rb, since, data={"relationship": relationship})
    for (x, y), month in pairs.items():
        for code in ("NICHE", "INTEL"):
            ra, rb = people[x].copy_in(code), people[y].copy_in(code)
            if ra and rb:
                out.link(
                    code,
                    "ASSOCIATE_OF",
                    ra,
                    rb,
                    month,
                    data={"basis": "co-suspects" if month else "known associates"},
                )
