"""Record entry and edit forms generated from the schema registry, with a live possible-matches panel.

Creating and updating go through the same library calls as the API's POST /records/{type} and PATCH
/records/{id} (`store.records.create_record`, `update_record`), checked by the same guards, with the
page's errors shown on the fields they concern. While a person or vehicle is typed, the master index is
asked (as POST /match does) which masters it may describe, so the officer can open the existing person
instead of keying a duplicate; a crime's suspect can be an existing person, linked rather than re-created,
in the same transaction as the crime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from openrms.access.model import Subject, is_sensitive
from openrms.access.policy import Policy, sensitive_fields
from openrms.api.guard import audited, check_marking, check_record, disclosing, own_provenance, require
from openrms.errors import BadRequest, Conflict, Issue, NotFound, RecordInvalid, with_article
from openrms.schema import registry, validator
from openrms.store import records as writes
from openrms.store import views
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.scope import ReadScope
from openrms.web import forms
from openrms.web import session as web
from openrms.web.forms import FormField
from openrms.web.lookups import summaries
from openrms.web.reasons import ask_for_reason
from openrms.web.routing import MAX_ID, PREFIX, Redirect, WebRoute, checked_id
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]

SOURCE_SYSTEM = "OPENRMS-WEB"  # records keyed in this UI; the API's callers name their own system
# The record types offered first, in the order officers most often need them; any other type can be made too.
MAIN_TYPES = ("person", "vehicle", "address", "crime", "incident", "intelligence_report")
# Which form gets a possible-matches panel, and the type it looks for (a crime's panel is for its suspect).
MATCHED = {"person": "person", "vehicle": "vehicle", "crime": "person"}
SUSPECT = "suspect"
SUSPECT_FIELDS = ("forenames", "surname", "date_of_birth")
SUSPECT_CHOICE = "suspect.record_id"
SUSPECT_LINK = "SUSPECT"
NEW_PERSON = "new"
MATCH_LIMIT = 5
_PROVENANCE_FIELD = re.compile(r"provenance\.(\w+)")


@dataclass
class EntryForm:
    """Everything an entry or edit form shows: the record's questions, its marking, a crime's suspect."""

    entity_type: str
    fields: list[FormField]
    marking: list[FormField]
    suspect: list[FormField] = field(default_factory=list)
    chosen: str = ""  # the existing person chosen as the suspect
    errors: dict[str, str] = field(default_factory=dict)


def _entity_type(name: str) -> str:
    if name not in registry().entity_types:
        raise NotFound(f"there is no record type {name[:40]!r}")
    return name


def _hidden(subject: Subject, entity_type: str) -> frozenset[str]:
    """Fields this user may not see (an intelligence source's identity), so they are neither shown nor
    changed by the edit form."""
    return frozenset() if subject.can("see_sensitive") else sensitive_fields(entity_type)


def new_form(entity_type: str, subject: Subject, hide: frozenset[str] = frozenset()) -> EntryForm:
    suspect = (
        forms.form_fields("person", prefix=SUSPECT, only=SUSPECT_FIELDS) if entity_type == "crime" else []
    )
    return EntryForm(
        entity_type, forms.form_fields(entity_type, hide=hide), forms.marking_fields(subject.rank), suspect
    )


def _context(entry: EntryForm, **extra: Any) -> dict[str, Any]:
    return {
        "nav": "new",
        "entity_type": entry.entity_type,
        "fields": entry.fields,
        "marking": entry.marking,
        "suspect": entry.suspect,
        "chosen": entry.chosen,
        "errors": entry.errors,
        "matched": MATCHED.get(entry.entity_type) if "record" not in extra else None,
        "matches": None,
        **extra,
    }


# ---- choosing what to record ----


@router.get("/records/new")
def choose(request: Request, scope: Scope) -> Response:
    require(web.policy_of(scope).subject, "create")
    reg = registry()
    main = [reg.entity_types[name] for name in MAIN_TYPES if name in reg.entity_types]
    others = sorted((e for e in reg.entity_types.values() if e.name not in MAIN_TYPES), key=lambda e: e.label)
    return render(request, "entry_choose.html", {"nav": "new", "main": main, "others": others})


@router.get("/records/new/{entity_type}")
def entry_page(request: Request, entity_type: str, scope: Scope) -> Response:
    subject = web.policy_of(scope).subject
    require(subject, "create")
    entry = new_form(_entity_type(entity_type), subject)
    return render(request, "entry_form.html", _context(entry))


# ---- reading a posted form ----


def _marking(entry: EntryForm) -> dict[str, Any]:
    data, _ = forms.read_form(entry.marking)
    return data


def _marking_error(entry: EntryForm, exc: BadRequest) -> None:
    """A provenance problem (handling C without conditions) on the marking field it names."""
    found = _PROVENANCE_FIELD.search(exc.detail)
    name = found.group(1) if found else "classification"
    issue = Issue("provenance", name, exc.detail)
    entry.errors.update(forms.apply_issues(entry.marking, [issue], prefix="marking"))


def _provenance(entry: EntryForm, subject: Subject) -> Provenance | None:
    """The new record's provenance (this user's agency, the chosen marking), or None with the error shown.
    A marking above the user's vetting is refused (403) by the same guard as the API's."""
    marking = _marking(entry)
    values = {
        "source_system": SOURCE_SYSTEM,
        "classification": marking.get("classification") or "OFFICIAL",
        "handling": marking.get("handling") or "P",
        "handling_conditions": marking.get("handling_conditions"),
    }
    prov = Provenance(**own_provenance(subject, values))
    if values["handling"] == "C" and not values["handling_conditions"]:
        conditions = next(f for f in entry.marking if f.name == "marking.handling_conditions")
        conditions.error = "Enter the handling conditions: handling code C shares the record only on them"
        entry.errors[conditions.anchor] = conditions.error
        return None
    try:
        prov.checked()
    except BadRequest as exc:
        _marking_error(entry, exc)
        return None
    return prov


def _check(entry: EntryForm, fields: list[FormField], entity_type: str, prefix: str = "") -> dict[str, Any]:
    """The fields' data, with form errors (a date typed as words) and the schema's issues put on them."""
    data, errors = forms.read_form(fields)
    entry.errors.update(errors)
    _, issues = validator(entity_type).issues(data)
    entry.errors.update(forms.apply_issues(fields, issues, prefix=prefix))
    return data


def _suspect_data(entry: EntryForm) -> dict[str, Any] | None:
    """The new suspect's details, or None when there is no suspect or an existing person was chosen."""
    if entry.entity_type != "crime" or entry.chosen:
        return None
    data, _ = forms.read_form(entry.suspect)
    if not data:
        return None
    return _check(entry, entry.suspect, "person", prefix=SUSPECT)


