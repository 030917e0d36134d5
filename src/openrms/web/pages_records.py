"""The person profile (/ui/people/{id}) and the generic record page (/ui/records/{id})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from openrms.errors import NotFound
from openrms.store import views
from openrms.store.scope import ReadScope
from openrms.web import session as web
from openrms.web.profile import person_profile, record_page
from openrms.web.routing import PREFIX, Redirect, WebRoute
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]
MAX_ID = 100


def _check_id(value: str) -> str:
    if not value or len(value) > MAX_ID or not value.isprintable():
        raise NotFound("no such record")
    return value


@router.get("/people/{master_or_record_id}")
def person_page(request: Request, master_or_record_id: str, scope: Scope) -> Response:
    """The single view of a person. A record id (or a master that is not a person's) is sent on to the
    right page."""
    wanted = _check_id(master_or_record_id)
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
    return render(request, "person.html", {"nav": "search", **data})


@router.get("/records/{record_id}")
def record_view(request: Request, record_id: str, scope: Scope) -> Response:
    with web.database(request).read() as conn:
        data = record_page(conn, _check_id(record_id), scope)
    return render(request, "record.html", {"nav": "search", **data})
