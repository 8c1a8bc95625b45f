"""The contract of issue 3, call by call, for every role of the World, in its own area and in others'.

Expectations come from the issue text and DESIGN.md (jurisdiction, the workflow table), written out here,
never read back from the API's own answers. Every response is also checked by the suite's client: no 5xx,
and every error is application/problem+json with title, detail and status.
"""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from puskesos.accounts.roles import Role
from puskesos.audit.chain import verify
from puskesos.cases.models import Case
from puskesos.cases.workflow import EVENTS, REFERRAL_EVENTS, STATE_LABELS, TABLE, State, roles_of
from puskesos.core import timeutil
from puskesos.extensions import db
from puskesos.referrals.services import create_agency
from puskesos.regions.models import Region
from tests import factories
from tests.api.conftest import USERS, assert_problem, audit_events, case_state, numbers

ROLE_REFUSED = "Peran Anda tidak dapat melakukan aksi ini."
CASE_FIELDS = {"number", "state", "version", "category", "village_code", "nik_masked", "name", "due_at", "overdue",
               "assignee", "assessment", "referrals", "allowed_events"}
NIK_MASKED = re.compile(r"^\d{4}\*{8}\d{4}$")
NIK_FORMAT = "NIK harus terdiri dari 16 digit angka."


ROLES = {
    "officer_a": Role.OFFICER, "officer_b": Role.OFFICER, "officer_lahat": Role.OFFICER,
    "caseworker": Role.CASEWORKER, "caseworker2": Role.CASEWORKER, "caseworker_lahat": Role.CASEWORKER,
    "supervisor": Role.SUPERVISOR, "supervisor_prov": Role.SUPERVISOR, "supervisor_lahat": Role.SUPERVISOR,
    "bpjs_user": Role.AGENCY, "dukcapil_user": Role.AGENCY, "admin": Role.ADMIN,
}


def role_of(username: str) -> Role:
    return ROLES[username]


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# -- building cases in other villages -----------------------------------------------------------------------


def lahat_case(w, state: str = "registered", **overrides):
    """A case of Kabupaten Lahat, driven by Lahat's own officer and caseworker."""
    case = factories.register(w.officer_lahat, village_code=factories.VILLAGE_LAHAT, **overrides)
    steps = ["submit", "start", "assess", "refer"]
    upto = {"registered": 0, "submitted": 1, "in_assessment": 2, "assessed": 3, "referred": 4}[state]
    for step in steps[:upto]:
        if step == "submit":
            factories.fire(case, "submit", w.officer_lahat)
        elif step == "start":
            factories.fire(case, "start_assessment", w.caseworker_lahat)
        elif step == "assess":
            factories.fire(case, "complete_assessment", w.caseworker_lahat, **factories.ASSESSMENT)
        else:
            factories.fire(case, "refer", w.caseworker_lahat, **factories.refer_inputs(w.lahat_agency))
    return case


def village_b_case(w, referred_to=None, **overrides):
    """A case of officer B's village (same regency as officer A), referred to an agency if asked."""
    case = factories.register(w.officer_b, village_code=factories.VILLAGE_B, **overrides)
    if referred_to is not None:
        factories.fire(case, "submit", w.officer_b)
        factories.fire(case, "start_assessment", w.caseworker)
        factories.fire(case, "complete_assessment", w.caseworker, **factories.ASSESSMENT)
        factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(referred_to))
    return case


def set_due(case, due: dt.date | None) -> None:
    db.session.execute(update(Case).where(Case.id == case.id).values(due_on=due))
    db.session.commit()


# -- who may read what ----------------------------------------------------------------------------------------


def test_every_role_reads_only_its_area(api, world):
    """GET list, detail, timeline and events for each World user over a case in officer A's village (referred
    to BPJS), one in officer B's village (referred to Disdukcapil) and one in Lahat: in area 200, else 404."""
    w = world
    a = factories.case_in("referred", w)
    b = village_b_case(w, referred_to=w.dukcapil)
    lahat = lahat_case(w, "submitted")
    cases = {"a": a, "b": b, "lahat": lahat}
    visible = {
        "officer_a": {"a"}, "officer_b": {"b"}, "officer_lahat": {"lahat"},
        "caseworker": {"a", "b"}, "caseworker2": {"a", "b"}, "caseworker_lahat": {"lahat"},
        "supervisor": {"a", "b"}, "supervisor_prov": {"a", "b", "lahat"}, "supervisor_lahat": {"lahat"},
        "bpjs_user": {"a"}, "dukcapil_user": {"b"}, "admin": set(),
    }
    assert set(visible) == set(USERS)
    assert {u: getattr(w, attr).role for u, attr in USERS.items()} == ROLES
    nik_values = {c.nik for c in cases.values()}
    before = [case_state(c.id) for c in cases.values()]
    for username, keys in visible.items():
        user_api = api(username)
        resp = user_api.get("cases")
        assert resp.status_code == 200, username
        listed = resp.get_json()
        assert sorted(numbers(listed)) == sorted(cases[k].number for k in keys), username
        assert listed["next_cursor"] is None
        assert not any(nik in resp.get_data(as_text=True) for nik in nik_values)
        for key, case in cases.items():
            detail = user_api.get(f"cases/{case.number}")
            timeline = user_api.get(f"cases/{case.number}/timeline")
            event = user_api.event(case.number, "submit")
            if key in keys:
                assert detail.status_code == 200, (username, key)
                assert set(detail.get_json()) >= CASE_FIELDS
                assert detail.headers["ETag"] == f'"{detail.get_json()["version"]}"'
                assert case.nik not in detail.get_data(as_text=True)
                assert NIK_MASKED.match(detail.get_json()["nik_masked"])
                assert timeline.status_code == 200
                assert event.status_code == 422  # no case here is in a state that can be submitted
            else:
                for resp in (detail, timeline, event):
                    assert_problem(resp, 404)  # never 403: a number outside the area cannot be probed
                assert_problem(user_api.patch(f"cases/{case.number}", {"name": "X"}, if_match=1), 404)
        for unknown in ("SLRT-1603-2026-999999", "nope", "x" * 200):
            assert_problem(user_api.get(f"cases/{unknown}"), 404)
            assert_problem(user_api.get(f"cases/{unknown}/timeline"), 404)
            assert_problem(user_api.event(unknown, "submit"), 404)
    # Nothing was changed by all that probing.
    assert [case_state(c.id) for c in cases.values()] == before
    assert audit_events("case.updated") == []


