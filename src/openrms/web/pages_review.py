"""The master index review queue: side-by-side pairs, same/different/unsure, merge and unmerge.

Every page reads and writes through the library calls the API's masters router makes (`judgements`,
`membership`, `survivorship`), with the same guards: the queue and a pair need the "review" action, a
decision that merges or splits also needs "merge" and every record of both masters visible (the router's
`_check_pair`), and a merge, split or undo is checked with `check_members` / `check_visible` exactly as the
API does. A change is never made from a GET: each one is shown first on a confirmation page with its effect
(the records that end up together or apart, the identity after), then made by a CSRF-checked POST, audited
in the same transaction. After a change the browser is sent on with `done=<what>` in the query, which picks
one of a fixed set of success messages (so no text in a URL is ever shown as a message).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection, select
from starlette.datastructures import FormData

from openrms.access.policy import Policy
from openrms.api.guard import audited, check_members, check_visible, disclosing, require
from openrms.api.routers.masters import _check_pair
from openrms.errors import BadRequest, Conflict, NotFound
from openrms.identity import judgements, membership, survivorship
from openrms.schema import registry
from openrms.store import views
from openrms.store.scope import ReadScope
from openrms.store.tables import master, membership_change
from openrms.web import session as web
from openrms.web.lookups import summaries
from openrms.web.pages_records import _needs_reason
from openrms.web.reasons import ask_for_reason
from openrms.web.routing import MAX_ID, PREFIX, Redirect, WebRoute, checked_id
from openrms.web.templating import render, type_label

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Scope = Annotated[ReadScope, Depends(web.page_scope)]

PER_PAGE = 20
MAX_REASON = 2000  # as the API's `reason` fields
DECISIONS = ("same", "different", "unsure")
# `done` (and, for a decision, its effect) -> the success banner's heading after a change.
DONE = {
    "same:merge": "Marked as the same. The two records are now one {noun}.",
    "same:none": "Marked as the same. They were already one {noun}.",
    "different:split": "Marked as different. The later record was split off into a {noun} of its own.",
    "different:none": "Marked as different. They stay apart.",
    "unsure:none": "Marked as not sure. The pair has left the queue and nothing was changed.",
    "merge": "Merged. The records below are now one {noun}.",
    "split": "Split. The records you chose are now each a {noun} of their own.",
    "undo": "Undone. The records are back where they were before that change.",
}
ACTIONS = {
    "merge": "Merged",
    "split": "Split",
    "unmerge": "Undone (unmerge)",
    "resolve": "Joined automatically",
}


# ---- small checks shared by the pages ----


def _reason(form: FormData, errors: dict[str, str]) -> str | None:
    """The optional reason kept with a decision or change; too long is an error on its field."""
    value = form.get("reason")
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_REASON:
        errors["reason"] = f"Reason must be {MAX_REASON} characters or fewer; you entered {len(text)}"
    return text or None


async def _posted(request: Request, scope: ReadScope, action: str) -> tuple[Policy, FormData]:
    """A form post's checks, before anything is read: the session's token, then the caller's roles."""
    await web.check_csrf(request, web.with_purpose(request))
    policy = web.policy_of(scope)
    require(policy.subject, action)
    return policy, await request.form()


def _form_id(form: FormData, name: str, what: str) -> str:
    value = form.get(name)
    return checked_id(value if isinstance(value, str) else None, what)


def _noun(entity_type: str) -> str:
    return type_label(entity_type).lower()


def _banner(request: Request, entity_type: str) -> str | None:
    """The success message named by `done` (and `effect`) in the query, or None."""
    done = request.query_params.get("done", "")
    effect = request.query_params.get("effect")
    text = DONE.get(f"{done}:{effect}" if effect else done)
    return text.format(noun=_noun(entity_type)) if text else None


def _banner_master(request: Request) -> str | None:
    """The master a decision merged into or split from, for the banner's links (None if not an id)."""
    value = request.query_params.get("master")
    return value if value and len(value) <= MAX_ID and value.isalnum() else None


def _done_url(path: str, **params: str | None) -> str:
    return f"{PREFIX}{path}?{urlencode({k: v for k, v in params.items() if v})}"


# ---- the queue ----


