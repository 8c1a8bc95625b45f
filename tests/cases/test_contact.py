"""Contacting the complainant: a WhatsApp click-to-chat link and a copyable status message on the case page,
for the officer and the caseworker, always in Indonesian (it goes to the citizen)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from puskesos.cases.workflow import State
from tests import factories
from tests.helpers import login

LINK_RE = re.compile(r'href="(https://wa\.me/[^"]+)"')


def contact_section(page: str) -> str:
    match = re.search(r'<section class="card mt-3 d-print-none contact-complainant">.*?</section>', page, re.S)
    return match.group(0) if match else ""


@pytest.mark.parametrize("username", ["officer_a", "caseworker"])
def test_officers_and_caseworkers_get_a_whatsapp_link_with_the_status(world, client, username):
    case = factories.case_in(State.NEEDS_INFO, world)  # phone 0812 7788 9900 in the factory's intake
    login(client, username)
    section = contact_section(client.get(f"/cases/{case.number}").get_data(as_text=True))
    link = html.unescape(LINK_RE.search(section).group(1))
    parts = urlsplit(link)
    assert parts.path == "/6281277889900"
    text = parse_qs(parts.query)["text"][0]
    assert text.startswith(f"Pengaduan Anda nomor {case.number} sekarang berstatus: Perlu data tambahan.")
    assert "Lampirkan foto KK." in text  # what is still needed
    assert text in html.unescape(section)  # the same message, to copy
    assert 'target="_blank" rel="noopener noreferrer"' in section


def test_the_message_stays_indonesian_on_an_english_page(world, client):
    case = factories.case_in(State.REFERRED, world)
    login(client, "caseworker")
    client.post("/lang/en", data={"next": "/"})
    section = html.unescape(contact_section(client.get(f"/cases/{case.number}").get_data(as_text=True)))
    assert "Contact the complainant" in section
    assert f"Pengaduan Anda nomor {case.number} sekarang berstatus: Dirujuk." in section
    assert "Langkah berikutnya dijadwalkan paling lambat" in section


def test_no_phone_no_link_but_the_message_still(world, client):
    case = factories.register(world.officer, phone="")
    login(client, "officer_a")
    section = contact_section(client.get(f"/cases/{case.number}").get_data(as_text=True))
    assert "wa.me" not in section and "Nomor HP pengadu belum ada" in section
    assert f"Pengaduan Anda nomor {case.number}" in section


def test_supervisors_do_not_contact_complainants(world, client):
    case = factories.case_in(State.SUBMITTED, world)
    login(client, "supervisor")
    assert contact_section(client.get(f"/cases/{case.number}").get_data(as_text=True)) == ""
