"""Asking for a reason: searches and views of sensitive records need one, as in the API.

The API takes the reason per request (X-OpenRMS-Reason). A web session keeps the one given on the purpose
page; when it has none, the page that needs it answers with a one-field form instead, which saves the
reason on the session and comes back to the same page.
"""

from __future__ import annotations

from fastapi import Request, Response

from openrms.web import session as web
from openrms.web.templating import render


def ask_for_reason(request: Request, heading: str, what: str) -> Response:
    """The "give a reason" page (403: nothing is shown until a reason is given)."""
    context = {"next": web.here(request), "heading": heading, "what": what, "errors": {}}
    return render(request, "reason.html", context, status_code=403)