def test_agencies_see_only_their_own_referrals_of_a_case(api, world):
    w = world
    case = factories.case_in("referred", w)
    factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(w.dukcapil))
    bpjs_ref, dukcapil_ref = sorted(case.referrals, key=lambda r: r.id)
    assert (bpjs_ref.agency_id, dukcapil_ref.agency_id) == (w.bpjs.id, w.dukcapil.id)
    other = factories.case_in("assessed", w)  # not referred to anybody

    for username, own in (("bpjs_user", bpjs_ref), ("dukcapil_user", dukcapil_ref)):
        body = api(username).case(case.number)
        assert [r["id"] for r in body["referrals"]] == [own.id]
        assert body["referrals"][0]["agency_id"] == own.agency_id
        assert body["allowed_events"] == ["accept", "decline"]
        timeline = api(username).get(f"cases/{case.number}/timeline").get_json()
        assert timeline and all(e["details"].get("referral_id") == own.id for e in timeline)
        assert_problem(api(username).get(f"cases/{other.number}"), 404)
    body = api("caseworker").case(case.number)
    assert sorted(r["id"] for r in body["referrals"]) == [bpjs_ref.id, dukcapil_ref.id]
    # An agency cannot answer the other agency's referral, and is told the referral is not there.
    resp = api("bpjs_user").event(case.number, "accept", referral_id=dukcapil_ref.id)
    assert assert_problem(resp, 422)["errors"] == {"referral_id": ["Rujukan tidak ditemukan pada kasus ini."]}


# -- GET /api/v1/cases: filters and paging ---------------------------------------------------------------------


def test_case_list_filters(api, world):
    w = world
    registered = factories.register(w.officer, name="Siti Aminah")
    submitted = factories.case_in("submitted", w, name="Budi Santoso", category="education",
                                  kk_number="1603010101100077")
    assessing = factories.case_in("in_assessment", w, name="Rina Wati")
    closed = factories.case_in("closed", w, name="Dewi Lestari")
    other_village = village_b_case(w, name="Rahmat Hidayat", category="food")
    set_due(submitted, timeutil.today() - dt.timedelta(days=3))
    lahat = lahat_case(w, name="Budi Lahat")

    caseworker = api("caseworker")

    def listed(**query) -> list[str]:
        resp = caseworker.get("cases", query=query)
        assert resp.status_code == 200, (query, resp.get_data(as_text=True))
        return sorted(numbers(resp.get_json()))

    def nums(*cases) -> list[str]:
        return sorted(c.number for c in cases)

    everything = nums(registered, submitted, assessing, closed, other_village)
    assert listed() == everything
    assert listed(state="submitted") == nums(submitted)
    assert listed(state="closed") == nums(closed)
    assert listed(state="open") == nums(registered, submitted, assessing, other_village)
    assert listed(state="needs_info") == []
    assert listed(village_code=factories.VILLAGE_B) == nums(other_village)
    assert listed(village_code=factories.VILLAGE_LAHAT) == []  # another regency's village: still nothing
    assert listed(category="education") == nums(submitted)
    assert listed(category="food", state="registered") == nums(other_village)
    assert listed(overdue="true") == nums(submitted)
    assert listed(overdue="false") == everything
    assert listed(q=assessing.number) == nums(assessing)
    assert listed(q=assessing.number.lower()) == nums(assessing)
    assert listed(q="Budi") == nums(submitted)  # Budi Lahat is outside the caseworker's area
    assert listed(q="santo") == nums(submitted)
    assert listed(q="Lestari") == nums(closed)
    assert listed(q=registered.nik) == nums(registered)
    assert listed(q=f"{registered.nik[:4]} {registered.nik[4:8]} {registered.nik[8:]}") == nums(registered)
    assert listed(q="1603 0101 0110 0077") == nums(submitted)  # a full family card number too
    assert listed(q=registered.nik[:10]) == []  # only a full NIK finds a case: no probing by prefix
    assert listed(q="%") == [] and listed(q="_") == []
    assert listed(q=lahat.nik) == []
    assert listed(q=lahat.number) == []

    body = caseworker.get("cases", query={"overdue": "true"}).get_json()
    assert body["items"][0]["overdue"] is True and body["items"][0]["number"] == submitted.number
    # The officer's list of the same filters is its own village's only.
    assert sorted(numbers(api("officer_a").get("cases", query={"q": "Rahmat"}).get_json())) == []
    assert sorted(numbers(api("officer_b").get("cases", query={"q": "Rahmat"}).get_json())) == nums(other_village)

    for query, field in (({"state": "bogus"}, "state"), ({"category": "nothing"}, "category"),
                         ({"overdue": "perhaps"}, "overdue"), ({"limit": 101}, "limit"), ({"limit": 0}, "limit"),
                         ({"limit": "ten"}, "limit"), ({"q": "x" * 61}, "q"), ({"cursor": "c" * 101}, "cursor")):
        body = assert_problem(caseworker.get("cases", query=query), 422)
        assert field in body["errors"], query
    assert caseworker.get("cases", query={"limit": 100}).status_code == 200
    assert caseworker.get("cases", query={"limit": 1}).status_code == 200


def test_case_list_pages_with_an_opaque_cursor(api, world):
    w = world
    made = [factories.case_in(state, w) for state in ("registered", "submitted", "in_assessment", "needs_info",
                                                      "assessed", "closed", "registered", "submitted")]
    set_due(made[1], timeutil.today() - dt.timedelta(days=2))  # due dates before, equal to and after others
    set_due(made[2], made[7].due_on if made[7].due_on else None)
    made.append(lahat_case(w, "submitted"))
    supervisor = api("supervisor_prov")
    full = supervisor.get("cases", query={"limit": 100}).get_json()
    assert full["next_cursor"] is None
    assert sorted(numbers(full)) == sorted(c.number for c in made)
    # Due date first (none last), then registration order.
    keys = [(item["due_at"] is None, item["due_at"] or "", item["number"]) for item in full["items"]]
    assert keys == sorted(keys)

    for query in ({}, {"state": "submitted"}, {"village_code": factories.VILLAGE_A}):
        walked, cursor, pages = [], None, 0
        while True:
            resp = supervisor.get("cases", query={**query, "limit": 2, **({"cursor": cursor} if cursor else {})})
            page = resp.get_json()
            assert len(page["items"]) <= 2
            walked += numbers(page)
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert pages < 20
        expected = numbers(supervisor.get("cases", query={**query, "limit": 100}).get_json())
        assert walked == expected, query
        assert len(set(walked)) == len(walked)

    first = supervisor.get("cases", query={"limit": 2}).get_json()
    assert first["next_cursor"] and "." not in first["next_cursor"]  # opaque, not the raw key
    for tampered in ("garbage!", cursor_of("abc"), cursor_of("2026-13-01.5"), cursor_of("2026-01-01.x"),
                     cursor_of("-.0"), cursor_of("-.-1"), "////", base64.urlsafe_b64encode(b"\xff\xfe").decode(),
                     first["next_cursor"] + "A"):
        body = assert_problem(supervisor.get("cases", query={"limit": 2, "cursor": tampered}), 400)
        assert "cursor" in body["errors"], tampered


# -- POST /api/v1/cases ------------------------------------------------------------------------------------------


