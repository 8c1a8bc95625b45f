"""The officer's intake and the caseworker's referral walked with the keyboard alone: Tab, Shift+Tab, Enter, Space,
arrow keys and typing, never a click, a `fill` or a `focus()`. The DOM is only read, to know when to stop tabbing
and what happened. Every element reached by Tab must show a focus indicator, so a focus ring lost in CSS fails."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from puskesos.audit import chain
from puskesos.audit.models import AuditEvent
from puskesos.cases.models import Case
from puskesos.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

NIK = "1603015204850031"  # Tanjung Agung, a woman born 12-04-1985
CASE_NUMBER = re.compile(r"SLRT-1603-\d{4}-\d{6}")

# What the focused element is, for failure messages, and whether it shows that it has focus.
_DESCRIBE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'body';
  const text = (el.getAttribute('aria-label') || el.innerText || el.value || '').trim().slice(0, 40);
  // Chromium's date input has a last stop of its own: the calendar button inside it (the input is then only
  // :focus-within, so a ring drawn on :focus alone is not shown).
  const part = el.type === 'date' && !el.matches(':focus') ? ' (its calendar button)' : '';
  return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '')
         + (text ? ' "' + text + '"' : '') + part;
}"""
_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none' && !/^rgba\\(0, 0, 0, 0\\)/.test(style.boxShadow);
  return outline || shadow ? null : {outline: style.outlineStyle + ' ' + style.outlineWidth, shadow: style.boxShadow};
}"""
# Which way to tab: forwards when the target follows the focused element in the document, else backwards.
_DIRECTION = """(selector) => {
  const target = document.querySelector(selector);
  if (!target) return null;
  const el = document.activeElement;
  if (!el || el === document.body || el === target) return 'Tab';
  return el.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_PRECEDING ? 'Shift+Tab' : 'Tab';
}"""


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab (or Shift+Tab, when the target is behind) until `selector` has focus, checking each stop's
    focus indicator on the way; fail naming every element that got focus instead."""
    key = page.evaluate(_DIRECTION, selector)
    assert key is not None, f"no element matches {selector!r} on {page.url}"
    if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
        return
    reached: list[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        reached.append(page.evaluate(_DESCRIBE))
        if reached[-1] != "body":
            ring = page.evaluate(_RING)
            assert ring is None, f"{reached[-1]} on {page.url} has focus but no visible focus indicator: {ring}"
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    pytest.fail(f"{selector!r} never got focus after {limit}× {key} on {page.url}; focus went to: {reached}")


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector)


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def choose(page: Page, selector: str, label: str) -> None:
    """Pick an option of a closed, focused <select> by typing the start of its label (type-ahead)."""
    tab_to(page, selector)
    page.keyboard.type(label)
    chosen = page.evaluate("(s) => { const o = document.querySelector(s).selectedOptions[0]; return o ? o.text : ''; }",
                           selector)
    assert chosen.startswith(label), f"typing {label!r} on {selector} chose {chosen!r}"


def press_on(page: Page, selector: str, key: str = "Enter") -> None:
    tab_to(page, selector)
    page.keyboard.press(key)


