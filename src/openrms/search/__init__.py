"""Search: one query model for people, objects, places and events, on SQLite and PostgreSQL.

`search(conn, query, scope)` and `suggest(...)` are the library entry points; `parse_query` turns request
parameters into a validated `SearchQuery`. Import `openrms.search.hooks` to keep the index up to date.
"""

from __future__ import annotations

from openrms.search.engine import search
from openrms.search.query import SearchQuery, parse_query
from openrms.search.suggest import suggest

__all__ = ["SearchQuery", "parse_query", "search", "suggest"]
