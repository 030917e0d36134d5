"""The map: events in the visible box (or a radius), clustered on a grid on the server, with filters.

The page draws with Leaflet; tiles come from OPENRMS_TILE_URL when set, otherwise the map is a plain
background that still shows the points. `/ui/map/points` answers the visible box with clusters; the page
also lists the events as links, so the map is never the only way to reach them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from openrms.errors import BadRequest
from openrms.search.engine import candidates
from openrms.search.query import parse_query
from openrms.store.scope import ReadScope
from openrms.web import session as web
from openrms.web.pages_search import event_types
from openrms.web.routing import PREFIX, WebRoute
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]

GRID = 16  # cells across the visible box
LISTED = 50
CENTRE = (53.7996, -1.5491)  # Leeds: the demo data is West Yorkshire's
FILTERS = ("event_type", "from", "to")


def _criteria(request: Request) -> dict[str, str]:
    q = request.query_params
    out = {k: q[k].strip() for k in (*FILTERS, "bbox", "lat", "lon", "radius_m") if q.get(k, "").strip()}
    out["type"] = "event"
    return out


def points(conn: Any, params: dict[str, str], scope: ReadScope) -> list[dict[str, Any]]:
    """One point per master event that has a place, best-ranked record first."""
    query = parse_query(params)
    hits, _truncated = candidates(conn, query, scope)
    seen: set[str] = set()
    out = []
    for hit in sorted(hits, key=lambda h: -h.score):
        row = hit.row
        if row.lat is None or row.master_id in seen:
            continue
        seen.add(row.master_id)
        out.append(
            {
                "lat": float(row.lat),
                "lon": float(row.lon),
                "title": row.title,
                "date": row.event_date,
                "href": f"{PREFIX}/records/{row.record_id}",
            }
        )
    return out


def cluster(items: list[dict[str, Any]], box: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    """Group points on a GRID x GRID grid over `box` (min lon, min lat, max lon, max lat)."""
    min_lon, min_lat, max_lon, max_lat = box
    width = max((max_lon - min_lon) / GRID, 1e-9)
    height = max((max_lat - min_lat) / GRID, 1e-9)
    cells: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        cells[(int((item["lon"] - min_lon) // width), int((item["lat"] - min_lat) // height))].append(item)
    out = []
    for members in cells.values():
        if len(members) == 1:
            out.append({**members[0], "count": 1})
            continue
        out.append(
            {
                "lat": sum(m["lat"] for m in members) / len(members),
                "lon": sum(m["lon"] for m in members) / len(members),
                "count": len(members),
            }
        )
    return out


def _box(params: dict[str, str], items: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    if "bbox" in params:
        parts = [float(p) for p in params["bbox"].split(",")]
        return parts[0], parts[1], parts[2], parts[3]
    lons = [i["lon"] for i in items] or [0.0]
    lats = [i["lat"] for i in items] or [0.0]
    return min(lons), min(lats), max(lons), max(lats)


@router.get("/map")
def map_page(request: Request, scope: Scope) -> Response:
    params = _criteria(request)
    context: dict[str, Any] = {
        "nav": "map",
        "values": {k: request.query_params.get(k, "") for k in FILTERS},
        "event_types": event_types(),
        "errors": {},
        "events": [],
        "centre": CENTRE,
        "searched": "bbox" in params or "lat" in params,
    }
    if context["searched"]:
        try:
            with web.database(request).read() as conn:
                context["events"] = points(conn, params, scope)[:LISTED]
        except BadRequest as exc:
            field = str(exc.extra.get("parameter") or "event_type")
            context["errors"] = {field if field in FILTERS else "event_type": exc.detail}
    return render(request, "map.html", context, status_code=400 if context["errors"] else 200)


@router.get("/map/points")
def map_points(request: Request, scope: Scope) -> Response:
    params = _criteria(request)
    if "bbox" not in params and "lat" not in params:
        raise BadRequest("give the visible box (bbox) or a centre and radius (lat, lon, radius_m)")
    try:
        with web.database(request).read() as conn:
            items = points(conn, params, scope)
    except BadRequest as exc:
        return JSONResponse({"error": exc.detail, "clusters": [], "total": 0}, status_code=400)
    return JSONResponse({"clusters": cluster(items, _box(params, items)), "total": len(items)})
