"""The referral letter in chromium: one A4 sheet when printed, and its verification page on a phone-sized screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from puskesos.cases.workflow import State
from puskesos.extensions import db
from tests import factories
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_case_journey import login

pytestmark = pytest.mark.browser


def test_the_letter_prints_on_one_a4_sheet_and_verifies_on_a_phone(browsing, live_server):
    world, app = live_server.world, live_server.app
    app.config["REFERRAL_SIGNOFF"] = True
    case = factories.case_in(State.ASSESSED, world)
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    referral = case.referrals[0]
    factories.fire(case, "approve_referral", world.supervisor, referral_id=referral.id)
    referral_id, letter_number, token = referral.id, referral.letter_number, referral.verify_token
    db.session.rollback()  # hold no SQLite lock while the server works

    page = browsing.context.new_page()
    login(page, "caseworker")
    page.goto(f"/referrals/{referral_id}/letter")
    expect(page.locator(".referral-letter")).to_contain_text(letter_number)
    expect(page.locator(".letter-qr svg")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "letter-print.png"), full_page=True)
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (ARTIFACTS / "letter.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one A4 sheet for a normal case

    phone = browsing.context.browser.new_context(viewport={"width": 390, "height": 844},
                                                base_url=live_server.url).new_page()
    phone.goto(f"/v/{token}")
    expect(phone.locator(".alert-success")).to_contain_text("Surat asli.")
    expect(phone.locator(".verify-letter")).to_contain_text(letter_number)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing to scroll sideways on a phone
    phone.screenshot(path=str(ARTIFACTS / "letter-verify-phone.png"), full_page=True)
    phone.goto("/v/" + "x" * 43)
    expect(phone.locator(".alert-danger")).to_contain_text("Surat tidak valid.")
    browsing.assert_stayed_local()
