"""The master index review queue: side-by-side pairs, same/different/unsure, merge and unmerge."""

from __future__ import annotations

from fastapi import APIRouter

from openrms.web.routing import PREFIX, WebRoute

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
