"""Who said a fact, where, when, and how it may be handled: checked once, stored with every version."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from openrms.errors import BadRequest
from openrms.schema import registry
from openrms.schema.types import FieldTypeError, utc
from openrms.store import ids

_LIMITS = {"agency": 40, "source_system": 80}  # the widths of the record and link columns


@dataclass(frozen=True)
class Provenance:
    """Where a record came from. `source_key` identifies it in its source system; None means keyed by hand."""

    agency: str
    source_system: str
    recorded_by: str
    source_key: str | None = None
    recorded_at: dt.datetime | None = None
    classification: str = "OFFICIAL"
    handling: str = "P"
    handling_conditions: str | None = None
    reason: str | None = None

    def checked(self) -> Provenance:
        """This provenance in canonical form, or BadRequest naming the field at fault."""
        for name in ("agency", "source_system"):
            value = getattr(self, name)
            pattern = rf"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{{0,{_LIMITS[name] - 1}}}$"
            if not isinstance(value, str) or not re.match(pattern, value):
                raise BadRequest(
                    f"provenance.{name} {value!r} must be 1-{_LIMITS[name]} letters, digits, spaces or ._:/-"
                )
        if not self.recorded_by or len(self.recorded_by) > 120:
            raise BadRequest("provenance.recorded_by is required (at most 120 characters)")
        if self.source_key is not None and not (0 < len(str(self.source_key)) <= 200):
            raise BadRequest("provenance.source_key must be 1-200 characters")
        classification = normalise_classification(self.classification)
        handling = str(self.handling).strip().upper()
        if handling not in registry().codelists["handling"].codes:
            raise BadRequest(f"provenance.handling {self.handling!r} must be P, C, 4 or 5")
        if handling == "C" and not self.handling_conditions:
            raise BadRequest("provenance.handling C needs handling_conditions")
        recorded_at = self.recorded_at
        if recorded_at is not None and recorded_at.tzinfo is None:
            raise BadRequest("provenance.recorded_at must include a timezone")
        if recorded_at is not None:
            try:
                recorded_at = utc(recorded_at)
            except FieldTypeError as exc:
                raise BadRequest(f"provenance.recorded_at {exc}") from None
        for name in ("source_key", "recorded_by", "handling_conditions", "reason"):
            if "\x00" in str(getattr(self, name) or ""):
                raise BadRequest(f"provenance.{name} contains a NUL character (\\x00)")
        return replace(
            self,
            agency=self.agency.strip().upper(),
            classification=classification,
            handling=handling,
            source_key=None if self.source_key is None else str(self.source_key),
            recorded_at=recorded_at,
        )


def normalise_classification(value: str) -> str:
    """OFFICIAL, OFFICIAL-SENSITIVE, SECRET or TOP-SECRET; legacy markings (PROTECT, RESTRICTED...) mapped."""
    lists = registry().codelists
    key = str(value).strip().upper().replace("_", "-")
    if key == "TOP SECRET":
        key = "TOP-SECRET"
    if key in lists["classification"].codes:
        return key
    legacy = {k.upper(): v for k, v in lists["legacy_classification"].codes.items()}
    if key.replace("-", " ") in legacy:
        return legacy[key.replace("-", " ")]
    raise BadRequest(
        f"classification {value!r} is not one of OFFICIAL, OFFICIAL-SENSITIVE, SECRET, TOP SECRET "
        f"or a legacy marking ({', '.join(lists['legacy_classification'].codes)})"
    )


class ProvenanceChecker:
    """Checks each distinct provenance of a batch once (they usually differ only by source key)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[object, ...], Provenance] = {}

    def __call__(self, prov: Provenance) -> tuple[Provenance, str]:
        """The checked provenance (its source key unset) and the source key, a fresh one if none was given."""
        key = (
            prov.agency,
            prov.source_system,
            prov.recorded_by,
            prov.recorded_at,
            prov.classification,
            prov.handling,
            prov.handling_conditions,
            prov.reason,
        )
        base = self._seen.get(key)
        if base is None:
            base = self._seen[key] = replace(prov, source_key=None).checked()
        return base, ids.new_source_key() if prov.source_key is None else str(prov.source_key)