async def _posted(request: Request, entry: EntryForm) -> FormData:
    form = await request.form()
    forms.fill_from_post([*entry.fields, *entry.marking, *entry.suspect], form)
    chosen = form.get(SUSPECT_CHOICE) if entry.suspect else None  # only a crime's form has a suspect
    entry.chosen = chosen.strip() if isinstance(chosen, str) and chosen.strip() != NEW_PERSON else ""
    if len(entry.chosen) > MAX_ID:
        raise BadRequest("the chosen suspect is not a record id")
    return form


# ---- creating ----


@router.post("/records/new/{entity_type}")
async def create(request: Request, entity_type: str, scope: Scope) -> Response:
    session = web.with_purpose(request)
    await web.check_csrf(request, session)
    policy = web.policy_of(scope)
    require(policy.subject, "create")
    entry = new_form(_entity_type(entity_type), policy.subject)
    await _posted(request, entry)
    data = _check(entry, entry.fields, entity_type)
    suspect = _suspect_data(entry)
    if entry.chosen or suspect:
        require(policy.subject, "link")
    prov = _provenance(entry, policy.subject)
    if entry.errors or prov is None:
        return _invalid(request, entry, scope)
    try:
        with web.database(request).write() as conn:
            outcome = _write(request, conn, policy, entry, data, suspect, prov)
    except RecordInvalid as exc:
        entry.errors.update(forms.apply_issues(entry.fields, exc.issues))
        return _invalid(request, entry, scope)
    if entity_type == "person":
        raise Redirect(f"{PREFIX}/people/{outcome.master_id}")
    raise Redirect(f"{PREFIX}/records/{outcome.id}")


