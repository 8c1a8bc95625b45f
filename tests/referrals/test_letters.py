"""The referral letter (Surat Rujukan) of an approved referral, and the public check its QR code leads to."""

from __future__ import annotations

import html
import re

import pytest
import segno
import zxingcpp
from sqlalchemy import func, select

from puskesos.audit.chain import verify as verify_chain
from puskesos.audit.models import AuditEvent
from puskesos.cases.workflow import State
from puskesos.extensions import db
from tests import factories
from tests.helpers import login

SVG_RE = re.compile(r"<svg.*?</svg>", re.S)


@pytest.fixture
def approved(app, world):
    app.config["REFERRAL_SIGNOFF"] = True
    case = factories.case_in(State.ASSESSED, world)
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    referral = case.referrals[0]
    factories.fire(case, "approve_referral", world.supervisor, referral_id=referral.id)
    return case, referral


def decode(svg: str) -> str:
    """Read the QR code back as a phone would: redraw segno's SVG path (one stroke per run of dark modules, in
    relative moves) as pixels and scan them with zxing."""
    scale_of_svg = int(re.search(r'transform="scale\((\d+)\)"', svg).group(1))
    size = int(float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))) // scale_of_svg
    path = re.search(r' d="([^"]+)"', svg).group(1)
    dark, x, y = set(), 0.0, 0.0
    for command, numbers in re.findall(r"([MmHh])([-\d. ]+)", path):
        values = [float(n) for n in numbers.split()]
        if command in "Mm":
            x, y = (values[0], values[1]) if command == "M" else (x + values[0], y + values[1])
        else:
            run = values[0] if command == "h" else values[0] - x
            dark.update((int(x) + i, int(y)) for i in range(int(run)))
            x += run
    pixels, quiet = 4, 4  # and a wider white margin around it, as paper has
    side = size + 2 * quiet
    rows = [[0 if (col // pixels - quiet, row // pixels - quiet) in dark else 255 for col in range(side * pixels)]
            for row in range(side * pixels)]
    buffer = bytes(v for row in rows for v in row)  # held here: the ImageView only borrows it
    image = zxingcpp.ImageView(buffer, side * pixels, side * pixels, zxingcpp.ImageFormat.Lum)
    found = zxingcpp.read_barcodes(image)
    assert found, "the QR code did not decode"
    return found[0].text


def events(action: str) -> int:
    return db.session.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one()


def test_the_letter_has_what_the_counter_needs_and_its_qr_code_verifies(approved, app, client):
    case, referral = approved
    login(client, "caseworker")
    page = client.get(f"/referrals/{referral.id}/letter")
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    for fact in (referral.letter_number, "BPJS Kesehatan Muara Enim", case.name, case.nik_masked, referral.service,
                 "Caseworker", "Supervisor", "DINAS SOSIAL"):
        assert fact in body, fact
    assert case.nik not in body
    url = decode(SVG_RE.search(body).group(0))
    base = (app.config.get("PUBLIC_BASE_URL") or "http://localhost").rstrip("/")
    assert re.fullmatch(re.escape(base) + r"/v/[A-Za-z0-9_-]{43}", url), url
    assert events("letter.viewed") == 1
    # The QR code leads to the public check, signed out, on a phone.
    client.post("/logout")
    check = client.get(url.removeprefix(base))
    assert check.status_code == 200
    text = html.unescape(check.get_data(as_text=True))
    assert "Surat asli." in text and referral.letter_number in text and "Menunggu jawaban instansi." in text
    assert "Kesehatan" in text and "BPJS Kesehatan Muara Enim" in text
    for personal in (case.name, case.nik_masked, case.number, referral.service, referral.reason):
        assert personal not in text, personal
    assert verify_chain().ok


def test_printing_is_audited(approved, client):
    _case, referral = approved
    login(client, "supervisor")
    resp = client.post(f"/referrals/{referral.id}/letter/print")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/referrals/{referral.id}/letter?print=1")
    assert "data-autoprint" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert (events("letter.printed"), events("letter.viewed")) == (1, 0)


def test_the_check_follows_the_referral_and_says_when_it_was_revoked(approved, client, world):
    case, referral = approved
    url = f"/v/{referral.verify_token}"
    factories.fire(case, "accept", world.agency_user, referral_id=referral.id)
    assert "Sedang dilayani instansi." in client.get(url).get_data(as_text=True)
    factories.fire(case, "revoke_referral", world.caseworker, referral_id=referral.id, reason="Salah instansi")
    text = client.get(url).get_data(as_text=True)
    assert "Rujukan ini sudah DIBATALKAN." in text and "Surat asli." not in text


@pytest.mark.parametrize("token", ["x" * 43, "short", "../../etc/passwd", "%00" * 20, "a" * 200])
def test_a_forged_or_truncated_token_is_not_valid_and_says_no_more(approved, client, token):
    _case, referral = approved
    resp = client.get(f"/v/{token}")
    assert resp.status_code == 404
    text = resp.get_data(as_text=True)
    assert "Surat tidak valid." in text and referral.letter_number not in text
    resp = client.get(f"/v/{referral.verify_token[:-1]}")  # one character short
    assert resp.status_code == 404 and "Surat tidak valid." in resp.get_data(as_text=True)


def test_who_may_open_the_letter(approved, app, world):
    _case, referral = approved
    for username, status in (("caseworker", 200), ("supervisor", 200), ("bpjs_user", 200), ("officer_a", 404),
                             ("dukcapil_user", 404), ("caseworker_lahat", 404), ("supervisor_lahat", 404),
                             ("admin", 404)):
        client = app.test_client()
        login(client, username)
        assert client.get(f"/referrals/{referral.id}/letter").status_code == status, username


def test_no_letter_before_approval_and_the_api_gives_its_address(app, world, client):
    app.config["REFERRAL_SIGNOFF"] = True
    case = factories.case_in(State.ASSESSED, world)
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    referral = case.referrals[0]
    login(client, "caseworker")
    assert client.get(f"/referrals/{referral.id}/letter").status_code == 404
    assert referral.verify_token is None
    from puskesos.api.present import referral as present

    with app.test_request_context():
        assert present(referral)["verify_url"] is None
        factories.fire(case, "approve_referral", world.supervisor, referral_id=referral.id)
        assert present(referral)["verify_url"].endswith(f"/v/{referral.verify_token}")
    assert segno  # the QR library the letter draws with is the one installed
