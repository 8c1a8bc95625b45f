"""GET /api/v1/notifications and POST /api/v1/notifications/{id}/read: the caller's own, and nobody else's."""

from __future__ import annotations

import pytest

from tests import factories
from tests.api.conftest import Api, CheckingClient, assert_problem, token
from tests.notifications.test_pages import own_ids, translated


@pytest.fixture
def api(app, world):
    app.test_client_class = CheckingClient  # never a 5xx, every error a problem document
    client = app.test_client()
    return lambda username: Api(client, token(client, username), username)


def test_the_callers_notifications_newest_first_with_unread_filter_and_cursor(api, world):
    cases = [factories.case_in("submitted", world) for _ in range(3)]
    mine = own_ids(world.caseworker)
    caseworker = api("caseworker")

    page = caseworker.get("notifications").get_json()
    assert [item["id"] for item in page["items"]] == mine and page["next_cursor"] is None
    first = page["items"][0]
    assert first["kind"] == "case.submitted" and first["kind_label"] == "Pengaduan diajukan"
    assert first["case_number"] == cases[-1].number and first["referral_id"] is None
    assert first["message"] == f"Pengaduan {cases[-1].number} diajukan ke Dinsos dan menunggu asesmen."
    assert first["params"] == {"case": cases[-1].number}
    assert first["url"].endswith(f"/cases/{cases[-1].number}") and first["read_at"] is None

    one = caseworker.get("notifications", query={"limit": 1}).get_json()
    two = caseworker.get("notifications", query={"limit": 1, "cursor": one["next_cursor"]}).get_json()
    three = caseworker.get("notifications", query={"limit": 1, "cursor": two["next_cursor"]}).get_json()
    assert [p["items"][0]["id"] for p in (one, two, three)] == mine and three["next_cursor"] is None
    assert_problem(caseworker.get("notifications", query={"cursor": "!!"}), 400)

    resp = caseworker.post(f"notifications/{mine[1]}/read")
    assert resp.status_code == 200 and resp.get_json()["id"] == mine[1] and resp.get_json()["read_at"]
    unread = caseworker.get("notifications", query={"unread": "true"}).get_json()
    assert [item["id"] for item in unread["items"]] == [mine[0], mine[2]]
    read = caseworker.get("notifications", query={"unread": "false"}).get_json()
    assert [item["id"] for item in read["items"]] == [mine[1]]

    # Another user's notification, or one that does not exist, answers 404 alike; nothing changes.
    theirs = own_ids(world.caseworker2)[0]
    for bad in (theirs, 99999999, "x", "99999999999999"):
        assert_problem(caseworker.post(f"notifications/{bad}/read"), 404)
    assert api("caseworker2").get("notifications", query={"unread": "true"}).get_json()["items"][0]["id"] == theirs
    assert api("officer_a").get("notifications").get_json() == {"items": [], "next_cursor": None}


def test_agency_notifications_link_the_referral_and_speak_english_when_asked(api, world):
    case = factories.case_in("referred", world)
    referral = case.referrals[-1]
    agency = api("bpjs_user")
    item = agency.get("notifications").get_json()["items"][0]
    assert item["kind"] == "referral.new" and item["referral_id"] == referral.id
    assert item["url"].endswith(f"/referrals/{referral.id}")

    factories.fire(case, "accept", world.agency_user, referral_id=referral.id)
    item = api("caseworker").get("notifications", lang="en").get_json()["items"][0]
    assert item["params"] == {"case": case.number, "agency": world.bpjs.name, "status": "accepted"}
    assert "Accepted, in service" in item["message"] and "Diterima" not in item["message"]
    if translated("Jawaban %(agency)s untuk pengaduan %(case)s: %(status)s."):
        assert item["message"] == f"Answer from {world.bpjs.name} to complaint {case.number}: Accepted, in service."
    item = api("caseworker").get("notifications", lang="id").get_json()["items"][0]
    assert item["message"] == f"Jawaban {world.bpjs.name} untuk pengaduan {case.number}: Diterima, dalam layanan."


def test_without_a_token_401(app):
    app.test_client_class = CheckingClient
    client = app.test_client()
    assert_problem(client.get("/api/v1/notifications"), 401)
    assert_problem(client.post("/api/v1/notifications/1/read"), 401)


def test_a_notification_goes_out_of_sight_with_the_case(api, world):
    """An agency told of a new referral no longer sees that notice once it declined the referral: the notice
    names a case the agency may no longer read."""
    case = factories.case_in("referred", world)
    agency = api("bpjs_user")
    ids = [item["id"] for item in agency.get("notifications").get_json()["items"] if item["case_number"] == case.number]
    assert ids
    factories.fire(case, "decline", world.agency_user, referral_id=case.referrals[-1].id, reason="Bukan kewenangan")
    items = agency.get("notifications").get_json()["items"]
    assert case.number not in {item["case_number"] for item in items}
    assert_problem(agency.post(f"notifications/{ids[0]}/read"), 404)
