"""The data of the person profile (the single view) and of a record page, as plain dicts for templates.

Everything comes from the library's scoped reads: the master view with its survivorship golden values,
the links of its records, and one batched summary of the records at their other ends.

The profile also says which agencies hold records of this person (or involvements of them) that the
caller cannot see, as match does for a restricted candidate ("a restricted record may match; contact NYP"),
so nobody concludes there is nothing more to know. It names only what a sharing agreement with that agency
would open to the caller: a record hidden by its classification, its handling (4 or 5) or a restriction to
named people is hidden for reasons an agreement cannot lift, and its existence stays secret too.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, case, not_, or_, select

from openrms.access.policy import Policy
from openrms.identity import normalise as n
from openrms.identity import survivorship
from openrms.schema import registry
from openrms.store import views
from openrms.store.links import links_of
from openrms.store.scope import ReadScope
from openrms.store.tables import agency as agency_table
from openrms.store.tables import link, other_record, record
from openrms.web.lookups import summaries
from openrms.web.templating import ui

TIMELINE_MAX = 50
NAME_FIELDS = ("forenames", "surname")


def href(summary: dict[str, Any]) -> str:
    """Where a record is shown: a person's profile (by master), else its record page. The rule of the
    `record_href` macro, computed once per row here: a macro call per row was a third of the render time
    of a profile with hundreds of involvements."""
    if summary["entity_type"] == "person" and summary.get("master_id"):
        return ui(f"/people/{summary['master_id']}")
    return ui(f"/records/{summary['id']}")


def related(
    links: Iterable[dict[str, Any]], own_ids: set[str], others: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each link seen from our side: the record at the other end (and where it is shown) and the
    relationship in words."""
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
                "href": href(other),
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


def _item_entry(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": item["date"],
        "label": f"{item['role']}: {item['other']['title']}",
        "text": f"Recorded by {item['link']['provenance']['agency']}",
        "href": item["href"],
    }


def _record_entry(rec: dict[str, Any]) -> dict[str, Any]:
    p = rec["provenance"]
    return {
        "date": p["created_at"],
        "label": f"Record created by {p['agency']}",
        "text": f"{p['source_system']} record {p['source_key'] or rec['id']}, by {p['created_by']}",
        "href": None,
    }


def timeline(records: list[dict[str, Any]], items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The newest TIMELINE_MAX dated involvements, links and source records, newest first, and how many
    there are in all. Only the entries shown are built (`nlargest` keeps the order of equal dates, as a
    stable sort would): every involvement is in the involvements table already, and a timeline of
    hundreds repeats it at a cost to every view of a busy person."""
    dated = [(str(item["date"]), item, _item_entry) for item in items if item["date"]]
    dated += [(str(rec["provenance"]["created_at"]), rec, _record_entry) for rec in records]
    newest = heapq.nlargest(TIMELINE_MAX, dated, key=lambda entry: entry[0])
    return [make(source) for _, source, make in newest], len(dated)


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


def _hidden_sources(conn: Connection, master_id: str, policy: Policy) -> list[str]:
    """Agencies holding live source records of the master that the caller may not see, but that an
    agreement could open to them (`Policy.mentionable`, the rule match uses too)."""
    r = record
    rows = conn.execute(
        select(r.c.agency)
        .distinct()
        .where(
            r.c.master_id == master_id,
            r.c.deleted.is_(False),
            not_(policy.records(r)),
            policy.mentionable(r),
        )
    )
    return [agency for (agency,) in rows]


def _hidden_involvements(conn: Connection, own_ids: list[str], policy: Policy) -> list[str]:
    """Agencies holding the hidden part (the link, or the record at its other end) of live links of the
    caller's visible records, where an agreement could open both parts."""
    if not own_ids:
        return []
    o = other_record
    other_end = case((link.c.from_id.in_(own_ids), link.c.to_id), else_=link.c.from_id)
    link_seen, end_seen = policy.links(link), policy.records(o)
    rows = conn.execute(
        select(link.c.agency, link_seen.label("link_seen"), o.c.agency.label("other_agency"), end_seen)
        .join(o, o.c.id == other_end)
        .where(
            or_(link.c.from_id.in_(own_ids), link.c.to_id.in_(own_ids)),
            link.c.deleted.is_(False),
            o.c.deleted.is_(False),
            not_(and_(link_seen, end_seen)),
            policy.mentionable(link),
            policy.mentionable(o),
        )
    )
    found: set[str] = set()
    for agency, seen_link, other_agency, seen_end in rows:
        found.update(code for code, seen in ((agency, seen_link), (other_agency, seen_end)) if not seen)
    return sorted(found)


def restricted_holders(
    conn: Connection, master_id: str, own_ids: list[str], scope: ReadScope
) -> list[dict[str, str]]:
    """The agencies (code and name) to contact about records of this person, or involvements of them,
    that the caller may not see but that a sharing agreement with the agency would show them (see the
    module docstring). Empty for the system's own unrestricted view."""
    if not isinstance(scope, Policy):
        return []
    codes = {*_hidden_sources(conn, master_id, scope), *_hidden_involvements(conn, own_ids, scope)}
    codes.discard(scope.subject.agency)
    return _agency_names(conn, codes)


def _agency_names(conn: Connection, codes: set[str]) -> list[dict[str, str]]:
    if not codes:
        return []
    rows = conn.execute(
        select(agency_table.c.code, agency_table.c.name).where(agency_table.c.code.in_(sorted(codes)))
    )
    names = {code: name for code, name in rows}
    return [{"code": code, "name": names.get(code, code)} for code in sorted(codes)]


def person_profile(conn: Connection, master_id: str, scope: ReadScope) -> dict[str, Any]:
    view = survivorship.master_view(conn, master_id, scope)
    own = {r["id"] for r in view["records"]}
    ends = {item["to_id"] if item["from_id"] in own else item["from_id"] for item in view["links"]}
    items = related(view["links"], own, summaries(conn, ends, scope))
    groups = _by_category(items)
    entries, dated = timeline(view["records"], items)
    return {
        "master": view,
        "restricted": restricted_holders(conn, master_id, sorted(own), scope),
        "golden": golden_rows(view["entity_type"], view["golden"]),
        "markers": warning_markers(view["golden"]),
        "aliases": aliases(view["golden"], view["records"]),
        "involvements": groups["event"],
        "objects": groups["object"],
        "locations": groups["location"],
        "people": groups["person"],
        "timeline": entries,
        "timeline_total": dated,
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