def test_officer_registers_a_case(api, world):
    officer = api("officer_a")
    data = factories.intake(name="Siti Aminah")
    resp = officer.post("cases", data)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) >= CASE_FIELDS
    assert re.fullmatch(r"SLRT-1603-\d{4}-\d{6}", body["number"])
    assert resp.headers["Location"].endswith(f"/api/v1/cases/{body['number']}")
    assert resp.headers["ETag"] == f'"{body["version"]}"'
    assert body["state"] == "registered" and isinstance(body["version"], int)
    assert (body["category"], body["village_code"], body["name"]) == ("health", factories.VILLAGE_A, "Siti Aminah")
    assert body["nik_masked"] == data["nik"][:4] + "********" + data["nik"][-4:]
    assert data["nik"] not in resp.get_data(as_text=True)
    assert (body["due_at"], body["overdue"], body["assignee"], body["assessment"], body["referrals"]) == \
        (None, False, None, None, [])
    assert body["allowed_events"] == ["resolve_at_intake", "submit", "close"]
    # The Location answers the same case.
    again = officer.get(resp.headers["Location"])
    assert again.status_code == 200 and again.get_json()["number"] == body["number"]
    created = audit_events("case.created")
    assert len(created) == 1 and created[0].actor_name == "officer_a" and created[0].case_number == body["number"]
    assert data["nik"] not in str(created[0].details)
    # The caseworker of the regency sees it, and may only close it as a duplicate or withdrawn now.
    assert api("caseworker").case(body["number"])["allowed_events"] == ["close"]


def test_only_village_officers_register_and_only_in_their_village(api, world):
    for username in USERS:
        if role_of(username) == Role.OFFICER:
            continue
        body = assert_problem(api(username).post("cases", factories.intake()), 403)
        assert "petugas Puskesos" in body["detail"]
    for username, village in (("officer_a", factories.VILLAGE_B), ("officer_a", factories.VILLAGE_LAHAT),
                              ("officer_b", factories.VILLAGE_A), ("officer_a", "16.03.01"),
                              ("officer_a", "99.99.99.9999")):
        body = assert_problem(api(username).post("cases", factories.intake(village_code=village)), 422)
        assert list(body["errors"]) == ["village_code"], (username, village)
    db.session.rollback()
    assert db.session.execute(select(Case)).scalars().all() == []
    db.session.commit()
    assert audit_events("case.created") == []
    assert api("officer_b").post("cases", factories.intake(village_code=factories.VILLAGE_B)).status_code == 201


@pytest.mark.parametrize(("nik", "message"), [
    ("12345", NIK_FORMAT), ("16030112048500011", NIK_FORMAT), ("16030112O4850001", NIK_FORMAT), ("", NIK_FORMAT),
    ("1603011204850000", "Nomor urut NIK tidak boleh 0000."),
    ("1603013302850001", "Tanggal lahir pada NIK tidak valid."),
])
def test_invalid_nik_is_422_in_the_callers_language(api, world, nik, message):
    officer = api("officer_a")
    body = assert_problem(officer.post("cases", factories.intake(nik=nik)), 422)
    assert body["errors"]["nik"] == [message]
    assert body["detail"] == "Periksa kembali isian yang ditandai."
    body = assert_problem(officer.post("cases", factories.intake(nik=nik), lang="en"), 422)
    assert body["detail"] == "Please check the highlighted fields."
    assert body["errors"]["nik"] != [message] and all(m.isascii() for m in body["errors"]["nik"])
    if message == NIK_FORMAT:
        assert body["errors"]["nik"] == ["The NIK must be 16 digits."]
    assert audit_events("case.created") == []


def test_missing_and_wrong_fields_are_named(api, world):
    officer = api("officer_a")
    body = assert_problem(officer.post("cases", {}), 422)
    required = {"nik", "name", "village_code", "category", "description"}
    assert required <= set(body["errors"])
    assert all(body["errors"][f] == ["Wajib diisi."] for f in required)
    body = assert_problem(officer.post("cases", {}, lang="en"), 422)
    assert all(body["errors"][f] == ["Required."] for f in required)
    for missing in sorted(required):
        data = factories.intake()
        del data[missing]
        assert list(assert_problem(officer.post("cases", data), 422)["errors"]) == [missing], missing
    for wrong, field in (({"nik": 1603011204850001}, "nik"), ({"category": "weather"}, "category"),
                         ({"urgency": "yesterday"}, "urgency"), ({"name": ""}, "name"), ({"name": None}, "name"),
                         ({"dtsen_decile": 11}, "dtsen_decile"), ({"rt": "1234"}, "rt"), ({"phone": "abc"}, "phone"),
                         ({"kk_number": "123"}, "kk_number"), ({"description": "x" * 5001}, "description"),
                         ({"birth_date": "1985-02-30"}, "birth_date")):
        body = assert_problem(officer.post("cases", factories.intake(**wrong)), 422)
        assert field in body["errors"], wrong
    for unknown in ({"state": "closed"}, {"number": "SLRT-1603-2026-000001"}, {"version": 9}, {"nickname": "x"},
                    {"assignee": "caseworker"}):
        body = assert_problem(officer.post("cases", {**factories.intake(), **unknown}), 422)
        assert body["errors"] == {next(iter(unknown)): ["Isian tidak dikenal."]}
    for raw in ("{not json", "[]", '"a string"', "null"):
        resp = officer.client.post("/api/v1/cases", data=raw, content_type="application/json",
                                   headers={"Authorization": f"Bearer {officer.bearer}"})
        assert resp.status_code in (400, 422), raw
    db.session.rollback()
    assert db.session.execute(select(Case)).scalars().all() == []
    db.session.commit()


def test_address_is_optional_at_registration_but_needed_to_submit(api, world):
    """Issue 3 lists `address` among the optional fields of POST /cases; DESIGN.md's create guard names NIK,
    name, village, category and description, and `submit` is the step that needs the intake complete."""
    officer = api("officer_a")
    data = {key: factories.intake()[key] for key in ("nik", "name", "village_code", "category", "description")}
    resp = officer.post("cases", data)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number, version = resp.get_json()["number"], resp.get_json()["version"]
    body = assert_problem(officer.event(number, "submit"), 422)
    assert "address" in body["detail"]
    resp = officer.patch(f"cases/{number}", {"address": "Jl. Merdeka 1"}, if_match=version)
    assert resp.status_code == 200
    assert officer.event(number, "submit").get_json()["state"] == "submitted"


def test_duplicate_open_nik_is_409_until_confirmed(api, world):
    existing = factories.register(world.officer, kk_number="1603010101100001")
    officer = api("officer_a")
    data = factories.intake(nik=existing.nik, name="Siti Aminah (lagi)")
    body = assert_problem(officer.post("cases", data), 409)
    assert body["duplicates"] == [existing.number] and body["elsewhere"] == 0
    assert "masih terbuka" in body["detail"]
    assert assert_problem(officer.post("cases", {**data, "confirm_duplicate": False}), 409)
    body = assert_problem(officer.post("cases", factories.intake(kk_number="1603 0101 0110 0001")), 409)
    assert body["duplicates"] == [existing.number]
    assert len(audit_events("case.created")) == 1

    resp = officer.post("cases", {**data, "confirm_duplicate": True})
    assert resp.status_code == 201
    assert resp.get_json()["number"] != existing.number
    created = audit_events("case.created")
    assert [e.parsed["duplicate_confirmed"] for e in created] == [False, True]

    # From another regency the duplicate is counted, never shown.
    resp = api("officer_lahat").post("cases", factories.intake(nik=existing.nik,
                                                               village_code=factories.VILLAGE_LAHAT))
    body = assert_problem(resp, 409)
    assert body["duplicates"] == [] and body["elsewhere"] == 2
    assert existing.number not in resp.get_data(as_text=True)
    # A closed case is no duplicate.
    closed = factories.case_in("closed", world)
    assert officer.post("cases", factories.intake(nik=closed.nik)).status_code == 201