def _write(
    request: Request,
    conn: Any,
    policy: Policy,
    entry: EntryForm,
    data: dict[str, Any],
    suspect: dict[str, Any] | None,
    prov: Provenance,
) -> writes.WriteOutcome:
    """The record, and a crime's suspect (existing or new) with its link, in the caller's one transaction."""
    outcome = writes.create_record(conn, writes.NewRecord(entry.entity_type, data, prov))
    written = [outcome.id]
    person_id = entry.chosen or None
    if person_id:
        resource = check_record(conn, policy, person_id, "read")  # 404 for a person they may not see
        if resource.entity_type != "person":
            raise BadRequest(f"record {person_id} is {with_article(resource.entity_type)}, not a person")
    elif suspect:
        person_id = writes.create_record(conn, writes.NewRecord("person", suspect, prov)).id
        written.append(person_id)
    audited(request, "create", written, {"entity_type": entry.entity_type, "view": "web"}, conn=conn)
    if person_id:
        made = upsert_links(conn, [NewLink(SUSPECT_LINK, person_id, outcome.id, prov)])[0]
        audited(request, "link", [person_id, outcome.id], {"link": made["id"], "view": "web"}, conn=conn)
    return outcome


def _invalid(
    request: Request, entry: EntryForm, scope: ReadScope, status: int = 400, **extra: Any
) -> Response:
    """The form again, as typed, with the error summary and each field's message."""
    context = _context(entry, **extra)
    if context["matched"]:
        context["matches"] = _matches(request, scope, entry)
    return render(request, "entry_form.html", context, status_code=status)


# ---- possible matches ----


def _match_data(entry: EntryForm) -> dict[str, Any]:
    """What has been typed so far that the master index can use: only values that are valid already."""
    fields, etype = (
        (entry.suspect, "person") if entry.entity_type == "crime" else (entry.fields, entry.entity_type)
    )
    data, _ = forms.read_form(fields)
    clean, _ = validator(etype).issues(data)
    return clean


def _candidate(item: dict[str, Any], summary: dict[str, Any] | None) -> dict[str, Any]:
    data = (summary or {}).get("data", {})
    etype = registry().entity(summary["entity_type"]) if summary else None
    identifiers = [
        (f.label, data[f.name])
        for f in (etype.fields.values() if etype else [])
        if (f.identifier or f.searchable == "vrm") and data.get(f.name)
    ]
    name = " ".join(str(data[k]) for k in ("forenames", "surname") if data.get(k))
    return {
        **item,
        "title": name or item.get("title") or (summary or {}).get("title", ""),
        "data": data,
        "entity_type": summary["entity_type"] if summary else "",
        "identifiers": identifiers,
        "percent": round(item["probability"] * 100),
    }


def _matches(request: Request, scope: ReadScope, entry: EntryForm) -> dict[str, Any]:
    """The panel's contents: visible candidates with their details, and restricted ones only as the agency
    to contact (as POST /match answers). Each lookup is audited, like the API's."""
    from openrms.identity.resolver import match

    matched = MATCHED[entry.entity_type]
    data = _match_data(entry)
    panel = {"panel": "suspect" if entry.entity_type == "crime" else "possible", "mode": _mode(entry)}
    if not data:
        return {**panel, "searched": False, "candidates": [], "restricted": [], "chosen": entry.chosen}
    with disclosing(request) as conn:
        found = match(conn, matched, data, scope, limit=MATCH_LIMIT)
        shown = [c["record_id"] for c in found["candidates"]]
        about = summaries(conn, shown, scope)
        detail = {"entity_type": matched, "restricted": len(found["restricted"]), "view": "web"}
        audited(request, "match", shown, detail)
    candidates = [_candidate(c, about.get(c["record_id"])) for c in found["candidates"]]
    return {
        **panel,
        "searched": True,
        "candidates": candidates,
        "restricted": found["restricted"],
        "chosen": entry.chosen if entry.chosen in shown else "",
    }


def _mode(entry: EntryForm) -> str:
    """How a candidate is taken: opened (person, vehicle) or chosen as the crime's suspect."""
    return "choose" if entry.entity_type == "crime" else "open"


