"""Languages: Indonesian by default (no catalogue), English from the navbar switch, and an
English catalogue that keeps up with the code (a new untranslated string fails here)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import format_date, get_locale, refresh

from puskesos.extensions import babel
from tests import factories
from tests.helpers import login

ROOT = Path(__file__).resolve().parents[2]
EN_PO = ROOT / "puskesos" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as `make extract-messages` (-k _l -k lazy_gettext)

ENGLISH_STATES = {
    "registered": "Registered",
    "submitted": "Submitted to Dinsos",
    "in_assessment": "In assessment",
    "needs_info": "Needs more information",
    "assessed": "Assessed",
    "referred": "Referred",
    "in_service": "In service",
    "closed": "Closed",
}
INDONESIAN_STATES = ("Diajukan ke Dinsos", "Dalam asesmen", "Perlu data tambahan", "Selesai asesmen", "Ditutup")


@pytest.fixture(scope="session")
def english_mo() -> Path:
    """The compiled English catalogue is gitignored and built by `make`; build it here when it is
    missing or older than the .po, so a bare `pytest` works too."""
    if not EN_MO.exists() or EN_MO.stat().st_mtime < EN_PO.stat().st_mtime:
        with EN_PO.open("rb") as f:
            catalog = read_po(f, locale="en")
        partial = EN_MO.with_suffix(".mo.tmp")
        with partial.open("wb") as f:
            write_mo(f, catalog)
        partial.replace(EN_MO)
        babel.domain_instance.cache.clear()  # Flask-Babel keeps loaded catalogues for the whole process
    return EN_MO


@pytest.fixture
def web(client):
    """The test client: each of its requests has its own context, so the locale is chosen afresh."""
    return client


def switch_to(client, lang: str, next_url: str) -> None:
    resp = client.post(f"/lang/{lang}", data={"next": next_url})
    assert resp.status_code == 302
    assert resp.headers["Location"] == next_url


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.get_data(as_text=True)[-3000:])
    return resp.get_data(as_text=True)


def test_login_page_is_indonesian_by_default(web):
    html = page(web, "/login")
    assert '<html lang="id">' in html
    assert "<title>Masuk · Puskesos</title>" in html
    assert "Masuk ke Puskesos" in html
    assert "Kata sandi" in html
    assert "Sign in" not in html
    assert re.search(r">\s*English\s*</button>", html)  # the switch offers the other language


def test_language_switch_to_english_and_back(web, english_mo):
    page(web, "/login")
    switch_to(web, "en", "/login")
    html = page(web, "/login")
    assert '<html lang="en">' in html
    assert "<title>Sign in · Puskesos</title>" in html
    assert "Sign in to Puskesos" in html
    assert "Password" in html
    assert "Masuk ke Puskesos" not in html
    assert "Bahasa Indonesia" in html

    switch_to(web, "id", "/login")
    html = page(web, "/login")
    assert '<html lang="id">' in html
    assert "Masuk ke Puskesos" in html


def test_unknown_language_is_ignored(web):
    switch_to(web, "fr", "/login")
    assert '<html lang="id">' in page(web, "/login")


def test_case_list_in_english_shows_english_state_labels(web, world, english_mo):
    case = factories.case_in("submitted", world)
    login(web, "officer_a")
    switch_to(web, "en", "/cases/")
    html = page(web, "/cases/")
    assert "<h1 class=\"h4 mb-0\">Case list</h1>" in html
    counts = re.search(r'<ul class="list-inline small mb-2 state-counts">(.*?)</ul>', html, re.S).group(1)
    for label in ENGLISH_STATES.values():
        assert label in counts
    row = re.search(rf"<tr[^>]*>\s*<td[^>]*><a href=\"/cases/{case.number}\">.*?</tr>", html, re.S).group(0)
    assert '<span class="badge state-submitted">Submitted to Dinsos</span>' in row
    assert "Health" in row  # the category label too
    for label in INDONESIAN_STATES:
        assert label not in html


def test_case_page_dates_are_indonesian_by_default(web, world, app):
    born = dt.date(1985, 12, 3)
    case = factories.register(world.officer, nik=factories.nik(birth=born))
    login(web, "officer_a")
    html = page(web, f"/cases/{case.number}")
    assert "3 Desember 1985" in html
    assert "December" not in html

    with app.test_request_context("/"):
        refresh()
        assert str(get_locale()) == "id"
        assert format_date(dt.date(2026, 12, 26), "d MMMM yyyy") == "26 Desember 2026"
        assert format_date(dt.date(2026, 8, 17), "d MMM yyyy") == "17 Agu 2026"


def test_case_page_dates_follow_english(web, world, english_mo):
    case = factories.register(world.officer, nik=factories.nik(birth=dt.date(1985, 12, 3)))
    login(web, "officer_a")
    switch_to(web, "en", f"/cases/{case.number}")
    html = page(web, f"/cases/{case.number}")
    assert "3 December 1985" in html
    assert "Desember" not in html


def test_validator_messages_are_indonesian(web):
    """WTForms ships no Indonesian catalogue; our validators carry messages from our own."""
    resp = web.post("/login", data={"username": "", "password": ""})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "This field is required." not in html
    assert "Wajib diisi." in html


def test_validator_messages_are_english_in_english(web, english_mo):
    switch_to(web, "en", "/login")
    resp = web.post("/login", data={"username": "", "password": ""})
    assert resp.status_code == 400
    assert "Required." in resp.get_data(as_text=True)  # our catalogue's English


# -- the catalogue ----------------------------------------------------------------------------------------------


def _msgid(message) -> str:
    return message[0] if isinstance(message, tuple | list) else message


def extracted() -> dict[tuple[str, str | None], list[str]]:
    """A fresh extraction with babel.cfg, as `make extract-messages` does: (msgid, context) → where."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.setdefault((_msgid(message), context), []).append(f"{filename}:{lineno}")
    return found


def test_english_catalogue_translates_every_string():
    with EN_PO.open("rb") as f:
        catalog = read_po(f)
    assert str(catalog.locale) == "en"
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"
    messages = [m for m in catalog if m.id]
    assert not [m.id for m in messages if m.fuzzy], "fuzzy entries: review them and drop the flag"
    untranslated = [m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert not untranslated, f"untranslated in {EN_PO.relative_to(ROOT)}: {untranslated}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, f"placeholders must match the msgid: {problems}"

    in_catalogue = {(_msgid(m.id), m.context) for m in messages}
    found = extracted()
    assert len(found) > 250  # the extraction really ran over the code and the templates
    missing = {key: where for key, where in found.items() if key not in in_catalogue}
    assert not missing, ("strings missing from the English catalogue; run `make extract-messages` and translate "
                         f"them: {missing}")
