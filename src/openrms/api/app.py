"""The FastAPI application: one router per area, one error shape, one database per app."""

from __future__ import annotations

from fastapi import Depends, FastAPI

import openrms.identity.hooks  # every write maintains the master index
import openrms.search.hooks  # noqa: F401  (... and the search index)
from openrms import __version__
from openrms.access import audit as audit_trail
from openrms.api import problems
from openrms.api.deps import current_subject
from openrms.api.routers import (
    admin,
    agreements,
    audit,
    auth,
    imports,
    links,
    masters,
    match,
    meta,
    records,
    search,
)
from openrms.store.database import Database
from openrms.web import install as install_web


def create_app(db: Database | str | None = None) -> FastAPI:
    """An app bound to `db` (a Database, a URL, or None for the configured default)."""
    database = db if isinstance(db, Database) else Database(db)
    app = FastAPI(
        title="OpenRMS",
        version=__version__,
        description="Records management and data sharing for police forces and their justice partners.",
        openapi_url="/openapi.json",
    )
    app.state.db = database
    app.state.audit_reads_durable = audit_trail.reads_durable()
    problems.install(app)
    app.include_router(meta.router)  # /health answers anyone; its other routes need a subject themselves
    app.include_router(auth.router)  # sign-in and OIDC answer anyone; the rest check the subject themselves
    # every other route needs a signed-in subject; tests/access/test_routes_need_auth.py enumerates them all
    for router in (
        records.router,
        links.router,
        masters.router,
        match.router,
        imports.router,
        search.router,
        agreements.router,
        admin.router,
        audit.router,
    ):
        app.include_router(router, dependencies=[Depends(current_subject)])
    install_web(app)
    return app