def test_nul_characters_in_json_are_refused_not_stored(api, world, client):
    """A NUL is never what a user meant and PostgreSQL text cannot hold one (puskesos/web/input_guard.py turns
    them away in query strings and forms): in a JSON body it must be a 400/422 problem too, on both backends,
    never a 500 and never a stored value."""
    case = factories.register(world.officer)
    before = case_state(case.id)
    officer, caseworker = api("officer_a"), api("caseworker")
    attempts = [
        lambda: client.post("/api/v1/tokens", json={"username": "officer_a\x00", "password": factories.PASSWORD}),
        lambda: client.post("/api/v1/tokens", json={"username": "officer_a", "password": "x\x00"}),
        lambda: officer.post("cases", factories.intake(name="Siti\x00Aminah")),
        lambda: officer.post("cases", factories.intake(address="Jl. Merdeka\x00")),
        lambda: officer.post("cases", factories.intake(description="\x00")),
        lambda: officer.patch(f"cases/{case.number}", {"description": "Diperbarui\x00"}, if_match=before[1]),
        lambda: caseworker.event(case.number, "close", outcome="withdrawn", note="Ditarik\x00"),
        lambda: officer.event(case.number, "resolve_at_intake", action_taken="Dijelaskan\x00"),
    ]
    for index, attempt in enumerate(attempts):
        resp = attempt()
        refusals = (400, 401, 422) if index < 2 else (400, 422)  # a token request may just fail to sign in
        assert resp.status_code in refusals, (index, resp.status_code, resp.get_data(as_text=True)[:300])
    assert case_state(case.id) == before
    db.session.rollback()
    assert [c.id for c in db.session.execute(select(Case)).scalars()] == [case.id]
    db.session.commit()


# -- PATCH /api/v1/cases/{number} ---------------------------------------------------------------------------------


def test_patch_needs_if_match_and_records_the_change(api, world):
    case = factories.register(world.officer, name="Siti Aminah")
    other = factories.register(world.officer)
    officer = api("officer_a")
    url = f"cases/{case.number}"
    before = case_state(case.id)

    body = assert_problem(officer.patch(url, {"name": "Siti Aminah binti Ahmad"}), 428)
    assert "If-Match" in body["detail"]
    for malformed in ("abc", "W/x", "1.0", "-1", "1, 2", "*", '"a"'):
        body = assert_problem(officer.patch(url, {"name": "X"}, if_match=malformed), 400)
        assert "If-Match" in body["errors"], malformed
    body = assert_problem(officer.patch(url, {"name": "X"}, if_match=before[1] + 1), 409)
    assert "sudah diubah oleh" in body["detail"]
    assert case_state(case.id) == before

    version = before[1]
    resp = officer.patch(url, {"name": "Siti Aminah binti Ahmad", "phone": "0813 1111 2222"},
                         if_match=f'"{version}"')
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["name"] == "Siti Aminah binti Ahmad" and body["version"] == version + 1
    assert resp.headers["ETag"] == f'"{version + 1}"'
    updated = audit_events("case.updated")
    assert len(updated) == 1 and updated[0].actor_name == "officer_a"
    assert updated[0].parsed["changes"]["name"] == ["Siti Aminah", "Siti Aminah binti Ahmad"]
    assert set(updated[0].parsed["changes"]) == {"name", "phone"}

    # The version it replaced is stale now: refused, naming who changed it, nothing written.
    after = case_state(case.id)
    body = assert_problem(officer.patch(url, {"name": "Nama Lain"}, if_match=version), 409)
    assert "sudah diubah oleh" in body["detail"] and world.officer.full_name in body["detail"]
    body = assert_problem(officer.patch(url, {"name": "Nama Lain"}, if_match=version, lang="en"), 409)
    assert "changed by" in body["detail"]
    assert case_state(case.id) == after
    # The weak form of the header works too; an empty change writes nothing.
    resp = officer.patch(url, {"name": "Siti Aminah binti Ahmad"}, if_match=f'W/"{version + 1}"')
    assert resp.status_code == 200 and resp.get_json()["version"] == version + 1
    assert len(audit_events("case.updated")) == 1
    # Invalid changes and unknown fields are 422, and change nothing.
    assert "nik" in assert_problem(officer.patch(url, {"nik": "123"}, if_match=version + 1), 422)["errors"]
    assert assert_problem(officer.patch(url, {"state": "closed"}, if_match=version + 1), 422)["errors"] == \
        {"state": ["Isian tidak dikenal."]}
    assert case_state(case.id) == after
    # Taking another open case's NIK is a duplicate unless confirmed.
    body = assert_problem(officer.patch(url, {"nik": other.nik}, if_match=version + 1), 409)
    assert body["duplicates"] == [other.number]
    assert officer.patch(url, {"nik": other.nik, "confirm_duplicate": True}, if_match=version + 1).status_code == 200
    changed = audit_events("case.updated")[-1]
    assert set(changed.parsed["changes"]) >= {"nik"} and other.nik not in changed.details  # masked in the log
    assert changed.parsed["changes"]["nik"][1] == other.nik[:4] + "********" + other.nik[-4:]
    # Moving the case to a village outside the officer's own is refused.
    body = assert_problem(officer.patch(url, {"village_code": factories.VILLAGE_B}, if_match=version + 2), 422)
    assert list(body["errors"]) == ["village_code"]


def test_patch_only_by_the_officer_while_registered_or_needing_info(api, world):
    w = world
    for state in ("registered", "needs_info"):
        case = factories.case_in(state, w)
        version = case_state(case.id)[1]
        for username in ("caseworker", "supervisor", "supervisor_prov"):
            assert_problem(api(username).patch(f"cases/{case.number}", {"name": "X"}, if_match=version), 422)
        for username in ("officer_b", "officer_lahat", "caseworker_lahat", "supervisor_lahat", "bpjs_user",
                         "dukcapil_user", "admin"):
            assert_problem(api(username).patch(f"cases/{case.number}", {"name": "X"}, if_match=version), 404)
        assert case_state(case.id)[1] == version
        resp = api("officer_a").patch(f"cases/{case.number}", {"description": "Diperbarui."}, if_match=version)
        assert resp.status_code == 200 and resp.get_json()["state"] == state
    for state in ("submitted", "in_assessment", "assessed", "referred", "in_service", "closed"):
        case = factories.case_in(state, w)
        before = case_state(case.id)
        body = assert_problem(api("officer_a").patch(f"cases/{case.number}", {"name": "X"}, if_match=before[1]), 422)
        assert "terdaftar atau perlu data tambahan" in body["detail"]
        assert case_state(case.id) == before


