"""The map: events as points or server-side clusters, filters, a heat layer, and click-through to events.

`/ui/map` is the page: a GOV.UK filter form beside a Leaflet map (event type, date from/to, and "within N
metres of a latitude and longitude"), and the events found listed under the map as links, so the map is
never the only way to reach them. `/ui/map/points` is its data: the same parameters plus the visible box
(`bbox`), answered as JSON.

Both run the search engine's own bounded, scoped look-up (`candidates`, with its box, radius and date
filters and the caller's `ReadScope` in the SQL), so nothing the caller may not see is fetched, counted,
clustered or heated. The work is bounded: the engine reads at most its CAP of candidates (and says when it
was cut off); up to MAX_POINTS events come back as individual points (events at the same spot share one),
beyond that as clusters on a GRID x GRID grid, and the heat as weights on a HEAT_GRID x HEAT_GRID grid.

The heat map is drawn by a small canvas layer in static/map.js (a Leaflet layer that stamps a weighted
radial gradient per heat cell onto a canvas, then colours it through a palette), not by a plug-in, so it
needs nothing from the network and works with no tile server.

Like a search, the map needs a reason on the session (asked for on the page; a 403 from the data), and
what it discloses is audited as a "search" with the view and the filters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from openrms.api.guard import audited
from openrms.errors import BadRequest
from openrms.schema import registry
from openrms.search.engine import candidates
from openrms.search.query import parse_query
from openrms.store.scope import ReadScope
from openrms.web import session as web
from openrms.web.pages_search import event_types
from openrms.web.reasons import ask_for_reason
from openrms.web.routing import PREFIX, WebRoute
from openrms.web.templating import render, type_label, when

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]

GRID = 16  # cluster cells across the box, once there are more than MAX_POINTS events
HEAT_GRID = 64  # heat cells across the box
MAX_POINTS = 300  # events sent as individual points; beyond this, clusters
POPUP_EVENTS = 10  # events named in one point's popup (the rest are counted)
LISTED = 50  # events listed under the map
CENTRE = (53.7996, -1.5491)  # Leeds: the demo data is West Yorkshire's
DEFAULT_BOX = "-1.70,53.72,-1.40,53.88"  # around CENTRE, for a filter sent without a box (no JavaScript)
FILTERS = ("event_type", "from", "to", "radius_m", "lat", "lon")
NEAR = ("radius_m", "lat", "lon")
LABELS = {
    "event_type": "Event type",
    "from": "Date from",
    "to": "Date to",
    "radius_m": "Distance",
    "lat": "Latitude",
    "lon": "Longitude",
    "bbox": "Map area",
}
MISSING = {
    "radius_m": "Enter a distance in metres, from 1 to 50000, to show events near a point",
    "lat": "Enter the latitude of the point, like 53.8008",
    "lon": "Enter the longitude of the point, like -1.5491",
}
OWN_TYPES = ("crime_type", "incident_type", "asb_category", "safeguarding_concern_type")
Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


# ---------------------------------------------------------------------------------------------------------
# reading the filters
# ---------------------------------------------------------------------------------------------------------


def filters_of(request: Request) -> dict[str, str]:
    """The filters given (blanks dropped), as the user typed them: they refill the form and the audit."""
    q = request.query_params
    return {k: q[k].strip() for k in FILTERS if q.get(k, "").strip()}


def check(filters: dict[str, str]) -> dict[str, str]:
    """What the engine cannot say as well: an event type not in the list, a half-given radius search."""
    errors: dict[str, str] = {}
    chosen = filters.get("event_type")
    if chosen and chosen.casefold() not in {value.casefold() for value, _ in event_types()}:
        errors["event_type"] = f"Event type {chosen!r} is not one we know: choose an event type from the list"
    if any(k in filters for k in NEAR):
        errors |= {k: MISSING[k] for k in NEAR if k not in filters}
    return errors


def engine_params(filters: dict[str, str], bbox: str | None) -> dict[str, str]:
    """The search parameters: events only, the filters, and the box unless a radius search replaces it."""
    params = {"type": "event", **filters}
    if "radius_m" not in filters and bbox:
        params["bbox"] = bbox
    return params


def field_error(exc: BadRequest) -> tuple[str, str]:
    """The form field a search error is about, and its message in the field's own words."""
    field = str(exc.extra.get("parameter") or "bbox")
    field = field if field in LABELS else "bbox"
    message = exc.detail.replace(f"parameter {field!r}: ", f"{LABELS[field]}: ", 1)
    if field == "bbox":
        message = (
            f"{message} (the map shows too large an area: zoom in)" if "zoom in" not in message else message
        )
    return ("map" if field == "bbox" else field), message


