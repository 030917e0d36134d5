"""The Jinja2 environment: autoescaped templates, a few filters for dates and codes, and `render`.

Templates receive the request, the signed-in session (if any) and `ui(path)`, which prefixes a path with
where the UI is mounted, so no template spells out "/ui".
"""

from __future__ import annotations

import datetime as dt
import html
import re
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from openrms.access.model import PURPOSES
from openrms.schema import registry
from openrms.web.routing import PREFIX, TEMPLATE_DIR, tile_url

UK = ZoneInfo("Europe/London")


def ui(path: str = "/") -> str:
    return f"{PREFIX}{path if path.startswith('/') else '/' + path}"


# The service navigation: (key, label, path, the action that shows it); a page sets `nav` to its key.
NAVIGATION = (
    ("search", "Search", "/search", "read"),
    ("map", "Map", "/map", "read"),
    ("new", "New record", "/records/new", "create"),
    ("review", "Review", "/review", "review"),
    ("imports", "Imports", "/imports", "import"),
    ("audit", "Audit", "/audit", "audit"),
)


def nav_items(session: Any) -> list[tuple[str, str, str]]:
    """The navigation entries this user's roles allow, as (key, label, href)."""
    if session is None:
        return []
    return [(key, label, ui(path)) for key, label, path, action in NAVIGATION if session.subject.can(action)]


def static(path: str) -> str:
    return ui(f"/static/{path.lstrip('/')}")


def when(value: Any) -> str:
    """A date or time as people here read it, in UK time: 2 March 1985, or 14 July 2018 09:05 (a time
    at midnight UK time is shown as its date alone)."""
    if value in (None, ""):
        return ""
    text = str(value)
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).strftime("%-d %B %Y")
        if len(text) == 7:
            return dt.datetime.strptime(text, "%Y-%m").strftime("%B %Y")
        if len(text) == 4:
            return text
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UK)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%-d %B %Y")
    return moment.strftime("%-d %B %Y %H:%M")


def field_label(entity_type: str, name: str) -> str:
    etype = registry().entity_types.get(entity_type)
    fdef = etype.fields.get(name) if etype else None
    label = getattr(fdef, "label", None) if fdef else None
    return label or name.replace("_", " ").capitalize()


def field_value(entity_type: str, name: str, value: Any) -> str:
    """A field's value as text, with code list labels for coded fields."""
    if value in (None, "", []):
        return ""
    reg = registry()
    etype = reg.entity_types.get(entity_type)
    fdef = etype.fields.get(name) if etype else None
    if fdef is not None and fdef.type == "code" and fdef.codelist in reg.codelists:
        codes = reg.codelists[fdef.codelist]
        values = value if isinstance(value, list) else [value]
        return ", ".join(codes.label(v) for v in values)
    if (fdef is not None and fdef.type in ("date", "datetime")) or (
        isinstance(value, str) and _ISO_DATE.match(value)
    ):
        return when(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(
            field_value(entity_type, name, v) if not isinstance(v, dict) else _obj(v) for v in value
        )
    if isinstance(value, dict):
        return _obj(value)
    return str(value)


def _obj(value: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in value.items() if v not in (None, ""))


def type_label(entity_type: str) -> str:
    etype = registry().entity_types.get(entity_type)
    return etype.label if etype else entity_type.replace("_", " ").capitalize()


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+([+-]\d{2}:\d{2}|Z)?)?$")
_MARK = re.compile(r"(</?mark>)")


def safe_snippet(html_text: str) -> Markup:
    """A search snippet: the engine escapes the text and adds <mark> tags. Trust only the tags: every
    other piece is unescaped and escaped again, so nothing else can become markup."""
    pieces = _MARK.split(html_text)
    return Markup("".join(p if p in ("<mark>", "</mark>") else str(escape(html.unescape(p))) for p in pieces))


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        ui=ui,
        static=static,
        nav_items=nav_items,
        PURPOSES=PURPOSES,
        field_label=field_label,
        type_label=type_label,
    )
    env.filters.update(when=when, field_value=field_value, snippet=safe_snippet, type_label=type_label)
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    session = getattr(request.state, "web_session", None)
    values = {
        "request": request,
        "session": session,
        "csrf_token": session.csrf if session is not None else "",
        "tile_url": tile_url(),
        "nav": "",
        **(context or {}),
    }
    body = environment().get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code)