@router.get("/review")
def review_list(
    request: Request,
    scope: Scope,
    after: str | None = None,
    entity_type: Annotated[str | None, Query(alias="type")] = None,
) -> Response:
    """Pairs the model left for a person, most likely first (GET /review), a page at a time."""
    require(web.policy_of(scope).subject, "review")
    wanted = entity_type or None
    context: dict[str, Any] = {
        "nav": "review",
        "items": [],
        "errors": {},
        "type": wanted or "",
        "after": after,
    }
    context["types"] = sorted((e.label, e.name) for e in registry().entity_types.values())
    try:
        with disclosing(request) as conn:
            items = judgements.review_queue(
                conn, entity_type=wanted, limit=PER_PAGE, after=after or None, scope=scope
            )
            shown = {i["records"][k]["id"] for i in items for k in ("a", "b")}
            audited(request, "review-list", shown, {"view": "web", "type": wanted, "after": after})
    except BadRequest as exc:
        field = "type" if "entity type" in exc.detail else "queue"
        context["errors"] = {field: _queue_error(field, exc.detail)}
        return render(request, "review_list.html", context, status_code=400)
    context["items"] = items
    context["next_url"] = (
        _done_url("/review", after=items[-1]["judgement_id"], type=wanted) if len(items) == PER_PAGE else None
    )
    context["first_url"] = _done_url("/review", type=wanted) if after else None
    context["banner"] = _banner(request, "person")
    context["banner_master"] = _banner_master(request)
    return render(request, "review_list.html", context)


def _queue_error(field: str, detail: str) -> str:
    if field == "type":
        return "Choose a record type from the list"
    return f"That page of the queue no longer exists ({detail}); start again from the first page"


# ---- one pair, and deciding it ----


def _pair_context(request: Request, item: dict[str, Any], policy: Policy) -> dict[str, Any]:
    current = item.get("current_judgement") or {}
    decided = current.get("by_kind") == "person" or item["decision"] != "review"
    return {
        "nav": "review",
        "item": item,
        "a": item["records"]["a"],
        "b": item["records"]["b"],
        "noun": _noun(item["entity_type"]),
        "decided": current if decided else None,
        "can_merge": policy.subject.can("merge"),
        "why": (item.get("explanation") or {}).get("why") or [],
        "errors": {},
        "values": {},
        "banner": _banner(request, item["entity_type"]),
        "banner_master": _banner_master(request),
    }


def _read_pair(request: Request, conn: Connection, judgement_id: str, scope: ReadScope) -> dict | None:
    """The pair, on the audit trail as read; None while a sensitive record needs a reason first."""
    item = judgements.review_item(conn, judgement_id, scope=scope)
    if _needs_reason(request, [item["records"]["a"], item["records"]["b"]]):
        return None
    audited(request, "review-read", _ids(item), {"judgement": judgement_id, "view": "web"})
    return item


def _ids(item: dict[str, Any]) -> list[str]:
    return [item["records"][k]["id"] for k in ("a", "b")]


def _ask_why(request: Request) -> Response:
    return ask_for_reason(request, "Why are you reviewing these records?", "view of a sensitive record")


@router.get("/review/{judgement_id}")
def review_pair(request: Request, judgement_id: str, scope: Scope) -> Response:
    """The two records side by side, the model's score and reasons, and the decision form (GET
    /review/{id})."""
    policy = web.policy_of(scope)
    require(policy.subject, "review")
    with disclosing(request) as conn:
        item = _read_pair(request, conn, checked_id(judgement_id, "judgement"), scope)
    if item is None:
        return _ask_why(request)
    return render(request, "review_pair.html", _pair_context(request, item, policy))


def _pair_error(
    request: Request, judgement_id: str, scope: ReadScope, errors: dict[str, str], form: FormData, status: int
) -> Response:
    """The pair page again, with the problems on their fields and what was entered kept."""
    with disclosing(request) as conn:
        item = _read_pair(request, conn, judgement_id, scope)
    if item is None:
        return _ask_why(request)
    context = _pair_context(request, item, web.policy_of(scope))
    context.update(errors=errors, values={k: form.get(k) for k in ("decision", "reason")}, banner=None)
    return render(request, "review_pair.html", context, status_code=status)


