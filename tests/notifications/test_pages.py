"""The bell, the list page (read/unread, mark read, mark all) and the messages in Indonesian and English."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from puskesos.extensions import db
from puskesos.notifications.models import Notification
from puskesos.notifications.services import BELL_CAP, notify
from tests import factories
from tests.helpers import login

EN_PO = Path(__file__).resolve().parents[2] / "puskesos" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
BELL = re.compile(r'class="[^"]*notification-bell[^"]*"[^>]*>\s*Notifi\w+'
                  r'(?: \(<span id="unread-count">(\S+)</span>\))?')
ITEM = re.compile(r'<li class="list-group-item[^"]*" id="notification-(\d+)">')


def bell(client, url: str = "/notifications") -> str | None:
    body = client.get(url).get_data(as_text=True)
    match = BELL.search(body)
    assert match, body[:3000]
    return match.group(1)


def listed(client, query: str = "") -> list[int]:
    resp = client.get(f"/notifications{query}")
    assert resp.status_code == 200
    return [int(n) for n in ITEM.findall(resp.get_data(as_text=True))]


def own_ids(user) -> list[int]:
    """The user's notifications, newest first, as committed."""
    db.session.rollback()
    ids = list(db.session.execute(select(Notification.id).where(Notification.recipient_id == user.id)
                                  .order_by(Notification.id.desc())).scalars())
    db.session.commit()
    return ids


def translated(msgid: str) -> bool:
    with EN_PO.open("rb") as f:
        message = read_po(f, locale="en").get(msgid)
    return bool(message and message.string)


def test_bell_list_read_unread_and_mark_all(client, world):
    cases = [factories.case_in("submitted", world) for _ in range(3)]
    login(client, "caseworker")
    assert bell(client) == "3"
    ids = own_ids(world.caseworker)
    assert listed(client) == ids and len(ids) == 3  # newest first
    body = client.get("/notifications").get_data(as_text=True)
    for case in cases:
        assert f"Pengaduan {case.number} diajukan ke Dinsos dan menunggu asesmen." in body
        assert f'href="/cases/{case.number}"' in body

    resp = client.post(f"/notifications/{ids[1]}/read", data={"show": "unread"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/notifications?show=unread"
    assert bell(client) == "2"
    assert listed(client, "?show=unread") == [ids[0], ids[2]]
    assert listed(client, "?show=read") == [ids[1]]
    assert client.post(f"/notifications/{ids[1]}/read").status_code == 303  # again: still read, no error

    other = own_ids(world.caseworker2)[0]  # caseworker2's own copy of the same event
    assert client.post(f"/notifications/{other}/read").status_code == 404
    assert client.post("/notifications/99999999999/read").status_code == 404
    assert client.post("/notifications/read-all").status_code == 303
    assert bell(client) is None
    assert listed(client, "?show=unread") == []
    assert listed(client, "?show=read") == ids
    db.session.rollback()
    assert db.session.execute(select(Notification.read_at).where(Notification.id == other)).scalar_one() is None

    for _ in range(BELL_CAP + 5):  # the bell counts no further than it shows
        notify("case.submitted", cases[0])
    db.session.commit()
    assert bell(client, "/cases/") == f"{BELL_CAP}+"


def test_list_pages_by_keyset(client, world, app):
    app.config["PAGE_SIZE"] = 2
    for _ in range(3):
        factories.case_in("submitted", world)
    ids = own_ids(world.caseworker)
    login(client, "caseworker")
    body = client.get("/notifications").get_data(as_text=True)
    assert [int(n) for n in ITEM.findall(body)] == ids[:2]
    assert f"before={ids[1]}" in body
    assert listed(client, f"?before={ids[1]}") == ids[2:]
    assert listed(client, "?before=nonsense") == ids[:2]  # a cursor edited by hand starts from the top


def test_agency_items_lead_to_the_referral_and_the_answer_reads_in_both_languages(client, world):
    case = factories.case_in("referred", world)
    referral = case.referrals[-1]
    login(client, "bpjs_user")
    body = client.get("/notifications").get_data(as_text=True)
    assert f'href="/referrals/{referral.id}"' in body
    assert f"Rujukan baru untuk {world.bpjs.name}: pengaduan {case.number}." in body

    factories.fire(case, "decline", world.agency_user, referral_id=referral.id, reason="Bukan kewenangan kami.")
    login(client, "caseworker")
    body = client.get("/notifications").get_data(as_text=True)
    assert f"Jawaban {world.bpjs.name} untuk pengaduan {case.number}: Ditolak." in body
    assert f'href="/cases/{case.number}"' in body

    client.post("/lang/en", data={"next": "/notifications"})
    body = client.get("/notifications").get_data(as_text=True)
    assert "Ditolak" not in body and "Declined" in body  # the status is put into words when read, in English
    if translated("Jawaban %(agency)s untuk pengaduan %(case)s: %(status)s."):
        assert f"Answer from {world.bpjs.name} to complaint {case.number}: Declined." in body
        assert re.search(r"Notifications \(<span", body)
