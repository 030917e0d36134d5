"""The link chart: the network around a record to N hops, expandable, filterable, exportable.

`/ui/network/{id}` is the page: a GOV.UK filter form (hops, link types, a date window), the chart drawn by
static/network.js with the vendored Cytoscape, and the same nodes and links as tables, so the chart is
never the only way to read the network (screen readers, no JavaScript). `graph.json` is the same graph as
data (with `expand=NODE`, one node's ring of neighbours, which the chart adds when a node is selected);
`graphml` is the download for analysts' tools. The PNG is made in the browser from the drawn chart.

The walk is `openrms.web.network`: it reads through the caller's scope in every query, so a record the
caller may not see is a 404 exactly like a missing one, and never shows up as a neighbour. Like a search,
the chart needs a reason on the session, and each read is audited (inside `disclosing`) with the ids of
every record it showed, the purpose and reason, and the filters.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from openrms.api.guard import audited, disclosing
from openrms.errors import BadRequest, NotFound
from openrms.store import views
from openrms.store.scope import ReadScope
from openrms.web import session as web
from openrms.web.network import (
    MAX_HOPS,
    MAX_NODES,
    SAME_ENTITY,
    Filters,
    Graph,
    graphml,
    link_type_choices,
    neighbourhood,
    network,
    parse_filters,
)
from openrms.web.reasons import ask_for_reason
from openrms.web.routing import PREFIX, WebRoute, checked_id
from openrms.web.templating import render, type_label, ui, when

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]
REASON_HEADING = "Why are you drawing this network?"
NO_REASON = "Give a reason for drawing the network first: reload the page"
FIELDS = {"hops": "hops", "link_types": "type-0", "from": "from", "to": "to"}  # error -> the field's id
# Entity categories as the legend shows them; network.js draws the same shapes and colours.
LEGEND = (
    ("person", "Person", "circle"),
    ("object", "Object (vehicle, phone, document...)", "diamond"),
    ("location", "Location", "triangle"),
    ("event", "Event (crime, incident...)", "square"),
)


def filters_of(request: Request) -> tuple[Filters, dict[str, str]]:
    q = request.query_params
    return parse_filters(q.get("hops"), q.getlist("type"), q.get("from"), q.get("to"))


def _detail(part: str, start: str, filters: Filters, graph: Graph, **more: Any) -> dict[str, Any]:
    return {
        "view": "network",
        "part": part,
        "start": start,
        "filters": filters.as_detail(),
        "nodes": len(graph.nodes),
        "edges": len(graph.edges),
        "capped": graph.capped,
        **more,
    }


def _query(request: Request) -> str:
    """The filters as a query string (without `expand`), for the download links and the JS."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in ("hops", "type", "from", "to")]
    return "&".join(f"{k}={_quote(v)}" for k, v in kept)


def _quote(value: str) -> str:
    return quote(value, safe="")


