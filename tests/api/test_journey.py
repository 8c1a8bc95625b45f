"""A complaint from registration to closure driven only through the API (issue 3, tests), then the audit
chain verified and the whole story read back from the case's timeline. Issue 6: once the agency has answered
(served, or could not), the case is `answered`, with its own due date, until the caseworker closes it."""

from __future__ import annotations

import pytest

from puskesos.audit.chain import verify
from puskesos.core import timeutil
from puskesos.extensions import db
from tests import factories
from tests.api.conftest import case_due, in_table_order, iso, referral_due

ANSWERS = {
    "report_service": ("completed", {"service_given": "PBI-JK aktif kembali"}, "resolved"),
    "report_failure": ("failed", {"reason": "Peserta pindah domisili, berkas tidak dapat diproses."}, "unreachable"),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_a_case_from_registration_to_closure(api, world, answer):
    officer, caseworker, agency = api("officer_a"), api("caseworker"), api("bpjs_user")
    supervisor = api("supervisor")
    today = timeutil.today()
    status, answer_inputs, outcome = ANSWERS[answer]

    def step(actor, number: str, etag: str, event: str, **inputs) -> tuple[dict, str]:
        resp = actor.event(number, event, if_match=etag, **inputs)
        assert resp.status_code == 200, (event, resp.get_data(as_text=True))
        body = resp.get_json()
        assert resp.headers["ETag"] == f'"{body["version"]}"' != etag
        if body["state"] != "closed":  # a new step, or the same one: its clock from the tables, counted from today
            dues = [referral_due(today, r["status"]) for r in body["referrals"]]
            assert body["due_at"] == iso(case_due(today, body["state"], dues)) is not None, event
            assert (body["overdue"], body["days_in_step"]) == (False, 0), event
        return body, resp.headers["ETag"]

    def offered(actor, number: str) -> list[str]:
        return actor.case(number)["allowed_events"]

    # The village officer registers the complaint (its clock starts there) and submits it to Dinsos.
    resp = officer.post("cases", factories.intake(name="Siti Aminah", category="health"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    case, etag = resp.get_json(), resp.headers["ETag"]
    number = case["number"]
    assert case["state"] == "registered"
    assert (case["due_at"], case["days_in_step"]) == (iso(case_due(today, "registered")), 0)
    assert case["allowed_events"] == ["resolve_at_intake", "submit", "close"]
    assert offered(caseworker, number) == ["close"]

    case, etag = step(officer, number, etag, "submit")
    assert case["state"] == "submitted" and case["allowed_events"] == []
    assert offered(caseworker, number) == ["start_assessment", "close"]
    assert offered(supervisor, number) == []

    # The caseworker takes it, assesses it and refers it to BPJS Kesehatan.
    case, etag = step(caseworker, number, etag, "start_assessment")
    assert (case["state"], case["assignee"]) == ("in_assessment", "caseworker")
    assert case["allowed_events"] == ["request_info", "complete_assessment"]
    assert offered(officer, number) == []

    case, etag = step(caseworker, number, etag, "complete_assessment", findings="Keluarga miskin, KIS nonaktif.",
                      eligible=True, recommended_services="Reaktivasi PBI-JK")
    assert case["state"] == "assessed" and case["allowed_events"] == ["refer", "close"]
    assert case["assessment"]["eligible"] is True and case["assessment"]["assessed_by"] == "caseworker"

    agencies = caseworker.get("agencies").get_json()
    bpjs = next(a for a in agencies if a["kind"] == "bpjs_kesehatan")
    case, etag = step(caseworker, number, etag, "refer", agency_id=bpjs["id"], service="Reaktivasi PBI-JK",
                      reason="Peserta PBI nonaktif", consent="written")
    assert case["state"] == "referred"
    assert case["allowed_events"] == in_table_order({"refer", "revoke_referral", "close"})
    assert [(r["agency_id"], r["status"]) for r in case["referrals"]] == [(bpjs["id"], "pending")]

    # The agency finds it in its inbox, accepts it and answers: served, or could not serve.
    inbox = agency.get("referrals", query={"status": "pending"}).get_json()["items"]
    assert [r["case_number"] for r in inbox] == [number]
    referral_id = inbox[0]["id"]
    assert offered(agency, number) == ["accept", "decline"]
    case, etag = step(agency, number, etag, "accept", referral_id=referral_id)
    assert case["state"] == "in_service"
    assert case["allowed_events"] == in_table_order({"report_service", "report_failure"})
    assert case["referrals"][0]["status"] == "accepted"
    assert offered(caseworker, number) == in_table_order({"refer", "revoke_referral", "close"})

    if answer == "report_service":
        answer_inputs = {**answer_inputs, "delivered_on": today.isoformat()}
    case, etag = step(agency, number, etag, answer, referral_id=referral_id, **answer_inputs)
    # The only referral is answered: the case says so, with the caseworker's own deadline to close it.
    assert case["state"] == "answered" and case["allowed_events"] == []
    assert case["due_at"] == iso(case_due(today, "answered"))
    (referral,) = case["referrals"]
    assert (referral["status"], referral["due_on"]) == (status, None)
    if answer == "report_service":
        assert referral["service_given"] == "PBI-JK aktif kembali" and referral["failure_reason"] is None
    else:
        assert referral["failure_reason"] == answer_inputs["reason"] and referral["service_given"] is None
    assert agency.get("referrals", query={"status": status}).get_json()["items"][0]["id"] == referral_id
    assert [c["number"] for c in caseworker.get("cases", query={"state": "answered"}).get_json()["items"]] == \
        [number]

    # The caseworker closes it.
    assert offered(caseworker, number) == ["refer", "close"]
    case, etag = step(caseworker, number, etag, "close", outcome=outcome, note="Kasus selesai ditangani.")
    assert (case["state"], case["outcome"], case["due_at"], case["overdue"], case["days_in_step"]) == \
        ("closed", outcome, None, False, None)
    assert case["allowed_events"] == ["reopen"]
    assert offered(officer, number) == [] and offered(supervisor, number) == ["reopen"]
    assert offered(agency, number) == []  # it still reads the referral it answered
    assert [c["state"] for c in officer.get("cases").get_json()["items"]] == ["closed"]

    # The chain holds, and the timeline tells the whole story, oldest first.
    db.session.rollback()
    result = verify()
    db.session.commit()
    assert result.ok, result.first_break
    timeline = caseworker.get(f"cases/{number}/timeline").get_json()
    assert [(e["action"], e["actor"]) for e in timeline] == [
        ("case.created", "officer_a"), ("case.submit", "officer_a"), ("case.start_assessment", "caseworker"),
        ("case.complete_assessment", "caseworker"), ("case.refer", "caseworker"), ("referral.accept", "bpjs_user"),
        (f"referral.{answer}", "bpjs_user"), ("case.close", "caseworker"),
    ]
    assert [(e["details"].get("from"), e["details"].get("to")) for e in timeline[1:]] == [
        ("registered", "submitted"), ("submitted", "in_assessment"), ("in_assessment", "assessed"),
        ("assessed", "referred"), ("referred", "in_service"), ("in_service", "answered"), ("answered", "closed"),
    ]
    assert timeline[-1]["details"]["outcome"] == outcome
    assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)
    # The agency's timeline holds the events of its own referral; the supervisor's audit log has the same events
    # for this case, newest first.
    assert [e["action"] for e in agency.get(f"cases/{number}/timeline").get_json()] == \
        ["case.refer", "referral.accept", f"referral.{answer}"]
    log = supervisor.get("audit", query={"case": number}).get_json()["items"]
    assert [e["seq"] for e in log] == [e["seq"] for e in reversed(timeline)]