def follow(page: Page, selector: str) -> None:
    """Tab to a link or submit button and press Enter; wait for the page it leads to."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def login(page: Page, username: str) -> None:
    page.goto("/login")
    type_into(page, "input[name=username]", username)
    page.keyboard.press("Tab")
    assert focused(page, "input[name=password]"), "Tab from the user name does not reach the password"
    page.keyboard.type(factories.PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter in a field submits its form
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()


def logout(page: Page) -> None:
    follow(page, "nav button[type=submit]:not([lang])")  # "Keluar"; the language switch carries `lang`
    expect(page.get_by_text("Anda sudah keluar.")).to_be_visible()


def skip_to_main(page: Page) -> None:
    """The skip link is the first stop of the page; Enter on it puts focus in <main>, and the next Tab stays
    there instead of walking the navigation bar."""
    page.keyboard.press("Tab")
    link = page.evaluate("() => [document.activeElement.textContent.trim(), "
                         "document.activeElement.getAttribute('href')]")
    assert link == ["Langsung ke isi utama", "#main"], f"the first Tab stop is not the skip link: {link}"
    assert page.evaluate(_RING) is None, "the skip link shows no focus indicator"
    page.keyboard.press("Enter")
    assert page.evaluate("() => !!document.activeElement.closest('main#main')"), \
        f"after the skip link focus is on {page.evaluate(_DESCRIBE)}, not in <main>"
    page.keyboard.press("Tab")
    assert page.evaluate("() => !!document.activeElement.closest('main#main')"), \
        f"the Tab after the skip link went to {page.evaluate(_DESCRIBE)}, outside <main>"


def test_intake_and_referral_by_keyboard_alone(browsing, live_server):
    world = live_server.world
    # An earlier open complaint of the same person, so the duplicate warning shows and must be confirmed.
    earlier = factories.register(world.officer, nik=NIK).number
    bpjs_id = world.bpjs.id
    db.session.rollback()  # hold no SQLite write lock while the server works, and read no row until it is done
    page = browsing.context.new_page()
    page.emulate_media(reduced_motion="reduce")  # focus rings read at their final style, not mid-transition

    # The village officer: log in, skip the navigation once, reach the intake form through the navbar.
    login(page, "officer_a")
    skip_to_main(page)
    follow(page, "nav a[href='/cases/new']")
    expect(page.get_by_role("heading", name="Daftarkan pengaduan")).to_be_visible()
    skip_to_main(page)
    type_into(page, "#nik", NIK)
    type_into(page, "#name", "Siti Aminah")
    tab_to(page, "#village_code")
    page.keyboard.press("ArrowDown")  # the officer's own village is the only choice; arrows keep it
    assert page.eval_on_selector("#village_code", "s => s.value") == factories.VILLAGE_A
    type_into(page, "#address", "Jl. Lintas Sumatera No. 4")
    choose(page, "#category", "Kesehatan")
    type_into(page, "#description", "Kartu KIS tidak aktif saat berobat ke puskesmas.")
    follow(page, "form.intake-form [type=submit]")

    warning = page.locator("#duplicates")
    expect(warning).to_contain_text(earlier)
    press_on(page, "#confirm_duplicate", "Space")
    assert page.is_checked("#confirm_duplicate")
    follow(page, "form.intake-form [type=submit]")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(CASE_NUMBER)
    number = CASE_NUMBER.search(heading.inner_text()).group(0)
    assert number != earlier
    expect(heading).to_contain_text("Terdaftar")
    follow(page, 'button[data-event="submit"]')
    expect(page.locator(".alert-success")).to_contain_text("Ajukan ke Dinsos: berhasil.")
    expect(heading).to_contain_text("Diajukan ke Dinsos")
    logout(page)

    # The caseworker: take it from the queue, assess it, refer it to BPJS Kesehatan.
    login(page, "caseworker")
    follow(page, "nav a[href='/cases/queue']")
    expect(page.get_by_role("heading", name="Antrean kasus masuk")).to_be_visible()
    follow(page, f"main a[href='/cases/{number}']")
    expect(heading).to_contain_text(number)
    follow(page, 'button[data-event="start_assessment"]')
    expect(heading).to_contain_text("Dalam asesmen")
    follow(page, 'a[data-event="complete_assessment"]')
    type_into(page, "#findings", "Keluarga miskin, KIS nonaktif sejak 2025.")
    tab_to(page, "input[name=eligible]")  # Tab enters the radio group once, at its first choice
    assert focused(page, "input[name=eligible][value=yes]"), page.evaluate(_DESCRIBE)
    page.keyboard.press("ArrowDown")  # arrows move and choose within the group...
    assert page.is_checked("input[name=eligible][value=no]")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")  # ...and Space keeps the focused one
    assert page.is_checked("input[name=eligible][value=yes]")
    page.keyboard.press("Tab")  # one Tab leaves the whole group
    assert focused(page, "#recommended_services"), page.evaluate(_DESCRIBE)
    page.keyboard.type("Reaktivasi PBI-JK")
    follow(page, "main form [type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("Simpan hasil asesmen: berhasil.")
    expect(heading).to_contain_text("Selesai asesmen")

    follow(page, 'a[data-event="refer"]')
    choose(page, "#agency_id", "BPJS Kesehatan")
    assert page.eval_on_selector("#agency_id", "s => s.value") == str(bpjs_id)
    assert page.eval_on_selector("#service", "s => s.value") == "Reaktivasi PBI-JK"  # from the assessment
    type_into(page, "#reason", "Peserta PBI nonaktif, perlu berobat rutin.")
    tab_to(page, "input[name=consent]")
    page.keyboard.press("Space")
    assert page.is_checked("input[name=consent][value=written]")
    follow(page, "main form [type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("Rujuk ke instansi: berhasil.")
    expect(heading).to_contain_text("Dirujuk")
    browsing.assert_stayed_local()

    db.session.expire_all()
    assert chain.verify().ok
    case = db.session.execute(select(Case).where(Case.number == number)).scalar_one()
    assert case.state == "referred" and case.assignee_id == world.caseworker.id
    assert (case.nik, case.village_code, case.category) == (NIK, factories.VILLAGE_A, "health")
    assert case.assessment.eligible is True
    assert [(r.agency_id, r.status, r.consent) for r in case.referrals] == [(world.bpjs.id, "pending", "written")]
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id).where(
        AuditEvent.case_id == case.id, AuditEvent.action.like("case.%")).order_by(AuditEvent.seq)).all()
    assert [tuple(a) for a in actions] == [
        ("case.created", world.officer.id), ("case.submit", world.officer.id),
        ("case.start_assessment", world.caseworker.id), ("case.complete_assessment", world.caseworker.id),
        ("case.refer", world.caseworker.id)]


def test_a_form_sent_back_with_errors_gives_its_summary_the_focus(browsing, live_server):
    """A screen reader hears what went wrong at once: the summary has the focus, the title says there are
    errors, and Enter on a summary link puts the focus in the field it names."""
    page = browsing.context.new_page()
    login(page, "officer_a")
    page.goto("/cases/new")
    tab_to(page, "main form.intake-form [type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # nothing typed: sent back with errors
    assert page.title().startswith("Kesalahan:"), page.title()
    assert page.evaluate("() => document.activeElement.matches('[data-error-summary]')"), \
        f"after the errors focus is on {page.evaluate(_DESCRIBE)}, not the error summary"
    page.keyboard.press("Tab")
    target = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert target and target.startswith("#"), f"the first Tab from the summary reaches {page.evaluate(_DESCRIBE)}"
    page.keyboard.press("Enter")
    assert page.evaluate("(id) => document.activeElement === document.getElementById(id)", target[1:]), \
        f"Enter on the summary's link to {target} left focus on {page.evaluate(_DESCRIBE)}"
    field = page.locator(target)
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described and page.locator(f"#{described[0]}").inner_text().strip()