@router.post("/review/{judgement_id}")
async def decide_pair(request: Request, judgement_id: str, scope: Scope) -> Response:
    """Decide a queued pair and apply it, as POST /review/{id}/decision does; then on to the next pair."""
    policy, form = await _posted(request, scope, "review")
    checked_id(judgement_id, "judgement")
    errors: dict[str, str] = {}
    decision = form.get("decision")
    if decision not in DECISIONS:
        errors["decision"] = "Select whether the records are the same, different, or you are not sure"
    reason = _reason(form, errors)
    if errors:
        return _pair_error(request, judgement_id, scope, errors, form, 400)
    assert isinstance(decision, str)
    try:
        with web.database(request).write() as conn:
            item = judgements.review_item(conn, judgement_id, scope=scope)  # 404 unless both are visible
            a, b = _ids(item)
            _check_pair(conn, policy, a, b, decision)
            outcome = judgements.decide(conn, judgement_id, decision, by=policy.actor, reason=reason)
            detail = {"judgement": judgement_id, "decision": decision, "view": "web"}
            audited(request, "judge", [a, b], detail, conn=conn)
            following = judgements.review_queue(conn, limit=1, scope=scope)
    except Conflict as exc:
        return _pair_error(request, judgement_id, scope, {"decision": exc.detail}, form, 409)
    effect = outcome["effect"]
    params = {"done": decision, "effect": effect["action"] or "none", "master": effect["masters_after"]["a"]}
    if following:
        raise Redirect(_done_url(f"/review/{following[0]['judgement_id']}", **params))
    raise Redirect(_done_url("/review", **params))


# ---- a master's merge and split page, with its history ----


def _master_of(conn: Connection, wanted: str, scope: ReadScope) -> dict[str, Any]:
    """The master view for a master id, or for the master of a record id (what a person can paste)."""
    try:
        return survivorship.master_view(conn, wanted, scope)
    except NotFound:
        rec = views.get_record(conn, wanted, scope)  # NotFound again: neither a master nor a record
        if not rec["master_id"]:
            raise
        return survivorship.master_view(conn, rec["master_id"], scope)


def _history(conn: Connection, master_id: str, scope: ReadScope) -> list[dict[str, Any]]:
    """The master's membership events, newest first, each record moved named by its title."""
    events = membership.history(conn, master_id, scope=scope)
    titles = summaries(conn, {r["id"] for e in events for r in e["records"]}, scope)
    for event in events:
        event["label"] = ACTIONS.get(event["action"], event["action"].capitalize())
        for moved in event["records"]:
            moved["title"] = titles.get(moved["id"], {}).get("title", moved["id"])
    return events


@router.get("/masters/{master_id}")
def master_page(request: Request, master_id: str, scope: Scope) -> Response:
    """Merge or split: the records behind a master, what can be done with them, and its history."""
    require(web.policy_of(scope).subject, "merge")
    wanted = checked_id(master_id, "master")
    with disclosing(request) as conn:
        try:
            view = survivorship.master_view(conn, wanted, scope)
        except NotFound:
            _follow_merged(conn, wanted, request)
            raise
        if _needs_reason(request, view["records"]):
            return ask_for_reason(request, "Why are you viewing this person?", "view of a sensitive record")
        events = _history(conn, wanted, scope)
        audited(request, "read-master", [r["id"] for r in view["records"]], {"master": wanted, "view": "web"})
    undoable = events[0] if events and not events[0]["undone_by"] else None
    context = {
        "nav": "review",
        "master": view,
        "noun": _noun(view["entity_type"]),
        "events": events,
        "undoable": undoable,
        "banner": _banner(request, view["entity_type"]),
    }
    return render(request, "merge_master.html", context)


def _follow_merged(conn: Connection, master_id: str, request: Request) -> None:
    """A master merged into another is shown as the one it went into (whose page checks access again)."""
    into = conn.execute(select(master.c.merged_into).where(master.c.id == master_id)).scalar()
    if into:
        query = request.url.query
        raise Redirect(f"{PREFIX}/masters/{into}" + (f"?{query}" if query else ""))


# ---- merge: choose the other master, confirm the effect, merge ----


def _merge_context(
    conn: Connection, this: dict[str, Any], that: dict[str, Any], policy: Policy
) -> dict[str, Any]:
    """What the merge will do: every record of both, the identity after, and whether a person's
    "different" judgement stops it."""
    check_members(conn, policy, [this["id"], that["id"]])  # 403 if either holds records hidden from us
    records = this["records"] + that["records"]
    golden = survivorship.golden(this["entity_type"], records)
    return {
        "nav": "review",
        "master": this,
        "other": that,
        "records": records,
        "golden": [{"name": k, **v} for k, v in golden.items()],
        "blocked": membership.blocked_by_person(conn, this["id"], that["id"]),
        "noun": _noun(this["entity_type"]),
        "errors": {},
        "reason": "",
    }


