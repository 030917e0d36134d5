"""Request dependencies: the database and the caller's read scope.

Until the access-control work lands every caller reads with an unrestricted scope; each read route already
takes its scope from `read_scope`, so plugging in authentication changes this function and nothing else.
"""

from __future__ import annotations

from fastapi import Request

from openrms.store.database import Database
from openrms.store.scope import ReadScope, Unrestricted


# Both are async (they never block) so FastAPI runs them on the event loop instead of hopping to a worker
# thread for each: a thread hop per dependency is most of a fast read's latency under load.
async def database(request: Request) -> Database:
    return request.app.state.db


async def read_scope(request: Request) -> ReadScope:
    purpose = request.headers.get("X-OpenRMS-Purpose")
    return Unrestricted(actor="anonymous", purpose=purpose)
