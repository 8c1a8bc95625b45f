"""One complaint's whole journey through the real pages in chromium, and a stale form in a second tab."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from puskesos.audit import chain
from puskesos.audit.models import AuditEvent
from puskesos.cases.models import Case
from puskesos.extensions import db
from tests import factories
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

NIK = "1603015204850007"  # district 160301 (Tanjung Agung), a woman born 12-04-1985: day 12 + 40
CASE_NUMBER = re.compile(r"SLRT-1603-\d{4}-\d{6}")
JOURNEY = ["Pengaduan didaftarkan", "Ajukan ke Dinsos", "Ambil dan mulai asesmen", "Simpan hasil asesmen",
           "Rujuk ke instansi", "Terima rujukan", "Laporkan layanan", "Tutup kasus"]


def login(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(factories.PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()


def logout(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_text("Anda sudah keluar.")).to_be_visible()
    expect(page.get_by_label("Nama pengguna")).to_be_visible()


def flash_ok(page: Page, text: str) -> None:
    expect(page.locator(".alert-success")).to_contain_text(text)


def test_case_journey(browsing, live_server):  # browsing first: no chromium, no world built
    world = live_server.world
    page = browsing.context.new_page()

    # The village officer registers the complaint and submits it to Dinsos.
    login(page, "officer_a")
    page.get_by_role("link", name="Daftarkan pengaduan").first.click()
    expect(page.get_by_role("heading", name="Daftarkan pengaduan")).to_be_visible()
    page.get_by_label("NIK", exact=True).fill(NIK)
    page.get_by_label("Nama lengkap").fill("Siti Aminah")
    page.get_by_label("Alamat", exact=True).fill("Jl. Lintas Sumatera No. 4")
    page.get_by_label("Kategori").select_option(label="Kesehatan")
    page.get_by_label("Uraian pengaduan").fill("Kartu KIS tidak aktif saat berobat ke puskesmas.")
    page.get_by_role("button", name="Simpan").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(CASE_NUMBER)
    number = CASE_NUMBER.search(heading.inner_text()).group(0)
    flash_ok(page, f"Pengaduan {number} terdaftar.")
    expect(heading).to_contain_text("Terdaftar")
    page.locator('[data-event="submit"]').click()
    flash_ok(page, "Ajukan ke Dinsos: berhasil.")
    expect(heading).to_contain_text("Diajukan ke Dinsos")
    logout(page)

    # The caseworker takes it from the queue, assesses it and refers it to BPJS Kesehatan.
    login(page, "caseworker")
    page.get_by_role("link", name="Antrean", exact=True).click()
    expect(page.get_by_role("heading", name="Antrean kasus masuk")).to_be_visible()
    page.get_by_role("link", name=number).click()
    expect(heading).to_contain_text(number)
    page.locator('[data-event="start_assessment"]').click()
    flash_ok(page, "Ambil dan mulai asesmen: berhasil.")
    expect(heading).to_contain_text("Dalam asesmen")
    page.locator('[data-event="complete_assessment"]').click()
    page.get_by_label("Temuan asesmen").fill("Keluarga miskin, KIS nonaktif sejak 2025.")
    page.get_by_label("Layak dibantu").check()
    page.get_by_label("Layanan yang direkomendasikan").fill("Reaktivasi PBI-JK")
    page.get_by_role("button", name="Simpan hasil asesmen").click()
    flash_ok(page, "Simpan hasil asesmen: berhasil.")
    expect(heading).to_contain_text("Selesai asesmen")
    page.locator('[data-event="refer"]').click()
    page.get_by_label("Instansi tujuan").select_option(label="BPJS Kesehatan Muara Enim")
    expect(page.get_by_label("Layanan yang diminta")).to_have_value("Reaktivasi PBI-JK")  # from the assessment
    page.get_by_label("Alasan rujukan").fill("Peserta PBI nonaktif, perlu berobat rutin.")
    page.get_by_label("Tertulis").check()
    page.get_by_role("button", name="Rujuk ke instansi").click()
    flash_ok(page, "Rujuk ke instansi: berhasil.")
    expect(heading).to_contain_text("Dirujuk")
    expect(page.locator("table.referrals")).to_contain_text("BPJS Kesehatan Muara Enim")
    logout(page)

    # The agency accepts the referral from its inbox and reports the service given.
    login(page, "bpjs_user")
    page.get_by_role("link", name="Rujukan masuk").click()
    expect(page.get_by_role("heading", name="Rujukan masuk")).to_be_visible()
    page.get_by_role("link", name=number).click()
    expect(heading).to_contain_text(number)
    page.locator('button[data-event="accept"]').click()
    flash_ok(page, "Terima rujukan: berhasil.")
    page.get_by_label("Layanan yang diberikan").fill("Kepesertaan PBI-JK diaktifkan kembali.")
    expect(page.get_by_label("Tanggal layanan")).to_have_value(dt.date.today().isoformat())  # starts at today
    page.locator('button[data-event="report_service"]').click()
    flash_ok(page, "Laporkan layanan: berhasil.")
    expect(heading).to_contain_text("Selesai dilayani")
    logout(page)

    # The caseworker closes the case: need met. The agency is done, so the case says so, with its own deadline.
    login(page, "caseworker")
    page.get_by_role("link", name="Kasus saya").click()
    page.get_by_role("link", name=number).click()
    expect(heading).to_contain_text("Rujukan terjawab")
    expect(page.locator(".alert-info")).to_contain_text("Semua rujukan sudah dijawab instansi")
    expect(page.locator("main")).to_contain_text(re.compile(r"Tenggat:\s*\d{1,2} \w{3} \d{4}"))
    expect(page.locator(".days-in-step")).to_contain_text("0 hari di tahap ini")
    page.locator('[data-event="close"]').click()
    page.get_by_label("Hasil").select_option(label="Selesai, kebutuhan terpenuhi")
    page.get_by_label("Catatan penutupan").fill("KIS aktif kembali, pengadu sudah berobat.")
    page.get_by_role("button", name="Tutup kasus").click()
    flash_ok(page, "Tutup kasus: berhasil.")
    expect(heading).to_contain_text("Ditutup")
    expect(page.locator(".alert-secondary")).to_contain_text("Selesai, kebutuhan terpenuhi")
    expect(page.locator('[data-event="reopen"]')).to_be_visible()  # the only action left to the caseworker
    expect(page.locator('[data-event="close"]')).to_have_count(0)
    labels = page.locator("ol.timeline > li strong").all_inner_texts()
    assert [label for label in labels if label in JOURNEY] == JOURNEY, labels
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-journey-final.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "case-journey-final-viewport.png"))
    browsing.assert_stayed_local()

    # In the test process: the chain holds and the row says closed/resolved.
    db.session.expire_all()
    assert chain.verify().ok
    case = db.session.execute(select(Case).where(Case.number == number)).scalar_one()
    assert (case.state, case.outcome) == ("closed", "resolved")
    assert case.nik == NIK and case.sex == "P" and case.birth_date == dt.date(1985, 4, 12)
    assert case.assignee_id == world.caseworker.id
    assert [r.status for r in case.referrals] == ["completed"]


def test_stale_start_assessment_in_second_tab(browsing, live_server):
    world = live_server.world
    case = factories.register(world.officer, nik=factories.nik(female=True))
    factories.fire(case, "submit", world.officer)
    case_id, number = case.id, case.number
    # Reading the expired row began a transaction, and on SQLite every transaction begins IMMEDIATE (it takes
    # the write lock): end it, or the server's requests queue behind this process.
    db.session.rollback()

    first = browsing.context.new_page()
    login(first, "caseworker")
    second = browsing.context.new_page()  # same cookies: the same caseworker in another tab
    for tab in (first, second):
        tab.goto(f"/cases/{number}")
        expect(tab.locator('[data-event="start_assessment"]')).to_be_visible()

    first.locator('[data-event="start_assessment"]').click()
    flash_ok(first, "Ambil dan mulai asesmen: berhasil.")
    second.locator('[data-event="start_assessment"]').click()
    refusal = second.locator(".alert-danger")
    expect(refusal).to_contain_text(re.compile(r"sudah diubah oleh Caseworker pada .*Muat ulang|tidak tersedia"))
    expect(second.get_by_role("heading", level=1)).to_contain_text("Dalam asesmen")
    browsing.assert_stayed_local()

    db.session.expire_all()
    starts = db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.case_id == case_id, AuditEvent.action == "case.start_assessment")).scalar_one()
    assert starts == 1
    assert chain.verify().ok


def test_a_referral_that_could_not_be_served(browsing, live_server):
    """The agency says it could not deliver, with a reason; the case is `answered` and the caseworker closes it."""
    world = live_server.world
    case = factories.case_in("in_service", world)
    number, referral_id = case.number, case.referrals[-1].id
    db.session.rollback()  # hold no SQLite write lock while the server works
    page = browsing.context.new_page()

    login(page, "bpjs_user")
    page.goto(f"/referrals/{referral_id}")
    page.locator('button[data-event="report_failure"]').click()  # no reason: refused, nothing changes
    expect(page.locator(".invalid-feedback")).to_contain_text("Tuliskan mengapa layanan tidak dapat diberikan.")
    page.get_by_label("Mengapa layanan tidak dapat diberikan").fill("Kuota PBI-JK daerah tahun ini sudah penuh.")
    page.locator('button[data-event="report_failure"]').click()
    flash_ok(page, "Laporkan tidak dapat dilayani: berhasil.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tidak dapat dilayani")
    logout(page)

    login(page, "caseworker")
    page.goto(f"/cases/{number}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Rujukan terjawab")
    expect(page.locator("table.referrals")).to_contain_text("Kuota PBI-JK daerah tahun ini sudah penuh.")
    expect(page.locator("ol.timeline")).to_contain_text("Laporkan tidak dapat dilayani")
    page.locator('[data-event="close"]').click()
    page.get_by_label("Hasil").select_option(label="Tidak memenuhi syarat")
    page.get_by_role("button", name="Tutup kasus").click()
    flash_ok(page, "Tutup kasus: berhasil.")
    expect(heading).to_contain_text("Ditutup")
    browsing.assert_stayed_local()

    db.session.expire_all()
    assert chain.verify().ok
    case = db.session.execute(select(Case).where(Case.number == number)).scalar_one()
    assert (case.state, case.outcome, [r.status for r in case.referrals]) == ("closed", "not_eligible", ["failed"])
