"""The audit log never holds a complainant's personal data in clear: a case's personal details (what the intake and
the workflow inputs declare `personal`) are sealed under the case's own key before the event is hashed. Readers
who may read the case see them in words on the timeline, the log page, the export and the API; after retention
destroys the key they read "(dihapus)", and the chain, hashed as stored, still verifies."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io

import pytest
from sqlalchemy import event, select, text

from puskesos.audit import sealing
from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent, CaseKey
from puskesos.audit.present import describe
from puskesos.audit.services import details_of
from puskesos.cases import services
from puskesos.cases.intake import INTAKE
from puskesos.core import pii
from puskesos.core.timeutil import today, utcnow
from puskesos.extensions import db
from tests import factories
from tests.helpers import login

SIX_YEARS_AGO = utcnow() - dt.timedelta(days=6 * 366)
PERSON = {"name": "Sumarni Lestari", "birth_date": "1979-08-17", "sex": "P", "address": "Jl. Kenanga Nomor 17",
          "rt": "4", "rw": "9", "phone": "0812 7788 9900", "description": "Anak demam tinggi, kartu BPJS ditolak.",
          "reporter_name": "Joko Susilo", "reporter_relation": "Tetangga sebelah", "reporter_phone": "0813 5566 7788",
          "kk_number": "1603012501150007"}
EDITED = {"name": "Sumarni Lestari Putri", "address": "Gang Melati Nomor 3", "phone": "0821 4455 6677"}
NOTES = {"findings": "Ibu tunggal, tiga anak, penghasilan tidak tetap.", "recommended_services": "Aktivasi PBI-JK",
         "service": "Aktivasi PBI-JK segera", "reason": "Peserta PBI nonaktif sejak Maret",
         "service_given": "PBI-JK aktif kembali sejak hari ini", "close_note": "Layanan diterima, ibu berterima kasih",
         "info_note": "Lampirkan foto kartu keluarga Bu Sumarni"}
# What must never be readable in the stored details: every typed personal value, in the forms it is stored in.
SECRETS = [PERSON["name"], EDITED["name"], PERSON["address"], EDITED["address"], "77889900", "44556677", "55667788",
           "1979-08-17", PERSON["description"], PERSON["reporter_name"], PERSON["reporter_relation"],
           "1603012501150007", *NOTES.values()]


@pytest.fixture
def person(world):
    """One complainant's case through registration, an edit, a request for information, assessment, a referral
    served by the agency, and closing."""
    w = world
    case = factories.register(w.officer, **PERSON, nik=factories.nik(birth=dt.date(1979, 8, 17), female=True))
    services.update_intake(case, w.officer, {**{s.name: getattr(case, s.name) for s in INTAKE}, **EDITED},
                           expected_version=case.version)
    db.session.commit()
    factories.fire(case, "submit", w.officer)
    factories.fire(case, "start_assessment", w.caseworker)
    factories.fire(case, "request_info", w.caseworker, note=NOTES["info_note"])
    factories.fire(case, "submit", w.officer)
    factories.fire(case, "start_assessment", w.caseworker)
    factories.fire(case, "complete_assessment", w.caseworker, findings=NOTES["findings"], eligible=True,
                   recommended_services=NOTES["recommended_services"])
    factories.fire(case, "refer", w.caseworker, agency_id=w.bpjs.id, service=NOTES["service"],
                   reason=NOTES["reason"], consent="written")
    factories.fire(case, "accept", w.agency_user, referral_id=case.referrals[-1].id)
    factories.fire(case, "report_service", w.agency_user, referral_id=case.referrals[-1].id,
                   service_given=NOTES["service_given"], delivered_on=today())
    factories.fire(case, "close", w.caseworker, outcome="resolved", note=NOTES["close_note"])
    return case


def stored_details(case_id: int) -> list[str]:
    """The details as the database holds them, read with plain SQL."""
    return list(db.session.execute(text("SELECT details FROM audit_event WHERE case_id = :c ORDER BY seq"),
                                   {"c": case_id}).scalars())


def events_of(case) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                   .order_by(AuditEvent.seq)).scalars())


def lines_of(case, app) -> str:
    with app.test_request_context():
        return "\n".join(f"{label}: {words}" for ev in events_of(case) for label, words in describe(ev).lines)


def age_and_retain(app, case) -> None:
    """The case closed six years ago, then `flask retention apply` (as tests/privacy/test_retention.py ages)."""
    db.session.execute(text("UPDATE case_file SET closed_at = :t WHERE id = :c"), {"t": SIX_YEARS_AGO, "c": case.id})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["retention", "apply"])
    assert result.exit_code == 0 and "anonymised 1 case(s)" in result.output, result.output
    db.session.expire_all()


# -- what is stored -------------------------------------------------------------------------------------------


def test_stored_details_hold_no_personal_data_in_clear(app, person):
    stored = stored_details(person.id)
    assert [ev.action for ev in events_of(person)][:3] == ["case.created", "case.updated", "case.submit"]
    everything = "\n".join(stored)
    for secret in SECRETS:
        assert secret not in everything, secret
    masked_nik = person.nik[:4] + "********" + person.nik[-4:]
    assert masked_nik not in everything  # masked, and sealed too: birth date and village would rebuild it
    assert everything.count('"sealed:') >= 20
    # What is not personal stays readable: the category, states, outcome, agency, decisions, dates of steps.
    for kept in ('"category":"health"', '"urgency":"normal"', '"from":"assessed"', '"to":"referred"',
                 '"outcome":"resolved"', '"eligible":true', '"consent":"written"', '"agency":"BPJS Kesehatan Muara',
                 f'"delivered_on":"{today().isoformat()}"', '"village_code":"16.03.01.2011"'):
        assert kept in everything, kept
    assert verify().ok


def test_the_key_is_the_cases_own_wrapped_under_the_master_key(app, world, person):
    key = db.session.get(CaseKey, person.id)
    assert key.destroyed_at is None and key.key_id == pii.keyring().current
    assert key.wrapped_key.startswith(key.key_id + ":")
    other = factories.register(world.officer, name="Orang Lain")
    assert db.session.get(CaseKey, other.id).wrapped_key != key.wrapped_key
    assert details_of(events_of(person)[0])["fields"]["name"] == PERSON["name"]
    # A token copied into another case's event does not open there: the case id is bound to it.
    token = next(part for part in stored_details(other.id)[0].split('"') if part.startswith("sealed:"))
    assert sealing.open_details(person.id, {"name": token}) == {"name": "(tidak terbaca)"}
    assert sealing.open_details(other.id, {"name": token})["name"] not in ("(tidak terbaca)", token)  # its own


def test_events_of_no_case_are_not_sealed(app, world):
    """Sign-ins, accounts, agencies: no complainant's data, nothing to seal, nothing that retention would erase."""
    user_created = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.created")).scalars().first()
    assert "sealed:" not in user_created.details
    assert db.session.execute(select(CaseKey)).first() is None


