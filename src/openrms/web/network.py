"""The link chart's graph: a breadth-first walk from one record over the links the caller may see.

Every step reads through the caller's `ReadScope` inside the query (`links_of` for the next ring of
neighbours, and the scope's `links`/`records` conditions for the links among the nodes found), so a record
or link the caller may not see is never returned, not even as a node id or a count. Retracted links and
retracted records are left out; only current link versions are used.

Records of one resolved entity (the same person recorded by two agencies) are joined by a "same entity"
edge, so the chart drawn from any one of a person's records shows the network of the whole person. It is
a pseudo link type (`SAME_ENTITY`), chosen or left out like any other in the link-type filter.

The walk is bounded: at most MAX_HOPS rings, at most MAX_NODES nodes (the graph says when it was cut), and
at most LINK_LIMIT links read per ring. `graphml` writes the graph as GraphML for analysts' tools (Gephi,
yEd, i2 importers); `parse_filters` turns the page's query into `Filters` or field errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree
from sqlalchemy import Connection, and_, select

from openrms.schema import registry
from openrms.schema.types import FieldTypeError, partial_date
from openrms.store import views
from openrms.store.links import links_of
from openrms.store.scope import ReadScope
from openrms.store.tables import link, link_version, record
from openrms.web.lookups import summaries
from openrms.web.profile import href

DEFAULT_HOPS = 2
MAX_HOPS = 4
MAX_NODES = 150
LINK_LIMIT = 5000  # links read per ring; more than this and the graph says it was cut
SAME_ENTITY = "SAME_ENTITY"
SAME_ENTITY_LABEL = "Same entity as"
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
GRAPHML_XSD = "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd"


@dataclass(frozen=True)
class Filters:
    """What the chart walks over: how many rings, which link types (empty: all) and which dates."""

    hops: int = DEFAULT_HOPS
    link_types: frozenset[str] = frozenset()
    date_from: str | None = None
    date_to: str | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filters as the audit records them."""
        out: dict[str, Any] = {"hops": self.hops}
        if self.link_types:
            out["link_types"] = sorted(self.link_types)
        if self.date_from:
            out["from"] = self.date_from
        if self.date_to:
            out["to"] = self.date_to
        return out


@dataclass
class Graph:
    """Nodes and edges as plain dicts (they go to templates, JSON and GraphML alike)."""

    start: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    capped: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "nodes": self.nodes,
            "edges": self.edges,
            "capped": self.capped,
        }

    @property
    def record_ids(self) -> list[str]:
        return [n["id"] for n in self.nodes]


# ---------------------------------------------------------------------------------------------------------
# filters
# ---------------------------------------------------------------------------------------------------------


def link_type_choices() -> list[tuple[str, str]]:
    """(name, label) of every link type a chart can be filtered by, the "same entity" pseudo type first."""
    types = sorted(registry().link_types.values(), key=lambda t: t.label)
    return [(SAME_ENTITY, f"{SAME_ENTITY_LABEL} (records resolved to one entity)")] + [
        (t.name, t.label) for t in types
    ]


def _date(value: str, label: str) -> str:
    try:
        return partial_date(value)
    except FieldTypeError as exc:
        raise ValueError(f"{label}: {exc}; enter a date like 2018-07-14, or a month like 2018-07") from None


def parse_filters(
    hops: str | None, types: Sequence[str], date_from: str | None, date_to: str | None
) -> tuple[Filters, dict[str, str]]:
    """The filters from the query as typed, and a message per field that is wrong (none: all good)."""
    errors: dict[str, str] = {}
    depth = DEFAULT_HOPS
    text = (hops or "").strip()
    if text:
        if not text.isdigit() or not 1 <= int(text) <= MAX_HOPS:
            errors["hops"] = f"Hops must be a whole number from 1 to {MAX_HOPS}, not {text[:20]!r}"
        else:
            depth = int(text)
    known = dict(link_type_choices())
    chosen = frozenset(t.strip() for t in types if t.strip())
    unknown = sorted(chosen - known.keys())
    if unknown:
        errors["link_types"] = f"Unknown link type {unknown[0][:40]!r}: choose link types from the list"
    dates: dict[str, str | None] = {"from": None, "to": None}
    for name, value, label in (("from", date_from, "Date from"), ("to", date_to, "Date to")):
        if value and value.strip():
            try:
                dates[name] = _date(value.strip(), label)
            except ValueError as exc:
                errors[name] = str(exc)
    lo, hi = dates["from"], dates["to"]
    if lo and hi and _before(hi, lo):
        errors["from"] = f"Date from ({lo}) is after date to ({hi})"
    return Filters(depth, chosen, lo, hi), errors


def _before(a: str, b: str) -> bool:
    """Whether date `a` ends before `b` starts, compared on their common precision (2018-07 is not before
    2018-07-14: the month contains the day)."""
    n = min(len(a), len(b))
    return a[:n] < b[:n]


