"""Versions over HTTP: PUT and PATCH, history, a version or "as at" a time, stale writes, retraction."""

from __future__ import annotations

import datetime as dt

JOHN = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "gender": "M"}


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _put(api, record_id, version, data, method="PUT", **extra):
    return api.client.request(
        method,
        f"/records/{record_id}",
        json={"version": version, "recorded_by": "PC 2", "data": data, **extra},
    )


def test_put_writes_version_2_and_history_keeps_both_oldest_first(api):
    created = api.create("person", JOHN)
    response = _put(api, created["id"], 1, {**JOHN, "surname": "Smyth"}, reason="spelling corrected")
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert (outcome["status"], outcome["version"], outcome["id"]) == ("updated", 2, created["id"])
    assert outcome["master_id"] == created["master_id"]

    current = api.get(created["id"])
    assert current["version"] == current["current_version"] == 2
    assert current["data"]["surname"] == "Smyth"
    assert current["provenance"]["recorded_by"] == "PC 2"
    assert current["provenance"]["created_by"] == "PC 1234"
    assert current["provenance"]["reason"] == "spelling corrected"

    versions = api.history(created["id"])
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["data"] == JOHN
    assert versions[1]["data"] == {**JOHN, "surname": "Smyth"}
    assert all(v["current_version"] == 2 for v in versions)
    assert _moment(versions[0]["provenance"]["recorded_at"]) <= _moment(
        versions[1]["provenance"]["recorded_at"]
    )


def test_put_replaces_the_data_as_a_whole(api):
    created = api.create("person", JOHN)
    response = _put(api, created["id"], 1, {"surname": "Smith"})
    assert response.status_code == 200, response.text
    assert api.get(created["id"])["data"] == {"surname": "Smith"}


def test_put_normalises_and_validates_like_create(api):
    created = api.create("address", {"street": "Park Row", "postcode": "LS1 4AP"})
    response = _put(api, created["id"], 1, {"street": "Park Row", "postcode": "ls27 0bn"})
    assert response.status_code == 200, response.text
    assert api.get(created["id"])["data"]["postcode"] == "LS27 0BN"
    bad = _put(api, created["id"], 2, {"street": "Park Row", "postcode": "nonsense"})
    body = api.problem(bad, 422)
    assert api.issue_paths(body) == {"postcode"}
    assert api.get(created["id"])["current_version"] == 2
    assert len(api.history(created["id"])) == 2


def test_get_a_given_version(api):
    created = api.create("person", JOHN)
    _put(api, created["id"], 1, {**JOHN, "surname": "Smyth"})
    old = api.get(created["id"], version=1)
    assert old["version"] == 1
    assert old["current_version"] == 2
    assert old["data"] == JOHN
    assert api.get(created["id"], version=2)["data"]["surname"] == "Smyth"
    body = api.problem(api.client.get(f"/records/{created['id']}", params={"version": 3}), 404)
    assert "version 3" in body["detail"]


def test_as_at_returns_the_version_current_at_that_time(api):
    created = api.create("person", JOHN)
    _put(api, created["id"], 1, {**JOHN, "surname": "Smyth"})
    first, second = (_moment(v["provenance"]["recorded_at"]) for v in api.history(created["id"]))
    assert first < second
    between = first + (second - first) / 2
    for when in (first, between):
        view = api.get(created["id"], as_at=when.isoformat())
        assert view["version"] == 1, when
        assert view["data"] == JOHN
    assert api.get(created["id"], as_at=second.isoformat())["version"] == 2
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert api.get(created["id"], as_at=later.isoformat())["version"] == 2


def test_as_at_in_another_time_zone_means_the_same_moment(api):
    created = api.create("person", JOHN)
    _put(api, created["id"], 1, {**JOHN, "surname": "Smyth"})
    first, second = (_moment(v["provenance"]["recorded_at"]) for v in api.history(created["id"]))
    between = (first + (second - first) / 2).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert api.get(created["id"], as_at=between.isoformat())["version"] == 1
    after = second.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert api.get(created["id"], as_at=after.isoformat())["version"] == 2