def test_the_service_callers_details_are_left_as_they_were(app, world):
    """`append` seals a copy: a notification built from the same details still reads them."""
    from puskesos.audit.chain import append

    case = factories.register(world.officer)
    details = {"note": "Catatan untuk dikirim", "from": "registered"}
    append("case.request_info", actor=world.caseworker, case=case, details=details)
    assert details == {"note": "Catatan untuk dikirim", "from": "registered"}
    db.session.rollback()


def test_a_key_made_in_a_transaction_that_rolled_back_is_not_used_again(app, world):
    """The case id may come round again (SQLite reuses it): its new events get a key that was stored."""
    services.register(world.officer, factories.intake(name="Tidak Jadi"))
    db.session.rollback()
    case = factories.register(world.officer, name="Jadi Didaftarkan")
    assert db.session.get(CaseKey, case.id) is not None
    db.session.rollback()  # a fresh session cache: the key comes from the database
    assert details_of(events_of(case)[0])["fields"]["name"] == "Jadi Didaftarkan"


# -- what readers see -----------------------------------------------------------------------------------------


def test_the_timeline_and_the_log_show_them_in_words(app, client, person):
    words = lines_of(person, app)
    for value in (PERSON["name"], EDITED["name"], EDITED["address"], PERSON["description"], PERSON["reporter_name"],
                  *NOTES.values(), "17 Agustus 1979", "Perempuan"):
        assert value in words, value
    assert "+62812…" in words and "77889900" not in words  # phones cut, as before
    assert "1603********" in words  # NIK masked, as before

    login(client, "supervisor")
    log = client.get("/audit", query_string={"case_number": person.number}).get_data(as_text=True)
    page = client.get(f"/cases/{person.number}").get_data(as_text=True)
    for html in (log, page):
        for value in (EDITED["name"], NOTES["findings"], NOTES["close_note"], NOTES["reason"]):
            assert value in html, value
        assert "sealed:" not in html