@router.post("/records/new/{entity_type}/matches")
async def matches_fragment(request: Request, entity_type: str, scope: Scope) -> Response:
    """The possible-matches panel for what has been typed so far (an htmx fragment)."""
    session = web.with_purpose(request)
    await web.check_csrf(request, session)
    if _entity_type(entity_type) not in MATCHED:
        raise NotFound(f"records of type {entity_type!r} have no possible-matches panel")
    entry = new_form(entity_type, web.policy_of(scope).subject)
    await _posted(request, entry)
    context = {**_matches(request, scope, entry), "oob": True}
    return render(request, "partials/possible_matches.html", context)


# ---- editing ----


def _edit_form(subject: Subject, view: dict[str, Any]) -> EntryForm:
    entry = new_form(view["entity_type"], subject, hide=_hidden(subject, view["entity_type"]))
    entry.suspect = []
    forms.fill_from_record(entry.fields, view["data"])
    prov = view["provenance"]
    values = {"classification": prov["classification"], "handling": prov["handling"]}
    values["handling_conditions"] = prov.get("handling_conditions") or ""
    for leaf in entry.marking:
        leaf.value = values[leaf.name.split(".", 1)[1]]
    return entry


def _edit_context(view: dict[str, Any], reason: str = "") -> dict[str, Any]:
    return {"record": view, "version": view["current_version"], "change_reason": reason}


@router.get("/records/{record_id}/edit")
def edit_page(request: Request, record_id: str, scope: Scope) -> Response:
    policy = web.policy_of(scope)
    with web.database(request).read() as conn:
        check_record(conn, policy, checked_id(record_id), "update")
        view = views.get_record(conn, record_id, scope)
    prov = view["provenance"]
    if is_sensitive(prov["classification"], prov["handling"]) and not policy.subject.reason:
        return ask_for_reason(request, "Why are you changing this record?", "view of a sensitive record")
    audited(request, "read", [record_id], {"view": "web-edit"})
    entry = _edit_form(policy.subject, view)
    return render(request, "entry_form.html", _context(entry, **_edit_context(view)))


def _version(form: FormData) -> int:
    raw = form.get("version")
    if not isinstance(raw, str) or not raw.isdigit() or not 0 < int(raw) < 1_000_000_000:
        raise BadRequest(
            "the form's record version is missing or not a whole number; open the edit page again"
        )
    return int(raw)


@router.post("/records/{record_id}/edit")
async def edit(request: Request, record_id: str, scope: Scope) -> Response:
    session = web.with_purpose(request)
    await web.check_csrf(request, session)
    policy = web.policy_of(scope)
    with web.database(request).read() as conn:
        check_record(conn, policy, checked_id(record_id), "update")
        view = views.get_record(conn, record_id, scope)
    entry = _edit_form(policy.subject, view)
    form = await _posted(request, entry)
    reason_value = form.get("change_reason")
    reason = reason_value.strip()[:500] if isinstance(reason_value, str) else ""
    version = _version(form)
    patch, errors = forms.read_form(entry.fields, blanks=True)
    entry.errors.update(errors)
    _check(entry, entry.fields, entry.entity_type)
    marking = _marking(entry)
    context = _edit_context(view, reason) | {"version": version}
    if entry.errors:
        return _invalid(request, entry, scope, **context)
    check_marking(policy.subject, marking.get("classification"))
    try:
        with web.database(request).write() as conn:
            check_record(conn, policy, record_id, "update")
            outcome = writes.update_record(
                conn,
                record_id,
                patch,
                version,
                recorded_by=policy.subject.username,
                merge=True,
                classification=marking.get("classification"),
                handling=marking.get("handling"),
                handling_conditions=marking.get("handling_conditions"),
                reason=reason or None,
            )
            audited(request, "update", [record_id], {"version": outcome.version, "view": "web"}, conn=conn)
    except RecordInvalid as exc:
        entry.errors.update(forms.apply_issues(entry.fields, exc.issues))
        return _invalid(request, entry, scope, **context)
    except BadRequest as exc:
        _marking_error(entry, exc)
        return _invalid(request, entry, scope, **context)
    except Conflict:
        entry.errors["main-content"] = (
            "Someone else changed this record since you opened it. Open it again to see their changes, "
            "then make yours."
        )
        return _invalid(request, entry, scope, status=409, **context)
    raise Redirect(f"{PREFIX}/records/{record_id}")
