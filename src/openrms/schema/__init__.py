"""The POLE schema registry: entity types, fields, code lists, link types and their validation.

Pure: no I/O beyond reading its own declarations, and no imports from the rest of OpenRMS except the
dependency-free `openrms.errors`. Everything else (storage, API models, search, imports, forms) reads it.
"""

from __future__ import annotations

from functools import cache

from openrms.schema.loader import RegistryError, load_registry
from openrms.schema.model import CodeList, EntityType, FieldDef, LinkType, Registry
from openrms.schema.validate import EntityValidator, Validated


@cache
def registry() -> Registry:
    """The registry shipped with the package, loaded and checked once per process."""
    return load_registry()


@cache
def validator(entity_type: str) -> EntityValidator:
    reg = registry()
    return EntityValidator(reg.entity(entity_type), reg)


__all__ = [
    "CodeList",
    "EntityType",
    "EntityValidator",
    "FieldDef",
    "LinkType",
    "Registry",
    "RegistryError",
    "Validated",
    "registry",
    "validator",
]