def in_window(item: Mapping[str, Any], filters: Filters) -> bool:
    """A link's validity (or, with none, the date it was recorded) overlaps the date window."""
    if not filters.date_from and not filters.date_to:
        return True
    start, end = item.get("valid_from"), item.get("valid_to")
    if not start and not end:
        start = end = item.get("created")
    if filters.date_from and end and _before(end, filters.date_from):
        return False
    return not (filters.date_to and start and _before(filters.date_to, start))


def wanted(item: Mapping[str, Any], filters: Filters) -> bool:
    if filters.link_types and item["type"] not in filters.link_types:
        return False
    return item["type"] == SAME_ENTITY or in_window(item, filters)


# ---------------------------------------------------------------------------------------------------------
# the walk
# ---------------------------------------------------------------------------------------------------------


def _edge(item: Mapping[str, Any]) -> dict[str, Any]:
    """An edge from `links_of`'s view of a link."""
    return {
        "id": item["id"],
        "type": item["link_type"],
        "label": item["label"],
        "source": item["from_id"],
        "target": item["to_id"],
        "valid_from": item["valid_from"],
        "valid_to": item["valid_to"],
        "created": item["provenance"]["created_at"][:10],
    }


def _same_entity(a: str, b: str) -> dict[str, Any]:
    low, high = sorted((a, b))
    return {
        "id": f"same:{low}:{high}",
        "type": SAME_ENTITY,
        "label": SAME_ENTITY_LABEL,
        "source": low,
        "target": high,
        "valid_from": None,
        "valid_to": None,
        "created": None,
    }


def _siblings(conn: Connection, ids: Sequence[str], scope: ReadScope) -> list[tuple[str, str]]:
    """(record, other live record of the same master) pairs the caller may see, for records in `ids`."""
    if not ids:
        return []
    ours, other = record.alias("ours"), record.alias("sibling")
    rows = conn.execute(
        select(ours.c.id, other.c.id.label("other_id"))
        .join(other, and_(other.c.master_id == ours.c.master_id, other.c.id != ours.c.id))
        .where(ours.c.id.in_(list(ids)), other.c.deleted.is_(False), scope.records(other))
        .order_by(ours.c.id, other.c.id)
    )
    return [(r.id, r.other_id) for r in rows]


def _ring(
    conn: Connection, frontier: Sequence[str], scope: ReadScope, filters: Filters
) -> tuple[list[str], bool]:
    """The records one hop from `frontier` over wanted links (in a stable order), and whether the links
    read were cut at LINK_LIMIT."""
    inside = set(frontier)
    found: list[str] = []
    if not filters.link_types or filters.link_types - {SAME_ENTITY}:
        items = links_of(conn, list(frontier), scope, limit=LINK_LIMIT)
        cut = len(items) >= LINK_LIMIT
        for item in items:
            if not wanted(_edge(item), filters):
                continue
            found.extend(end for end in (item["from_id"], item["to_id"]) if end not in inside)
    else:
        cut = False
    if not filters.link_types or SAME_ENTITY in filters.link_types:
        found.extend(other for _, other in _siblings(conn, frontier, scope))
    return found, cut


def _links_among(conn: Connection, ids: Sequence[str], scope: ReadScope) -> list[dict[str, Any]]:
    """Current, live links with both ends among `ids` that the caller may see (both ends checked by the
    scope again, so the edges can never name a record the nodes did not)."""
    if len(ids) < 2:
        return []
    a, b = record.alias("from_end"), record.alias("to_end")
    rows = conn.execute(
        select(
            link.c.id,
            link.c.link_type,
            link.c.from_id,
            link.c.to_id,
            link.c.created_at,
            link_version.c.valid_from,
            link_version.c.valid_to,
        )
        .join(
            link_version,
            and_(link_version.c.link_id == link.c.id, link_version.c.version == link.c.current_version),
        )
        .join(a, a.c.id == link.c.from_id)
        .join(b, b.c.id == link.c.to_id)
        .where(
            link.c.from_id.in_(list(ids)),
            link.c.to_id.in_(list(ids)),
            link.c.deleted.is_(False),
            scope.links(link),
            scope.records(a),
            scope.records(b),
        )
        .order_by(link.c.id)
    )
    types = registry().link_types
    return [
        {
            "id": r.id,
            "type": r.link_type,
            "label": types[r.link_type].label if r.link_type in types else r.link_type,
            "source": r.from_id,
            "target": r.to_id,
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            "created": r.created_at.date().isoformat(),
        }
        for r in rows
    ]


def _node(summary: Mapping[str, Any], depth: int, start: bool) -> dict[str, Any]:
    etype = registry().entity_types.get(summary["entity_type"])
    return {
        "id": summary["id"],
        "entity_type": summary["entity_type"],
        "type_label": etype.label if etype else summary["entity_type"],
        "category": summary["category"],
        "label": summary["title"],
        "start": start,
        "depth": depth,
        "href": href(summary),
    }


