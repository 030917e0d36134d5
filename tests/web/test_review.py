"""The review queue, merge, split and undo pages: a doubtful pair the model left for a person is listed,
compared side by side and decided; masters are merged and split after a confirmation of the effect, and a
change is undone from the history. Every write is refused without the form's token, to a user whose roles
do not allow it, and (as a missing record) to a user of another agency who cannot see the records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openrms.access import audit
from openrms.identity import judgements, saved_models
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, WriteOutcome, create_records
from openrms.store.tables import record
from tests.web.conftest import add_user, make_client, sign_in

PASSWORD = "correct horse battery staple"
QUILL = {"forenames": "Peter", "surname": "Quill", "date_of_birth": "1970-05-06", "gender": "M"}
QUILL_YEAR = {"forenames": "Peter", "surname": "Quill", "date_of_birth": "1970"}  # doubtful: a year only


@pytest.fixture(autouse=True)
def resolving(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The master index resolves records as they are written (tests.web.conftest registers its hook), with
    the shipped model: forget models other tests trained (on PostgreSQL they share a database URL, which
    the model cache is keyed on)."""
    monkeypatch.setattr(saved_models, "_cache", {})
    monkeypatch.setattr(saved_models, "_latest", {})
    yield


def user(client: TestClient, db: Database, username: str, roles: list[str], agency: str = "WYP") -> str:
    """A user of `agency` with `roles` signs in through the form and declares a purpose; returns the CSRF
    token of the session."""
    add_user(db, username, agency=agency, roles=roles, vetting="NPPV3")
    return sign_in(client, "investigation", "Op QUILL", username)


def add(db: Database, data: dict[str, Any], system: str, agency: str = "WYP") -> WriteOutcome:
    prov = Provenance(agency=agency, source_system=system, recorded_by="PC 1", source_key=system.lower())
    with db.write() as conn:
        return create_records(conn, [NewRecord("person", data, prov)])[0]


def master_of(db: Database, record_id: str) -> str:
    with db.read() as conn:
        return conn.execute(select(record.c.master_id).where(record.c.id == record_id)).scalar_one()


@pytest.fixture
def pair(db: Database) -> dict[str, str]:
    """Two records the model thinks probably, not certainly, the same man: one review item."""
    a = add(db, QUILL, "NICHE")
    b = add(db, QUILL_YEAR, "CUSTODY")
    with db.read() as conn:
        (item,) = judgements.review_queue(conn)
    return {"a": a.id, "b": b.id, "ma": a.master_id, "mb": b.master_id, "judgement": item["judgement_id"]}


@pytest.fixture
def supervisor(client: TestClient, db: Database) -> TestClient:
    client.headers["X-Test-Token"] = user(client, db, "sgt.star", ["supervisor"])
    return client


def token(client: TestClient) -> str:
    return client.headers["X-Test-Token"]


def actions(db: Database, username: str) -> list[str]:
    with db.read() as conn:
        return [e["action"] for e in audit.by_user(conn, username)]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---- the queue and a pair ----


def test_the_queue_lists_the_doubtful_pair_most_likely_first(
    supervisor: TestClient, db: Database, pair: dict
) -> None:
    page = supervisor.get("/ui/review")
    assert page.status_code == 200, page.text
    assert f'href="/ui/review/{pair["judgement"]}"' in page.text
    assert 'data-module="moj-sortable-table"' in page.text and "Peter" in page.text
    assert re.search(r"\d+%", text(page.text))
    assert "review-list" in actions(db, "sgt.star")


def test_the_queue_explains_a_bad_filter(supervisor: TestClient, pair: dict) -> None:
    page = supervisor.get("/ui/review", params={"type": "spaceship"})
    assert page.status_code == 400
    assert 'href="#type"' in page.text and "Choose a record type from the list" in page.text
    stale = supervisor.get("/ui/review", params={"after": "not-a-judgement"})
    assert stale.status_code == 400 and "start again from the first page" in stale.text


def test_the_pair_page_shows_both_records_and_marks_what_differs(supervisor: TestClient, pair: dict) -> None:
    page = supervisor.get(f"/ui/review/{pair['judgement']}")
    assert page.status_code == 200, page.text
    assert f"/ui/records/{pair['a']}" in page.text and f"/ui/records/{pair['b']}" in page.text
    rows = re.findall(
        r'<tr class="govuk-table__row( app-compare__differs)?">\s*<th scope="row"[^>]*>([^<]+)', page.text
    )
    differing = {label for marked, label in rows if marked}
    assert "Date of birth" in differing and "Surname" not in differing
    assert text(page.text).count("Differs") == len(differing) + 1  # each marked row, and the key above
    assert "partial date agrees" in page.text  # the model's reasons
    assert 'name="decision"' in page.text and 'value="same"' in page.text