def _other_error(this: dict[str, Any], other: str, conn: Connection, scope: ReadScope) -> tuple[Any, str]:
    """The other master, or why the id typed cannot be merged with this one."""
    if not other:
        return None, f"Enter the id of the {_noun(this['entity_type'])} to merge with"
    try:
        that = _master_of(conn, other, scope)
    except NotFound:
        return None, f"There is no person or record you may see with the id {other[:MAX_ID]}"
    if that["id"] == this["id"]:
        return None, f"{other[:MAX_ID]} is this {_noun(this['entity_type'])}; enter another id"
    if that["entity_type"] != this["entity_type"]:
        kinds = f"a {_noun(that['entity_type'])}, not a {_noun(this['entity_type'])}"
        return None, f"{other[:MAX_ID]} is {kinds}; only records of one type can be merged"
    return that, ""


@router.get("/masters/{master_id}/merge")
def merge_page(
    request: Request,
    master_id: str,
    scope: Scope,
    other: Annotated[str | None, Query(alias="with")] = None,
) -> Response:
    """Choose the other master (`with`: a master or record id), then see the merge's effect to confirm."""
    policy = web.policy_of(scope)
    require(policy.subject, "merge")
    wanted = checked_id(master_id, "master")
    with disclosing(request) as conn:
        this = survivorship.master_view(conn, wanted, scope)
        context: dict[str, Any] = {"nav": "review", "master": this, "noun": _noun(this["entity_type"])}
        if other is None:
            return render(request, "merge_pick.html", {**context, "errors": {}, "other": ""})
        that, problem = _other_error(this, other.strip(), conn, scope)
        if that is None:
            context.update(errors={"with": problem}, other=other)
            return render(request, "merge_pick.html", context, status_code=400)
        context = _merge_context(conn, this, that, policy)
        if _needs_reason(request, context["records"]):
            return ask_for_reason(request, "Why are you merging these records?", "view of a sensitive record")
        shown = [r["id"] for r in context["records"]]
        audited(request, "read-master", shown, {"masters": [this["id"], that["id"]], "view": "web-merge"})
    return render(request, "merge_confirm.html", context)


@router.post("/masters/{master_id}/merge")
async def merge_post(request: Request, master_id: str, scope: Scope) -> Response:
    """Merge the two masters, as POST /masters/merge does; the older master survives."""
    policy, form = await _posted(request, scope, "merge")
    wanted, other = checked_id(master_id, "master"), _form_id(form, "with", "master")
    errors: dict[str, str] = {}
    reason = _reason(form, errors)
    masters = [wanted, other]
    try:
        if errors:
            raise BadRequest(errors["reason"])
        with web.database(request).write() as conn:
            moved = check_members(conn, policy, masters)
            result = membership.merge_masters(conn, masters, by=policy.actor, reason=reason)
            detail = {"masters": masters, "event": result.event_id, "view": "web"}
            audited(request, "merge", moved, detail, conn=conn)
    except (BadRequest, Conflict) as exc:
        return _merge_error(request, masters, scope, errors or {"merge": exc.detail}, form, exc.status)
    raise Redirect(_done_url(f"/masters/{result.master_id}", done="merge"))


def _merge_error(
    request: Request,
    masters: list[str],
    scope: ReadScope,
    errors: dict[str, str],
    form: FormData,
    status: int,
) -> Response:
    """The confirmation again, with why the merge was refused (a person's "different", a long reason)."""
    with disclosing(request) as conn:
        this, that = (survivorship.master_view(conn, m, scope) for m in masters)
        context = _merge_context(conn, this, that, web.policy_of(scope))
        audited(request, "read-master", [r["id"] for r in context["records"]], {"view": "web-merge"})
    context.update(errors=errors, reason=form.get("reason") or "")
    return render(request, "merge_confirm.html", context, status_code=status)


# ---- split: choose records, confirm, split ----


