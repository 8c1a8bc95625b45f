"""The referral letter (Surat Rujukan) of an approved referral, and its public check.

The letter carries a QR code of a verification address with an unguessable token; anyone with the letter in
hand (the agency's counter, the complainant) can check it without signing in, and learns only non-personal
facts: the letter number and date, the agency, the service category and whether the referral is waiting,
answered or closed. Viewing and printing a letter are audited, like a NIK reveal (no version bump).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import segno
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from puskesos.accounts.jurisdiction import referral_filter
from puskesos.accounts.roles import Role
from puskesos.audit.chain import append as audit
from puskesos.core.errors import NotFound
from puskesos.extensions import db
from puskesos.referrals.models import Referral, ReferralStatus

TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
LETTER_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.AGENCY)


def get_letter(user, referral_id: int) -> Referral:
    """An approved referral whose letter this user may see: Dinsos staff of the case's area, or the agency the
    letter is addressed to while it works on the referral (the referrals' own jurisdiction rule). Anything else
    is not found."""
    referral = None
    if user.role in LETTER_ROLES:
        referral = db.session.execute(select(Referral).where(
            Referral.id == referral_id, Referral.letter_number.is_not(None), referral_filter(user),
        )).scalar_one_or_none()
    if referral is None:
        raise NotFound(_l("Surat rujukan tidak ditemukan."))
    return referral


def record(user, referral: Referral, printed: bool = False) -> None:
    audit("letter.printed" if printed else "letter.viewed", actor=user, case=referral.case,
          details={"referral_id": referral.id, "letter_number": referral.letter_number})


def verify_url(referral: Referral) -> str | None:
    """The address the QR code carries: PUBLIC_BASE_URL when set (behind a proxy), else this request's host."""
    if not referral.verify_token:
        return None
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("referrals.verify", token=referral.verify_token)
    return url_for("referrals.verify", token=referral.verify_token, _external=True)


def qr_svg(data: str) -> Markup:
    """The QR code as inline SVG, drawn here: nothing is fetched to show or print it."""
    return Markup(segno.make(data, error="m").svg_inline(scale=4, border=2, omitsize=True))


@dataclass
class Verified:
    """What the public check shows: nothing about the person."""

    letter_number: str
    approved_on: object
    agency: str
    category: str
    stage: str  # waiting | in_service | answered | closed | revoked


STAGE_OF = {
    ReferralStatus.PENDING: "waiting",
    ReferralStatus.ACCEPTED: "in_service",
    ReferralStatus.COMPLETED: "answered",
    ReferralStatus.FAILED: "answered",
    ReferralStatus.DECLINED: "answered",
    ReferralStatus.REVOKED: "revoked",
}


def verify(token: str) -> Verified | None:
    """The letter a token belongs to, or None for anything else (malformed, unknown): the page does not say why."""
    if not TOKEN.fullmatch(token or ""):
        return None
    referral = db.session.execute(select(Referral).where(Referral.verify_token == token)).scalar_one_or_none()
    if referral is None or referral.letter_number is None:
        return None
    stage = STAGE_OF.get(ReferralStatus(referral.status), "waiting")
    if referral.case.state == "closed" and stage != "revoked":
        stage = "closed"
    return Verified(referral.letter_number, referral.reviewed_at, referral.agency.name, referral.case.category,
                    stage)
