"""Two clients fire events on the same case with the same version (issue 3, tests; DESIGN.md: "exactly one
wins, the other gets a clear 'the case was changed by X at T, reload' answer ... nothing is half-written")."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from puskesos.audit.chain import verify
from puskesos.extensions import db
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, ReferralStatus
from tests import factories
from tests.api.conftest import Api, assert_problem, audit_events, case_state

# factories.user: title-cased usernames
FULL_NAMES = {"caseworker": "Caseworker", "caseworker2": "Caseworker2", "bpjs_user": "Bpjs User"}


def chain_ok() -> bool:
    db.session.rollback()
    result = verify()
    db.session.commit()
    return result.ok


def one_won(responses: dict) -> str:
    """Exactly one 200 and one 409 naming the winner; returns the winner's username."""
    codes = sorted(resp.status_code for resp in responses.values())
    assert codes == [200, 409], {u: r.get_data(as_text=True) for u, r in responses.items()}
    winner = next(u for u, r in responses.items() if r.status_code == 200)
    loser = next(u for u, r in responses.items() if r.status_code == 409)
    body = assert_problem(responses[loser], 409)
    assert f"sudah diubah oleh {FULL_NAMES[winner]} pada" in body["detail"], body["detail"]
    assert "Muat ulang" in body["detail"]
    return winner


def test_same_version_sequentially(api, world):
    case = factories.case_in("submitted", world)
    first, second = api("caseworker"), api("caseworker2")
    etag = first.get(f"cases/{case.number}").headers["ETag"]
    assert second.get(f"cases/{case.number}").headers["ETag"] == etag
    before = case_state(case.id)

    responses = {"caseworker": first.event(case.number, "start_assessment", if_match=etag),
                 "caseworker2": second.event(case.number, "start_assessment", if_match=etag)}
    assert one_won(responses) == "caseworker"
    state, version, _outcome, assignee, events = case_state(case.id)
    assert (state, version, assignee, events) == ("in_assessment", before[1] + 1, world.caseworker.id, before[4] + 1)
    assert len(audit_events("case.start_assessment")) == 1
    # The loser reloads and sees who has the case; the winner's next step is not disturbed.
    body = second.case(case.number)
    assert body["assignee"] == "caseworker" and body["allowed_events"] == ["request_info", "complete_assessment"]
    resp = first.event(case.number, "request_info", if_match=responses["caseworker"].headers["ETag"],
                       note="Lampirkan foto KK.")
    assert resp.status_code == 200
    assert chain_ok()


def test_different_events_with_the_same_version(api, world):
    case = factories.case_in("submitted", world)
    etag = api("caseworker").get(f"cases/{case.number}").headers["ETag"]
    responses = {"caseworker2": api("caseworker2").event(case.number, "close", if_match=etag, outcome="duplicate",
                                                         note="Sama dengan kasus lain"),
                 "caseworker": api("caseworker").event(case.number, "start_assessment", if_match=etag)}
    assert one_won(responses) == "caseworker2"
    assert case_state(case.id)[0] == "closed"
    assert audit_events("case.start_assessment") == [] and len(audit_events("case.close")) == 1
    assert chain_ok()