def test_as_at_before_creation_is_a_404_with_a_clear_detail(api):
    created = api.create("person", JOHN)
    created_at = api.get(created["id"])["provenance"]["created_at"]
    before = _moment(created_at) - dt.timedelta(seconds=5)
    body = api.problem(api.client.get(f"/records/{created['id']}", params={"as_at": before.isoformat()}), 404)
    assert created["id"] in body["detail"]
    assert "first recorded at" in body["detail"]
    assert created_at in body["detail"]


def test_as_at_uses_the_source_recorded_time(api):
    created = api.create("person", JOHN, recorded_at="2018-07-01T12:00:00Z")
    view = api.get(created["id"], as_at="2018-07-02T00:00:00Z")
    assert view["version"] == 1
    api.problem(api.client.get(f"/records/{created['id']}", params={"as_at": "2018-06-30T00:00:00Z"}), 404)


def test_patch_merges_and_null_removes_a_field(api):
    created = api.create("person", {**JOHN, "occupation": "Plumber", "pnc_id": "2001/0123456F"})
    response = _put(api, created["id"], 1, {"surname": "smyth", "occupation": None}, method="PATCH")
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    data = api.get(created["id"])["data"]
    assert data == {**JOHN, "surname": "smyth", "pnc_id": "2001/0123456F"}
    assert "occupation" not in data
    versions = api.history(created["id"])
    assert versions[0]["data"]["occupation"] == "Plumber"


def test_patch_that_removes_a_required_field_is_refused(api):
    created = api.create("crime", {"crime_type": "BURGLARY", "summary": "Shed"})
    body = api.problem(_put(api, created["id"], 1, {"crime_type": None}, method="PATCH"), 422)
    assert api.issue_paths(body) == {"crime_type"}
    assert api.get(created["id"])["data"] == {"crime_type": "BURGLARY", "summary": "Shed"}


def test_unchanged_put_returns_unchanged_and_writes_no_version(api):
    created = api.create("person", JOHN)
    response = _put(api, created["id"], 1, dict(JOHN))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "unchanged"
    assert response.json()["version"] == 1
    # a different spelling of the same canonical data is the same data
    same = _put(api, created["id"], 1, {**JOHN, "gender": "m", "date_of_birth": "02/03/1985"})
    assert same.json()["status"] == "unchanged"
    assert len(api.history(created["id"])) == 1


def test_changing_only_the_markings_is_a_new_version(api):
    created = api.create("person", JOHN)
    response = _put(api, created["id"], 1, dict(JOHN), classification="OFFICIAL-SENSITIVE")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "updated"
    assert api.get(created["id"])["provenance"]["classification"] == "OFFICIAL-SENSITIVE"
    assert api.get(created["id"], version=1)["provenance"]["classification"] == "OFFICIAL"