@router.get("/masters/{master_id}/split")
def split_page(
    request: Request,
    master_id: str,
    scope: Scope,
    records: Annotated[list[str] | None, Query(alias="record")] = None,
    step: str = "",
) -> Response:
    """Choose the records to split off; with a choice made, the confirmation of what will be apart."""
    policy = web.policy_of(scope)
    require(policy.subject, "merge")
    wanted = checked_id(master_id, "master")
    with disclosing(request) as conn:
        view = survivorship.master_view(conn, wanted, scope)
        check_members(conn, policy, [wanted])
        if _needs_reason(request, view["records"]):
            return ask_for_reason(
                request, "Why are you splitting these records?", "view of a sensitive record"
            )
        audited(request, "read-master", [r["id"] for r in view["records"]], {"master": wanted, "view": "web"})
    records = records or []
    leaving = [r for r in view["records"] if r["id"] in records]
    staying = [r for r in view["records"] if r["id"] not in records]
    context: dict[str, Any] = {
        "nav": "review",
        "master": view,
        "noun": _noun(view["entity_type"]),
        "errors": {},
        "chosen": [r["id"] for r in leaving],
        "confirm": False,
    }
    if step != "choose" and not records:
        return render(request, "merge_split.html", context)
    if not leaving or len(leaving) < len(set(records)):
        context["errors"] = {"record": "Select at least one record of this person to split off"}
        return render(request, "merge_split.html", context, status_code=400)
    after = survivorship.golden(view["entity_type"], staying) if staying else {}
    context.update(
        confirm=True,
        leaving=leaving,
        staying=staying,
        golden=[{"name": k, **v} for k, v in after.items()],
        reason="",
    )
    return render(request, "merge_split.html", context)


@router.post("/masters/{master_id}/split")
async def split_post(request: Request, master_id: str, scope: Scope) -> Response:
    """Split the chosen records off, each to a master of its own, as POST /masters/{id}/split does."""
    policy, form = await _posted(request, scope, "merge")
    wanted = checked_id(master_id, "master")
    chosen = [checked_id(v if isinstance(v, str) else None) for v in form.getlist("record")]
    errors: dict[str, str] = {}
    reason = _reason(form, errors)
    if errors or not chosen:
        raise BadRequest(errors.get("reason") or "Select at least one record to split off, then confirm")
    with web.database(request).write() as conn:
        check_members(conn, policy, [wanted])
        event_id = membership.split_records(conn, chosen, by=policy.actor, reason=reason, from_master=wanted)
        audited(request, "split", chosen, {"master": wanted, "event": event_id, "view": "web"}, conn=conn)
    raise Redirect(_done_url(f"/masters/{wanted}", done="split"))


# ---- undo the last change ----


def _event_records(conn: Connection, event_id: str, policy: Policy) -> list[str]:
    """The records an event moved, every one of which the caller must see (as the API's undo checks)."""
    moved = list(
        conn.execute(
            select(membership_change.c.record_id).where(membership_change.c.event_id == event_id)
        ).scalars()
    )
    if not moved:
        raise NotFound(f"no master event {event_id}")
    check_visible(conn, policy, moved)
    return moved


@router.get("/masters/events/{event_id}/undo")
def undo_page(
    request: Request, event_id: str, scope: Scope, master_id: Annotated[str, Query(alias="master")] = ""
) -> Response:
    """What undoing the event will do: each record it moved goes back where it was."""
    policy = web.policy_of(scope)
    require(policy.subject, "merge")
    wanted = checked_id(event_id, "master event")
    home = checked_id(master_id, "master")
    with disclosing(request) as conn:
        _event_records(conn, wanted, policy)
        view = survivorship.master_view(conn, home, scope)
        event = next((e for e in _history(conn, home, scope) if e["id"] == wanted), None)
        if event is None:
            raise NotFound(f"master {home} has no event {wanted}")
        audited(request, "read-master-history", [r["id"] for r in event["records"]], {"event": wanted})
    context = {"nav": "review", "master": view, "event": event, "noun": _noun(view["entity_type"])}
    return render(request, "merge_undo.html", {**context, "errors": {}, "reason": ""})


@router.post("/masters/events/{event_id}/undo")
async def undo_post(request: Request, event_id: str, scope: Scope) -> Response:
    """Undo a merge or split exactly, as POST /masters/events/{id}/undo does."""
    policy, form = await _posted(request, scope, "merge")
    wanted, home = checked_id(event_id, "master event"), _form_id(form, "master", "master")
    errors: dict[str, str] = {}
    reason = _reason(form, errors)
    if errors:
        raise BadRequest(errors["reason"])
    with web.database(request).write() as conn:
        moved = _event_records(conn, wanted, policy)
        new_id = membership.undo(conn, wanted, by=policy.actor, reason=reason)
        audited(request, "undo", moved, {"event": wanted, "undo_event": new_id, "view": "web"}, conn=conn)
    raise Redirect(_done_url(f"/masters/{home}", done="undo"))