# -- POST /api/v1/cases/{number}/events: the workflow table -------------------------------------------------------

# What each role is offered on a case of officer A's village in each state (DESIGN.md's table). The agency is
# BPJS, which holds the case's referral from `referred` on; "-" means the role cannot read the case at all.
OFFERED = {
    "registered": {"officer": {"resolve_at_intake", "submit", "close"}, "caseworker": {"close"},
                   "supervisor": set(), "agency": "-"},
    "submitted": {"officer": set(), "caseworker": {"start_assessment", "close"}, "supervisor": set(), "agency": "-"},
    "in_assessment": {"officer": set(), "caseworker": {"request_info", "complete_assessment"}, "supervisor": set(),
                      "agency": "-"},
    "needs_info": {"officer": {"submit"}, "caseworker": set(), "supervisor": set(), "agency": "-"},
    "assessed": {"officer": set(), "caseworker": {"refer", "close"}, "supervisor": set(), "agency": "-"},
    "referred": {"officer": set(), "caseworker": {"refer", "revoke_referral", "close"}, "supervisor": set(),
                 "agency": {"accept", "decline"}},
    "in_service": {"officer": set(), "caseworker": {"revoke_referral", "close"}, "supervisor": set(),
                   "agency": {"report_service"}},
    "closed": {"officer": set(), "caseworker": {"reopen"}, "supervisor": {"reopen"}, "agency": "-"},
}
# Where a valid event takes a case of the factories' shape (one BPJS referral from `referred` on).
LANDS = {"resolve_at_intake": "closed", "submit": "submitted", "start_assessment": "in_assessment",
         "request_info": "needs_info", "complete_assessment": "assessed", "refer": "referred",
         "revoke_referral": "assessed", "accept": "in_service", "decline": "assessed", "report_service": "in_service",
         "close": "closed", "reopen": "in_assessment"}
ACTORS = {"officer": "officer_a", "caseworker": "caseworker2", "supervisor": "supervisor", "agency": "bpjs_user"}


def valid_inputs(event: str, case, role: str, w: factories.World) -> dict:
    """Inputs that satisfy every guard of the event's row for this role on this case."""
    open_refs = [r for r in case.referrals if r.is_open]
    if event == "resolve_at_intake":
        return {"action_taken": "Dijelaskan cara mengaktifkan kembali KIS."}
    if event == "request_info":
        return {"note": "Lampirkan foto KK."}
    if event == "complete_assessment":
        return dict(factories.ASSESSMENT)
    if event == "refer":
        busy = {r.agency_id for r in open_refs}
        return factories.refer_inputs(next(a for a in (w.bpjs, w.dukcapil) if a.id not in busy))
    if event in ("revoke_referral", "accept", "decline", "report_service"):
        inputs = {"referral_id": open_refs[0].id} if open_refs else {}
        if event in ("revoke_referral", "decline"):
            inputs["reason"] = "Bukan kewenangan kami"
        if event == "report_service":
            inputs.update(service_given="PBI-JK aktif kembali", delivered_on=timeutil.today().isoformat())
        return inputs
    if event == "close":
        if role == "officer":
            return {"outcome": "withdrawn", "note": "Pengadu menarik pengaduan"}
        if case.state in ("registered", "submitted"):
            return {"outcome": "duplicate", "note": "Sama dengan kasus lain"}
        return {"outcome": "unreachable", "note": "Tidak dapat dihubungi"}
    if event == "reopen":
        return {"reason": "Ada data baru"}
    return {}


def refusal_reason(event: str, state: str, role: str) -> str | None:
    """The detail a refusal must give, when the table alone decides it (None: a guard explains)."""
    if Role(role) not in roles_of(event):
        return ROLE_REFUSED
    if not any(step.event == event and State(state) in step.sources and Role(role) in step.roles for step in TABLE):
        return f"Aksi ini tidak tersedia untuk kasus berstatus \u201c{STATE_LABELS[State(state)]}\u201d."
    return None


@pytest.mark.parametrize("state", [s.value for s in State])
def test_events_offered_and_fired_follow_the_table(api, world, state):
    case = factories.case_in(state, world)
    before = case_state(case.id)
    # What each World user is offered: the table's answer for its role, nothing where it cannot read.
    for username in USERS:
        role = role_of(username).value
        readable = username in {"officer_a", "caseworker", "caseworker2", "supervisor", "supervisor_prov"} or \
            (username == "bpjs_user" and OFFERED[state]["agency"] != "-")
        resp = api(username).get(f"cases/{case.number}")
        if not readable:
            assert_problem(resp, 404)
            assert_problem(api(username).event(case.number, "reopen", reason="x"), 404)
            continue
        assert resp.status_code == 200, username
        assert set(resp.get_json()["allowed_events"]) == OFFERED[state][role], (username, state)
        assert resp.get_json()["allowed_events"] == [e for e in EVENTS if e in OFFERED[state][role]]

    # Every event not offered is refused with a reason, and changes nothing.
    for role, username in ACTORS.items():
        if OFFERED[state][role] == "-":
            continue
        for event in EVENTS:
            if event in OFFERED[state][role]:
                continue
            db.session.rollback()
            fresh = db.session.get(Case, case.id)
            resp = api(username).event(case.number, event, **valid_inputs(event, fresh, role, world))
            body = assert_problem(resp, 422)
            reason = refusal_reason(event, state, role)
            if reason is not None:
                assert body["detail"] == reason, (role, event)
            else:
                assert body["detail"] not in (ROLE_REFUSED, body["title"]) and "referral_id" in body["errors"]
            assert case_state(case.id) == before, (role, event)
        assert_problem(api(username).event(case.number, "explode"), 422)
        assert "event" in assert_problem(api(username).post(f"cases/{case.number}/events", {}), 422)["errors"]
    body = assert_problem(api("admin").event(case.number, "reopen", reason="x"), 404)
    assert "tidak ditemukan" in body["detail"]

    # Every event offered goes through with valid inputs, on a fresh case in the same state.
    for role, username in ACTORS.items():
        offered = OFFERED[state][role]
        for event in [e for e in EVENTS if offered != "-" and e in offered]:
            target = factories.case_in(state, world)
            version = case_state(target.id)[1]
            seq_before = len(audit_events())
            inputs = valid_inputs(event, target, role, world)
            resp = api(username).event(target.number, event, if_match=version, **inputs)
            assert resp.status_code == 200, (role, event, resp.get_data(as_text=True))
            body = resp.get_json()
            assert body["state"] == LANDS[event], (role, event)
            assert body["version"] > version and resp.headers["ETag"] == f'"{body["version"]}"'
            if event == "decline":  # the declining agency's access to the case ends with its referral
                assert_problem(api(username).get(f"cases/{target.number}"), 404)
            else:
                assert body["allowed_events"] == api(username).case(target.number)["allowed_events"]
            new = audit_events()[seq_before:]
            prefix = "referral" if event in REFERRAL_EVENTS else "case"
            assert [(e.action, e.actor_name, e.case_id) for e in new] == [(f"{prefix}.{event}", username, target.id)]
            assert (new[0].parsed["from"], new[0].parsed["to"]) == (state, LANDS[event])


