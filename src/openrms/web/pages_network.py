"""The link chart: the network around a record to N hops, expandable, filterable, exportable."""

from __future__ import annotations

from fastapi import APIRouter

from openrms.web.routing import PREFIX, WebRoute

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
