"""A compiled mapping applied to rows: pure, fast, and never raising for what a row contains."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from collections.abc import Mapping as RowMapping
from typing import Any

from openrms.ingest.mapping.compiler import CODED_MARKINGS, MARKINGS, Plan, compile_mapping
from openrms.ingest.mapping.errors import MappingError, RowProblem, column_problems
from openrms.ingest.mapping.links import Link, Lookup
from openrms.ingest.mapping.values import to_text
from openrms.ingest.rows import MappedLink, MappedRecord, MappedRow, RecordRef

KEY_LIMIT = 200  # characters of a source key (the store's column)
_new = object.__new__


def _fast_record(entity: str, key: str, data: dict, marks: tuple) -> MappedRecord:
    """`MappedRecord(...)` without the frozen dataclass's per-field `object.__setattr__` (2x faster)."""
    record = _new(MappedRecord)
    record.__dict__.update(
        entity_type=entity,
        source_key=key,
        data=data,
        classification=marks[0],
        handling=marks[1],
        handling_conditions=marks[2],
    )
    return record


def _fast_link(link_type: str, source: Any, target: Any, key: str, valid: tuple) -> MappedLink:
    link = _new(MappedLink)
    link.__dict__.update(
        link_type=link_type,
        source=source,
        target=target,
        source_key=key,
        valid_from=valid[0],
        valid_to=valid[1],
    )
    return link


def _slow_record(entity: str, key: str, data: dict, marks: tuple) -> MappedRecord:
    return MappedRecord(entity, key, data, *marks)


def _slow_link(link_type: str, source: Any, target: Any, key: str, valid: tuple) -> MappedLink:
    return MappedLink(link_type, source, target, key, *valid)


def _fast_is_exact() -> bool:
    """The shortcut is used only while rows.py's dataclasses stay plain (no slots, no __post_init__)."""
    try:
        same = _fast_record("e", "k", {}, ("C", "H", "X")) == _slow_record("e", "k", {}, ("C", "H", "X"))
        same &= _fast_link("T", "a", "b", "k", ("f", "t")) == _slow_link("T", "a", "b", "k", ("f", "t"))
        row = _new(MappedRow)
        row.__dict__.update(records={}, links=[], skipped=False, reasons=[])
        same &= row == MappedRow()
        return same and not any(hasattr(c, "__post_init__") for c in (MappedRecord, MappedLink))
    except (AttributeError, TypeError):
        return False


_FAST = _fast_is_exact()
_make_record, _make_link = (_fast_record, _fast_link) if _FAST else (_slow_record, _slow_link)
NO_VALIDITY = (None, None)


def _new_row() -> MappedRow:
    if not _FAST:
        return MappedRow()
    row = _new(MappedRow)
    row.__dict__.update(records={}, links=[], skipped=False, reasons=[])
    return row


class _Scope:
    """What a link key template sees: the row's context, and `@name` for the source key of record `name`
    (for a link made once per item of a record with `each`, that item's record: `instance`)."""

    __slots__ = ("context", "instance", "records")

    def __init__(
        self, context: Any, records: dict[str, MappedRecord], instance: tuple[str, str] | None = None
    ) -> None:
        self.context, self.records, self.instance = context, records, instance

    def __bool__(self) -> bool:
        return True

    def get(self, name: str, default: Any = None) -> Any:
        if name[:1] == "@":
            wanted = name[1:]
            if self.instance is not None and self.instance[0] == wanted:
                wanted = self.instance[1]
            record = self.records.get(wanted)
            return record.source_key if record is not None else default
        return self.context.get(name, default) if self.context is not None else default


class _ItemRow:
    """What a record with `each` reads for one item: the item's own fields, and the row's fields when the name
    starts with "/" (`/@id`, the id of the XML element the item is in)."""

    __slots__ = ("item", "row")

    def __init__(self, item: RowMapping[str, Any], row: RowMapping[str, Any]) -> None:
        self.item, self.row = item, row

    def get(self, name: str, default: Any = None) -> Any:
        if name[:1] == "/":
            return self.row.get(name[1:], default)
        return self.item.get(name, default)


class _ItemContext:
    """The row's context, with `$item`: the item's number, counting from 1."""

    __slots__ = ("context", "number")

    def __init__(self, context: Any, number: int) -> None:
        self.context, self.number = context, str(number)

    def __bool__(self) -> bool:
        return True

    def get(self, name: str, default: Any = None) -> Any:
        if name == "item":
            return self.number
        return self.context.get(name, default) if self.context is not None else default


# One item of a record with `each`: the name its record has in the row ("subject[2]"), what it reads, and
# its context.
_Instance = tuple[str, _ItemRow, _ItemContext]


