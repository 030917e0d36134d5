"""Pages for administrators and auditors: import runs, quarantine, and audit search."""

from __future__ import annotations

from fastapi import APIRouter

from openrms.web.routing import PREFIX, WebRoute

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
