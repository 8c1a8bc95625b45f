"""Reaching the complainant: a WhatsApp click-to-chat link and a status message to send or read out.

The message is in Indonesian whatever the officer's screen speaks: it goes to the citizen.
"""

from __future__ import annotations

from urllib.parse import quote

from flask_babel import force_locale
from flask_babel import gettext as _

from puskesos.cases.workflow import STATE_LABELS, State

WHATSAPP = "https://wa.me/"  # click-to-chat: opened by the officer's phone or browser, nothing fetched by the page


def status_message(case) -> str:
    """"Pengaduan Anda nomor … sekarang …", with the next step where there is one."""
    with force_locale("id"):
        state = str(STATE_LABELS[State(case.state)])
        message = _("Pengaduan Anda nomor %(number)s sekarang berstatus: %(state)s.", number=case.number, state=state)
        if case.state == State.NEEDS_INFO and case.info_request:
            message += " " + _("Data yang masih diperlukan: %(what)s", what=case.info_request)
        elif case.state != State.CLOSED and case.due_on:
            message += " " + _("Langkah berikutnya dijadwalkan paling lambat %(day)s.",
                               day=f"{case.due_on.day}/{case.due_on.month}/{case.due_on.year}")
    return message


def whatsapp_link(case, message: str) -> str | None:
    """wa.me takes the number in international form without the plus; the phone is stored normalised (+62…)."""
    phone = (case.phone or "").lstrip("+")
    if not phone.isdigit():
        return None
    return f"{WHATSAPP}{phone}?text={quote(message)}"


def contact(case) -> tuple[str | None, str]:
    """(the click-to-chat link or None, the status message): the message made once for both."""
    message = status_message(case)
    return whatsapp_link(case, message), message
