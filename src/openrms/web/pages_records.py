"""The person profile (/ui/people/{id}) and the generic record page (/ui/records/{id})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from openrms.access.model import is_sensitive
from openrms.api.guard import audited
from openrms.errors import NotFound
from openrms.store import views
from openrms.store.scope import ReadScope
from openrms.web import session as web
from openrms.web.profile import person_profile, record_page
from openrms.web.reasons import ask_for_reason
from openrms.web.routing import PREFIX, Redirect, WebRoute, checked_id
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]


@router.get("/people/{master_or_record_id}")
def person_page(request: Request, master_or_record_id: str, scope: Scope) -> Response:
    """The single view of a person. A record id (or a master that is not a person's) is sent on to the
    right page."""
    wanted = checked_id(master_or_record_id)
    with web.database(request).read() as conn:
        try:
            data = person_profile(conn, wanted, scope)
        except NotFound:
            rec = views.get_record(conn, wanted, scope)  # NotFound again: neither a master nor a record
            if rec["entity_type"] == "person" and rec["master_id"]:
                raise Redirect(f"{PREFIX}/people/{rec['master_id']}") from None
            raise Redirect(f"{PREFIX}/records/{rec['id']}") from None
    if data["master"]["entity_type"] != "person":
        raise Redirect(f"{PREFIX}/records/{data['master']['records'][0]['id']}")
    if _needs_reason(request, data["master"]["records"]):
        return ask_for_reason(request, "Why are you viewing this person?", "view of a sensitive record")
    shown = [r["id"] for r in data["master"]["records"]] + _related_ids(data)
    audited(request, "read-master", shown, {"master_id": data["master"]["id"], "view": "web"})
    return render(request, "person.html", {"nav": "search", **data})


def _needs_reason(request: Request, records: list[dict]) -> bool:
    """Viewing a sensitive record needs a reason, as in the API (see `is_sensitive`)."""
    if web.with_purpose(request).subject.reason:
        return False
    return any(is_sensitive(r["provenance"]["classification"], r["provenance"]["handling"]) for r in records)


def _related_ids(data: dict) -> list[str]:
    groups = ("involvements", "objects", "locations", "people", "related")
    return [item["other"]["id"] for group in groups for item in data.get(group, [])]


@router.get("/records/{record_id}")
def record_view(request: Request, record_id: str, scope: Scope) -> Response:
    with web.database(request).read() as conn:
        data = record_page(conn, checked_id(record_id), scope)
    if _needs_reason(request, [data["record"]]):
        return ask_for_reason(request, "Why are you viewing this record?", "view of a sensitive record")
    audited(request, "read", [data["record"]["id"], *_related_ids(data)], {"view": "web"})
    return render(request, "record.html", {"nav": "search", **data})