def test_events_say_why_they_are_refused(api, world):
    w = world
    caseworker = api("caseworker")
    assessing = factories.case_in("in_assessment", w)
    version = case_state(assessing.id)[1]
    for inputs, field in (({}, "findings"), ({"findings": "x"}, "findings"),
                          ({"findings": "x", "eligible": True}, "recommended_services")):
        body = assert_problem(caseworker.event(assessing.number, "complete_assessment", **inputs), 422)
        assert field in body["errors"] and body["detail"].startswith("Asesmen belum lengkap")
    body = assert_problem(caseworker.event(assessing.number, "request_info"), 422)
    assert body["errors"] == {"note": ["Tuliskan data apa yang kurang."]}
    assert body["detail"] == "Tuliskan data apa yang kurang."
    body = assert_problem(caseworker.event(assessing.number, "complete_assessment", lang="en"), 422)
    assert body["detail"] == "The assessment is incomplete: fill in the findings and the eligibility decision."
    assert case_state(assessing.id)[1] == version

    assessed = factories.case_in("assessed", w)
    good = factories.refer_inputs(w.bpjs)
    for inputs, field in (({**good, "consent": None}, "consent"), ({**good, "agency_id": w.lahat_agency.id},
                                                                   "agency_id"),
                          ({**good, "agency_id": 999999}, "agency_id"), ({**good, "service": ""}, "service"),
                          ({**good, "reason": "  "}, "reason")):
        inputs = {k: v for k, v in inputs.items() if v is not None}
        body = assert_problem(caseworker.event(assessed.number, "refer", **inputs), 422)
        assert field in body["errors"], inputs
    for inputs, field in (({**good, "consent": "implied"}, "consent"), ({**good, "agency_id": 0}, "agency_id"),
                          ({**good, "agency_id": "BPJS"}, "agency_id"), ({**good, "extra": 1}, "extra")):
        body = assert_problem(caseworker.event(assessed.number, "refer", **inputs), 422)
        assert field in body["errors"], inputs
    assert_problem(caseworker.event(assessed.number, "close", outcome="resolved_at_intake"), 422)

    referred = factories.case_in("referred", w)
    body = assert_problem(caseworker.event(referred.number, "close", outcome="resolved"), 422)
    assert "masih ada rujukan yang belum selesai" in body["detail"] and "outcome" in body["errors"]
    in_service = factories.case_in("in_service", w)
    ref_id = in_service.referrals[0].id
    tomorrow = (timeutil.today() + dt.timedelta(days=1)).isoformat()
    for inputs, field in (({"referral_id": ref_id, "service_given": "x", "delivered_on": tomorrow}, "delivered_on"),
                          ({"referral_id": ref_id, "delivered_on": timeutil.today().isoformat()}, "service_given")):
        body = assert_problem(api("bpjs_user").event(in_service.number, "report_service", **inputs), 422)
        assert field in body["errors"]
    body = assert_problem(api("bpjs_user").event(in_service.number, "report_service", referral_id=ref_id,
                                                 service_given="x", delivered_on="not a date"), 422)
    assert "delivered_on" in body["errors"]
    # A caseworker outside the regency gets 404, whatever the event.
    for event in ("start_assessment", "refer", "close"):
        assert_problem(api("caseworker_lahat").event(referred.number, event, outcome="unreachable"), 404)
    body = assert_problem(api("supervisor").event(referred.number, "close", outcome="unreachable", lang="en"), 422)
    assert body["detail"] == "Your role cannot perform this action."


def test_answers_to_several_referrals_route_the_case(api, world):
    """The rows of `revoke_referral`, `accept` and `decline` whose destination depends on the case's other open
    referrals (DESIGN.md: "assessed when no other referral is open, else stays")."""
    w = world
    education = create_agency(None, name="Dinas Pendidikan Muara Enim", kind="education",
                              region_code="16.03")
    factories.user("agency", "disdik_user", agency=education)
    db.session.commit()
    caseworker = api("caseworker")
    agency_api = {w.bpjs.id: api("bpjs_user"), w.dukcapil.id: api("dukcapil_user"), education.id: api("disdik_user")}
    case = factories.case_in("referred", w)  # a pending BPJS referral
    number = case.number

    def fire(actor, event: str, expected_state: str, **inputs) -> dict:
        resp = actor.event(number, event, **inputs)
        assert resp.status_code == 200, (event, resp.get_data(as_text=True))
        assert resp.get_json()["state"] == expected_state, (event, resp.get_json()["state"])
        return resp.get_json()

    def ref(agency) -> int:
        return [r for r in caseworker.case(number)["referrals"] if r["agency_id"] == agency.id][-1]["id"]

    def refer(agency) -> None:
        fire(caseworker, "refer", "referred", **factories.refer_inputs(agency))

    def answer(agency, event: str, expected_state: str, **inputs) -> None:
        fire(agency_api[agency.id], event, expected_state, referral_id=ref(agency), **inputs)

    def revoke(agency, expected_state: str) -> None:
        fire(caseworker, "revoke_referral", expected_state, referral_id=ref(agency), reason="Tidak diperlukan")

    # Two pending: one declined, the case still waits for the other; accepted, in service; revoked, assessed.
    refer(w.dukcapil)
    answer(w.bpjs, "decline", "referred", reason="Bukan kewenangan kami")
    assert_problem(agency_api[w.bpjs.id].get(f"cases/{number}"), 404)  # declining ends BPJS's access
    answer(w.dukcapil, "accept", "in_service")
    assert caseworker.case(number)["allowed_events"] == ["revoke_referral", "close"]
    assert_problem(caseworker.event(number, "refer", **factories.refer_inputs(w.bpjs)), 422)  # not in service
    revoke(w.dukcapil, "assessed")
    assert caseworker.case(number)["allowed_events"] == ["refer", "close"]

    # Two pending, one accepted; revoking the accepted one leaves a pending one: back to referred.
    refer(w.bpjs)
    refer(w.dukcapil)
    assert_problem(caseworker.event(number, "refer", **factories.refer_inputs(w.dukcapil)), 422)  # one open each
    answer(w.bpjs, "accept", "in_service")
    assert agency_api[w.dukcapil.id].case(number)["allowed_events"] == ["accept", "decline"]
    revoke(w.bpjs, "referred")
    answer(w.dukcapil, "decline", "assessed", reason="Bukan kewenangan kami")

    # Three pending; accepted from in_service; declined and revoked while one stays accepted: still in service.
    refer(w.bpjs)
    refer(w.dukcapil)
    refer(education)
    answer(w.bpjs, "accept", "in_service")
    answer(w.dukcapil, "accept", "in_service")
    answer(education, "decline", "in_service", reason="Bukan kewenangan kami")
    revoke(w.dukcapil, "in_service")
    answer(w.bpjs, "report_service", "in_service", service_given="PBI-JK aktif kembali",
           delivered_on=timeutil.today().isoformat())
    statuses = [(r["agency"], r["status"]) for r in caseworker.case(number)["referrals"]]
    assert [status for _agency, status in statuses] == ["declined", "revoked", "revoked", "declined", "completed",
                                                        "revoked", "declined"]
    closed = fire(caseworker, "close", "closed", outcome="resolved", note="Selesai")
    assert closed["allowed_events"] == ["reopen"]
    db.session.rollback()
    result = verify()
    db.session.commit()
    assert result.ok


