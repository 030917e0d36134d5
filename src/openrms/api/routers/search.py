"""GET /search: one search across people, objects, places and events; GET /search/suggest: typeahead."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from openrms.api.deps import database
from openrms.api.guard import Access, audited, disclosing
from openrms.api.responses import JSON
from openrms.errors import BadRequest, Forbidden
from openrms.search.engine import search
from openrms.search.query import PARAMETERS, parse_query
from openrms.search.suggest import FIELDS, MAX_LIMIT, suggest
from openrms.store.database import Database

router = APIRouter(tags=["search"])
Db = Annotated[Database, Depends(database)]

_EXAMPLES = {"q": "Jon Smyth born about 1985", "vrm": "AB1?C*", "postcode": "LS1 4", "dob": "~1985"}
_DOCUMENTED = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "description": text,
        "schema": {"type": "string"},
        **({"example": _EXAMPLES[name]} if name in _EXAMPLES else {}),
    }
    for name, text in PARAMETERS.items()
]
_SUGGEST = {"field": f"one of {', '.join(FIELDS)}", "prefix": "what has been typed so far", "limit": "1-10"}


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


@router.get(
    "/search",
    summary="Search people, objects, places and events; one result per master, ranked, with reasons",
    description=(
        "Every parameter is optional but at least one criterion is needed. Results are grouped by master "
        "entity (`records` counts the source records behind each that the caller may see), ranked by "
        "score, each with `why` (field and rule: exact, nickname, phonetic, fuzzy, wildcard, text, geo, "
        "filter) and highlighted `snippets`; `facets` count results by type, event type and month. "
        "Bad input (unknown parameters, malformed dates, a radius outside 1 m-50 km...) is a 400 naming "
        "the parameter. See docs/search.md."
    ),
    openapi_extra={"parameters": _DOCUMENTED},
)
def search_route(request: Request, db: Db, scope: Access) -> Any:
    query = parse_query(_params(request))
    if not scope.subject.reason:
        raise Forbidden(
            "a search needs a reason: send it in the X-OpenRMS-Reason header (e.g. a crime number)"
        )
    with disclosing(request) as conn:
        found = search(conn, query, scope)
        shown = [rid for item in found["results"] for rid in item["matched_records"]]
        audited(request, "search", shown, {"query": dict(request.query_params), "total": found["total"]})
    return JSON(found)


@router.get(
    "/search/suggest",
    summary="Search-as-you-type for name and VRM boxes: up to 10 masters whose name or VRM starts so",
    openapi_extra={
        "parameters": [
            {
                "name": k,
                "in": "query",
                "required": k != "limit",
                "description": v,
                "schema": {"type": "string"},
            }
            for k, v in _SUGGEST.items()
        ]
    },
)
def suggest_route(request: Request, db: Db, scope: Access) -> Any:
    params = _params(request)
    unknown = sorted(set(params) - set(_SUGGEST))
    if unknown:
        raise BadRequest(
            f"unknown parameter(s) {', '.join(repr(u[:40]) for u in unknown[:5])}; "
            "known: field, prefix, limit"
        )
    for name, values in params.items():
        if len(values) != 1:
            raise BadRequest(f"parameter {name!r}: given more than once", parameter=name)
    for name in ("field", "prefix"):
        if name not in params:
            raise BadRequest(f"parameter {name!r} is required ({_SUGGEST[name]})", parameter=name)
    limit = MAX_LIMIT
    if "limit" in params:
        raw = params["limit"][0]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise BadRequest(
                f"parameter 'limit': expected 1 to {MAX_LIMIT}, got {raw[:20]!r}", parameter="limit"
            )
        limit = int(raw)
    with disclosing(request) as conn:
        found = suggest(conn, params["field"][0], params["prefix"][0], scope, limit=limit)
        audited(
            request, "suggest", [s["record_id"] for s in found["suggestions"]], {"field": params["field"][0]}
        )
    return JSON(found)
