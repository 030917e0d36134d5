"""Where the generated records and links collect, each with the provenance of the system that holds it.

Source keys are numbered per system and kind ('NICHE-P000123' for a person, 'NICHE-L000045' for a link), so
a record's id (`store.ids.record_id`) is known as soon as it is made and links can name it before anything is
stored. A shared thing (an address, a phone number) gets one record per system, made on first use.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

from openrms.demo.synthetic.sources import SOURCE_SYSTEMS
from openrms.store.ids import record_id
from openrms.store.links import NewLink
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord


class Output:
    """Collects records and links, numbering source keys per system and sharing objects within a system.

    This is the hot path of generate(): some 260,000 provenances, records and links. They are built with the
    store's normal constructors, given positional arguments (about a quarter faster than keywords for these
    frozen dataclasses); the golden digest in tests/demo/test_synthetic.py catches a change of field order.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.records: list[NewRecord] = []
        self.links: list[NewLink] = []
        self.counters: dict[tuple[str, str], Iterator[int]] = {}
        self.shared: dict[tuple[str, str, object], str] = {}

    def key(self, code: str, prefix: str) -> str:
        """The next source key of a kind (`prefix`) in a system: 'NICHE-P000001', 'NICHE-P000002'..."""
        counter = self.counters.get((code, prefix))
        if counter is None:
            counter = self.counters[(code, prefix)] = itertools.count(1)
        return f"{code}-{prefix}{next(counter):06d}"

    def record(
        self,
        code: str,
        entity_type: str,
        prefix: str,
        data: dict[str, Any],
        *,
        recorded_at: dt.datetime | None = None,
        classification: str = "OFFICIAL",
        handling: str = "P",
        conditions: str | None = None,
    ) -> str:
        """Add a record; return the id the store will give it, so links can be made before it is stored."""
        system = SOURCE_SYSTEMS[code]
        key = self.key(code, prefix)
        users = system.users
        provenance = Provenance(
            system.agency,
            system.name,
            users[int(self.rng.random() * len(users))],  # recorded_by
            key,
            recorded_at,
            classification,
            handling,
            conditions,  # handling_conditions
        )
        self.records.append(NewRecord(entity_type, data, provenance))
        return record_id(entity_type, system.agency, system.name, key)

    def shared_record(
        self, code: str, entity_type: str, prefix: str, identity: object, make: Callable[[], dict[str, Any]]
    ) -> str:
        """One record per system for a shared thing (an address, a phone number), made on first use."""
        found = self.shared.get((code, entity_type, identity))
        if found is None:
            found = self.shared[(code, entity_type, identity)] = self.record(
                code, entity_type, prefix, make()
            )
        return found

    def link(
        self,
        code: str,
        link_type: str,
        from_id: str,
        to_id: str,
        valid_from: str | None = None,
        valid_to: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Add a link held by a system; its ends are ids this Output returned, or stored crimes' ids."""
        system = SOURCE_SYSTEMS[code]
        users = system.users
        provenance = Provenance(
            system.agency,
            system.name,
            users[int(self.rng.random() * len(users))],  # recorded_by
            self.key(code, "L"),
            None,  # recorded_at
            "OFFICIAL",
            "P",
        )
        self.links.append(NewLink(link_type, from_id, to_id, provenance, valid_from, valid_to, data or {}))
