"""YAML with line numbers: `yaml.safe_load` semantics, but every mapping remembers the line of each key and
every list the line of each item, so that problems can point at the line to fix.

Scalars are kept as the text written: `equals: 01` compares with "01" and `{Y: yes}` does not turn into
booleans (YAML 1.1's "Norway problem"). `~` and nothing at all are None; `null` is a `NullWord`, text
that means nothing where a value is produced. The language parses its own flags (`optional: true`) and
numbers (`part: 1`) from that text.
"""

from __future__ import annotations

from typing import Any

import yaml

from openrms.ingest.mapping.errors import MappingError

MAX_NODES = 200_000  # mappings are a few hundred values; this refuses alias bombs sent over the API


class LDict(dict):
    """A YAML mapping: `line` where it starts, `lines[key]` where each key is."""

    line: int = 0
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class LList(list):
    """A YAML sequence: `line` where it starts, `lines[i]` where each item is."""

    line: int = 0
    lines: list[int]

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


def line_of(container: Any, key: Any, default: int = 0) -> int:
    if isinstance(container, (LDict, LList)):
        return container.line_of(key)
    return default


class NullWord(str):
    """`null`, `Null` or `NULL` as written: text where text is compared (null_values, equals, translation
    keys), nothing where a value is produced (const, default, a translation's result)."""


def nothing(value: Any) -> Any:
    """The value a mapping produces from what was written: None for ~, null or nothing at all."""
    return None if isinstance(value, NullWord) else value


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[tuple[int, str]] = []


def _as_written(loader: _Loader, node: yaml.ScalarNode) -> str:
    return node.value


def _null(loader: _Loader, node: yaml.ScalarNode) -> NullWord | None:
    return NullWord(node.value) if node.value not in ("", "~") else None


def _map(loader: _Loader, node: yaml.MappingNode) -> LDict:
    own = len(node.value)
    loader.flatten_mapping(node)  # YAML merge keys (`<<: *anchor`) come first; own keys may override them
    merged = len(node.value) - own
    out = LDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    own_lines: dict[str, int] = {}
    for index, (key_node, value_node) in enumerate(node.value):
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            loader.problems.append((line, "a key must be a plain word or text, not a list or mapping"))
            continue
        key = key_node.value
        if index >= merged:
            if key in own_lines:
                loader.problems.append((line, f"duplicate key {key!r} (first at line {own_lines[key]})"))
            own_lines[key] = line
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _seq(loader: _Loader, node: yaml.SequenceNode) -> LList:
    out = LList(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [item.start_mark.line + 1 for item in node.value]
    return out


for _tag in ("bool", "int", "float", "timestamp"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _as_written)
_Loader.add_constructor("tag:yaml.org,2002:null", _null)
_Loader.add_constructor("tag:yaml.org,2002:map", _map)
_Loader.add_constructor("tag:yaml.org,2002:omap", _map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _seq)


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document has with every alias expanded (a "billion laughs" has billions)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is None:
            if isinstance(node, yaml.MappingNode):
                known = 1 + sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                known = 1 + sum(size(item) for item in node.value)
            else:
                known = 1
            sizes[id(node)] = known
        return known

    return size(root)


def load(text: str, origin: str) -> tuple[Any, list[tuple[int, str]]]:
    """The document and the duplicate-key problems found; a YAML syntax error raises `MappingError`."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node) > MAX_NODES:
            raise MappingError(
                origin,
                [
                    (
                        0,
                        f"the mapping expands to more than {MAX_NODES:,} values "
                        "(aliases referring to aliases?)",
                    )
                ],
            )
        document = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise MappingError(origin, [(0, "the mapping is nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = f", column {mark.column + 1}" if mark else ""
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
            what += f" (the construct started at line {exc.context_mark.line + 1})"
        raise MappingError(origin, [(line, f"YAML syntax{column}: {what}")]) from None
    except yaml.YAMLError as exc:
        raise MappingError(origin, [(0, f"YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return document, loader.problems
