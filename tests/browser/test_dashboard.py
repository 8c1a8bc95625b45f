"""The dashboard in a browser: its charts drawn, a bar followed to the cases it counts, and screenshots of the
screen and of the print view (charts readable in black and white)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from puskesos.extensions import db
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_case_journey import login
from tests.dashboards.test_dashboard import seed


def test_dashboard_drill_down_and_print(browsing, live_server):
    seed(live_server.world)
    db.session.commit()
    page = browsing.context.new_page()
    login(page, "supervisor")
    page.get_by_role("link", name="Dasbor").click()
    expect(page.get_by_role("heading", name="Terlambat per desa/kelurahan")).to_be_visible()
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 6
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "dashboard-print.png"), full_page=True)
    page.emulate_media(media="screen")
    village = page.locator("#overdue-by-village a.dash-number").first
    expected = int(village.inner_text())
    village.click()
    expect(page.locator("table.case-list tbody tr")).to_have_count(expected)

    page.goto("/dashboard/")
    page.get_by_role("link", name="Rekap bulanan (cetak A4)").click()
    expect(page.locator("#recap-village")).to_be_visible()
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "recap-print.png"), full_page=True)
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (ARTIFACTS / "recap.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one A4 sheet
    browsing.assert_stayed_local()
