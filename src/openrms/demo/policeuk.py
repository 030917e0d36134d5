"""data.police.uk street-level crime CSVs as OpenRMS records: crimes (or anti-social behaviour), the
anonymised map points they happened at, and OCCURRED_AT links.

Source keys are stable across runs (the Crime ID, or the month and row number for rows without one, and the
coordinates for points), so loading the same files twice changes nothing.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openrms.store import ids
from openrms.store.links import NewLink
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord

DATA_DIR = Path(__file__).parent / "data"
AGENCY, SYSTEM = "WYP", "POLICE-UK"
PROVENANCE = Provenance(agency=AGENCY, source_system=SYSTEM, recorded_by="data.police.uk import")
ASB = "Anti-social behaviour"


@dataclass(frozen=True)
class CrimeRow:
    """One row's records: the event, its point (None when the row has no location) and the link."""

    event_id: str
    event: NewRecord
    point: NewRecord | None
    link: NewLink | None
    month: str
    latitude: float | None
    longitude: float | None


def files(directory: Path = DATA_DIR) -> list[Path]:
    return sorted([*directory.glob("*-street.csv"), *directory.glob("*-street.csv.gz")])


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _month_window(month: str) -> tuple[str, str]:
    year, mon = int(month[:4]), int(month[5:7])
    last = calendar.monthrange(year, mon)[1]
    return f"{month}-01T00:00:00Z", f"{month}-{last:02d}T23:59:59Z"


def _key(prov: Provenance, key: str) -> Provenance:
    return Provenance(prov.agency, prov.source_system, prov.recorded_by, key)


def read(path: Path) -> Iterator[CrimeRow]:
    """Rows of one file as records; raises ValueError naming the file and line for a malformed row."""
    with _open(path) as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                yield _row(row, line, path.name.removesuffix(".gz"))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path.name} line {line}: {exc}") from None


def _row(row: dict[str, str], line: int, filename: str) -> CrimeRow:
    month, crime_type = row["Month"], row["Crime type"]
    start, end = _month_window(month)
    source_key = row["Crime ID"] or f"{month}/{filename}/{line}"
    data: dict[str, object] = {"occurred_from": start, "occurred_to": end}
    if row["Crime ID"]:
        data["reference"] = row["Crime ID"]
    if row.get("Context"):
        data["narrative"] = row["Context"]
    if row["Last outcome category"]:
        data["outcome"] = row["Last outcome category"]  # the code list accepts police.uk's labels
    entity = "anti_social_behaviour" if crime_type == ASB else "crime"
    if entity == "crime":
        data["crime_type"] = crime_type
    event = NewRecord(entity, data, _key(PROVENANCE, source_key))
    event_id = ids.record_id(entity, AGENCY, SYSTEM, source_key)
    if not row["Latitude"] or not row["Longitude"]:
        return CrimeRow(event_id, event, None, None, month, None, None)
    lat, lon = float(row["Latitude"]), float(row["Longitude"])
    point_data = {
        "latitude": lat,
        "longitude": lon,
        "description": row["Location"],
        "lsoa_code": row["LSOA code"],
        "lsoa_name": row["LSOA name"],
    }
    point_key = f"{row['Latitude']},{row['Longitude']}"
    point = NewRecord(
        "point", {k: v for k, v in point_data.items() if v not in ("", None)}, _key(PROVENANCE, point_key)
    )
    point_id = ids.record_id("point", AGENCY, SYSTEM, point_key)
    link = NewLink("OCCURRED_AT", event_id, point_id, _key(PROVENANCE, f"{source_key}/at"))
    return CrimeRow(event_id, event, point, link, month, lat, lon)
