"""Record entry and edit forms generated from the schema registry, with a live possible-matches panel."""

from __future__ import annotations

from fastapi import APIRouter

from openrms.web.routing import PREFIX, WebRoute

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
