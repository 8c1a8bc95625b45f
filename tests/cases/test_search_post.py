"""The case list's search is posted: a NIK never enters a URL, a `next` field or a log, and paging, the counts and
the exports keep the search."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import unquote

from sqlalchemy import select

from puskesos.audit.models import AuditEvent
from puskesos.audit.services import details_of
from puskesos.cases import services
from puskesos.extensions import db
from tests import factories
from tests.helpers import send, signed_in

KK = "1603010101100077"
URL_PLACES = re.compile(r'(?:href|action|src)="([^"]*)"|name="next" value="([^"]*)"')


def register(officer, **overrides):
    case, _warnings = services.register(officer, factories.intake(**overrides), confirm_duplicate=True)
    db.session.commit()
    return case


def urls_in(page: str) -> list[str]:
    """Every address the page links, posts or redirects to, and the language switch's `next`, decoded."""
    return [unquote(a or b).replace("&amp;", "&") for a, b in URL_PLACES.findall(page)]


def no_number_in_urls(page: str, *numbers: str) -> None:
    for url in urls_in(page):
        digits = re.sub(r"\D", "", url)
        for number in numbers:
            assert number not in digits, url


def search(client, q: str, **filters):
    resp = send(client, "POST", "/cases/search", data={"q": q, **filters})
    assert resp.status_code == 303
    location = resp.headers["Location"]
    return location, send(client, "GET", location)


def listed(page: str) -> set[str]:
    return set(re.findall(r'href="/cases/(SLRT-[\d-]+)"', page))


def test_a_nik_search_is_posted_and_its_results_carry_no_nik_anywhere_in_an_address(app, world):
    case = register(world.officer, kk_number=KK)
    other = register(world.officer, name="Budi Santoso")
    client = signed_in(app, "caseworker")

    location, resp = search(client, f"{case.nik[:4]} {case.nik[4:]}")
    assert case.nik not in re.sub(r"\D", "", location) and "search=" in location and "q=" not in location
    page = resp.get_data(as_text=True)
    assert listed(page) == {case.number}
    assert 'method="post"' in page and 'action="/cases/search"' in page
    no_number_in_urls(page, case.nik)
    lang_next = re.search(r'name="next" value="([^"]*)"', page).group(1)
    assert "search=" in lang_next  # the switch comes back to the same search, by its id

    # The per-state counts link the same search; following one keeps it.
    count_link = re.search(r'href="([^"]*state=registered[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "search=" in count_link
    assert listed(send(client, "GET", count_link).get_data(as_text=True)) == {case.number}

    # By family card too; and a name search works as before.
    assert listed(search(client, KK)[1].get_data(as_text=True)) == {case.number}
    assert listed(search(client, "budi")[1].get_data(as_text=True)) == {other.number}


def test_paging_keeps_a_posted_search(app, world):
    first = register(world.officer, kk_number=KK)
    second = register(world.officer, kk_number=KK)
    register(world.officer)
    app.config["PAGE_SIZE"] = 1
    client = signed_in(app, "caseworker")
    _location, resp = search(client, KK)
    page = resp.get_data(as_text=True)
    assert listed(page) == {first.number}
    next_link = re.search(r'href="([^"]*cursor=[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "search=" in next_link and KK not in next_link
    assert listed(send(client, "GET", next_link).get_data(as_text=True)) == {second.number}


def test_a_nik_in_the_address_is_never_searched_nor_repeated(app, world):
    case = register(world.officer)
    other = register(world.officer)
    client = signed_in(app, "caseworker")
    resp = send(client, "GET", f"/cases/?q={case.nik}&state=registered")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "pencarian NIK atau nomor KK tidak dibaca dari alamat" in page
    assert listed(page) == {case.number, other.number}  # not searched: the list as if no q were given
    assert case.nik not in page  # not echoed in the box, the links or the language switch
    no_number_in_urls(page, case.nik)
    # The export of such an address ignores it too, and its audit event holds no NIK.
    export = send(client, "GET", f"/exports/cases?format=csv&q={case.nik}")
    assert len(list(csv.reader(io.StringIO(export.get_data(as_text=True))))) == 3
    db.session.rollback()
    assert case.nik not in str([e.details for e in db.session.execute(select(AuditEvent)).scalars()])


def test_exports_follow_a_posted_search_masked_and_audited_without_the_nik(app, world):
    case = register(world.officer, kk_number=KK)
    register(world.officer)
    client = signed_in(app, "caseworker")
    _location, resp = search(client, case.nik)
    page = resp.get_data(as_text=True)
    export_url = re.search(r'href="(/exports/cases\?[^"]*format=csv[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "search=" in export_url
    body = send(client, "GET", export_url).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 2 and case.number in rows[1]
    assert case.nik_masked in rows[1] and case.nik not in body and KK not in body
    db.session.rollback()
    (event,) = db.session.execute(select(AuditEvent).where(AuditEvent.action == "export.cases")).scalars()
    assert details_of(event)["filters"]["q"] == case.nik_masked


def test_a_forgotten_search_id_shows_the_whole_list_with_a_word(app, world):
    case = register(world.officer)
    client = signed_in(app, "caseworker")
    resp = send(client, "GET", "/cases/?search=nothing-here")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Pencarian ini sudah tidak tersimpan" in page
    assert listed(page) == {case.number}
    # Another browser (another session) cannot use someone's search id.
    location, _resp = search(client, case.nik)
    stranger = signed_in(app, "supervisor")
    assert "Pencarian ini sudah tidak tersimpan" in send(stranger, "GET", location).get_data(as_text=True)


def test_the_search_form_is_csrf_protected(app, world):
    client = signed_in(app, "caseworker")
    app.config["WTF_CSRF_ENABLED"] = True
    resp = send(client, "POST", "/cases/search", data={"q": factories.nik()})
    assert resp.status_code == 400
    page = send(client, "GET", "/cases/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = send(client, "POST", "/cases/search", data={"q": "Siti", "csrf_token": token})
    assert resp.status_code == 303
