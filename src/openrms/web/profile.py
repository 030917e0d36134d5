"""The data of the person profile (the single view) and of a record page, as plain dicts for templates.

Everything comes from the library's scoped reads: the master view with its survivorship golden values,
the links of its records, and one batched summary of the records at their other ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from openrms.identity import normalise as n
from openrms.identity import survivorship
from openrms.schema import registry
from openrms.store import views
from openrms.store.links import links_of
from openrms.store.scope import ReadScope
from openrms.web.lookups import summaries

TIMELINE_MAX = 200
NAME_FIELDS = ("forenames", "surname")


def related(
    links: Iterable[dict[str, Any]], own_ids: set[str], others: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each link seen from our side: the record at the other end and the relationship in words."""
    out = []
    for item in links:
        ours_is_from = item["from_id"] in own_ids
        other_id = item["to_id"] if ours_is_from else item["from_id"]
        other = others.get(other_id)
        if other is None:  # the other end is not visible to this caller (or was retracted)
            continue
        symmetric = registry().link_types[item["link_type"]].symmetric
        role = item["label"] if ours_is_from or symmetric else f"{item['label']} this record"
        out.append(
            {
                "link": item,
                "other": other,
                "role": role,
                "outgoing": ours_is_from,
                "date": other["date"] or item["valid_from"],
            }
        )
    out.sort(key=lambda r: (r["date"] or "", r["other"]["title"]), reverse=True)
    return out


def _by_category(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {"event": [], "object": [], "location": [], "person": []}
    for item in items:
        groups.setdefault(item["other"]["category"], []).append(item)
    return groups


def aliases(golden: dict[str, dict[str, Any]], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Other names: recorded aliases and previous names, and names the source records give that differ
    from the golden one (each with the agency that used it)."""
    main = " ".join(str(golden.get(f, {}).get("value", "")) for f in NAME_FIELDS).strip()
    seen = {n.fold(main)}
    out: list[dict[str, Any]] = []
    for rec in records:
        data, agency = rec["data"], rec["provenance"]["agency"]
        name = " ".join(str(data.get(f, "")) for f in NAME_FIELDS).strip()
        candidates = [(name, "name used")]
        for field, kind in (("aliases", "alias"), ("previous_names", "previous name")):
            for value in data.get(field) or []:
                text = value if isinstance(value, str) else " ".join(str(v) for v in value.values() if v)
                candidates.append((text, kind))
        for text, kind in candidates:
            key = n.fold(text)
            if text and key not in seen:
                seen.add(key)
                out.append({"name": text, "kind": kind, "agency": agency, "record_id": rec["id"]})
    return out


def timeline(records: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dated involvements, links and source records, newest first."""
    entries = []
    for item in items:
        if item["date"]:
            entries.append(
                {
                    "date": item["date"],
                    "label": f"{item['role']}: {item['other']['title']}",
                    "text": f"Recorded by {item['link']['provenance']['agency']}",
                    "href_record": item["other"],
                }
            )
    for rec in records:
        p = rec["provenance"]
        entries.append(
            {
                "date": p["created_at"],
                "label": f"Record created by {p['agency']}",
                "text": f"{p['source_system']} record {p['source_key'] or rec['id']}, by {p['created_by']}",
                "href_record": None,
            }
        )
    entries.sort(key=lambda e: str(e["date"]), reverse=True)
    return entries[:TIMELINE_MAX]


def golden_rows(entity_type: str, golden: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Golden values in the registry's field order, each with its source."""
    etype = registry().entity(entity_type)
    order = [name for name in etype.fields if name in golden] + sorted(set(golden) - set(etype.fields))
    skip = {"aliases", "previous_names", "warning_markers"}
    return [{"name": name, **golden[name]} for name in order if name not in skip]


def warning_markers(golden: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    entry = golden.get("warning_markers")
    if not entry:
        return []
    codes = registry().codelists["warning_marker"]
    values = entry["value"] if isinstance(entry["value"], list) else [entry["value"]]
    return [{"code": str(v), "label": codes.label(v), "agency": entry["agency"]} for v in values]


def person_profile(conn: Connection, master_id: str, scope: ReadScope) -> dict[str, Any]:
    view = survivorship.master_view(conn, master_id, scope)
    own = {r["id"] for r in view["records"]}
    ends = {item["to_id"] if item["from_id"] in own else item["from_id"] for item in view["links"]}
    items = related(view["links"], own, summaries(conn, ends, scope))
    groups = _by_category(items)
    return {
        "master": view,
        "golden": golden_rows(view["entity_type"], view["golden"]),
        "markers": warning_markers(view["golden"]),
        "aliases": aliases(view["golden"], view["records"]),
        "involvements": groups["event"],
        "objects": groups["object"],
        "locations": groups["location"],
        "people": groups["person"],
        "timeline": timeline(view["records"], items),
    }


def record_page(conn: Connection, record_id: str, scope: ReadScope) -> dict[str, Any]:
    view = views.get_record(conn, record_id, scope)
    links = links_of(conn, [record_id], scope)
    ends = {item["to_id"] if item["from_id"] == record_id else item["from_id"] for item in links}
    items = related(links, {record_id}, summaries(conn, ends, scope))
    etype = registry().entity(view["entity_type"])
    order = [name for name in etype.fields if name in view["data"]]
    order += sorted(set(view["data"]) - set(order))
    return {
        "record": view,
        "fields": [{"name": name, "value": view["data"][name]} for name in order],
        "related": items,
        "history": views.history(conn, record_id, scope),
    }
