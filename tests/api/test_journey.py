"""A complaint from registration to closure driven only through the API (issue 3, tests), then the audit
chain verified and the whole story read back from the case's timeline."""

from __future__ import annotations

from puskesos.audit.chain import verify
from puskesos.core import timeutil
from puskesos.extensions import db
from tests import factories


def test_a_case_from_registration_to_closure(api, world):
    officer, caseworker, agency = api("officer_a"), api("caseworker"), api("bpjs_user")
    supervisor = api("supervisor")

    def step(actor, number: str, etag: str, event: str, **inputs) -> tuple[dict, str]:
        resp = actor.event(number, event, if_match=etag, **inputs)
        assert resp.status_code == 200, (event, resp.get_data(as_text=True))
        body = resp.get_json()
        assert resp.headers["ETag"] == f'"{body["version"]}"' != etag
        return body, resp.headers["ETag"]

    def offered(actor, number: str) -> list[str]:
        return actor.case(number)["allowed_events"]

    # The village officer registers the complaint and submits it to Dinsos.
    resp = officer.post("cases", factories.intake(name="Siti Aminah", category="health"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    case, etag = resp.get_json(), resp.headers["ETag"]
    number = case["number"]
    assert case["state"] == "registered"
    assert case["allowed_events"] == ["resolve_at_intake", "submit", "close"]
    assert offered(caseworker, number) == ["close"]

    case, etag = step(officer, number, etag, "submit")
    assert case["state"] == "submitted" and case["allowed_events"] == []
    assert case["due_at"] is not None and case["overdue"] is False
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
    assert case["allowed_events"] == ["refer", "revoke_referral", "close"]
    assert [(r["agency_id"], r["status"]) for r in case["referrals"]] == [(bpjs["id"], "pending")]

    # The agency finds it in its inbox, accepts it and reports the service given.
    inbox = agency.get("referrals", query={"status": "pending"}).get_json()["items"]
    assert [r["case_number"] for r in inbox] == [number]
    referral_id = inbox[0]["id"]
    assert offered(agency, number) == ["accept", "decline"]
    case, etag = step(agency, number, etag, "accept", referral_id=referral_id)
    assert case["state"] == "in_service" and case["allowed_events"] == ["report_service"]
    assert case["referrals"][0]["status"] == "accepted"
    assert offered(caseworker, number) == ["revoke_referral", "close"]

    case, etag = step(agency, number, etag, "report_service", referral_id=referral_id,
                      service_given="PBI-JK aktif kembali", delivered_on=timeutil.today().isoformat())
    assert case["state"] == "in_service" and case["allowed_events"] == []
    assert case["referrals"][0]["status"] == "completed"
    assert case["referrals"][0]["service_given"] == "PBI-JK aktif kembali"
    assert agency.get("referrals", query={"status": "completed"}).get_json()["items"][0]["id"] == referral_id

    # The caseworker closes it as resolved.
    assert offered(caseworker, number) == ["close"]
    case, etag = step(caseworker, number, etag, "close", outcome="resolved", note="KIS aktif, berobat lancar.")
    assert (case["state"], case["outcome"], case["due_at"], case["overdue"]) == ("closed", "resolved", None, False)
    assert case["allowed_events"] == ["reopen"]
    assert offered(officer, number) == [] and offered(supervisor, number) == ["reopen"]
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
        ("referral.report_service", "bpjs_user"), ("case.close", "caseworker"),
    ]
    assert [(e["details"].get("from"), e["details"].get("to")) for e in timeline[1:]] == [
        ("registered", "submitted"), ("submitted", "in_assessment"), ("in_assessment", "assessed"),
        ("assessed", "referred"), ("referred", "in_service"), ("in_service", "in_service"), ("in_service", "closed"),
    ]
    assert timeline[-1]["details"]["outcome"] == "resolved"
    assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)
    # The supervisor's audit log has the same events for this case, newest first.
    log = supervisor.get("audit", query={"case": number}).get_json()["items"]
    assert [e["seq"] for e in log] == [e["seq"] for e in reversed(timeline)]