# ---------------------------------------------------------------------------------------------------------
# finding and grouping the events
# ---------------------------------------------------------------------------------------------------------


def type_text(entity_type: str, code: str | None) -> str:
    """An event's type as people say it: "Crime: Burglary", or just "Incident"."""
    kind = type_label(entity_type)
    reg = registry()
    for name in OWN_TYPES:
        codes = reg.codelists[name].codes if name in reg.codelists else {}
        if code and code in codes:
            return f"{kind}: {codes[code]}"
    return kind


def points(conn: Any, params: dict[str, str], scope: ReadScope) -> tuple[list[dict[str, Any]], bool]:
    """One point per master event that has a place (its best-ranked record), and whether the engine's
    bound cut the candidates short."""
    hits, truncated = candidates(conn, parse_query(params), scope)
    seen: set[str] = set()
    out = []
    for hit in sorted(hits, key=lambda h: -h.score):
        row = hit.row
        if row.lat is None or row.lon is None or row.master_id in seen:
            continue
        seen.add(row.master_id)
        out.append(
            {
                "id": row.record_id,
                "lat": float(row.lat),
                "lon": float(row.lon),
                "title": row.title,
                "date": row.event_date,
                "date_text": when(row.event_date),
                "type": type_text(row.entity_type, row.event_type),
                "href": f"{PREFIX}/records/{row.record_id}",
            }
        )
    return out, truncated