def test_the_export_and_the_api_read_them_too(app, client, person):
    login(client, "supervisor")
    resp = client.get("/exports/audit", query_string={"format": "csv", "case_number": person.number})
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    exported = "\n".join(";".join(row) for row in rows)
    assert NOTES["findings"] in exported and EDITED["name"] in exported and "sealed:" not in exported

    client.post("/logout")
    bearer = client.post("/api/v1/tokens", json={"username": "supervisor", "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {bearer.get_json()['token']}"}
    body = client.get("/api/v1/audit", query_string={"case": person.number, "limit": 100}, headers=headers).get_json()
    created = next(item for item in body["items"] if item["action"] == "case.created")
    assert created["details"]["fields"]["name"] == PERSON["name"]
    timeline = client.get(f"/api/v1/cases/{person.number}/timeline", headers=headers).get_json()
    assert any(ev["details"].get("findings") == NOTES["findings"] for ev in timeline)


def test_the_log_page_loads_the_keys_of_its_cases_in_one_query(app, client, world, person):
    for name in ("Kedua", "Ketiga", "Keempat"):
        factories.fire(factories.register(world.officer, name=name), "submit", world.officer)
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if "case_key" in statement:
            seen.append(statement)

    login(client, "supervisor")
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get("/audit").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert "Keempat" in html and NOTES["close_note"] in html  # five cases' details opened on this page
    assert len(seen) == 1, seen


# -- retention ------------------------------------------------------------------------------------------------


def test_after_retention_the_details_read_erased_and_the_chain_verifies(app, client, person):
    before = stored_details(person.id)
    age_and_retain(app, person)

    assert stored_details(person.id)[:len(before)] == before  # the log itself is never changed
    key = db.session.get(CaseKey, person.id)
    assert key.wrapped_key is None and key.key_id is None and key.destroyed_at is not None
    raw_key = db.session.execute(text("SELECT wrapped_key FROM case_key WHERE case_id = :c"), {"c": person.id})
    assert raw_key.scalar_one() is None

    words = lines_of(person, app)
    assert "(dihapus)" in words
    for secret in [*SECRETS, "Perempuan", "17 Agustus 1979"]:
        assert secret not in words, secret
    for kept in ("Kategori: Kesehatan", "Keputusan kelayakan: Ya", "Instansi: BPJS Kesehatan Muara Enim",
                 "Hasil: Selesai, kebutuhan terpenuhi", "Desa/kelurahan: Embawang"):
        assert kept in words, kept  # what was never personal still reads
    created = details_of(events_of(person)[0])
    assert created["fields"]["name"] == "(dihapus)" and created["fields"]["category"] == "health"

    login(client, "supervisor")
    log = client.get("/audit", query_string={"case_number": person.number}).get_data(as_text=True)
    assert "(dihapus)" in log and EDITED["name"] not in log and NOTES["findings"] not in log

    assert verify().ok
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


# -- key rotation ---------------------------------------------------------------------------------------------


def test_rewrap_moves_every_live_key_to_the_current_master_key(app, world, person):
    kept = factories.register(world.officer, name="Masih Disimpan")
    erased = factories.register(world.officer, name="Segera Dihapus")
    sealing.destroy(erased.id)
    db.session.commit()

    new_key = base64.b64encode(b"ROTATED-TEST-KEY-000000000000001").decode()
    app.config["PII_KEYS"] = f"{app.config['PII_KEYS'] or pii.DEVELOPMENT_KEYS['PII_KEYS']},k2={new_key}"
    app.config["PII_KEY_ID"] = "k2"
    db.session.expire_all()
    assert sealing.case_keys_to_rewrap() == 2
    progressed = []
    assert sealing.rewrap_case_keys(batch_size=1, progress=progressed.append) == 2
    assert progressed == [1, 1]
    assert sealing.case_keys_to_rewrap() == 0 and sealing.rewrap_case_keys() == 0  # resumable: nothing left
    keys = {k.case_id: k for k in db.session.execute(select(CaseKey)).scalars()}
    assert keys[person.id].key_id == keys[kept.id].key_id == "k2"
    assert keys[erased.id].wrapped_key is None  # a destroyed key stays destroyed

    kept_id = kept.id
    db.session.rollback()  # a fresh cache of keys
    app.config["PII_KEYS"] = f"k2={new_key}"  # the old master key gone: the case keys still open
    first = db.session.execute(select(AuditEvent).where(AuditEvent.case_id == kept_id)).scalars().first()
    assert details_of(first)["fields"]["name"] == "Masih Disimpan"
    assert verify().ok


def test_a_key_swapped_behind_the_apps_back_reads_as_unreadable_and_every_page_still_answers(app, client, world,
                                                                                             person, caplog):
    other = factories.register(world.officer, name="Orang Lain")
    db.session.commit()
    swapped = db.session.get(CaseKey, other.id).wrapped_key  # wrapped for another case: it does not open here
    db.session.execute(text("UPDATE case_key SET wrapped_key = :w WHERE case_id = :c"), {"w": swapped, "c": person.id})
    db.session.commit()
    login(client, "supervisor")
    for url in ("/audit", f"/audit?case_number={person.number}", f"/cases/{person.number}"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert "(tidak terbaca)" in html and "sealed:" not in html  # (the case page shows its assessment itself)
    assert f"case id {person.id} does not open" in caplog.text
    assert verify().ok  # the events themselves are as they were; the key is what changed
