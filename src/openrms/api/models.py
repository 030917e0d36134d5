"""Pydantic models generated from the schema registry, so OpenAPI documents every entity type's fields.

These models check only the shape of a request (field names, JSON types); the registry's validator then
normalises values and applies the domain rules, so there is one source of truth for what is valid.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from openrms.schema import FieldDef, registry

_JSON_TYPES = {
    "integer": "integer",
    "decimal": "number",
    "boolean": "boolean",
    "latitude": "number",
    "longitude": "number",
}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _json_schema(fdef: FieldDef, owner: str) -> dict[str, Any]:
    """What the field holds, for the OpenAPI document only: the registry's validator is the judge, so that
    create and update accept and refuse exactly the same values with the same messages."""
    if fdef.type == "object":
        one: dict[str, Any] = {
            "type": "object",
            "properties": {
                f.name: {"title": f.label, **_json_schema(f, owner)} for f in fdef.fields.values()
            },
        }
    else:
        one = {"type": _JSON_TYPES.get(fdef.type, "string"), "x-openrms-type": fdef.type}
        if fdef.codelist:
            one["x-codelist"] = fdef.codelist
            one["x-codes"] = list(registry().codelists[fdef.codelist].codes)
    return {"type": "array", "items": one} if fdef.many else one


def _field_info(fdef: FieldDef, owner: str) -> Any:
    description = " ".join(p for p in (fdef.help, "Required." if fdef.required else "") if p) or None
    return Field(
        default=None, title=fdef.label, description=description, json_schema_extra=_json_schema(fdef, owner)
    )


@cache
def data_model(entity_type: str) -> type[BaseModel]:
    etype = registry().entity(entity_type)
    name = f"{_camel(entity_type)}Data"
    definitions: dict[str, Any] = {f.name: (Any, _field_info(f, name)) for f in etype.fields.values()}
    model = create_model(name, __config__=ConfigDict(extra="allow"), **definitions)
    model.__doc__ = etype.description or etype.label
    return model


class ProvenanceIn(BaseModel):
    """Where the record comes from. The agency is always the signed-in user's (another is refused)."""

    model_config = ConfigDict(extra="forbid")
    agency: str | None = Field(None, description="Owning agency code; default and only allowed value: yours")
    source_system: str = Field(description="System the record came from", examples=["NICHE"])
    source_key: str | None = Field(None, description="The record's key in that system; omit for new entries")
    recorded_by: str | None = Field(
        None, description="Who recorded it (collar number); default: your username"
    )
    recorded_at: dt.datetime | None = Field(None, description="When the source recorded it; default now")
    classification: str = Field("OFFICIAL", description="OFFICIAL, OFFICIAL-SENSITIVE, SECRET or TOP SECRET")
    handling: str = Field("P", description="P, C (conditions required), or legacy 5x5x5 codes 4 or 5")
    handling_conditions: str | None = None
    reason: str | None = None


@cache
def create_model_for(entity_type: str) -> type[BaseModel]:
    return create_model(
        f"{_camel(entity_type)}Create",
        __config__=ConfigDict(extra="forbid"),
        data=(data_model(entity_type), ...),
        provenance=(ProvenanceIn, ...),
    )


class RecordUpdate(BaseModel):
    """A new version. `version` is the version you read: if someone changed the record since, you get 409."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    data: dict[str, Any]
    recorded_by: str | None = Field(None, description="Default: your username")
    reason: str | None = None
    classification: str | None = None
    handling: str | None = None
    handling_conditions: str | None = None


class RecordRetract(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recorded_by: str | None = Field(None, description="Default: your username")
    reason: str = Field(min_length=3)


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    link_type: str = Field(examples=["SUSPECT"])
    from_id: str
    to_id: str
    valid_from: str | None = Field(None, description="YYYY, YYYY-MM, YYYY-MM-DD or a date and time")
    valid_to: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Free notes about the link")
    provenance: ProvenanceIn


class LinkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    recorded_by: str | None = Field(None, description="Default: your username")
    valid_from: str | None = None
    valid_to: str | None = None
    data: dict[str, Any] | None = None
    deleted: bool | None = Field(None, description="true retracts the link, false restores it; omit to keep")
    reason: str | None = None