def _cells(items: Iterable[dict[str, Any]], box: Box, across: int) -> dict[tuple[int, int], list[dict]]:
    min_lon, min_lat, max_lon, max_lat = box
    width = max((max_lon - min_lon) / across, 1e-9)
    height = max((max_lat - min_lat) / across, 1e-9)
    cells: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        cells[(int((item["lon"] - min_lon) // width), int((item["lat"] - min_lat) // height))].append(item)
    return cells


def _point(members: list[dict[str, Any]]) -> dict[str, Any]:
    """Events at one spot: the first one's fields (title, href...) and up to POPUP_EVENTS of them named."""
    return {**members[0], "kind": "point", "count": len(members), "events": members[:POPUP_EVENTS]}


def _cluster(members: list[dict[str, Any]]) -> dict[str, Any]:
    lats = [m["lat"] for m in members]
    lons = [m["lon"] for m in members]
    return {
        "kind": "cluster",
        "lat": sum(lats) / len(lats),
        "lon": sum(lons) / len(lons),
        "count": len(members),
        "bounds": [min(lats), min(lons), max(lats), max(lons)],
    }


def group(items: list[dict[str, Any]], box: Box) -> list[dict[str, Any]]:
    """Points (events at the same spot together) while there are at most MAX_POINTS events, else grid
    clusters, with a cell holding a single event (or events at one spot) still a point."""
    spots: dict[tuple[float, float], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        spots[(round(item["lat"], 5), round(item["lon"], 5))].append(item)
    if len(items) <= MAX_POINTS:
        return [_point(members) for members in spots.values()]
    out = []
    for members in _cells(items, box, GRID).values():
        at_one_spot = len({(round(m["lat"], 5), round(m["lon"], 5)) for m in members}) == 1
        out.append(_point(members) if at_one_spot else _cluster(members))
    return out


def heat(items: list[dict[str, Any]], box: Box) -> list[list[float]]:
    """[lat, lon, weight] per heat cell with events (its events' mean position and their number)."""
    out = []
    for members in _cells(items, box, HEAT_GRID).values():
        lat = sum(m["lat"] for m in members) / len(members)
        lon = sum(m["lon"] for m in members) / len(members)
        out.append([round(lat, 6), round(lon, 6), float(len(members))])
    return out


def extent(params: dict[str, str], items: list[dict[str, Any]]) -> Box:
    """The box to group over: the visible one searched, else the events' own extent."""
    if "bbox" in params:  # parse_query has checked it by now
        parts = [float(p) for p in params["bbox"].split(",")]
        return parts[0], parts[1], parts[2], parts[3]
    lons = [i["lon"] for i in items] or [0.0]
    lats = [i["lat"] for i in items] or [0.0]
    return min(lons), min(lats), max(lons), max(lats)


# ---------------------------------------------------------------------------------------------------------
# the page and its data
# ---------------------------------------------------------------------------------------------------------


def _context(request: Request, filters: dict[str, str]) -> dict[str, Any]:
    query = request.query_params
    return {
        "nav": "map",
        "values": {k: query.get(k, "") for k in FILTERS},
        "heat_on": query.get("heat", "") == "1",
        "event_types": event_types(),
        "errors": {},
        "events": [],
        "total": 0,
        "truncated": False,
        "centre": CENTRE,
        "searched": bool(filters) or "bbox" in query,
    }


@router.get("/map")
def map_page(request: Request, scope: Scope) -> Response:
    if not web.with_purpose(request).subject.reason:
        return ask_for_reason(request, "Why are you looking at events on the map?", "map search")
    filters = filters_of(request)
    context = _context(request, filters)
    context["errors"] = check(filters)
    if context["searched"] and not context["errors"]:
        bbox = request.query_params.get("bbox", "").strip() or DEFAULT_BOX
        try:
            with web.database(request).read() as conn:
                items, truncated = points(conn, engine_params(filters, bbox), scope)
        except BadRequest as exc:
            field, message = field_error(exc)
            context["errors"] = {field: message}
        else:
            listed = sorted(items, key=lambda i: i["date"] or "", reverse=True)[:LISTED]
            audited(request, "search", [i["id"] for i in listed], _detail(filters, len(items), "page"))
            context.update(events=listed, total=len(items), truncated=truncated)
    return render(request, "map.html", context, status_code=400 if context["errors"] else 200)


def _detail(filters: dict[str, str], total: int, part: str) -> dict[str, Any]:
    return {"view": "map", "part": part, "filters": filters, "total": total}


def _error(message: str, status: int, field: str | None = None) -> JSONResponse:
    body = {"error": message, "field": field, "clusters": [], "heat": [], "total": 0, "truncated": False}
    return JSONResponse(body, status_code=status)


@router.get("/map/points")
def map_points(request: Request, scope: Scope) -> Response:
    """The events for the map as JSON: points or clusters, heat cells, the total and whether it is cut."""
    if not web.with_purpose(request).subject.reason:
        return _error("Give a reason for this search first: reload the page", 403)
    filters = filters_of(request)
    bbox = request.query_params.get("bbox", "").strip()
    if not bbox and "radius_m" not in filters:
        return _error("Give the visible box (bbox) or a distance, latitude and longitude", 400, "bbox")
    errors = check(filters)
    if errors:
        field, message = next(iter(errors.items()))
        return _error(message, 400, field)
    params = engine_params(filters, bbox)
    try:
        with web.database(request).read() as conn:
            items, truncated = points(conn, params, scope)
    except BadRequest as exc:
        field, message = field_error(exc)
        return _error(message, 400, "bbox" if field == "map" else field)
    box = extent(params, items)
    clusters = group(items, box)
    shown = [e["id"] for c in clusters if c["kind"] == "point" for e in c["events"]]
    audited(request, "search", shown, _detail(filters, len(items), "points"))
    body = {"clusters": clusters, "heat": heat(items, box), "total": len(items), "truncated": truncated}
    return JSONResponse(body)
