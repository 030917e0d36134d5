"""The home page, the search page (one box plus advanced filters) and search-as-you-type suggestions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from openrms.api.guard import audited
from openrms.errors import BadRequest
from openrms.schema import registry
from openrms.search.engine import search
from openrms.search.query import PARAMETERS, parse_query
from openrms.search.suggest import suggest
from openrms.store.scope import ReadScope
from openrms.web import paging
from openrms.web import session as web
from openrms.web.reasons import ask_for_reason
from openrms.web.routing import PREFIX, WebRoute
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]

# The advanced filters shown on the page, in order: (parameter, label, hint).
FILTERS = (
    ("dob", "Date of birth", "For example 1985, 1985-03 or 1985-03-02; ~1985 means about 1985"),
    ("vrm", "Vehicle registration", "Whole or partial; ? is one character and * any run, like AB1?C*"),
    ("postcode", "Postcode", "Full postcode, sector (LS1 4) or district (LS1)"),
    ("from", "Events from", "A date, like 2018-07-01, or a month, like 2018-07"),
    ("to", "Events to", "A date, like 2018-07-31, or a month"),
)
CATEGORIES = (
    ("person", "People"),
    ("object", "Objects and vehicles"),
    ("location", "Places"),
    ("event", "Events"),
)
PER_PAGE = 20
SUGGESTIONS = 8


def event_types() -> list[tuple[str, str]]:
    """Event entity types and crime types, for the event type filter."""
    reg = registry()
    options = [(e.name, e.label) for e in reg.of_category("event")]
    options += [(code, f"Crime: {label}") for code, label in reg.codelists["crime_type"].codes.items()]
    return options


def criteria(request: Request) -> dict[str, list[str]]:
    """The search parameters of this request: known names only, blanks dropped."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key in PARAMETERS and value.strip():
            params.setdefault(key, []).append(value.strip())
    return params


def _single(params: dict[str, list[str]]) -> dict[str, Any]:
    return {k: (v if k == "type" else v[0]) for k, v in params.items()}


def page_url(params: dict[str, list[str]], page: int) -> str:
    pairs = [(k, v) for k, values in params.items() if k != "page" for v in values]
    return f"{PREFIX}/search?{urlencode([*pairs, ('page', str(page))])}"


def pagination(params: dict[str, list[str]], page: int, total: int, per_page: int) -> dict[str, Any] | None:
    return paging.pagination(lambda number: page_url(params, number), page, max(1, -(-total // per_page)))


@router.get("/")
def home(request: Request, scope: Scope) -> Response:
    return render(request, "home.html", {"q": "", "nav": "search"})


@router.get("/search")
def search_page(request: Request, scope: Scope) -> Response:
    params = criteria(request)
    context: dict[str, Any] = {
        "nav": "search",
        "params": params,
        "q": params.get("q", [""])[0],
        "filters": FILTERS,
        "categories": CATEGORIES,
        "event_types": event_types(),
        "errors": {},
        "result": None,
        "pagination": None,
    }
    if not set(params) - {"page", "per_page", "sort", "fuzzy", "phonetic", "nicknames"}:
        return render(request, "search.html", context)
    if not web.with_purpose(request).subject.reason:
        return ask_for_reason(request, "Why are you searching?", "search")
    params.setdefault("per_page", [str(PER_PAGE)])
    try:
        query = parse_query(_single(params))
        with web.database(request).read() as conn:
            result = search(conn, query, scope)
    except BadRequest as exc:
        field = str(exc.extra.get("parameter") or "q")
        context["errors"] = {field if field in PARAMETERS else "q": exc.detail}
        return render(request, "search.html", context, status_code=400)
    shown = [rid for item in result["results"] for rid in item["matched_records"]]
    audited(request, "search", shown, {"query": params, "total": result["total"], "view": "web"})
    context["result"] = result
    context["pagination"] = pagination(params, result["page"], result["total"], result["per_page"])
    return render(request, "search.html", context)


@router.get("/suggest")
def suggest_fragment(request: Request, scope: Scope, q: str = "") -> Response:
    """Suggestions for what has been typed in the search box, as an htmx fragment (names, then VRMs)."""
    prefix = q.strip()[:100]
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    fields = ["name"] + (["vrm"] if any(c.isdigit() for c in prefix) else [])
    with web.database(request).read() as conn:
        for field in fields:
            try:
                items = suggest(conn, field, prefix, scope, limit=SUGGESTIONS)["suggestions"]
            except BadRequest:  # too short, or not printable: no suggestions yet
                continue
            for item in items:
                if item["master_id"] not in seen:
                    seen.add(item["master_id"])
                    found.append(item)
    found = found[:SUGGESTIONS]
    if found:
        audited(request, "suggest", [s["record_id"] for s in found], {"prefix": prefix, "view": "web"})
    return render(request, "partials/suggestions.html", {"suggestions": found})