def test_event_if_match(api, world):
    case = factories.case_in("submitted", world)
    before = case_state(case.id)
    caseworker = api("caseworker")
    for stale in (before[1] - 1, before[1] + 1, 0):
        body = assert_problem(caseworker.event(case.number, "start_assessment", if_match=stale), 409)
        assert "sudah diubah oleh" in body["detail"]
        assert case_state(case.id) == before
    for malformed in ("abc", "*", "1, 2", "v1"):
        body = assert_problem(caseworker.event(case.number, "start_assessment", if_match=malformed), 400)
        assert "If-Match" in body["errors"]
        assert case_state(case.id) == before
    resp = caseworker.event(case.number, "start_assessment", if_match=f'"{before[1]}"')
    assert resp.status_code == 200 and resp.get_json()["assignee"] == "caseworker"
    # If-Match is optional for events.
    resp = caseworker.event(case.number, "request_info", note="Lampirkan foto KK.")
    assert resp.status_code == 200 and resp.get_json()["state"] == "needs_info"


# -- timeline ---------------------------------------------------------------------------------------------------


def test_timeline_oldest_first_for_the_area(api, world):
    w = world
    case = factories.case_in("in_service", w)
    expected = ["case.created", "case.submit", "case.start_assessment", "case.complete_assessment", "case.refer",
                "referral.accept"]
    actors = ["officer_a", "officer_a", "caseworker", "caseworker", "caseworker", "bpjs_user"]
    for username in ("officer_a", "caseworker", "caseworker2", "supervisor", "supervisor_prov"):
        resp = api(username).get(f"cases/{case.number}/timeline")
        assert resp.status_code == 200
        events = resp.get_json()
        assert [e["action"] for e in events] == expected
        assert [e["actor"] for e in events] == actors
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        times = [dt.datetime.fromisoformat(e["at"]) for e in events]
        assert times == sorted(times) and all(t.tzinfo is not None for t in times)
        assert case.nik not in resp.get_data(as_text=True)
    agency_view = api("bpjs_user").get(f"cases/{case.number}/timeline").get_json()
    assert [e["action"] for e in agency_view] == ["case.refer", "referral.accept"]
    for username in ("officer_b", "officer_lahat", "caseworker_lahat", "supervisor_lahat", "dukcapil_user",
                     "admin"):
        assert_problem(api(username).get(f"cases/{case.number}/timeline"), 404)


# -- referrals ------------------------------------------------------------------------------------------------


