"""Issuing, resolving and revoking API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import select, update

from puskesos.accounts.models import User
from puskesos.api.models import ApiToken
from puskesos.audit.chain import append as audit
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(user: User) -> tuple[str, ApiToken]:
    """A new token for a user who just proved their password; the clear text is returned once."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_digest(token),
                   expires_at=utcnow() + dt.timedelta(hours=current_app.config["API_TOKEN_HOURS"]))
    db.session.add(row)
    db.session.flush()
    return token, row


def resolve(token: str) -> ApiToken | None:
    """The live token row for a bearer token: unknown, expired, revoked or of an inactive user is None."""
    if not token or len(token) > 200:
        return None
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row


def revoke(row: ApiToken) -> None:
    row.revoked_at = utcnow()
    audit("auth.token_revoked", actor=row.user, region_code=row.user.region_code,
          details={"token_id": row.id, "channel": "api"})


def revoke_all(user: User, actor: User | None = None, reason: str = "revoked") -> int:
    """Every live token of a user (a lost phone, a departed officer, a changed password); returns how many.
    `actor` None is the command line."""
    now = utcnow()
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .values(revoked_at=now)
    )
    if result.rowcount:
        audit("auth.tokens_revoked", actor=actor, actor_name="cli" if actor is None else None,
              region_code=user.region_code,
              details={"user_id": user.id, "username": user.username, "count": result.rowcount, "reason": reason})
    return result.rowcount