def items_of(row: RowMapping[str, Any], each: str) -> list[RowMapping[str, Any]]:
    """The items of the repeated part `each` of a row, in source order; none when the row has no such part.

    XML: every occurrence of the element path (the reader's "Path[]", or the one occurrence read back out of
    the row's "Path/..." keys, with its text as "#text"). JSON: the objects of a list, or one object. A plain
    value (a repeated text element, a list of strings) is an item whose "#text" it is. Empty items are left
    out: `<Subject/>` names nobody.
    """
    grouped = row.get(f"{each}[]")
    if grouped is None:
        value = row.get(each)
        if isinstance(value, list):
            grouped = value
        elif isinstance(value, RowMapping):
            grouped = [value]
        else:
            prefix = f"{each}/"
            single = {key[len(prefix) :]: v for key, v in row.items() if key.startswith(prefix)}
            if value is not None and value != "":
                single["#text"] = value
            grouped = [single]
    items = []
    for item in grouped:
        if not isinstance(item, RowMapping):
            item = {"#text": item} if item is not None and item != "" else {}
        if item:
            items.append(item)
    return items


class Mapping:
    """A checked, compiled import mapping. Build it with `load_mapping` or `parse_mapping`.

    Picklable: it pickles as its YAML text and overrides and compiles again when unpickled.
    """

    def __init__(
        self,
        text: str,
        origin: str = "<mapping>",
        *,
        agency: str | None = None,
        source_system: str | None = None,
    ) -> None:
        try:
            plan: Plan = compile_mapping(text, origin)
        except RecursionError:
            raise MappingError(origin, [(0, "the mapping is nested too deeply")]) from None
        self.text, self.origin = text, origin
        self.ref = origin  # what it was loaded by: a built-in's name or a path (set by load_mapping)
        self._overrides = (agency, source_system)
        self.name = plan.name
        self.description = plan.description
        self.source: dict[str, Any] = plan.source
        self.agency: str | None = agency or plan.agency
        self.source_system: str | None = source_system or plan.source_system
        self.defaults: dict[str, str] = plan.defaults
        self._default_marks = tuple(plan.defaults.get(m) for m in MARKINGS)
        self.record_types: dict[str, str] = {r.name: r.entity for r in plan.records}
        self.fields_used: set[str] = set(plan.fields_used)
        self.context_used: set[str] = plan.context_used  # which of $file, $line, $row it needs
        self._uses = plan.fields_used
        self._skip = plan.skip_when
        self._plain_records = tuple(
            (r.name, r.entity, r.when, r.key, r.key_text, r.fields, r.markings)
            for r in plan.records
            if r.each is None
        )
        self._repeated_records = tuple(
            (r.each, (r.name, r.entity, r.when, r.key, r.key_text, r.fields, r.markings))
            for r in plan.records
            if r.each is not None
        )
        self._links = plan.links
        self._codes = plan.codelists
        self.digest = hashlib.sha256(
            "\x00".join([text, self.agency or "", self.source_system or ""]).encode()
        ).hexdigest()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.text, self.origin, *self._overrides, self.ref))

    def __repr__(self) -> str:
        return f"<Mapping {self.name!r} from {self.origin}: {', '.join(self.record_types)}>"

    @property
    def field_lines(self) -> dict[str, list[int]]:
        """Each source field the mapping reads, with the lines of the YAML that name it."""
        return self._uses

    def check_columns(self, columns: Iterable[str] | None) -> None:
        """Every source field the mapping names must be a column of the source (None: not declared)."""
        if columns is None:
            return
        problems = column_problems(self._uses, columns)
        if problems:
            raise MappingError(self.origin, problems)

    def apply(self, row: RowMapping[str, Any], context: RowMapping[str, Any] | None = None) -> MappedRow:
        """What `row` becomes. `context` gives `$file`, `$line` and `$row` (see `row_context`)."""
        out = _new_row()
        try:
            if self._skip is not None and self._skip(row, context):
                out.skipped = True
                return out
            self._map_records(row, context, out)
            instances = self._map_repeated(row, context, out) if self._repeated_records else {}
            if self._links:
                self._map_links(row, context, out, instances)
        except RowProblem as exc:  # only skip_when gets here: records and links report their own
            out.reasons += [f"skip_when: {message}" for _, message in exc.items]
        except Exception as exc:  # a bug must not lose the row: it is quarantined with the reason
            out.reasons.append(f"the mapping failed on this row ({type(exc).__name__}: {exc})")
        return out

    def _map_records(self, row: RowMapping[str, Any], context: Any, out: MappedRow) -> None:
        for spec in self._plain_records:
            self._map_record(spec, spec[0], row, context, out)

    def _map_repeated(
        self, row: RowMapping[str, Any], context: Any, out: MappedRow
    ) -> dict[str, list[_Instance]]:
        """The records with `each`: one per item, named "name[1]", "name[2]"... in the row."""
        instances: dict[str, list[_Instance]] = {}
        for each, spec in self._repeated_records:
            made = instances[spec[0]] = []
            for number, item in enumerate(items_of(row, each), 1):
                instance = f"{spec[0]}[{number}]"
                view, item_context = _ItemRow(item, row), _ItemContext(context, number)
                if self._map_record(spec, instance, view, item_context, out):
                    made.append((instance, view, item_context))
        return instances

    def _map_record(self, spec: tuple, name: str, row: Any, context: Any, out: MappedRow) -> bool:
        """Record `spec` of the row, as `name`; False when its condition leaves it out (or cannot tell)."""
        _, entity, when, key_of, key_text, fields, markings = spec
        reasons = out.reasons
        try:
            if when is not None and not when(row, context):
                return False
            key = key_of(row, context)
        except RowProblem as exc:
            reasons += [f"{name}: {message}" for _, message in exc.items]
            return False
        data: dict[str, Any] = {}
        for field, value in fields:
            try:
                result = value(row, context)
            except RowProblem as exc:
                reasons += [f"{name}.{field}{where}: {message}" for where, message in exc.items]
                continue
            if result is not None and result != "":
                data[field] = result
        key = key if key.__class__ is str else to_text(key)
        if not key or len(key) > KEY_LIMIT:
            reasons.append(_bad_key(name, key_text, key))
        marks = self._markings(markings, row, context, reasons, name) if markings else self._default_marks
        out.records[name] = _make_record(entity, key, data, marks)
        return True

    def _markings(
        self, markings: tuple, row: RowMapping[str, Any], context: Any, reasons: list[str], name: str
    ) -> tuple[str | None, ...]:
        marks = dict(self.defaults)
        for marking, value in markings:
            try:
                result = value(row, context)
            except RowProblem as exc:
                reasons += [f"{name}.{marking}: {message}" for _, message in exc.items]
                continue
            if result is None or result == "":
                continue
            result = to_text(result).strip()
            listed = CODED_MARKINGS.get(marking)
            if listed:
                code = self._codes[listed].get(result.upper())
                if code is None:
                    known = ", ".join(sorted(set(self._codes[listed].values())))
                    reasons.append(f"{name}.{marking}: {result!r} is not a {marking} ({known})")
                    continue
                result = code
            marks[marking] = result
        return tuple(marks.get(m) for m in MARKINGS)

    def _map_links(
        self, row: RowMapping[str, Any], context: Any, out: MappedRow, instances: dict[str, list[_Instance]]
    ) -> None:
        scope = None
        for link in self._links:
            if link.repeated is not None:  # once per item of that record, reading the item as it does
                for instance, view, item_context in instances.get(link.repeated, ()):
                    item_scope = _Scope(item_context, out.records, (link.repeated, instance))
                    self._map_link(link, view, item_context, item_scope, out)
                continue
            scope = scope or _Scope(context, out.records)
            self._map_link(link, row, context, scope, out)

    def _map_link(
        self,
        link: Link,
        row: Any,
        context: Any,
        scope: _Scope,
        out: MappedRow,
    ) -> None:
        records, reasons = out.records, out.reasons
        source, target = link.source, link.target
        instance = scope.instance  # a link made once per item: that item's record stands for its record
        if instance is not None:
            source = instance[1] if source == instance[0] else source
            target = instance[1] if target == instance[0] else target
        if (source.__class__ is str and source not in records) or (
            target.__class__ is str and target not in records
        ):
            return  # a record of this link is absent from the row: so is the link
        try:
            if link.when is not None and not link.when(row, context):
                return
            source, source_key = _end(source, records, row, context)
            target, target_key = _end(target, records, row, context)
            if source is None or target is None:
                return
            if link.key is None:
                key = f"{source_key}/{link.link_type}/{target_key}"
            else:
                key = link.key(row, scope)
                key = key if key.__class__ is str else to_text(key)
                if not key or len(key) > KEY_LIMIT:
                    reasons.append(_bad_key(link.link_type, "the link key", key))
                    return
            valid = NO_VALIDITY
            if link.valid_from is not None or link.valid_to is not None:
                valid = (
                    _date_text(link.valid_from, row, context),
                    _date_text(link.valid_to, row, context),
                )
        except RowProblem as exc:
            reasons += [f"link {link.link_type}: {message}" for _, message in exc.items]
            return
        out.links.append(_make_link(link.link_type, source, target, key, valid))


def _end(end: str | Lookup, records: dict[str, MappedRecord], row: Any, context: Any) -> tuple[Any, str]:
    """The link end and its key; (None, "") when its record is absent or its lookup key is empty."""
    if isinstance(end, str):
        record = records.get(end)
        return (end, record.source_key) if record is not None else (None, "")
    key = end.key(row, context)
    key = key if key.__class__ is str else to_text(key)
    if not key:
        return None, ""
    return RecordRef(end.entity, key, end.source_system, end.agency), key


def _date_text(expression: Any, row: Any, context: Any) -> str | None:
    value = expression(row, context) if expression is not None else None
    return None if value is None or value == "" else to_text(value)


def _bad_key(name: str, template: str, key: str) -> str:
    if not key:
        return f"{name}: the key ({template}) is empty for this row, so the record cannot be identified"
    return f"{name}: the key is {len(key)} characters long; at most {KEY_LIMIT} are allowed"


def _rebuild(text: str, origin: str, agency: str | None, source_system: str | None, ref: str) -> Mapping:
    mapping = Mapping(text, origin, agency=agency, source_system=source_system)
    mapping.ref = ref
    return mapping