def network(
    conn: Connection, start_id: str, scope: ReadScope, filters: Filters, *, max_nodes: int | None = None
) -> Graph:
    """The graph around `start_id` to `filters.hops` rings, at most `max_nodes` (default MAX_NODES) nodes.
    NotFound (as for a missing record) when the caller may not see the start."""
    max_nodes = max_nodes or MAX_NODES
    start = views.get_record(conn, start_id, scope)
    depth: dict[str, int] = {start_id: 0}
    frontier, capped = [start_id], False
    for level in range(1, filters.hops + 1):
        found, cut = _ring(conn, frontier, scope, filters)
        capped = capped or cut
        fresh: list[str] = []
        for other in found:
            if other in depth:
                continue
            if len(depth) >= max_nodes:
                capped = True
                break
            depth[other] = level
            fresh.append(other)
        frontier = fresh
        if not frontier or capped:  # when full, the next ring is still read: to say if anything was left
            break
    ids = list(depth)
    about = summaries(conn, ids, scope)
    about.setdefault(start_id, {**start, "date": None})  # a retracted start is not among the summaries
    nodes = [_node(about[i], depth[i], i == start_id) for i in ids if i in about]
    shown = {n["id"] for n in nodes}
    edges = [e for e in _links_among(conn, sorted(shown), scope) if wanted(e, filters)]
    if not filters.link_types or SAME_ENTITY in filters.link_types:
        pairs = {tuple(sorted(p)) for p in _siblings(conn, sorted(shown), scope) if p[1] in shown}
        edges += [_same_entity(x, y) for x, y in sorted(pairs)]
    return Graph(start_id, nodes, edges, capped)


def neighbourhood(conn: Connection, node_id: str, scope: ReadScope, filters: Filters) -> Graph:
    """One node's ring of neighbours (the chart's "expand"), with the same filters and the node cap."""
    return network(conn, node_id, scope, replace(filters, hops=1))


# ---------------------------------------------------------------------------------------------------------
# GraphML
# ---------------------------------------------------------------------------------------------------------

_NODE_KEYS = (("label", "string"), ("entity_type", "string"), ("category", "string"), ("start", "boolean"))
_EDGE_KEYS = (
    ("link_type", "string"),
    ("link_label", "string"),
    ("valid_from", "string"),
    ("valid_to", "string"),
    ("created", "string"),
)


def _data(parent: etree._Element, key: str, value: Any) -> None:
    if value in (None, ""):
        return
    element = etree.SubElement(parent, f"{{{GRAPHML_NS}}}data", key=key)
    element.text = ("true" if value else "false") if isinstance(value, bool) else str(value)


def graphml(graph: Graph, description: str = "") -> bytes:
    """The graph as a GraphML document (UTF-8), with declared keys for every attribute written, so tools
    that import GraphML (yEd, Gephi, NetworkX) keep the labels, entity types, link types and dates."""
    root = etree.Element(f"{{{GRAPHML_NS}}}graphml", nsmap={None: GRAPHML_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{GRAPHML_NS} {GRAPHML_XSD}")
    for scope, keys in (("node", _NODE_KEYS), ("edge", _EDGE_KEYS)):
        for name, kind in keys:
            etree.SubElement(
                root,
                f"{{{GRAPHML_NS}}}key",
                {"id": name, "for": scope, "attr.name": name, "attr.type": kind},
            )
    desc = etree.SubElement(root, f"{{{GRAPHML_NS}}}desc")
    desc.text = description or f"OpenRMS link chart around record {graph.start}"
    body = etree.SubElement(root, f"{{{GRAPHML_NS}}}graph", id="G", edgedefault="directed")
    for node in graph.nodes:
        element = etree.SubElement(body, f"{{{GRAPHML_NS}}}node", id=node["id"])
        for name, value in (
            ("label", node["label"]),
            ("entity_type", node["entity_type"]),
            ("category", node["category"]),
            ("start", bool(node["start"])),
        ):
            _data(element, name, value)
    for edge in graph.edges:
        element = etree.SubElement(
            body,
            f"{{{GRAPHML_NS}}}edge",
            id=edge["id"],
            source=edge["source"],
            target=edge["target"],
            directed="false" if _symmetric(edge["type"]) else "true",
        )
        for name, value in (
            ("link_type", edge["type"]),
            ("link_label", edge["label"]),
            ("valid_from", edge["valid_from"]),
            ("valid_to", edge["valid_to"]),
            ("created", edge["created"]),
        ):
            _data(element, name, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _symmetric(link_type: str) -> bool:
    found = registry().link_types.get(link_type)
    return link_type == SAME_ENTITY or bool(found and found.symmetric)