def test_referral_lists_by_role_status_and_page(api, world):
    w = world
    pending = factories.case_in("referred", w)
    accepted = factories.case_in("in_service", w)
    to_dukcapil = factories.case_in("assessed", w)
    factories.fire(to_dukcapil, "refer", w.caseworker, **factories.refer_inputs(w.dukcapil))
    in_b = village_b_case(w, referred_to=w.bpjs)
    lahat = lahat_case(w, "referred")
    r_pending, r_accepted, r_dukcapil = pending.referrals[0].id, accepted.referrals[0].id, to_dukcapil.referrals[0].id
    r_b, r_lahat = in_b.referrals[0].id, lahat.referrals[0].id
    expected = {
        "bpjs_user": [r_b, r_accepted, r_pending], "dukcapil_user": [r_dukcapil],
        "caseworker": [r_b, r_dukcapil, r_accepted, r_pending], "caseworker2": [r_b, r_dukcapil, r_accepted, r_pending],
        "supervisor": [r_b, r_dukcapil, r_accepted, r_pending],
        "supervisor_prov": [r_lahat, r_b, r_dukcapil, r_accepted, r_pending],
        "caseworker_lahat": [r_lahat], "supervisor_lahat": [r_lahat], "officer_lahat": [r_lahat],
        "officer_a": [r_dukcapil, r_accepted, r_pending], "officer_b": [r_b], "admin": [],
    }
    assert set(expected) == set(USERS)
    for username, ids in expected.items():
        resp = api(username).get("referrals")
        assert resp.status_code == 200, username
        body = resp.get_json()
        assert [r["id"] for r in body["items"]] == ids, username  # newest first
        assert body["next_cursor"] is None
    bpjs = api("bpjs_user")
    item = bpjs.get("referrals").get_json()["items"][-1]
    assert (item["case_number"], item["agency_id"], item["status"], item["consent"]) == \
        (pending.number, w.bpjs.id, "pending", "written")
    assert pending.nik not in bpjs.get("referrals").get_data(as_text=True)
    for status, ids in (("pending", [r_b, r_pending]), ("accepted", [r_accepted]), ("completed", []),
                        ("declined", [])):
        assert [r["id"] for r in bpjs.get("referrals", query={"status": status}).get_json()["items"]] == ids
    assert [r["id"] for r in api("caseworker").get("referrals", query={"status": "pending"}).get_json()["items"]] \
        == [r_b, r_dukcapil, r_pending]
    assert "status" in assert_problem(bpjs.get("referrals", query={"status": "lost"}), 422)["errors"]

    # Paging, one at a time, gives the same list.
    walked, cursor = [], None
    for _ in range(10):
        page = api("supervisor_prov").get("referrals", query={"limit": 1, **({"cursor": cursor} if cursor else {})})
        body = page.get_json()
        walked += [r["id"] for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == expected["supervisor_prov"]
    page = bpjs.get("referrals", query={"limit": 2}).get_json()
    assert [r["id"] for r in page["items"]] == [r_b, r_accepted] and page["next_cursor"]
    rest = bpjs.get("referrals", query={"limit": 2, "cursor": page["next_cursor"]}).get_json()
    assert [r["id"] for r in rest["items"]] == [r_pending] and rest["next_cursor"] is None
    for tampered in ("!!", cursor_of("abc"), cursor_of("-1"), cursor_of("0"), cursor_of("1e3"), "////"):
        assert "cursor" in assert_problem(bpjs.get("referrals", query={"cursor": tampered}), 400)["errors"], tampered
    for bad in ({"limit": 101}, {"limit": 0}):
        assert "limit" in assert_problem(bpjs.get("referrals", query=bad), 422)["errors"]


# -- regions and agencies -----------------------------------------------------------------------------------------


def test_regions_one_level_below(api, world):
    db.session.rollback()
    districts = set(db.session.execute(select(Region.code).where(Region.parent_code == "16.03")).scalars())
    provinces = set(db.session.execute(select(Region.code).where(Region.level == 1)).scalars())
    db.session.commit()
    assert districts and provinces
    for username in USERS:  # public reference data: any signed-in role
        body = api(username).get("regions", query={"parent": "16.03"}).get_json()
        assert {r["code"] for r in body} == districts
        assert all(r["level"] == 3 and r["name"] for r in body)
    regions = api("officer_a")
    body = regions.get("regions").get_json()
    assert {r["code"] for r in body} == provinces and all(r["level"] == 1 for r in body)
    assert "16" in {r["code"] for r in body}
    villages = regions.get("regions", query={"parent": "16.03.01"}).get_json()
    assert factories.VILLAGE_A in {r["code"] for r in villages} and all(r["level"] == 4 for r in villages)
    assert {r["code"] for r in regions.get("regions", query={"parent": "16"}).get_json()} >= {"16.03", "16.04"}
    assert regions.get("regions", query={"parent": factories.VILLAGE_A}).get_json() == []
    assert regions.get("regions", query={"parent": "99.99"}).get_json() == []
    assert_problem(regions.get("regions", query={"parent": "1" * 14}), 422)


def test_agencies_serving_the_callers_area(api, world):
    w = world
    muara_enim = sorted([w.bpjs.name, w.dukcapil.name])
    expected = {
        "officer_a": muara_enim, "officer_b": muara_enim, "caseworker": muara_enim, "caseworker2": muara_enim,
        "supervisor": muara_enim, "officer_lahat": [w.lahat_agency.name], "caseworker_lahat": [w.lahat_agency.name],
        "supervisor_lahat": [w.lahat_agency.name],
        "supervisor_prov": sorted([w.bpjs.name, w.dukcapil.name, w.lahat_agency.name]),
        "bpjs_user": [w.bpjs.name], "dukcapil_user": [w.dukcapil.name],
        "admin": sorted([w.bpjs.name, w.dukcapil.name, w.lahat_agency.name]),
    }
    assert set(expected) == set(USERS)
    for username, names in expected.items():
        body = api(username).get("agencies").get_json()
        assert sorted(a["name"] for a in body) == names, username
        assert all({"id", "name", "kind", "region_code", "contact", "active"} <= set(a) for a in body)
    bpjs = api("bpjs_user").get("agencies").get_json()[0]
    assert (bpjs["id"], bpjs["region_code"], bpjs["active"]) == (w.bpjs.id, "16.03", True)


# -- audit ------------------------------------------------------------------------------------------------------


def test_audit_log_for_supervisors_of_the_area(api, world):
    w = world
    a = factories.case_in("assessed", w)
    lahat = lahat_case(w, "submitted")
    for username in USERS:
        if role_of(username) != Role.SUPERVISOR:
            body = assert_problem(api(username).get("audit"), 403)
            assert "supervisor" in body["detail"]
    supervisor = api("supervisor")

    def walk(user_api, query: dict, limit: int = 100) -> list[dict]:
        items, cursor = [], None
        for _ in range(100):
            resp = user_api.get("audit", query={**query, "limit": limit, **({"cursor": cursor} if cursor else {})})
            assert resp.status_code == 200, resp.get_data(as_text=True)
            body = resp.get_json()
            items += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError("the cursor never ended")

    everything = walk(supervisor, {})
    assert everything and all(e["region_code"] == "16.03" or e["region_code"].startswith("16.03.")
                              for e in everything)
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    assert {e["case"] for e in everything} >= {a.number} and lahat.number not in {e["case"] for e in everything}
    assert a.nik not in str(everything)
    assert walk(supervisor, {}, limit=3) == everything
    assert walk(supervisor, {}, limit=1) == everything

    lahat_view = walk(api("supervisor_lahat"), {})
    assert lahat_view and all(e["region_code"].startswith("16.04") for e in lahat_view)
    assert {e["case"] for e in lahat_view if e["case"]} == {lahat.number}
    province = walk(api("supervisor_prov"), {})
    assert {e["seq"] for e in province} >= {e["seq"] for e in everything} | {e["seq"] for e in lahat_view}

    by_case = walk(supervisor, {"case": a.number})
    assert [e["action"] for e in reversed(by_case)] == ["case.created", "case.submit", "case.start_assessment",
                                                        "case.complete_assessment"]
    assert walk(supervisor, {"case": a.number.lower()}) == by_case
    assert walk(supervisor, {"case": lahat.number}) == []
    by_actor = walk(supervisor, {"actor": "caseworker"})
    assert by_actor and all(e["actor"] == "caseworker" for e in by_actor)
    assert {e["action"] for e in by_actor} >= {"case.start_assessment", "case.complete_assessment"}
    assert [e["case"] for e in walk(supervisor, {"action": "case.submit"})] == [a.number]
    case_actions = walk(supervisor, {"action": "case.*"})
    assert case_actions and all(e["action"].startswith("case.") for e in case_actions)
    assert walk(supervisor, {"since": "2000-01-01"}) == everything
    assert walk(supervisor, {"since": (timeutil.today() + dt.timedelta(days=2)).isoformat()}) == []
    assert walk(supervisor, {"case": a.number, "actor": "officer_a", "action": "case.submit"}) == \
        [e for e in by_case if e["action"] == "case.submit"]
    for bad in ({"since": "yesterday"}, {"limit": 101}, {"case": "x" * 33}):
        assert_problem(supervisor.get("audit", query=bad), 422)
    for tampered in ("!!", cursor_of("abc"), cursor_of("-5")):
        assert "cursor" in assert_problem(supervisor.get("audit", query={"cursor": tampered}), 400)["errors"]


# -- the rest of the HTTP surface ------------------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_problems(api, world, anonymous):
    officer = api("officer_a")
    for method, url, status in (("GET", "/api/v1/nothing", 404), ("PUT", "/api/v1/cases", 405),
                                ("DELETE", "/api/v1/cases", 405), ("GET", "/api/v1/tokens", 405),
                                ("GET", "/api/v2/cases", 404), ("POST", "/api/v1/regions", 405)):
        assert_problem(officer(method, url), status)
    indonesian = assert_problem(officer.get("cases/SLRT-1603-2026-999999"), 404)
    english = assert_problem(officer.get("cases/SLRT-1603-2026-999999", lang="en"), 404)
    assert indonesian["detail"] == "Kasus tidak ditemukan." and english["detail"] != indonesian["detail"]
    assert english["title"] != indonesian["title"] and english["detail"].isascii()
    for method, url in (("GET", "/api/v1/cases"), ("GET", "/api/v1/referrals"), ("GET", "/api/v1/agencies"),
                        ("GET", "/api/v1/regions"), ("GET", "/api/v1/audit"), ("POST", "/api/v1/cases"),
                        ("GET", "/api/v1/cases/SLRT-1603-2026-000001/timeline")):
        assert_problem(anonymous(method, url, json={} if method == "POST" else None), 401)
    assert_problem(officer.client.post("/api/v1/cases", data=b"x" * (2 * 1024 * 1024), content_type="application/json",
                                       headers={"Authorization": f"Bearer {officer.bearer}"}), 413)