def test_after_a_decision_the_next_pair_opens_with_a_success_banner(
    supervisor: TestClient, db: Database, pair: dict
) -> None:
    add(db, {"forenames": "Gamora", "surname": "Zen", "date_of_birth": "1988-02-03", "gender": "F"}, "RMS")
    add(db, {"forenames": "Gamora", "surname": "Zen", "date_of_birth": "1988"}, "PNC")
    with db.read() as conn:
        queue = [i["judgement_id"] for i in judgements.review_queue(conn)]
    assert len(queue) == 2
    first = supervisor.post(
        f"/ui/review/{queue[0]}", data={"decision": "same", "csrf_token": token(supervisor)}
    )
    assert first.headers["location"].startswith(f"/ui/review/{queue[1]}?done=same&effect=merge&master=")
    following = supervisor.get(first.headers["location"])
    assert 'id="done-banner"' in following.text and "The two records are now one person" in following.text
    assert "see the change and undo it" in following.text


def test_deciding_same_merges_the_pair_and_moves_on(supervisor: TestClient, db: Database, pair: dict) -> None:
    sent = supervisor.post(
        f"/ui/review/{pair['judgement']}", data={"decision": "same", "csrf_token": token(supervisor)}
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].startswith("/ui/review?done=same&effect=merge")
    assert master_of(db, pair["a"]) == master_of(db, pair["b"])
    after = supervisor.get(sent.headers["location"])
    assert "The two records are now one person" in after.text and "no pairs waiting" in after.text
    assert "judge" in actions(db, "sgt.star")


def test_deciding_different_keeps_them_apart(supervisor: TestClient, db: Database, pair: dict) -> None:
    data = {"decision": "different", "reason": "different mothers", "csrf_token": token(supervisor)}
    sent = supervisor.post(f"/ui/review/{pair['judgement']}", data=data)
    assert sent.status_code == 303, sent.text
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])
    with db.read() as conn:
        current = judgements.current_judgement(conn, pair["a"], pair["b"])
        assert judgements.review_queue(conn) == []
    assert (current["decision"], current["by"], current["reason"]) == (
        "different",
        "sgt.star",
        "different mothers",
    )
    again = supervisor.get(f"/ui/review/{pair['judgement']}")
    assert 'id="decided"' in again.text and 'name="decision"' not in again.text


def test_a_decision_needs_a_choice_and_a_short_reason(
    supervisor: TestClient, db: Database, pair: dict
) -> None:
    url = f"/ui/review/{pair['judgement']}"
    empty = supervisor.post(url, data={"csrf_token": token(supervisor)})
    assert empty.status_code == 400
    assert 'href="#decision"' in empty.text and 'id="decision"' in empty.text
    long = supervisor.post(
        url, data={"decision": "same", "reason": "x" * 2001, "csrf_token": token(supervisor)}
    )
    assert (
        long.status_code == 400 and "2000 characters or fewer" in long.text and 'href="#reason"' in long.text
    )
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])


def test_a_decided_pair_cannot_be_decided_again(supervisor: TestClient, pair: dict) -> None:
    url = f"/ui/review/{pair['judgement']}"
    assert (
        supervisor.post(url, data={"decision": "unsure", "csrf_token": token(supervisor)}).status_code == 303
    )
    again = supervisor.post(url, data={"decision": "same", "csrf_token": token(supervisor)})
    assert again.status_code == 409 and "already decided this pair" in again.text