def _stale_write(api, method):
    created = api.create("person", JOHN)
    first_read = api.get(created["id"])
    second_read = api.get(created["id"])
    assert first_read["version"] == second_read["version"] == 1
    ok = _put(
        api,
        created["id"],
        first_read["version"],
        {**first_read["data"], "occupation": "Baker"},
        method=method,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    stale = _put(
        api,
        created["id"],
        second_read["version"],
        {**second_read["data"], "occupation": "Tailor"},
        method=method,
    )
    body = api.problem(stale, 409)
    assert body["current_version"] == 2
    assert body["expected_version"] == 1
    assert "version 2" in body["detail"]
    current = api.get(created["id"])
    assert current["current_version"] == 2
    assert current["data"]["occupation"] == "Baker"
    assert [v["data"].get("occupation") for v in api.history(created["id"])] == [None, "Baker"]


def test_stale_put_is_a_409_and_loses_nothing(api):
    _stale_write(api, "PUT")


def test_stale_patch_is_a_409_and_loses_nothing(api):
    _stale_write(api, "PATCH")


def test_stale_write_of_identical_data_is_still_a_409(api):
    created = api.create("person", JOHN)
    _put(api, created["id"], 1, {**JOHN, "occupation": "Baker"})
    stale = _put(api, created["id"], 1, {**JOHN, "occupation": "Baker"})
    body = api.problem(stale, 409)
    assert body["current_version"] == 2


def test_version_from_the_future_is_a_409(api):
    created = api.create("person", JOHN)
    body = api.problem(_put(api, created["id"], 7, {**JOHN, "occupation": "Baker"}), 409)
    assert body["current_version"] == 1
    assert api.get(created["id"])["data"] == JOHN


def test_update_of_a_missing_record_is_a_404(api):
    api.problem(_put(api, "0" * 24, 1, dict(JOHN)), 404)
    api.problem(_put(api, "0" * 24, 1, dict(JOHN), method="PATCH"), 404)


def test_update_body_is_checked(api):
    created = api.create("person", JOHN)
    body = api.problem(api.client.put(f"/records/{created['id']}", json={"data": JOHN}), 422)
    assert {"version"} <= api.issue_paths(body)  # recorded_by defaults to the signed-in user
    body = api.problem(
        api.client.put(f"/records/{created['id']}", json={"version": 0, "recorded_by": "x", "data": JOHN}),
        422,
    )
    assert api.issue_paths(body) == {"version"}
    body = api.problem(_put(api, created["id"], 1, {**JOHN, "shoe_size": 9}), 422)
    assert api.issue_paths(body) == {"shoe_size"}
    assert api.get(created["id"])["current_version"] == 1


def test_retract_hides_the_record_but_keeps_it_and_its_history(api):
    created = api.create("person", JOHN)
    _put(api, created["id"], 1, {**JOHN, "surname": "Smyth"})
    other = api.create("person", {**JOHN, "forenames": "Jane", "gender": "F"})
    response = api.client.post(
        f"/records/{created['id']}/retract", json={"recorded_by": "PC 3", "reason": "duplicate entry"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"id": created["id"], "retracted": True}

    assert [r["id"] for r in api.list_all()] == [other["id"]]
    assert {r["id"] for r in api.list_all(include_deleted=True)} == {created["id"], other["id"]}
    view = api.get(created["id"])
    assert view["deleted"] is True
    assert view["current_version"] == 3
    assert view["data"]["surname"] == "Smyth"
    assert view["provenance"]["reason"] == "duplicate entry"
    versions = api.history(created["id"])
    assert [(v["version"], v["deleted"]) for v in versions] == [(1, False), (2, False), (3, True)]
    assert versions[0]["data"] == JOHN
    assert api.get(created["id"], version=1)["deleted"] is False


def test_retracting_twice_changes_nothing(api):
    created = api.create("person", JOHN)
    retract = {"recorded_by": "PC 3", "reason": "duplicate"}
    assert api.client.post(f"/records/{created['id']}/retract", json=retract).json()["retracted"] is True
    assert api.client.post(f"/records/{created['id']}/retract", json=retract).json()["retracted"] is False
    assert len(api.history(created["id"])) == 2


def test_retract_needs_a_reason_and_an_existing_record(api):
    created = api.create("person", JOHN)
    api.problem(api.client.post(f"/records/{created['id']}/retract", json={"recorded_by": "PC 3"}), 422)
    api.problem(
        api.client.post(f"/records/{created['id']}/retract", json={"recorded_by": "PC 3", "reason": "x"}), 422
    )
    api.problem(
        api.client.post(
            "/records/" + "0" * 24 + "/retract", json={"recorded_by": "PC 3", "reason": "duplicate"}
        ),
        404,
    )
    assert api.get(created["id"])["deleted"] is False


def test_update_after_retraction_restores_the_record(api):
    created = api.create("person", JOHN)
    api.client.post(f"/records/{created['id']}/retract", json={"recorded_by": "PC 3", "reason": "mistake"})
    response = _put(api, created["id"], 2, dict(JOHN))
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 3
    assert api.get(created["id"])["deleted"] is False
    assert [r["id"] for r in api.list_all()] == [created["id"]]
