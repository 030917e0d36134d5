"""Each individual's person records: one per system they are in, later copies drifting from the truth.

The first copy holds everything known about the individual; each later copy drops some descriptive fields
(`shape.KEEP_OPTIONAL`) and draws the errors of `synthetic_errors`. Every copy is linked to that system's
record of the person's address, and of the phones, e-mail addresses and vehicles the system knows about.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from openrms.demo import synthetic_errors as errors
from openrms.demo.synthetic.output import Output
from openrms.demo.synthetic.shape import KEEP_OPTIONAL, OBJECT_SHARE, OPTIONAL_FIELDS, PHONE_STYLE
from openrms.demo.synthetic.tables import OFFICER_ETHNICITY, name_pools
from openrms.demo.synthetic.truth import Person


def truth_data(p: Person) -> dict[str, Any]:
    """Everything known about the individual, as a person record: what the clean first copy holds."""
    ethnicity = p.ethnicity
    data: dict[str, Any] = {
        "forenames": " ".join(p.forenames),
        "surname": p.surname,
        "date_of_birth": p.dob.isoformat(),
        "gender": p.gender,
        "nationality": [p.nationality],
        "self_defined_ethnicity": ethnicity,
        "officer_defined_ethnicity": OFFICER_ETHNICITY.get(ethnicity) or OFFICER_ETHNICITY[ethnicity[0]],
    }
    for key, value in (
        ("title", p.title),
        ("place_of_birth", p.birthplace),
        ("occupation", p.occupation),
        ("physical_description", p.physical),
        ("aliases", p.aliases),
        ("previous_names", p.previous_names),
        ("warning_markers", p.markers),
    ):
        if value:
            data[key] = value
    data.update(p.ids)
    return data


def _written(number: str, style: str) -> str:
    """A national significant number ('7700900123') written the way a system's users type it."""
    if style == "e164":
        return f"+44{number}"
    if style == "compact":
        return f"0{number}"
    split = 4 if number.startswith(("7", "11")) else 5
    return f"0{number[:split]} {number[split:]}"


class Renderer:
    """Writes each individual's person records; event writers draw from its stream and write to its output.

    `since` and `moment` are shared with them: every event is dated by the same rules.
    """

    def __init__(self, people: list[Person], rng: random.Random, today: dt.date, latest: dt.datetime) -> None:
        self.people, self.rng, self.today, self.latest = people, rng, today, latest
        self.out = Output(rng)
        self.truth: dict[str, str] = {}
        self.errors: Counter[str] = Counter()
        self.names = name_pools()

    def moment(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment between two moments, to the minute."""
        low, high = int(start.timestamp()) // 60, int(end.timestamp()) // 60
        return dt.datetime.fromtimestamp(60 * (low + int(self.rng.random() * max(0, high - low))), dt.UTC)

    def since(self, p: Person, min_age: int, years: int) -> dt.datetime | None:
        """A moment in the last `years` years (up to a week ago) when the person was at least `min_age`.

        None when there is no such moment (the person is too young).
        """
        start = max(
            dt.datetime.combine(p.dob, dt.time(), dt.UTC) + dt.timedelta(days=int(min_age * 365.25) + 1),
            self.latest - dt.timedelta(days=int(years * 365.25)),
        )
        end = self.latest - dt.timedelta(days=7)
        return self.moment(start, end) if start <= end else None

    def person_copies(self, p: Person) -> None:
        """One person record per system the individual is in: the first clean, the others with errors."""
        rng, out = self.rng, self.out
        truth = truth_data(p)
        adult = p.age_on(self.today) >= 18
        middle = self.names["female" if p.gender == "F" else "male"]
        for i, code in enumerate(p.systems):
            data = {key: (list(value) if isinstance(value, list) else value) for key, value in truth.items()}
            if i:
                for key in OPTIONAL_FIELDS:
                    if key in data and rng.random() > KEEP_OPTIONAL:
                        del data[key]
                self.errors.update(
                    errors.corrupt(
                        data,
                        rng,
                        female=p.gender == "F",
                        adult=adult,
                        maiden=p.maiden,
                        surnames=self.names["surname_list"],
                        middle_names=middle,
                    )
                )
            if code == "NOMIS":
                data["surname"] = data["surname"].upper()  # the prison system's convention
            rid = out.record(code, "person", "P", data, recorded_at=self.since(p, 0, 20))
            p.copies.setdefault(code, []).append(rid)
            self.truth[rid] = p.iid
            self.places_and_objects(p, code, rid, first=i == 0)

    def places_and_objects(self, p: Person, code: str, rid: str, first: bool) -> None:
        """RESIDES_AT the system's record of the address; phones, e-mail and vehicles the system knows."""
        rng, out = self.rng, self.out
        moved_in = p.moved_in.isoformat()
        if first:
            out.link(
                code,
                "RESIDES_AT",
                rid,
                out.shared_record(code, "address", "A", p.address.n, p.address.data),
                moved_in,
            )
            if p.previous:
                old, since = p.previous
                out.link(
                    code,
                    "RESIDES_AT",
                    rid,
                    out.shared_record(code, "address", "A", old.n, old.data),
                    since.isoformat(),
                    moved_in,
                )
        elif p.previous and rng.random() < 0.25:  # this system only knows where they used to live
            old, since = p.previous
            out.link(
                code,
                "RESIDES_AT",
                rid,
                out.shared_record(code, "address", "A", old.n, old.data),
                since.isoformat(),
            )
        else:
            out.link(
                code,
                "RESIDES_AT",
                rid,
                out.shared_record(code, "address", "A", p.address.n, p.address.data),
                moved_in,
            )
        phones, emails, vehicles = (1.0, 1.0, 1.0) if first else OBJECT_SHARE[code]
        style = PHONE_STYLE[code]
        for number, kind in p.phones:
            if rng.random() < phones:
                phone = out.shared_record(
                    code,
                    "telephone",
                    "T",
                    number,
                    lambda number=number, kind=kind: {"number": _written(number, style), "phone_type": kind},
                )
                out.link(code, "USED_BY", phone, rid)
        for address in p.emails:
            if rng.random() < emails:
                mail = out.shared_record(
                    code, "email", "E", address, lambda address=address: {"address": address}
                )
                out.link(code, "USED_BY", mail, rid)
        for vehicle in p.vehicles:
            if rng.random() < vehicles:
                vid = out.shared_record(code, "vehicle", "V", vehicle.n, vehicle.data)
                since = dt.date(vehicle.year, 1, 1) + dt.timedelta(days=rng.randrange(365))
                since = min(
                    max(since, p.dob + dt.timedelta(days=18 * 366)), self.today - dt.timedelta(days=1)
                )
                out.link(code, vehicle.relation, rid, vid, since.isoformat())