def test_agency_and_caseworker_answer_the_same_referral_with_the_same_version(api, world):
    """Issue 6: a referral event is a write to its case like any other. The agency reports it could not serve
    while the caseworker, on the same version, withdraws the referral: one wins, the other is told who changed
    the case; on reloading, the referral's new status refuses the withdrawal."""
    case = factories.case_in("in_service", world)
    referral_id = case.referrals[0].id
    agency, caseworker = api("bpjs_user"), api("caseworker")
    etag = caseworker.get(f"cases/{case.number}").headers["ETag"]
    before = case_state(case.id)
    responses = {
        "bpjs_user": agency.event(case.number, "report_failure", if_match=etag, referral_id=referral_id,
                                  reason="Peserta tidak dapat dihubungi."),
        "caseworker": caseworker.event(case.number, "revoke_referral", if_match=etag, referral_id=referral_id,
                                       reason="Tidak diperlukan lagi."),
    }
    assert one_won(responses) == "bpjs_user"
    state, version, _outcome, _assignee, events = case_state(case.id)
    assert (state, version, events) == ("answered", before[1] + 1, before[4] + 1)
    assert len(audit_events("referral.report_failure")) == 1 and audit_events("referral.revoke_referral") == []
    body = caseworker.case(case.number)
    assert [r["status"] for r in body["referrals"]] == ["failed"]
    resp = caseworker.event(case.number, "revoke_referral", if_match=body["version"], referral_id=referral_id,
                            reason="Tidak diperlukan lagi.")
    label = REFERRAL_STATUS_LABELS[ReferralStatus.FAILED]
    refused = f"Aksi ini tidak tersedia untuk rujukan berstatus \u201c{label}\u201d."
    assert assert_problem(resp, 422)["errors"] == {"referral_id": [refused]}
    assert case_state(case.id)[:2] == ("answered", before[1] + 1)
    assert chain_ok()


def test_same_version_from_two_threads(app, api, world):
    """Each request in its own application context and database session, as two app servers would run them."""
    rounds = 4
    made = [factories.case_in("submitted", world) for _ in range(rounds)]
    cases = [(case.id, case.number) for case in made]  # plain values: no thread may touch the test's session
    bearers = {username: api(username).bearer for username in ("caseworker", "caseworker2")}
    user_ids = {username: getattr(world, username).id for username in bearers}
    before = {case_id: case_state(case_id) for case_id, _number in cases}
    db.session.commit()  # the test's own session holds nothing while the threads run

    def fire(username: str, number: str, etag: str, barrier: threading.Barrier):
        client = app.test_client()
        with app.app_context():
            barrier.wait(timeout=10)
            return Api(client, bearers[username]).event(number, "start_assessment", if_match=etag)

    winners = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for case_id, number in cases:
            etag = f'"{before[case_id][1]}"'
            barrier = threading.Barrier(2)
            futures = {u: pool.submit(fire, u, number, etag, barrier) for u in bearers}
            responses = {u: f.result(timeout=60) for u, f in futures.items()}
            winner = one_won(responses)
            winners.append(winner)
            state, version, _outcome, assignee, events = case_state(case_id)
            assert (state, version, events) == ("in_assessment", before[case_id][1] + 1, before[case_id][4] + 1)
            assert assignee == user_ids[winner]

    started = audit_events("case.start_assessment")
    assert sorted(e.case_id for e in started) == sorted(case_id for case_id, _number in cases)  # one per case
    assert [e.actor_name for e in sorted(started, key=lambda e: e.case_id)] == winners
    assert chain_ok()


def test_concurrent_events_without_if_match_never_half_write(app, api, world):
    """Without If-Match the second caller may see the new state (422) or lose the race on the version (409);
    never both applied, never a 5xx."""
    case = factories.case_in("submitted", world)
    case_id, number = case.id, case.number
    bearers = {username: api(username).bearer for username in ("caseworker", "caseworker2")}
    before = case_state(case_id)
    db.session.commit()
    barrier = threading.Barrier(2)

    def fire(username: str):
        client = app.test_client()
        with app.app_context():
            barrier.wait(timeout=10)
            return Api(client, bearers[username]).event(number, "start_assessment")

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = dict(zip(bearers, pool.map(fire, bearers), strict=True))
    codes = sorted(r.status_code for r in responses.values())
    assert codes in ([200, 409], [200, 422]), {u: r.get_data(as_text=True) for u, r in responses.items()}
    after = case_state(case_id)
    assert (after[0], after[1], after[4]) == ("in_assessment", before[1] + 1, before[4] + 1)
    assert len(audit_events("case.start_assessment")) == 1
    assert chain_ok()
