"""Health and the schema registry as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from openrms import __version__
from openrms.api.deps import current_subject, database
from openrms.api.responses import JSON
from openrms.errors import NotFound
from openrms.schema import registry
from openrms.store import migrate
from openrms.store.database import Database

router = APIRouter()
Db = Annotated[Database, Depends(database)]


@router.get("/health", tags=["meta"], summary="Liveness and database reachability (503 until migrated)")
def health(db: Db, response: Response) -> dict[str, Any]:
    revision = migrate.current(db)
    if revision != migrate.head():
        response.status_code = 503
    return {
        "status": "ok" if revision == migrate.head() else "needs-migration",
        "version": __version__,
        "database": db.dialect,
        "schema_revision": revision,
    }


@router.get(
    "/schema",
    tags=["meta"],
    dependencies=[Depends(current_subject)],
    summary="The POLE registry: entity types, fields, links, code lists",
)
def schema() -> dict[str, Any]:
    return JSON(registry().as_dict())


@router.get(
    "/schema/{entity_type}",
    tags=["meta"],
    dependencies=[Depends(current_subject)],
    summary="One entity type's fields and rules",
)
def schema_entity(entity_type: str) -> dict[str, Any]:
    if entity_type not in registry().entity_types:
        raise NotFound(f"no entity type {entity_type!r}; known: {', '.join(sorted(registry().entity_types))}")
    return registry().entity(entity_type).as_dict()