def test_posts_without_the_form_token_are_refused(supervisor: TestClient, db: Database, pair: dict) -> None:
    refused = [
        supervisor.post(f"/ui/review/{pair['judgement']}", data={"decision": "same"}),
        supervisor.post(f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"]}),
        supervisor.post(f"/ui/masters/{pair['ma']}/split", data={"record": pair["a"]}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])


def test_a_reviewer_without_merge_may_only_mark_unsure(client: TestClient, db: Database, pair: dict) -> None:
    csrf = user(client, db, "analyst1", ["analyst"])
    page = client.get(f"/ui/review/{pair['judgement']}")
    assert page.status_code == 200 and 'value="unsure"' in page.text and 'value="same"' not in page.text
    refused = client.post(f"/ui/review/{pair['judgement']}", data={"decision": "same", "csrf_token": csrf})
    assert refused.status_code == 403
    assert client.get(f"/ui/masters/{pair['ma']}").status_code == 403
    done = client.post(f"/ui/review/{pair['judgement']}", data={"decision": "unsure", "csrf_token": csrf})
    assert done.status_code == 303 and master_of(db, pair["a"]) != master_of(db, pair["b"])


def test_a_user_without_review_or_merge_roles_gets_403(client: TestClient, db: Database, pair: dict) -> None:
    csrf = user(client, db, "pc.plain", ["investigator"])
    for path in (
        "/ui/review",
        f"/ui/review/{pair['judgement']}",
        f"/ui/masters/{pair['ma']}",
        f"/ui/masters/{pair['ma']}/merge?with={pair['mb']}",
        f"/ui/masters/{pair['ma']}/split",
    ):
        assert client.get(path).status_code == 403, path
    posted = client.post(f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"], "csrf_token": csrf})
    assert posted.status_code == 403
    profile = client.get(f"/ui/people/{pair['ma']}")
    assert profile.status_code == 200 and "Merge or split" not in profile.text


def test_another_agency_without_an_agreement_sees_nothing(
    client: TestClient, db: Database, pair: dict
) -> None:
    csrf = user(client, db, "sgt.nyp", ["supervisor"], agency="NYP")
    assert "no pairs waiting" in client.get("/ui/review").text
    for path in (
        f"/ui/review/{pair['judgement']}",
        f"/ui/masters/{pair['ma']}",
        f"/ui/masters/{pair['ma']}/merge",
        f"/ui/masters/{pair['ma']}/split",
    ):
        assert client.get(path).status_code == 404, path
    decided = client.post(f"/ui/review/{pair['judgement']}", data={"decision": "same", "csrf_token": csrf})
    merged = client.post(f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"], "csrf_token": csrf})
    assert (decided.status_code, merged.status_code) == (404, 404)
    assert pair["a"] not in decided.text + merged.text
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])


# ---- merge, split and undo ----


def test_the_profile_offers_merge_or_split_to_a_supervisor(supervisor: TestClient, pair: dict) -> None:
    profile = supervisor.get(f"/ui/people/{pair['ma']}")
    assert profile.status_code == 200 and f'href="/ui/masters/{pair["ma"]}"' in profile.text
    hub = supervisor.get(f"/ui/masters/{pair['ma']}")
    assert hub.status_code == 200 and "Merge with another person" in hub.text
    assert "Split records off" not in hub.text  # one record: nothing to split


def test_merge_shows_the_effect_then_merges(supervisor: TestClient, db: Database, pair: dict) -> None:
    pick = supervisor.get(f"/ui/masters/{pair['ma']}/merge")
    assert pick.status_code == 200 and 'id="with"' in pick.text
    confirm = supervisor.get(
        f"/ui/masters/{pair['ma']}/merge", params={"with": pair["b"]}
    )  # a record id will do
    assert confirm.status_code == 200, confirm.text
    assert pair["a"] in confirm.text and pair["b"] in confirm.text
    golden = confirm.text.split('id="golden-after"')[1]
    assert "Date of birth" in golden and "Male" in golden  # gender comes from the record that has one
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])  # nothing changed yet
    data = {"with": pair["mb"], "reason": "same man", "csrf_token": token(supervisor)}
    merged = supervisor.post(f"/ui/masters/{pair['ma']}/merge", data=data)
    assert merged.status_code == 303, merged.text
    assert master_of(db, pair["a"]) == master_of(db, pair["b"])
    hub = supervisor.get(merged.headers["location"])
    assert "Merged. The records below are now one person." in hub.text and "same man" in hub.text
    gone = supervisor.get(f"/ui/masters/{pair['mb']}")  # the master merged away leads to the survivor
    assert gone.status_code == 303 and gone.headers["location"] == f"/ui/masters/{pair['ma']}"
    assert "merge" in actions(db, "sgt.star")


def test_merge_names_what_is_wrong_with_the_other_id(supervisor: TestClient, pair: dict) -> None:
    url = f"/ui/masters/{pair['ma']}/merge"
    cases = {
        "": "Enter the id of the person to merge with",
        "nosuchid": "There is no person or record you may see with the id nosuchid",
        pair["ma"]: "is this person; enter another id",
    }
    for other, message in cases.items():
        page = supervisor.get(url, params={"with": other})
        assert page.status_code == 400 and message in page.text and 'href="#with"' in page.text, other
    data = {"with": pair["mb"], "reason": "x" * 2001, "csrf_token": token(supervisor)}
    long = supervisor.post(url, data=data)
    assert (
        long.status_code == 400 and 'href="#reason"' in long.text and "2000 characters or fewer" in long.text
    )


