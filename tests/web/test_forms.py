"""Forms as a person meets them: CSRF, a stale form, the duplicate warning, an invalid NIK, a refused
workflow event, and revealing the full NIK (DESIGN.md: workflow, data, personal data)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from puskesos.audit.models import AuditEvent
from puskesos.cases import services as case_services
from puskesos.cases.models import Case, mask_number
from puskesos.extensions import db
from puskesos.referrals.models import Referral
from tests import factories
from tests.conftest import database_url, make_app
from tests.helpers import send, signed_in

CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"'
                     r'|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')
VERSION_RE = re.compile(r'name="version"[^>]*value="(\d+)"')
CSRF_MESSAGE = "Formulir kedaluwarsa atau tidak sah (token CSRF)"


def html(resp) -> str:
    return resp.get_data(as_text=True)


def changed_panel(page: str) -> str:
    """The "changed meanwhile" panel beside a stale form (the test fails when there is none)."""
    match = re.search(r'<div class="[^"]*changed-meanwhile[^"]*".*?</ol>', page, re.S)
    assert match, "no changed-meanwhile panel on the page"
    return match.group(0)


def everything() -> dict:
    """The whole database as committed, audit log included (sign-in events too)."""
    db.session.rollback()
    tables = {name: db.session.execute(select(table)).all() for name, table in db.metadata.tables.items()}
    db.session.rollback()
    return tables


def case_row(case_id: int) -> tuple:
    db.session.rollback()
    row = db.session.execute(select(Case.state, Case.version, Case.outcome).where(Case.id == case_id)).one()
    events = db.session.execute(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.case_id == case_id)).scalar_one()
    referrals = db.session.execute(select(Referral.id, Referral.status).where(Referral.case_id == case_id)
                                   .order_by(Referral.id)).all()
    db.session.rollback()
    return (*row, events, tuple(referrals))


def case_count() -> int:
    db.session.rollback()
    count = db.session.execute(select(func.count()).select_from(Case)).scalar_one()
    db.session.rollback()
    return count


# -- CSRF -------------------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(backend, tmp_path):
    app = make_app({"WTF_CSRF_ENABLED": True, "SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_world(csrf_app):
    return factories.build_world()


def token_from(resp) -> str:
    match = CSRF_RE.search(html(resp))
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_login(app, username: str):
    client = app.test_client()
    token = token_from(send(client, "GET", "/login"))
    resp = send(client, "POST", "/login", data={"username": username, "password": factories.PASSWORD,
                                                "csrf_token": token})
    assert resp.status_code == 302, html(resp)[-2000:]
    return client


def assert_csrf_refusal(resp) -> None:
    assert resp.status_code == 400
    assert CSRF_MESSAGE in html(resp)


@pytest.mark.parametrize("token", [None, "", "not-a-token", "IjEyMyI.abc.def"])
def test_login_without_a_valid_token_is_refused(csrf_app, csrf_world, token):
    client = csrf_app.test_client()
    send(client, "GET", "/login")  # a session with a CSRF secret exists; the form's token is what is missing
    before = everything()
    data = {"username": "officer_a", "password": factories.PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    resp = send(client, "POST", "/login", data=data)
    assert_csrf_refusal(resp)
    assert everything() == before  # not even an auth.login event
    resp = send(client, "GET", "/cases/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_register_without_token_is_refused(csrf_app, csrf_world):
    client = csrf_login(csrf_app, "officer_a")
    before = everything()
    resp = send(client, "POST", "/cases/new", data=factories.intake())
    assert_csrf_refusal(resp)
    assert everything() == before
    # The same form with the page's token goes through: the refusal was about the token alone.
    token = token_from(send(client, "GET", "/cases/new"))
    resp = send(client, "POST", "/cases/new", data={**factories.intake(), "csrf_token": token})
    assert resp.status_code == 302, html(resp)[-2000:]
    assert case_count() == 1


def test_event_without_token_is_refused(csrf_app, csrf_world):
    case = factories.register(csrf_world.officer)
    client = csrf_login(csrf_app, "officer_a")
    before = everything()
    for data in ({"version": "1"}, {"version": "1", "csrf_token": "forged"}):
        resp = send(client, "POST", f"/cases/{case.number}/events/submit", data=data)
        assert_csrf_refusal(resp)
        assert everything() == before
    for url in (f"/cases/{case.number}/nik", "/logout"):
        assert_csrf_refusal(send(client, "POST", url))
    assert everything() == before
    page = send(client, "GET", f"/cases/{case.number}")
    resp = send(client, "POST", f"/cases/{case.number}/events/submit",
                data={"version": VERSION_RE.search(html(page)).group(1), "csrf_token": token_from(page)})
    assert resp.status_code == 302
    assert case_row(case.id)[0] == "submitted"


def test_a_token_from_another_session_is_refused(csrf_app, csrf_world):
    case = factories.register(csrf_world.officer)
    mallory = csrf_login(csrf_app, "officer_b")
    stolen = token_from(send(mallory, "GET", "/cases/"))
    client = csrf_login(csrf_app, "officer_a")
    before = everything()
    resp = send(client, "POST", f"/cases/{case.number}/events/submit", data={"version": "1", "csrf_token": stolen})
    assert_csrf_refusal(resp)
    assert everything() == before


# -- a stale form -----------------------------------------------------------------------------------------


def test_stale_event_form_says_who_changed_the_case(app, world):
    case = factories.case_in("assessed", world)
    client = signed_in(app, "caseworker")
    form = send(client, "GET", f"/cases/{case.number}/events/close")
    assert form.status_code == 200
    old_version = VERSION_RE.search(html(form)).group(1)
    # Meanwhile a colleague refers the case.
    factories.fire(case, "refer", world.caseworker2, **factories.refer_inputs(world.bpjs))
    after_colleague = case_row(case.id)
    resp = send(client, "POST", f"/cases/{case.number}/events/close",
                data={"version": old_version, "outcome": "not_eligible", "note": "Tidak memenuhi syarat"})
    # The form again, with what was typed and what changed meanwhile (DESIGN: a stale form is shown again).
    assert resp.status_code == 409
    page = html(resp)
    panel = changed_panel(page)
    assert "sudah diubah orang lain" in panel and world.caseworker2.full_name in panel
    assert "Rujuk ke instansi" in panel and world.bpjs.name in panel
    assert "Tidak memenuhi syarat" in page
    assert case_row(case.id) == after_colleague  # not closed, no audit event


def test_stale_inline_event_says_who_changed_the_case(app, world):
    case = factories.case_in("submitted", world)
    client = signed_in(app, "caseworker")
    version = VERSION_RE.search(html(send(client, "GET", f"/cases/{case.number}"))).group(1)
    factories.fire(case, "start_assessment", world.caseworker2)
    after_colleague = case_row(case.id)
    resp = send(client, "POST", f"/cases/{case.number}/events/start_assessment", data={"version": version},
                follow_redirects=True)
    assert "sudah diubah oleh" in html(resp) and world.caseworker2.full_name in html(resp)
    assert case_row(case.id) == after_colleague
    db.session.rollback()
    assert db.session.get(Case, case.id).assignee_id == world.caseworker2.id


def test_stale_edit_form_says_who_changed_the_case(app, world):
    case = factories.register(world.officer)
    client = signed_in(app, "officer_a")
    form = send(client, "GET", f"/cases/{case.number}/edit")
    old_version = VERSION_RE.search(html(form)).group(1)
    # The same complaint corrected from another tab (or by the API).
    db.session.rollback()
    case = db.session.get(Case, case.id)
    case_services.update_intake(case, world.officer, factories.intake(nik=case.nik, phone="0813 1111 2222"),
                                expected_version=int(old_version))
    db.session.commit()
    after_other_tab = case_row(case.id)
    resp = send(client, "POST", f"/cases/{case.number}/edit",
                data={**factories.intake(nik=case.nik, name="Nama Lain"), "version": old_version},
                follow_redirects=True)
    assert resp.status_code == 409
    panel = changed_panel(html(resp))
    assert world.officer.full_name in panel and "Nomor HP" in panel
    assert 'value="Nama Lain"' in html(resp)
    assert case_row(case.id) == after_other_tab
    db.session.rollback()
    assert db.session.get(Case, case.id).name != "Nama Lain"


# -- the duplicate warning --------------------------------------------------------------------------------


def test_duplicate_nik_warns_links_and_saves_when_confirmed(app, world):
    existing = factories.register(world.officer)
    client = signed_in(app, "officer_a")
    data = factories.intake(nik=existing.nik, name="Siti Aminah (lagi)")
    resp = send(client, "POST", "/cases/new", data=data)
    assert resp.status_code == 409, html(resp)[-2000:]
    page = html(resp)
    assert "sudah memiliki pengaduan yang masih terbuka" in page
    assert f'href="/cases/{existing.number}"' in page
    assert 'name="confirm_duplicate"' in page
    assert case_count() == 1
    resp = send(client, "POST", "/cases/new", data={**data, "confirm_duplicate": "y"})
    assert resp.status_code == 302, html(resp)[-2000:]
    assert case_count() == 2
    db.session.rollback()
    created = db.session.execute(select(AuditEvent).where(AuditEvent.action == "case.created")
                                 .order_by(AuditEvent.seq.desc())).scalars().first()
    assert json.loads(created.details)["duplicate_confirmed"] is True


def test_duplicate_family_card_warns_too(app, world):
    existing = factories.register(world.officer, kk_number="1603010101100001")
    client = signed_in(app, "officer_a")
    resp = send(client, "POST", "/cases/new", data=factories.intake(kk_number="1603 0101 0110 0001"))
    assert resp.status_code == 409
    assert f'href="/cases/{existing.number}"' in html(resp)
    assert case_count() == 1


def test_duplicate_outside_the_area_is_counted_not_shown(app, world):
    existing = factories.register(world.officer, name="Pengadu Muara Enim")
    client = signed_in(app, "officer_lahat")
    resp = send(client, "POST", "/cases/new",
                data=factories.intake(nik=existing.nik, village_code=factories.VILLAGE_LAHAT))
    assert resp.status_code == 409
    page = html(resp)
    assert "di luar wilayah Anda" in page
    assert existing.number not in page and "Pengadu Muara Enim" not in page
    assert case_count() == 1


def test_closed_case_with_the_same_nik_is_no_duplicate(app, world):
    closed = factories.case_in("closed", world)
    client = signed_in(app, "officer_a")
    resp = send(client, "POST", "/cases/new", data=factories.intake(nik=closed.nik))
    assert resp.status_code == 302, html(resp)[-2000:]
    assert case_count() == 2


# -- an invalid NIK ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("nik", ["12345", "16030112048500011", "16030112O4850001", "",
                                 "１６０３０１１２０４８５０００１"])
def test_invalid_nik_is_refused_in_indonesian(app, world, nik):
    client = signed_in(app, "officer_a")
    before = everything()
    resp = send(client, "POST", "/cases/new", data=factories.intake(nik=nik))
    assert resp.status_code == 422
    assert "NIK harus terdiri dari 16 digit angka." in html(resp)
    assert everything() == before
    assert case_count() == 0


def test_invalid_nik_keeps_what_was_typed(app, world):
    client = signed_in(app, "officer_a")
    resp = send(client, "POST", "/cases/new", data=factories.intake(nik="12345", name="Ibu Warsini"))
    assert resp.status_code == 422
    assert 'value="Ibu Warsini"' in html(resp)


# -- a refused workflow event -----------------------------------------------------------------------------


def test_close_as_resolved_with_a_pending_referral_shows_the_guard(app, world):
    case = factories.case_in("referred", world)
    before = case_row(case.id)
    client = signed_in(app, "caseworker")
    resp = send(client, "POST", f"/cases/{case.number}/events/close",
                data={"version": str(before[1]), "outcome": "resolved", "note": "Selesai"})
    assert resp.status_code == 422, html(resp)[-2000:]
    assert "masih ada rujukan yang belum selesai dilayani atau ditolak" in html(resp)
    assert case_row(case.id) == before


def test_event_not_offered_in_this_state_is_explained(app, world):
    case = factories.register(world.officer)
    before = case_row(case.id)
    client = signed_in(app, "caseworker")
    resp = send(client, "POST", f"/cases/{case.number}/events/start_assessment", data={"version": str(before[1])},
                follow_redirects=True)
    assert resp.status_code == 200
    assert "tidak tersedia untuk kasus berstatus" in html(resp)
    assert case_row(case.id) == before
    resp = send(client, "GET", f"/cases/{case.number}/events/complete_assessment", follow_redirects=True)
    assert "tidak tersedia untuk kasus ini sekarang" in html(resp)
    assert case_row(case.id) == before


def test_role_that_cannot_fire_an_event_is_told_so(app, world):
    case = factories.case_in("submitted", world)
    before = case_row(case.id)
    client = signed_in(app, "supervisor")
    resp = send(client, "POST", f"/cases/{case.number}/events/start_assessment", data={"version": str(before[1])},
                follow_redirects=True)
    assert "Peran Anda tidak dapat melakukan aksi ini." in html(resp)
    assert case_row(case.id) == before


# -- the full NIK -----------------------------------------------------------------------------------------


def test_revealing_the_nik_shows_it_and_is_audited(app, world):
    case = factories.register(world.officer)
    nik, masked = case.nik, mask_number(case.nik)
    assert re.fullmatch(r"1603\*{8}\d{4}", masked)
    client = signed_in(app, "officer_a")

    page = html(send(client, "GET", f"/cases/{case.number}"))
    assert masked in page and nik not in page

    resp = send(client, "POST", f"/cases/{case.number}/nik")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/cases/{case.number}"
    assert nik not in html(resp)
    page = html(send(client, "GET", resp.headers["Location"]))
    assert re.search(rf'id="full-nik">{nik}<', page)
    db.session.rollback()
    views = db.session.execute(select(AuditEvent).where(AuditEvent.action == "pii.viewed")).scalars().all()
    assert len(views) == 1
    assert (views[0].case_id, views[0].actor_name, views[0].actor_role) == (case.id, "officer_a", "officer")

    # Lists show the masked form only, even right after a reveal and when searched by the NIK itself.
    for url in ("/cases/", f"/cases/?q={nik}", f"/cases/?q={case.number}"):
        page = html(send(client, "GET", url))
        body = page.replace(f'value="{nik}"', "").replace(f"q={nik}", "")  # the search box echoes the query
        assert masked in page, url
        assert nik not in body, url
    caseworker = signed_in(app, "caseworker")
    page = html(send(caseworker, "GET", "/cases/"))
    assert masked in page and nik not in page
    # The case page itself goes back to the masked form; the audit log never holds the full NIK.
    assert nik not in html(send(client, "GET", f"/cases/{case.number}"))
    supervisor = signed_in(app, "supervisor")
    page = html(send(supervisor, "GET", "/audit"))
    assert "NIK lengkap dilihat" in page and nik not in page


def test_each_reveal_is_its_own_audit_event(app, world):
    case = factories.case_in("referred", world)
    for username in ("officer_a", "caseworker", "supervisor_prov"):
        client = signed_in(app, username)
        resp = send(client, "POST", f"/cases/{case.number}/nik", follow_redirects=True)
        assert resp.status_code == 200 and case.nik in html(resp)
    agency = signed_in(app, "bpjs_user")
    referral_id = case.referrals[-1].id
    page = html(send(agency, "GET", f"/referrals/{referral_id}"))
    assert mask_number(case.nik) in page and case.nik not in page
    resp = send(agency, "POST", f"/referrals/{referral_id}/nik", follow_redirects=True)
    assert resp.status_code == 200 and case.nik in html(resp)
    db.session.rollback()
    actors = db.session.execute(select(AuditEvent.actor_name).where(AuditEvent.action == "pii.viewed",
                                                                     AuditEvent.case_id == case.id)
                                .order_by(AuditEvent.seq)).scalars().all()
    assert actors == ["officer_a", "caseworker", "supervisor_prov", "bpjs_user"]


def test_revealing_needs_a_post(app, world):
    """A GET (a refresh, a bookmark) lands on the case page: no 405, nothing revealed, nothing audited."""
    case = factories.register(world.officer)
    client = signed_in(app, "officer_a")
    resp = send(client, "GET", f"/cases/{case.number}/nik")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/cases/{case.number}"
    page = html(send(client, "GET", resp.headers["Location"]))
    assert case.nik not in page and mask_number(case.nik) in page
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "pii.viewed")).scalar_one() == 0
