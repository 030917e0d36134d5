"""Entry forms generated from the schema registry: field descriptions for the templates, and form posts
turned back into record data with an error per field.

The registry is the only description of a record (ARCHITECTURE principle 4), so a form is derived from it
rather than written by hand: a field added to the YAML appears on the form with its label, hint, code list
and required flag. This module only translates between what a browser posts (strings, date parts, lines)
and the record data the schema layer validates; every rule about values stays in `openrms.schema`, whose
issues are mapped back to the field they name so the page can mark each one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from openrms.access.model import CLASSIFICATIONS, RANK
from openrms.errors import Issue
from openrms.schema import FieldDef, registry

UK = ZoneInfo("Europe/London")
RADIO_LIMIT = 6  # a required code with at most this many values is shown as radios, the rest as a select
TEXTAREA_FROM = 1000  # text fields allowed this many characters or more get a textarea
# Fields kept out of forms because people do not key them: an imported record's original 5x5x5 grading.
NOT_KEYED = {("intelligence_report", "legacy_grading")}
_INDEX = re.compile(r"\[\d+\]")
_UK_DATETIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2}))?$")
_NUMERIC = {"integer", "decimal", "latitude", "longitude"}
_DATE_PARTS = ("day", "month", "year")


@dataclass
class FormField:
    """One question on a form. `name` is the posted name and the record path ("physical_description.build");
    `value` is what the input shows: text, a list (checkboxes), a {day, month, year} dict (dates)."""

    name: str
    label: str
    kind: str  # text, number, textarea, lines, select, radios, checkboxes, boolean, date, datetime, group
    hint: str = ""
    required: bool = False
    partial: bool = False  # a date of which the day, or day and month, may be left out
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    error: str = ""
    children: list[FormField] = field(default_factory=list)
    width: str = ""

    @property
    def id(self) -> str:
        return self.name.replace(".", "-")

    @property
    def anchor(self) -> str:
        """The element an error summary link should focus: the first input of the field."""
        return f"{self.id}-day" if self.kind == "date" else self.id

    def leaves(self) -> list[FormField]:
        return [leaf for child in self.children for leaf in child.leaves()] if self.children else [self]


# ---- registry fields -> form fields ----


_HINTS = {
    "lines": "One per line.",
    "datetime": "For example 14/07/2018 21:30 or 2018-07-14 21:30 (UK time).",
    "date": "For example, 27 3 2007.",
}
_PARTIAL_HINT = "For example, 27 3 2007. Leave out the day, or the day and month, if they are not known."


def _hint(fdef: FieldDef, kind: str) -> str:
    """The registry's help, with how to type the value; a partial date's help describes the stored form
    (YYYY-MM), not the three boxes, so it is replaced."""
    if kind == "date" and fdef.type == "partial_date":
        return _PARTIAL_HINT
    help_text = fdef.help.strip()
    if help_text and help_text[-1] not in ".?!":
        help_text += "."
    return " ".join(part for part in (help_text, _HINTS.get(kind, "")) if part)


def _kind(fdef: FieldDef) -> str:
    if fdef.type == "object":
        return "group"
    if fdef.type == "code":
        size = len(registry().codelists[fdef.codelist or ""].codes)
        if fdef.many:
            return "checkboxes"
        return "radios" if fdef.required and size <= RADIO_LIMIT else "select"
    if fdef.many:
        return "lines"
    if fdef.type in ("date", "partial_date"):
        return "date"
    if fdef.type == "datetime":
        return "datetime"
    if fdef.type == "boolean":
        return "boolean"
    if fdef.type in _NUMERIC:
        return "number"
    if fdef.type == "text" and (fdef.max_length or 0) >= TEXTAREA_FROM:
        return "textarea"
    return "text"


def _width(fdef: FieldDef, kind: str) -> str:
    if kind == "number":
        return "govuk-input--width-10"
    if kind == "datetime":
        return "govuk-input--width-20"
    if kind == "text" and fdef.type != "text":  # identifiers, postcodes, VRMs: short formats
        return "govuk-input--width-20"
    return ""


def form_field(fdef: FieldDef, path: str) -> FormField:
    kind = _kind(fdef)
    options = list(registry().codelists[fdef.codelist].codes.items()) if fdef.codelist else []
    if kind == "boolean":
        options = [("yes", "Yes"), ("no", "No")]
    out = FormField(
        name=path,
        label=fdef.label,
        kind=kind,
        hint=_hint(fdef, kind),
        required=fdef.required,
        partial=fdef.type == "partial_date",
        options=options,
        value=[] if kind in ("checkboxes",) else ({} if kind == "date" else ""),
        width=_width(fdef, kind),
    )
    if kind == "group":
        out.children = [form_field(sub, f"{path}.{sub.name}") for sub in fdef.fields.values()]
    return out


def form_fields(
    entity_type: str, prefix: str = "", only: Sequence[str] | None = None, hide: Iterable[str] = ()
) -> list[FormField]:
    """The questions for an entity type, in registry order. Lists of objects (custody reviews, log) are left
    to their own pages; `hide` names fields this user may not see (kept as they are on edit)."""
    etype = registry().entity(entity_type)
    hidden = set(hide)
    chosen = only if only is not None else list(etype.fields)
    out = []
    for name in chosen:
        fdef = etype.fields[name]
        if (entity_type, name) in NOT_KEYED or name in hidden or (fdef.type == "object" and fdef.many):
            continue
        out.append(form_field(fdef, f"{prefix}.{name}" if prefix else name))
    return out


def marking_fields(rank: int) -> list[FormField]:
    """The record's protective marking: classifications up to the user's vetting, and its handling code."""
    reg = registry()
    labels = reg.codelists["classification"].codes
    allowed = [(c, labels.get(c, c)) for c in CLASSIFICATIONS if RANK[c] <= rank]
    return [
        FormField(
            "marking.classification",
            "Classification",
            "radios",
            hint="You can choose up to your own vetting level.",
            required=True,
            options=allowed,
            value="OFFICIAL",
        ),
        FormField(
            "marking.handling",
            "Handling code",
            "select",
            required=True,
            options=list(reg.codelists["handling"].codes.items()),
            value="P",
        ),
        FormField(
            "marking.handling_conditions",
            "Handling conditions",
            "text",
            hint="Required when the handling code is C.",
        ),
    ]


def all_leaves(fields: Iterable[FormField]) -> list[FormField]:
    return [leaf for f in fields for leaf in f.leaves()]


# ---- what was posted -> the form's values ----


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def fill_from_post(fields: Iterable[FormField], form: Any) -> None:
    """Keep what was typed, so a form shown again with errors loses nothing."""
    for leaf in all_leaves(fields):
        if leaf.kind == "checkboxes":
            leaf.value = [v for v in form.getlist(leaf.name) if isinstance(v, str)]
        elif leaf.kind == "date":
            leaf.value = {part: _text(form, f"{leaf.name}-{part}") for part in _DATE_PARTS}
        elif leaf.kind in ("lines", "textarea"):
            raw = form.get(leaf.name)
            leaf.value = raw if isinstance(raw, str) else ""
        else:
            leaf.value = _text(form, leaf.name)


def _posted_date(leaf: FormField) -> tuple[str | None, str]:
    """A date input's parts as the schema's text form (YYYY, YYYY-MM or YYYY-MM-DD), or an error."""
    day, month, year = (leaf.value.get(p, "") for p in _DATE_PARTS)
    if not (day or month or year):
        return None, ""
    if not all(p.isdigit() for p in (day, month, year) if p):
        return None, f"{leaf.label} must be a real date, with the day, month and year as numbers"
    if not year:
        return None, f"{leaf.label} must include a year"
    if len(year) != 4:
        return None, f"{leaf.label}: the year must have 4 numbers, like 1985"
    if day and not month:
        return None, f"{leaf.label} must include a month"
    if not leaf.partial and not (day and month):
        return None, f"{leaf.label} must include a day, month and year"
    text = year + (f"-{int(month):02d}" if month else "") + (f"-{int(day):02d}" if day else "")
    return text, ""


def _posted_datetime(text: str) -> str:
    """UK style 14/07/2018 21:30 in ISO form; anything else is left for the schema to judge."""
    found = _UK_DATETIME.match(text)
    if not found:
        return text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    day, month, year, hour, minute = found.groups()
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    return iso + (f"T{int(hour):02d}:{minute}" if hour else "")


def _leaf_data(leaf: FormField) -> tuple[Any, str]:
    """One field's posted value as record data (None when left blank), and an error found on the way."""
    if leaf.kind == "date":
        return _posted_date(leaf)
    if leaf.kind == "checkboxes":
        return (list(leaf.value) or None), ""
    if leaf.kind == "lines":
        items = [line.strip() for line in str(leaf.value).splitlines() if line.strip()]
        return (items or None), ""
    text = str(leaf.value).strip()
    if not text:
        return None, ""
    if leaf.kind == "datetime":
        return _posted_datetime(text), ""
    return text, ""