def test_a_person_different_judgement_blocks_the_merge(
    supervisor: TestClient, db: Database, pair: dict
) -> None:
    url = f"/ui/review/{pair['judgement']}"
    supervisor.post(url, data={"decision": "different", "csrf_token": token(supervisor)})
    confirm = supervisor.get(f"/ui/masters/{pair['ma']}/merge", params={"with": pair["mb"]})
    assert "cannot be merged" in confirm.text and "Merge into one person" not in confirm.text
    forced = supervisor.post(
        f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"], "csrf_token": token(supervisor)}
    )
    assert forced.status_code == 409 and 'href="#merge"' in forced.text
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])


def test_split_then_undo_restores_the_merge(supervisor: TestClient, db: Database, pair: dict) -> None:
    csrf = token(supervisor)
    supervisor.post(f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"], "csrf_token": csrf})
    together = master_of(db, pair["a"])
    url = f"/ui/masters/{together}/split"
    assert 'name="record"' in supervisor.get(url).text
    none = supervisor.get(url, params={"step": "choose"})
    assert none.status_code == 400 and 'href="#record"' in none.text
    confirm = supervisor.get(url, params={"step": "choose", "record": pair["b"]})
    assert confirm.status_code == 200 and "Check before you split" in confirm.text
    assert pair["b"] in confirm.text.split('id="leaving"')[1].split("</table>")[0]
    split = supervisor.post(url, data={"record": pair["b"], "csrf_token": csrf})
    assert split.status_code == 303, split.text
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])
    hub = supervisor.get(split.headers["location"])
    assert "Split. The records you chose" in hub.text
    undo_link = re.search(r'href="(/ui/masters/events/[0-9a-f]+/undo\?master=[0-9a-f]+)"', hub.text)
    assert undo_link, hub.text
    check = supervisor.get(undo_link.group(1).replace("&amp;", "&"))
    assert check.status_code == 200 and "Check before you undo" in check.text
    event_id = undo_link.group(1).split("/")[4]
    undone = supervisor.post(
        f"/ui/masters/events/{event_id}/undo", data={"master": together, "csrf_token": csrf}
    )
    assert undone.status_code == 303, undone.text
    assert master_of(db, pair["a"]) == master_of(db, pair["b"]) == together
    assert {"split", "undo"} <= set(actions(db, "sgt.star"))


def test_undo_of_a_merge_puts_the_records_apart(supervisor: TestClient, db: Database, pair: dict) -> None:
    csrf = token(supervisor)
    merged = supervisor.post(f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"], "csrf_token": csrf})
    hub = supervisor.get(merged.headers["location"])
    event_id = re.search(r"/ui/masters/events/([0-9a-f]+)/undo", hub.text).group(1)
    master_id = master_of(db, pair["a"])
    undone = supervisor.post(
        f"/ui/masters/events/{event_id}/undo", data={"master": master_id, "csrf_token": csrf}
    )
    assert undone.status_code == 303
    assert master_of(db, pair["a"]) != master_of(db, pair["b"])
    again = supervisor.post(
        f"/ui/masters/events/{event_id}/undo", data={"master": master_id, "csrf_token": csrf}
    )
    assert again.status_code == 409 and "already undone" in again.text
    profile = supervisor.get(f"/ui/people/{master_id}")
    assert pair["b"] not in profile.text


def test_splitting_a_record_of_another_master_is_refused(
    supervisor: TestClient, db: Database, pair: dict
) -> None:
    csrf = token(supervisor)
    c = add(db, {"forenames": "Meredith", "surname": "Quill", "date_of_birth": "1950-01-01"}, "RMS")
    supervisor.post(f"/ui/masters/{pair['ma']}/merge", data={"with": pair["mb"], "csrf_token": csrf})
    together = master_of(db, pair["a"])
    stray = supervisor.post(f"/ui/masters/{together}/split", data={"record": c.id, "csrf_token": csrf})
    assert stray.status_code == 400 and "is not in master" in stray.text
    choose = supervisor.get(f"/ui/masters/{together}/split", params={"step": "choose", "record": c.id})
    assert choose.status_code == 400
    assert master_of(db, c.id) == c.master_id


def test_the_review_pages_are_usable_without_the_session_fixture(db: Database, pair: dict) -> None:
    """A fresh browser is sent to sign in, and back to the queue afterwards."""
    with make_client(db) as fresh:
        sent = fresh.get("/ui/review")
        assert sent.status_code == 303 and "/ui/sign-in?next=%2Fui%2Freview" in sent.headers["location"]
