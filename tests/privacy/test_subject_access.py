"""Subject access (Law 27/2022): a supervisor types a person's NIK and gets every case of that person in the
supervisor's area, with its assessments, referrals and timeline, as a printable page or a JSON file; each export
is one audit event naming the NIK masked; the NIK never travels in a URL; other roles get a 404."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from puskesos.audit.models import AuditEvent
from puskesos.audit.present import describe
from puskesos.cases import services as cases
from puskesos.cases.models import mask_number
from puskesos.extensions import db
from tests import factories
from tests.factories import VILLAGE_B, VILLAGE_LAHAT, case_in, fire, intake
from tests.helpers import login

URL = "/privacy/subject-access"
KK = "1603012501150007"


@pytest.fixture
def person(world):
    """One person with three complaints (two in Muara Enim, one in Lahat), a relative on the same family card
    and a stranger, all in the same week."""
    nik = factories.nik(serial=4242)
    first = case_in("closed", world, nik=nik, kk_number=KK, name="Rahmawati Binti Umar",
                    description="Anak putus sekolah karena biaya.")
    second, _ = cases.register(world.officer_b, intake(nik=nik, kk_number=KK, name="Rahmawati Binti Umar",
                                                       village_code=VILLAGE_B,
                                                       description="Rumah rusak berat setelah banjir."))
    db.session.commit()
    fire(second, "submit", world.officer_b)
    fire(second, "start_assessment", world.caseworker)
    fire(second, "complete_assessment", world.caseworker, findings="Atap runtuh, dinding retak.", eligible=True,
         recommended_services="Bedah rumah (RTLH)")
    fire(second, "refer", world.caseworker, **factories.refer_inputs(world.dukcapil))
    lahat, _ = cases.register(world.officer_lahat, intake(nik=nik, name="Rahmawati Binti Umar",
                                                          village_code=VILLAGE_LAHAT,
                                                          description="Kartu KIS hilang."),
                              confirm_duplicate=True)
    relative, _ = cases.register(world.officer, intake(kk_number=KK, name="Umar Bin Said",
                                                       nik=factories.nik(serial=4243)), confirm_duplicate=True)
    stranger = factories.register(world.officer, name="Orang Lain Sama Sekali")
    db.session.commit()
    return {"nik": nik, "first": first.number, "second": second.number, "lahat": lahat.number,
            "relative": relative.number, "stranger": stranger.number}


def events(action: str = "export.subject_access") -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.seq)).scalars())


def event_total() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def export(client, nik: str, fmt: str = "html"):
    return client.post(URL, data={"nik": nik, "format": fmt})


# -- the document ---------------------------------------------------------------------------------------------


def test_supervisor_gets_the_persons_cases_in_the_area_as_a_printable_document(client, world, person):
    login(client, "supervisor")
    page = client.get(URL)
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)

    resp = export(client, person["nik"])
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    shown = set(re.findall(r'data-case="([^"]+)"', html))
    assert shown == {person["first"], person["second"]}  # not Lahat's, not the relative's, not the stranger's
    assert 'id="case-count">2<' in html
    # Everything held: the complainant in full, the complaint, the assessment, the referral, the timeline in words.
    assert person["nik"] in html and KK in html and "Rahmawati Binti Umar" in html
    assert "Rumah rusak berat setelah banjir." in html and "Atap runtuh, dinding retak." in html
    assert "Disdukcapil Muara Enim" in html and "Bedah rumah (RTLH)" in html
    assert "Pengaduan didaftarkan" in html and "Simpan hasil asesmen" in html and "Tutup kasus" in html
    assert "Umar Bin Said" not in html and "Orang Lain Sama Sekali" not in html and "Kartu KIS hilang." not in html
    # Other areas keep their own records, and the page says so.
    assert "Dinas Sosial di wilayah lain menyimpan catatan mereka sendiri" in html
    # Printable on A4, like the referral letter.
    assert "size: A4" in html and "data-print" in html

    [event] = events()
    details = json.loads(event.details)
    assert details == {"nik": mask_number(person["nik"]), "format": "html", "cases": 2}
    assert person["nik"] not in event.details
    assert event.actor_id == world.supervisor.id and event.region_code == "16.03" and event.case_id is None


def test_json_download_holds_the_same_cases_and_is_audited(client, world, person):
    login(client, "supervisor")
    resp = export(client, person["nik"], "json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=data-pribadi-")
    assert person["nik"] not in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"
    doc = resp.get_json()
    assert doc["nik"] == person["nik"]
    assert doc["area"]["code"] == "16.03"
    assert "Dinas Sosial di wilayah lain" in doc["note"]
    assert {c["number"] for c in doc["cases"]} == {person["first"], person["second"]}
    second = next(c for c in doc["cases"] if c["number"] == person["second"])
    assert second["complainant"]["name"]["value"] == "Rahmawati Binti Umar"
    assert second["complainant"]["kk_number"]["value"] == KK
    assert second["complaint"]["description"]["value"] == "Rumah rusak berat setelah banjir."
    assert second["assessments"][0]["findings"]["value"] == "Atap runtuh, dinding retak."
    assert second["referrals"][0]["agency"]["value"] == "Disdukcapil Muara Enim"
    assert second["referrals"][0]["status"]["value"] == "pending"
    assert [e["event"] for e in second["timeline"]][:2] == ["Pengaduan didaftarkan", "Ajukan ke Dinsos"]
    assert all(e["seq"] > 0 and e["at"].endswith("Z") for e in second["timeline"])

    [event] = events()
    assert json.loads(event.details) == {"nik": mask_number(person["nik"]), "format": "json", "cases": 2}


def test_a_province_supervisor_reaches_every_regency_of_the_province(client, person):
    login(client, "supervisor_prov")
    html = export(client, person["nik"]).get_data(as_text=True)
    assert set(re.findall(r'data-case="([^"]+)"', html)) == {person["first"], person["second"], person["lahat"]}


def test_lahat_supervisor_sees_only_lahat(client, person):
    login(client, "supervisor_lahat")
    html = export(client, person["nik"]).get_data(as_text=True)
    assert set(re.findall(r'data-case="([^"]+)"', html)) == {person["lahat"]}
    assert "Rumah rusak" not in html


def test_a_valid_nik_without_cases_is_an_empty_document_still_audited(client, world, person):
    login(client, "supervisor")
    nobody = factories.nik(serial=777)
    html = export(client, nobody).get_data(as_text=True)
    assert "Tidak ada kasus dengan NIK ini di wilayah Anda." in html
    assert 'id="case-count">0<' in html
    assert json.loads(events()[0].details) == {"nik": mask_number(nobody), "format": "html", "cases": 0}


def test_the_export_reads_in_words_in_the_audit_log(client, world, person):
    login(client, "supervisor")
    export(client, person["nik"])
    described = describe(events()[0])
    assert str(described.label) == "Data pribadi seseorang diekspor (permintaan akses)"
    lines = {str(label): text for label, text in described.lines}
    assert lines == {"NIK": mask_number(person["nik"]), "Format": "html", "Jumlah kasus": "2"}
    log = client.get("/audit").get_data(as_text=True)
    assert "Data pribadi seseorang diekspor (permintaan akses)" in log
    assert 'href="/privacy/subject-access"' in log  # the way in, from the supervisor's audit log
    assert person["nik"] not in log


# -- the NIK never in a URL -----------------------------------------------------------------------------------


def test_the_nik_never_travels_in_a_url(client, person):
    login(client, "supervisor")
    form = client.get(URL).get_data(as_text=True)
    assert re.findall(r'<form method="post" action="([^"]*)"', form)[-1] == URL  # the NIK goes in the body
    for fmt in ("html", "json"):
        resp = export(client, person["nik"], fmt)
        assert resp.status_code == 200 and "Location" not in resp.headers  # no redirect to carry it anywhere
    html = export(client, person["nik"]).get_data(as_text=True)
    urls = re.findall(r'(?:href|action|src)="([^"]*)"', html)
    assert urls and not [u for u in urls if person["nik"] in u]
    # The language switch sends you back to a plain address after a POST, not to one holding the form.
    assert 'name="next" value="/"' in html
    # The download form carries it back in a POST body, as a hidden field.
    assert f'name="nik" value="{person["nik"]}"' in html


def test_the_form_needs_its_csrf_token(app, client, world, person):
    app.config["WTF_CSRF_ENABLED"] = True
    login_csrf = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                      login_csrf)
    assert token
    resp = client.post("/login", data={"username": "supervisor", "password": factories.PASSWORD,
                                       "csrf_token": token.group(1) or token.group(2)})
    assert resp.status_code == 302
    before = event_total()
    refused = export(client, person["nik"])
    assert refused.status_code == 400
    assert person["nik"] not in refused.get_data(as_text=True)
    assert event_total() == before
    page = client.get(URL).get_data(as_text=True)
    found = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found
    resp = client.post(URL, data={"nik": person["nik"], "format": "html", "csrf_token": found.group(1)})
    assert resp.status_code == 200 and len(events()) == 1


# -- refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, message", [
    ("", "Isi NIK orang yang meminta datanya."),
    ("12345", "NIK harus terdiri dari 16 digit angka."),
    ("1603019913850001", "Tanggal lahir pada NIK tidak valid."),
    ("1603011204850000", "Nomor urut NIK tidak boleh 0000."),
    ("x" * 500, "Paling banyak 40 karakter."),
])
def test_a_bad_nik_is_explained_and_nothing_is_exported_or_audited(client, person, raw, message):
    login(client, "supervisor")
    before = event_total()
    resp = export(client, raw)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert "data-case=" not in html and "Rahmawati" not in html
    assert event_total() == before


def test_an_unknown_format_is_refused(client, person):
    login(client, "supervisor")
    before = event_total()
    resp = export(client, person["nik"], "xml")
    assert resp.status_code == 422 and "data-case=" not in resp.get_data(as_text=True)
    assert event_total() == before


@pytest.mark.parametrize("username", ["officer_a", "caseworker", "bpjs_user", "admin"])
def test_other_roles_get_a_404_as_on_the_audit_log(client, person, username):
    login(client, username)
    before = event_total()
    assert client.get("/audit").status_code == 404  # the same answer the audit log gives them
    assert client.get(URL).status_code == 404
    resp = export(client, person["nik"])
    assert resp.status_code == 404
    assert "Rahmawati" not in resp.get_data(as_text=True)
    assert event_total() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, person):
    before = event_total()
    for resp in (client.get(URL), export(client, person["nik"])):
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
        assert person["nik"] not in resp.headers["Location"]
    assert event_total() == before
