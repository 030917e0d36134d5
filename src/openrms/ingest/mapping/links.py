"""Links between the records of a row, or to records found by their source key (`lookup`), checked against
the link types of the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrms.errors import with_article
from openrms.ingest.mapping.conditions import Test, compile_condition
from openrms.ingest.mapping.context import Build
from openrms.ingest.mapping.errors import suggest
from openrms.ingest.mapping.expressions import Value, compile_expression, compile_key
from openrms.ingest.mapping.yamlload import LDict, LList

LINK_KEYS = ("type", "from", "to", "key", "when", "valid_from", "valid_to")
LOOKUP_KEYS = ("entity", "key", "source_system", "agency")


@dataclass(frozen=True)
class Lookup:
    entity: str
    key: Value
    source_system: str | None
    agency: str | None


@dataclass(frozen=True)
class Link:
    link_type: str
    source: str | Lookup
    target: str | Lookup
    key: Value | None
    when: Test | None
    valid_from: Value | None
    valid_to: Value | None
    repeated: str | None = None  # the end that is a record with `each`: one link per item of it


def compile_links(top: LDict, b: Build, reg: Any, entities: dict[str, str]) -> list[Link]:
    links = top.get("links")
    if links is None:
        return []
    if not isinstance(links, LList):
        b.problem(top.line_of("links"), "links must be a list, each item starting with '- type: ...'")
        return []
    out = []
    for index, node in enumerate(links):
        node = b.mapping(node, links.line_of(index), "a link")
        if node is not None and (link := _link(node, b, reg, entities)):
            out.append(link)
    return out


def _link(node: LDict, b: Build, reg: Any, entities: dict[str, str]) -> Link | None:
    b.check_keys(node, LINK_KEYS, "a link")
    link_type = b.text(node, "type")
    ltype = reg.link_types.get(link_type) if link_type else None
    if link_type is None:
        b.problem(node.line, "a link needs a `type`, e.g. OCCURRED_AT")
    elif ltype is None:
        b.problem(
            node.line_of("type"), f"unknown link type {link_type!r}{suggest(link_type, reg.link_types)}"
        )
    named = (node.get("from"), node.get("to"))
    repeated = [end for end in named if isinstance(end, str) and end in b.repeated]
    if len(repeated) > 1:
        b.problem(
            node.line,
            f"a {link_type} link between {repeated[0]!r} and {repeated[1]!r}, both records with `each`, "
            "would not say which item goes with which; link each of them to a record of the row instead",
        )
    # A link to a record with `each` is made once per item, and reads that item as the record does.
    b.repeated_end = repeated[0] if len(repeated) == 1 else None
    b.each = b.repeated.get(b.repeated_end) if b.repeated_end else None
    ends, entities_of = [], []
    for side in ("from", "to"):
        end, entity = _end(node, side, b, reg, entities)
        ends.append(end)
        entities_of.append(entity)
    if ltype is not None:
        _check_ends(node, b, ltype, entities_of)
    key = (
        compile_key(node["key"], node.line_of("key"), b, "link key", scope=True)[0] if "key" in node else None
    )
    when = compile_condition(node["when"], node.line_of("when"), b) if "when" in node else None
    valid = [
        compile_expression(node[k], node.line_of(k), b, path=f"{link_type}.{k}") if k in node else None
        for k in ("valid_from", "valid_to")
    ]
    b.each = b.repeated_end = None
    if ltype is None or None in ends or ("key" in node and key is None) or len(repeated) > 1:
        return None
    each_end = repeated[0] if repeated else None
    return Link(ltype.name, ends[0], ends[1], key, when, valid[0], valid[1], each_end)


def _check_ends(node: LDict, b: Build, ltype: Any, entities_of: list[str | None]) -> None:
    """Each end's entity must be one the link type allows there; a link written back to front (the usual
    slip: `from: incident, to: person`) says so."""
    allowed_of = (ltype.from_types, ltype.to_types)
    swapped = all(
        entity is not None and allowed is not None and entity in allowed
        for entity, allowed in zip(entities_of, reversed(allowed_of), strict=True)
    )
    for side, entity, allowed in zip(("from", "to"), entities_of, allowed_of, strict=True):
        if allowed is None or entity is None or entity in allowed:
            continue
        what = f"record {node[side]!r} ({with_article(entity)})" if isinstance(node[side], str) else None
        hint = "; swap `from` and `to`" if swapped else ""
        b.problem(
            node.line_of(side),
            f"{ltype.name} links cannot go {side} {what or with_article(entity) + ' lookup'}; "
            f"{side} must be one of {', '.join(sorted(allowed))}{hint}",
        )


def _end(
    node: LDict, side: str, b: Build, reg: Any, entities: dict[str, str]
) -> tuple[str | Lookup | None, str | None]:
    """A link end: the name of a record of the row, or {lookup: {entity, key, ...}} for any other record."""
    end, line = node.get(side), node.line_of(side)
    if end is None:
        b.problem(node.line, f"a link needs `{side}`: a record name or {{lookup: {{entity: ..., key: ...}}}}")
        return None, None
    if isinstance(end, str):
        if end not in b.record_names:
            b.problem(line, f"link {side} {end!r}: no record of that name{suggest(end, b.record_names)}")
            return None, None
        return end, entities.get(end)
    if not isinstance(end, LDict) or set(end) != {"lookup"} or not isinstance(end["lookup"], LDict):
        b.problem(line, f"link {side} must be a record name or {{lookup: {{entity: ..., key: ...}}}}")
        return None, None
    spec = end["lookup"]
    b.check_keys(spec, LOOKUP_KEYS, "a lookup")
    entity = b.text(spec, "entity")
    if entity is None or entity not in reg.entity_types:
        hint = suggest(entity, reg.entity_types) if entity else ""
        b.problem(
            spec.line_of("entity"),
            f"lookup needs a known `entity`{f' (not {entity!r})' if entity else ''}{hint}",
        )
        entity = None
    if "key" not in spec:
        b.problem(spec.line, 'lookup needs a `key` template, e.g. "{PersonRef}"')
        return None, entity
    key = compile_key(spec["key"], spec.line_of("key"), b, "lookup key")[0]
    if key is None or entity is None:
        return None, entity
    return Lookup(entity, key, b.text(spec, "source_system"), b.text(spec, "agency")), entity
