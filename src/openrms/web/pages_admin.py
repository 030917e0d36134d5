"""Pages for administrators and auditors: import runs, quarantine, and audit search.

Imports (the "import" action, the administrator role) call what the imports API calls
(`openrms.ingest.runs`, `openrms.ingest.service.import_source`), but show only the runs of the
administrator's own agency: a run's quarantine holds raw source rows, and an administrator administers
their own agency only (as the admin API does for users and tokens). Another agency's run answers like a
missing one.

Audit search (the "audit" action, the auditor role) calls `openrms.access.audit` as the audit API and
`openrms audit` do. Every look at the trail is itself put on the trail ("audit-read"), after the read, as
the API does, so an auditor's look at who saw a record is as visible as the look itself.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from openrms.access import audit
from openrms.access.model import Subject
from openrms.access.policy import Policy
from openrms.api.guard import audited, require
from openrms.api.responses import attachment
from openrms.api.routers.imports import agency_warnings
from openrms.errors import BadRequest, NotFound
from openrms.ingest import runs, service
from openrms.ingest.mapping import Mapping as ImportMapping
from openrms.ingest.mapping import builtin_mappings
from openrms.ingest.rejects import Export
from openrms.schema.types import FieldTypeError, utc
from openrms.store.scope import ReadScope
from openrms.web import session as web
from openrms.web.paging import pagination
from openrms.web.routing import PREFIX, WebRoute, redirect
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]

RUNS_PER_PAGE = 25
RUNS_FETCHED = 1000  # the newest of the agency's runs the list pages through
ROWS_PER_PAGE = 50
ENTRIES_PER_PAGE = 50
MAX_REASON = 2000  # as the API's reasons
MAX_MATCHING = 500  # as the API's `matching`
STATUSES = (*runs.STATUSES, "all")
_ID = re.compile(r"^[0-9a-f]{1,64}$")
_FIELD = re.compile(r"^[A-Za-z_][\w.\[\]-]*$")
_ANCHOR = re.compile(r"^\s*(\d{1,18})\s*:\s*([0-9a-fA-F]{64})\s*$")


def _allowed(scope: ReadScope, action: str) -> Subject:
    """The caller, if their roles allow `action` (else 403, as the API's `require`)."""
    assert isinstance(scope, Policy), "page_scope returns the caller's Policy"
    require(scope.subject, action)
    return scope.subject


def _number(name: str, value: str | None, default: int | None = None) -> int | None:
    """A whole number from the query string (a page link), or a 400 saying which one is wrong."""
    if value in (None, ""):
        return default
    if not value.isdigit() or len(value) > 18:
        raise BadRequest(f"{name} must be a whole number of 0 or more, not {value[:40]!r}")
    return int(value)


def _text_field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# ---- imports ----


def _imported(run: dict[str, Any]) -> int:
    rows = run["counts"].get("rows", {})
    return sum(int(rows.get(k, 0)) for k in ("created", "updated", "unchanged"))


def _own_run(request: Request, subject: Subject, run_id: str) -> dict[str, Any]:
    """The run, if it is the caller's agency's; another agency's answers like a missing one."""
    with web.database(request).read() as conn:
        run = runs.get_run(conn, run_id, agency=subject.agency)
    run["imported"] = _imported(run)
    run["source_name"] = Path(run["source"]).name or run["source"]
    return run


def _imports_context(request: Request, subject: Subject, page: int, **extra: Any) -> dict[str, Any]:
    with web.database(request).read() as conn:
        found = runs.list_runs(conn, RUNS_FETCHED, agency=subject.agency)
    pages = max(1, -(-len(found) // RUNS_PER_PAGE))
    page = min(max(1, page), pages)
    shown = found[(page - 1) * RUNS_PER_PAGE : page * RUNS_PER_PAGE]
    for run in shown:
        run["imported"] = _imported(run)
        run["source_name"] = Path(run["source"]).name or run["source"]
    return {
        "nav": "imports",
        "runs": shown,
        "total": len(found),
        "pagination": pagination(lambda number: f"{PREFIX}/imports?page={number}", page, pages),
        "mappings": builtin_mappings(),
        "agency": subject.agency,
        "errors": {},
        "chosen": {"mapping": "", "dry_run": False},
        "report": None,
        **extra,
    }


@router.get("/imports")
def imports_page(request: Request, scope: Scope, page: str | None = None) -> Response:
    subject = _allowed(scope, "import")
    number = _number("page", page, 1) or 1
    return render(request, "imports.html", _imports_context(request, subject, number))


def _chosen_file(value: Any) -> UploadFile | None:
    """A form's file field, if a file was chosen (a browser sends an empty part when none was)."""
    return value if isinstance(value, UploadFile) and value.filename else None


def _form_errors(upload: Any, mapping: str, own_mapping: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if _chosen_file(upload) is None:
        errors["file"] = "Select a file to import"
    chose_own = _chosen_file(own_mapping) is not None
    if not mapping and not chose_own:
        errors["mapping"] = "Select the mapping that describes the file, or choose your own mapping's file"
    elif mapping and chose_own:
        errors["mapping"] = "Select a built-in mapping or choose your own mapping's file, not both"
    elif mapping and mapping not in builtin_mappings():
        errors["mapping"] = f"Select one of the built-in mappings ({', '.join(builtin_mappings())})"
    return errors


def _run_import(
    request: Request, subject: Subject, upload: UploadFile, mapping: service.MappingRef, dry_run: bool
) -> dict[str, Any]:
    """Import the upload through a built-in mapping or an uploaded one, as the imports API's upload does."""
    report = service.import_upload(
        web.database(request),
        upload.file,
        upload.filename,
        mapping,
        agency=subject.agency,
        dry_run=dry_run,
        recorded_by=subject.username,
        workers=0,
    )
    report.warnings[:0] = agency_warnings(mapping, subject.agency, via="on the web")
    return report.as_dict()


async def _uploaded_mapping(form: Any) -> service.MappingRef | None:
    """The mapping chosen as a YAML file on a form (`mapping_file`), if any; a BadRequest (naming the
    file's line) if it is bad."""
    upload_ = _chosen_file(form.get("mapping_file"))
    if upload_ is None:
        return None
    try:
        text = (await upload_.read()).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the mapping must be a YAML file in UTF-8") from None
    return service.uploaded_mapping(text, Path(upload_.filename or "mapping_file").name)


@router.post("/imports")
async def upload(request: Request, scope: Scope) -> Response:
    """Import an uploaded file through a built-in mapping or one of the administrator's own: a real run
    opens its page; a dry run shows its reconciliation here, having written nothing."""
    session = web.with_purpose(request)
    await web.check_csrf(request, session)
    subject = _allowed(scope, "import")
    form = await request.form()
    upload_ = form.get("file")
    mapping = _text_field(form, "mapping")
    dry_run = form.get("dry_run") == "yes"
    chosen = {"mapping": mapping, "dry_run": dry_run}
    errors = _form_errors(upload_, mapping, form.get("mapping_file"))
    if not errors:
        assert isinstance(upload_, UploadFile)
        ref: service.MappingRef = mapping
        try:
            ref = await _uploaded_mapping(form) or mapping
        except BadRequest as exc:
            errors["mapping_file"] = f"Your mapping cannot be used: {exc.detail}"
        if not errors:
            try:
                report = await run_in_threadpool(_run_import, request, subject, upload_, ref, dry_run)
            except BadRequest as exc:
                errors["file"] = f"The file could not be imported: {exc.detail}"
    if errors:
        context = _imports_context(request, subject, 1, errors=errors, chosen=chosen)
        return render(request, "imports.html", context, status_code=400)
    name = Path(getattr(upload_, "filename", "") or "upload").name
    shown = ref.ref if isinstance(ref, ImportMapping) else ref
    detail = {"file": name, "mapping": shown, "dry_run": dry_run, "run": report["run_id"], "view": "web"}
    audited(request, "import", (), detail)
    if report["run_id"] and not dry_run:
        return redirect(request, f"{PREFIX}/imports/{report['run_id']}")
    context = _imports_context(request, subject, 1, report={**report, "file": name, "mapping": shown})
    return render(request, "imports.html", context)


def _reason_parts(reason: str) -> dict[str, str]:
    """A quarantine reason ("custody.arrested_at: '31022019' is not a real date") as field and problem."""
    field, sep, problem = reason.partition(": ")
    if sep and _FIELD.match(field):
        return {"field": field, "problem": problem}
    return {"field": "", "problem": reason}


def _rows_page(
    request: Request, agency: str, run_id: str, status: str, after: str | None, matching: str | None
) -> tuple[list[dict[str, Any]], int]:
    """A page of the run's rows of `status` (and whose reasons hold `matching`), and how many open rows
    the retry and discard forms would work."""
    with web.database(request).read() as conn:
        rows = runs.list_quarantine(
            conn,
            run_id=run_id,
            status=None if status == "all" else status,
            limit=ROWS_PER_PAGE + 1,
            after=after,
            agency=agency,
            matching=matching,
        )
        open_rows = runs.count_entries(conn, runs.Chosen(run_id, agency=agency, matching=matching))
    for row in rows:
        row["problems"] = [_reason_parts(r) for r in row["reasons"]]
    return rows, open_rows


def _matching(value: str | None) -> str | None:
    """The reason's text a page or form narrows the rows to (None: every row)."""
    text = (value or "").strip()
    if len(text) > MAX_MATCHING:
        raise BadRequest(f"the text to look for in the reasons must be {MAX_MATCHING} characters or fewer")
    return text or None


@router.get("/imports/{run_id}")
def run_page(
    request: Request,
    run_id: str,
    scope: Scope,
    status: str = "open",
    after: str | None = None,
    matching: str | None = None,
) -> Response:
    """One run's reconciliation and its quarantined rows, a page at a time (in the library's order),
    those whose reasons hold `matching` if given."""
    subject = _allowed(scope, "import")
    context = _run_context(request, subject, run_id, status, after, _matching(matching))
    return render(request, "import_run.html", context)


def _run_context(
    request: Request,
    subject: Subject,
    run_id: str,
    status: str,
    after: str | None,
    matching: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}, not {status[:40]!r}")
    if after is not None and not _ID.match(after):
        raise BadRequest("after must be the id of a quarantined row (letters a-f and digits)")
    run = _own_run(request, subject, run_id)
    rows, open_rows = _rows_page(request, subject.agency, run_id, status, after, matching)
    more = len(rows) > ROWS_PER_PAGE
    rows = rows[:ROWS_PER_PAGE]
    detail: dict[str, Any] = {"run": run_id, "status": status, "returned": len(rows)}
    if matching is not None:
        detail["matching"] = matching
    audited(request, "quarantine-read", (), detail)
    base = f"{PREFIX}/imports/{run_id}"
    chosen = {"status": status, **({"matching": matching} if matching else {})}
    return {
        "nav": "imports",
        "run": run,
        "rows": rows,
        "status": status,
        "matching": matching or "",
        "open_rows": open_rows,
        "chosen_query": urlencode(chosen),
        "statuses": STATUSES,
        "first_page": f"{base}?{urlencode(chosen)}" if after else None,
        "next_page": f"{base}?{urlencode({**chosen, 'after': rows[-1]['id']})}" if more else None,
        "banner": _worked_banner(request),
        "errors": {},
        "reason": "",
        **extra,
    }


@router.get("/imports/{run_id}/rows/{entry_id}")
def row_page(request: Request, run_id: str, entry_id: str, scope: Scope) -> Response:
    """One quarantined row whole: its raw text, the fields read from it and every reason."""
    subject = _allowed(scope, "import")
    return render(request, "imports_row.html", _row_context(request, subject, run_id, entry_id))


def _row_context(
    request: Request, subject: Subject, run_id: str, entry_id: str, **extra: Any
) -> dict[str, Any]:
    run = _own_run(request, subject, run_id)
    with web.database(request).read() as conn:
        entry = runs.get_entry(conn, entry_id, agency=subject.agency)
    if entry["run_id"] != run_id:
        raise NotFound(f"no quarantine entry {entry_id} in run {run_id}")
    entry["problems"] = [_reason_parts(r) for r in entry["reasons"]]
    audited(request, "quarantine-read", (), {"run": run_id, "entry": entry_id})
    context = {"nav": "imports", "run": run, "entry": entry, "banner": _worked_banner(request)}
    return {**context, "errors": {}, "reason": "", **extra}


# What a retry or discard did, for the banner of the page it sends the browser back to: the counts come
# back in the query as whole numbers only, so no text from a URL is ever shown as a message.
_WORKED_COUNTS = ("count", "retried", "resolved", "still_open", "unparsed")


def _worked_banner(request: Request) -> str | None:
    done = request.query_params.get("done")
    n = {key: _count(request.query_params.get(key)) for key in _WORKED_COUNTS}
    if done == "discard":
        return f"Discarded {n['count']} row{_s(n['count'])}. They stay on record with your reason."
    if done == "retry":
        text = (
            f"Retried {n['retried']} row{_s(n['retried'])}: {n['resolved']} now imported, "
            f"{n['still_open']} still quarantined"
        )
        if n["unparsed"]:
            text += (
                f"; {n['unparsed']} could not be read from the file, so have nothing to map again: "
                "correct the file and import it again"
            )
        return text + "."
    return None


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 10 else 0


def _s(count: int) -> str:
    return "" if count == 1 else "s"


@router.post("/imports/{run_id}/quarantine")
async def work_quarantine(request: Request, run_id: str, scope: Scope) -> Response:
    """Retry or discard a run's open rows, all of them or one (`entry`), as `openrms quarantine retry` and
    `discard` do, then back to the page the form was on with what happened. A form error shows that page
    again with the error on its field."""
    session = web.with_purpose(request)
    await web.check_csrf(request, session)
    subject = _allowed(scope, "import")
    form = await request.form()
    action = _text_field(form, "action")
    entry = _text_field(form, "entry") or None
    if entry is not None and not _ID.match(entry):
        raise BadRequest("entry must be the id of a quarantined row (letters a-f and digits)")
    _own_run(request, subject, run_id)  # another agency's run answers as a missing one
    database = web.database(request)
    errors: dict[str, str] = {}
    reason = _text_field(form, "reason")
    matching = None if entry else _matching(_text_field(form, "matching"))
    if action == "discard":
        if len(reason) < 3:
            errors["reason"] = "Say why these rows should not be imported"
        elif len(reason) > MAX_REASON:
            errors["reason"] = (
                f"The reason must be {MAX_REASON} characters or fewer; you entered {len(reason)}"
            )
        else:
            count = await run_in_threadpool(
                service.discard,
                database,
                [entry] if entry else None,
                run_id=run_id,
                by=subject.username,
                reason=reason,
                agency=subject.agency,
                matching=matching,
            )
            audited(request, "quarantine-discard", (), {"run": run_id, "discarded": count, "view": "web"})
            done: dict[str, Any] = {"done": "discard", "count": count}
    elif action == "retry":
        try:
            mapping = await _uploaded_mapping(form)
            summary = await run_in_threadpool(
                service.retry_quarantine,
                database,
                run_id=run_id,
                entry_ids=[entry] if entry else None,
                mapping_ref=mapping,
                recorded_by=subject.username,
                agency=subject.agency,
                matching=matching,
            )
        except BadRequest as exc:
            errors["mapping_file"] = f"The rows could not be retried: {exc.detail}"
        else:
            detail = {
                "run": run_id,
                "entries": 1 if entry else 0,
                "retried": summary["retried"],
                "view": "web",
            }
            audited(request, "quarantine-retry", (), detail)
            done = {"done": "retry", **{k: summary[k] for k in _WORKED_COUNTS[1:]}}
    else:
        raise BadRequest(f"action must be retry or discard, not {action[:40]!r}")
    if errors:
        if entry:
            context = _row_context(request, subject, run_id, entry, errors=errors, reason=reason)
            return render(request, "imports_row.html", context, status_code=400)
        context = _run_context(request, subject, run_id, "open", None, matching, errors=errors, reason=reason)
        return render(request, "import_run.html", context, status_code=400)
    path = f"{PREFIX}/imports/{run_id}" + (f"/rows/{entry}" if entry else "")
    return redirect(request, f"{path}?{urlencode({**done, **({'matching': matching} if matching else {})})}")


@router.get("/imports/{run_id}/quarantine.csv")
def quarantine_csv(
    request: Request, run_id: str, scope: Scope, status: str = "open", matching: str | None = None
) -> Response:
    """The run's quarantined rows (of the status and reason shown) as CSV, for whoever corrects them at
    the source."""
    subject = _allowed(scope, "import")
    export = Export("csv", run_id, status, subject.agency, _matching(matching))
    count = export.count(web.database(request))
    audited(request, "quarantine-read", (), export.audit_detail(count))
    return attachment(export.pieces(web.database(request)), export.media_type, export.file_name)


# ---- audit ----


def _date(value: str) -> dt.date | None:
    """A date typed as 27/3/2026 or 2026-03-27."""
    value = value.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def _midnight(day: dt.date, days_after: int = 0) -> dt.datetime | None:
    """UK local midnight at the start of `day` (plus `days_after`) in UTC; None past the calendar's end."""
    try:
        return utc(dt.datetime.combine(day + dt.timedelta(days=days_after), dt.time()))
    except (OverflowError, FieldTypeError):
        return None


class AuditFilters:
    """The audit search form: what was typed (to show back), the filters for the library, and errors."""

    FIELDS = ("user", "record", "action", "from", "to")

    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.values = {k: (params.get(k) or "").strip() for k in self.FIELDS}
        self.submitted = any(k in params for k in self.FIELDS)
        self.errors: dict[str, str] = {}
        self.since: dt.datetime | None = None
        self.until: dt.datetime | None = None
        for key, label in (("user", "Username"), ("record", "Record ID"), ("action", "Action")):
            if len(self.values[key]) > 200:
                self.errors[key] = f"{label} must be 200 characters or fewer"
        start, end = self._day("from", "from"), self._day("to", "to")
        if start and end and end < start:
            self.errors["to"] = "The to date must be the same as or after the from date"
        if start and not self.errors:
            self.since = _midnight(start)
            if self.since is None:
                self.errors["from"] = "The from date is too far in the future"
        if end and not self.errors:
            self.until = _midnight(end, days_after=1)  # the whole of the to date; None: no end

    def _day(self, key: str, label: str) -> dt.date | None:
        text = self.values[key]
        if not text:
            return None
        day = _date(text)
        if day is None:
            self.errors[key] = f"Enter the {label} date as a real date, like 27/3/2026 or 2026-03-27"
        return day

    def query(self) -> dict[str, Any]:
        """Keyword arguments for `audit.entries`."""
        return {
            "actor": self.values["user"] or None,
            "action": self.values["action"] or None,
            "record_id": self.values["record"] or None,
            "since": self.since,
            "until": self.until,
        }


def _entries_page(
    request: Request, filters: AuditFilters, older: int | None, newer: int | None
) -> dict[str, Any]:
    """A page of matching entries, newest first, with links to the newer and older pages."""
    with web.database(request).read() as conn:
        if newer is not None:
            found = audit.entries(conn, **filters.query(), after_seq=newer, limit=ENTRIES_PER_PAGE + 1)
            more_newer, items = len(found) > ENTRIES_PER_PAGE, found[:ENTRIES_PER_PAGE][::-1]
            more_older = True
        else:
            found = audit.entries(
                conn, **filters.query(), after_seq=older, limit=ENTRIES_PER_PAGE + 1, newest_first=True
            )
            more_older, items = len(found) > ENTRIES_PER_PAGE, found[:ENTRIES_PER_PAGE]
            more_newer = older is not None
    base = f"{PREFIX}/audit?" + urlencode(filters.values)
    return {
        "entries": items,
        "newer_page": f"{base}&newer={items[0]['seq']}" if items and more_newer else None,
        "older_page": f"{base}&older={items[-1]['seq']}" if items and more_older else None,
    }


def _audit_context(**extra: Any) -> dict[str, Any]:
    return {
        "nav": "audit",
        "values": dict.fromkeys(AuditFilters.FIELDS, ""),
        "errors": {},
        "searched": False,
        "entries": [],
        "verified": None,
        "anchor": "",
        **extra,
    }


@router.get("/audit")
def audit_page(
    request: Request, scope: Scope, older: str | None = None, newer: str | None = None
) -> Response:
    """The search form; with any of its fields in the query, the matching entries too."""
    _allowed(scope, "audit")
    filters = AuditFilters(request)
    context = _audit_context(values=filters.values, errors=filters.errors)
    if filters.errors:
        return render(request, "audit.html", context, status_code=400)
    if not filters.submitted:
        return render(request, "audit.html", context)
    found = _entries_page(request, filters, _number("older", older), _number("newer", newer))
    query = {k: v for k, v in filters.values.items() if v}
    audited(request, "audit-read", (), {"query": query, "returned": len(found["entries"]), "view": "web"})
    return render(request, "audit.html", {**context, **found, "searched": True})


def _anchors(text: str) -> dict[int, str] | None:
    """An externally recorded head, typed as SEQ:HASH, or None when it is not in that form."""
    if not text.strip():
        return {}
    found = _ANCHOR.match(text)
    return {int(found.group(1)): found.group(2).lower()} if found else None


@router.get("/audit/verify")
def verify_page(request: Request, scope: Scope, anchor: str = "") -> Response:
    """Recompute every entry's hash and check every link, as `openrms audit verify` does."""
    _allowed(scope, "audit")
    anchors = _anchors(anchor[:200])
    if anchors is None:
        message = "Enter the recorded entry as its number, a colon and its 64-character hash, like 1024:9f86…"
        context = _audit_context(anchor=anchor[:200], errors={"anchor": message})
        return render(request, "audit.html", context, status_code=400)
    with web.database(request).read() as conn:
        result = audit.verify(conn, anchors=anchors)
    audited(request, "audit-read", (), {"verified": result.checked, "ok": result.ok, "view": "web"})
    return render(request, "audit.html", _audit_context(verified=result.as_dict(), anchor=anchor[:200]))


@router.get("/audit/entries/{seq}")
def entry_page(request: Request, seq: str, scope: Scope) -> Response:
    """One entry whole: its detail, the records it names, and its place in the chain."""
    _allowed(scope, "audit")
    number = _number("entry number", seq)
    if not number:
        raise NotFound(f"no audit entry {seq[:40]}")
    with web.database(request).read() as conn:
        found = audit.entries(conn, after_seq=number - 1, limit=1)
    if not found or found[0]["seq"] != number:
        raise NotFound(f"no audit entry {number}")
    audited(request, "audit-read", (), {"entry": number, "view": "web"})
    return render(request, "audit_entry.html", {"nav": "audit", "entry": found[0]})