def _data_of(fields: Iterable[FormField], errors: dict[str, str], blanks: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        key = f.name.rsplit(".", 1)[-1]
        if f.kind == "group":
            sub = _data_of(f.children, errors, blanks)
            filled = {k: v for k, v in sub.items() if v is not None}
            if filled:
                out[key] = sub if blanks else filled
            elif blanks:
                out[key] = None
            continue
        value, error = _leaf_data(f)
        if error:
            f.error = error
            errors[f.anchor] = error
        if value is not None or blanks:
            out[key] = value
    return out


def read_form(fields: list[FormField], blanks: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """Record data from filled-in fields (names without their prefix), and {anchor: message} errors.

    With `blanks`, a field left empty is sent as None: a patch that removes it (for edits)."""
    errors: dict[str, str] = {}
    return _data_of(fields, errors, blanks), errors


# ---- a record's data -> the form's values (edit) ----


def _shown_datetime(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UK)
    return moment.strftime("%Y-%m-%d %H:%M")


def _shown(leaf: FormField, value: Any) -> Any:
    if leaf.kind == "checkboxes":
        return [str(v) for v in (value if isinstance(value, list) else [value])]
    if leaf.kind == "lines":
        return "\n".join(str(v) for v in (value if isinstance(value, list) else [value]))
    if leaf.kind == "date":
        parts = str(value).split("-")
        year, month, day = [*parts, "", ""][:3]
        return {
            "day": day.lstrip("0") if day else "",
            "month": month.lstrip("0") if month else "",
            "year": year,
        }
    if leaf.kind == "boolean":
        return "yes" if value is True else "no" if value is False else ""
    if leaf.kind == "datetime":
        return _shown_datetime(str(value))
    return "" if value is None else str(value)


def fill_from_record(fields: Iterable[FormField], data: Mapping[str, Any]) -> None:
    """Show a record's stored values (for its edit form)."""
    for f in fields:
        value = data.get(f.name.rsplit(".", 1)[-1])
        if value is None:
            continue
        if f.kind == "group" and isinstance(value, Mapping):
            fill_from_record(f.children, value)
        elif f.kind != "group":
            f.value = _shown(f, value)


# ---- schema issues -> field errors ----


def _message(leaf: FormField | None, issue: Issue) -> str:
    text = issue.message.replace("provenance.", "")
    if leaf is None or text.lower().startswith(leaf.label.lower()):
        return text[:1].upper() + text[1:]
    return f"{leaf.label}: {text}"


def apply_issues(
    fields: Iterable[FormField], issues: Iterable[Issue], prefix: str = "", fallback: str | None = None
) -> dict[str, str]:
    """Put each error issue on the field its path names; {anchor: message} for the error summary. An issue
    about no field on the form goes to `fallback` (or the first field), so none is ever lost."""
    leaves = all_leaves(fields)
    by_name = {leaf.name: leaf for leaf in leaves}
    errors: dict[str, str] = {}
    for issue in issues:
        if issue.severity != "error":
            continue
        path = _INDEX.sub("", issue.path)
        leaf = by_name.get(f"{prefix}.{path}" if prefix else path)
        message = _message(leaf, issue)
        if leaf is not None and not leaf.error:
            leaf.error = message
            errors[leaf.anchor] = message
        elif leaf is None:
            anchor = fallback or (leaves[0].anchor if leaves else "main-content")
            errors.setdefault(anchor, message)
    return errors