def _rows(graph: Graph) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The table fallback: nodes by distance then name; links with both ends named and dates in words."""
    names = {n["id"]: n for n in graph.nodes}
    nodes = sorted(graph.nodes, key=lambda n: (n["depth"], n["type_label"], n["label"]))
    links = []
    for edge in graph.edges:
        source, target = names.get(edge["source"]), names.get(edge["target"])
        if source is None or target is None:
            continue
        dates = " to ".join(when(d) for d in (edge["valid_from"], edge["valid_to"]) if d)
        links.append(
            {
                **edge,
                "source_node": source,
                "target_node": target,
                "dates": dates or (f"Recorded {when(edge['created'])}" if edge["created"] else ""),
            }
        )
    links.sort(key=lambda e: (e["source_node"]["label"], e["label"], e["target_node"]["label"]))
    return nodes, links


def _context(request: Request, record_id: str, filters: Filters) -> dict[str, Any]:
    q = request.query_params
    query = _query(request)
    base = ui(f"/network/{_quote(record_id)}")
    return {
        "nav": "search",
        "record_id": record_id,
        "values": {
            "hops": q.get("hops", "") or str(filters.hops),
            "from": q.get("from", ""),
            "to": q.get("to", ""),
        },
        "chosen": set(q.getlist("type")),
        "hop_choices": list(range(1, MAX_HOPS + 1)),
        "link_types": link_type_choices(),
        "same_entity": SAME_ENTITY,
        "legend": LEGEND,
        "max_nodes": MAX_NODES,
        "errors": {},
        "graph": None,
        "page_url": base,
        "data_url": f"{base}/graph.json" + (f"?{query}" if query else ""),
        "graphml_url": f"{base}/graphml" + (f"?{query}" if query else ""),
        "field_ids": FIELDS,
    }


@router.get("/network/{record_id}")
def network_page(request: Request, record_id: str, scope: Scope) -> Response:
    wanted = checked_id(record_id)
    if not web.with_purpose(request).subject.reason:
        return ask_for_reason(request, REASON_HEADING, "link chart")
    filters, errors = filters_of(request)
    context = _context(request, wanted, filters)
    if errors:
        context["errors"] = {FIELDS[k]: v for k, v in errors.items()}
        return render(request, "network.html", context, status_code=400)
    with disclosing(request) as conn:
        graph = network(conn, wanted, scope, filters)
        audited(request, "read-links", graph.record_ids, _detail("page", wanted, filters, graph))
    nodes, links = _rows(graph)
    start = next(n for n in graph.nodes if n["start"])
    context.update(graph=graph, start=start, node_rows=nodes, link_rows=links, data=graph.as_json())
    return render(request, "network.html", context)


def _error(message: str, status: int, field: str | None = None) -> JSONResponse:
    body = {"error": message, "field": field, "nodes": [], "edges": [], "capped": False}
    return JSONResponse(body, status_code=status)


@router.get("/network/{record_id}/graph.json")
def network_data(request: Request, record_id: str, scope: Scope) -> Response:
    """The chart's graph as JSON; with `expand=NODE`, that node's neighbours (one hop, same filters)."""
    if not web.with_purpose(request).subject.reason:
        return _error(NO_REASON, 403)
    filters, errors = filters_of(request)
    if errors:
        field, message = next(iter(errors.items()))
        return _error(message, 400, field)
    expand = request.query_params.get("expand")
    try:
        wanted = checked_id(record_id)
        node = checked_id(expand) if expand is not None else None
        with disclosing(request) as conn:
            if node is None:
                graph = network(conn, wanted, scope, filters)
            else:
                views.get_record(conn, wanted, scope)  # the chart's own start must be visible too
                graph = neighbourhood(conn, node, scope, filters)
                for item in graph.nodes:
                    item["start"] = item["id"] == wanted
            part = "expand" if node is not None else "graph"
            detail = _detail(part, wanted, filters, graph, **({"expand": node} if node else {}))
            audited(request, "read-links", graph.record_ids, detail)
    except NotFound as exc:
        return _error(exc.detail, 404)
    return JSONResponse({**graph.as_json(), "expanded": node})


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@router.get("/network/{record_id}/graphml")
def network_graphml(request: Request, record_id: str, scope: Scope) -> Response:
    """The chart as a GraphML file to download (the same filters as the page)."""
    wanted = checked_id(record_id)
    if not web.with_purpose(request).subject.reason:
        return ask_for_reason(request, REASON_HEADING, "link chart")
    filters, errors = filters_of(request)
    if errors:
        raise BadRequest("; ".join(errors.values()))
    with disclosing(request) as conn:
        graph = network(conn, wanted, scope, filters)
        audited(request, "read-links", graph.record_ids, _detail("graphml", wanted, filters, graph))
    start = next(n for n in graph.nodes if n["start"])
    description = f"OpenRMS link chart around {type_label(start['entity_type'])} {start['label']}"
    name = _SAFE_NAME.sub("-", wanted)[:60] or "record"
    return Response(
        graphml(graph, description),
        media_type="application/graphml+xml",
        headers={"Content-Disposition": f'attachment; filename="network-{name}.graphml"'},
    )
