"""Accounts: signing in (and recording it), creating and changing users."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from puskesos.accounts import lockout
from puskesos.accounts.models import User, verify_password
from puskesos.accounts.roles import ROLE_REGION_LEVELS, Role
from puskesos.api.tokens import revoke_all
from puskesos.audit.chain import append as audit
from puskesos.core.errors import Forbidden, NotFound, ValidationFailed
from puskesos.core.ids import parse_id
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db
from puskesos.referrals.models import Agency
from puskesos.regions.models import Region

MIN_PASSWORD = 8


def authenticate(username: str, password: str, *, channel: str = "web", address: str | None = None) -> User | None:
    """The user if the password is right, the account active and not locked; every attempt is audited.

    Failures count against the account (a growing lock) and against the client `address` (a budget), see
    `lockout`; past either, `LoginRefused` (429) is raised, even for the right password. Each attempt that
    reaches an account runs exactly one password-hash check (a throw-away hash when there is no usable account),
    so unknown, inactive, locked and real accounts answer alike in time."""
    username = (username or "").strip()[:50]
    lockout.check_address(address)
    user = db.session.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none()
    with lockout.attempt_gate(username):
        refusal = lockout.locked(username)
        usable = user is not None and user.active and refusal is None
        right = verify_password(user.password_hash if usable else None, password or "")
        if usable and right:
            lockout.succeeded(username)
        else:
            lockout.failed(username, address, count_account=refusal is None)
    if usable and right:
        user.last_login_at = utcnow()
        audit("auth.login", actor=user, region_code=user.region_code, details={"channel": channel})
        return user
    if refusal is not None:
        reason = "locked"
    else:
        reason = "unknown_user" if user is None else ("inactive" if not user.active else "bad_password")
    audit("auth.login_failed", actor=None, actor_name=username or None,
          region_code=user.region_code if user else None, details={"reason": reason, "channel": channel})
    if refusal is not None:
        raise refusal
    return None


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader, on every request that carries a session or remember-me cookie: `"<id>:<generation>"`
    (`User.get_id`). A generation other than the account's now means the cookie was issued before a sign-out, a
    password change or an account change, on whatever worker: signed out."""
    user_id, _, generation = (session_id or "").partition(":")
    if not (user_id.isdigit() and generation.isdigit() and len(user_id) < 19 and len(generation) < 19):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or (user.session_generation or 0) != int(generation):
        return None
    return user


def end_sessions(user: User, actor: User | None, reason: str) -> None:
    """End every session, remember-me cookie and API token of `user` at once: the generation is raised in the
    database, which every worker reads on every request, and the tokens are revoked. `actor` None is the
    command line."""
    user.session_generation = User.session_generation + 1  # in SQL: two ends at once both count
    db.session.flush()
    revoke_all(user, actor, reason=reason)


def sign_out(user: User, *, channel: str = "web") -> None:
    """Signing out ends the user's sessions everywhere, not only this browser's: a copied cookie dies with it."""
    audit("auth.logout", actor=user, region_code=user.region_code, details={"channel": channel})
    end_sessions(user, user, reason="signed out")


def _require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_l("Hanya admin sistem yang dapat mengelola akun."))


def _validate(role: str, region_code: str | None, agency_id: int | None, errors: dict) -> tuple:
    try:
        role_enum = Role(role)
    except ValueError:
        errors.setdefault("role", []).append(_l("Peran tidak dikenal."))
        return None, None
    levels = ROLE_REGION_LEVELS[role_enum]
    region = None
    if levels:
        region = db.session.get(Region, region_code or "")
        if region is None or region.level not in levels:
            message = {
                Role.OFFICER: _l("Petugas Puskesos terikat pada satu desa/kelurahan."),
                Role.CASEWORKER: _l("Pekerja sosial terikat pada satu kabupaten/kota."),
                Role.SUPERVISOR: _l("Supervisor terikat pada satu kabupaten/kota atau provinsi."),
            }[role_enum]
            errors.setdefault("region_code", []).append(message)
    agency = None
    if role_enum == Role.AGENCY:
        agency = db.session.get(Agency, parse_id(agency_id) or 0)
        if agency is None:
            errors.setdefault("agency_id", []).append(_l("Petugas instansi harus terikat pada satu instansi."))
    return region, agency


def create_user(actor: User | None, *, username: str, full_name: str, password: str, role: str,
                region_code: str | None = None, agency_id: int | None = None, email: str | None = None) -> User:
    """`actor` None means the command line (`flask users create`), which is trusted. `email`, optional, is where
    notifications are e-mailed when SMTP is configured."""
    _require_admin(actor)
    errors: dict = {}
    username = (username or "").strip()
    if not username or len(username) > 50 or not username.replace(".", "").replace("_", "").isalnum():
        errors["username"] = [_l("Nama pengguna: huruf, angka, titik atau garis bawah, paling banyak 50.")]
    elif db.session.execute(select(User.id).where(func.lower(User.username) == username.lower())).first():
        errors["username"] = [_l("Nama pengguna sudah dipakai.")]
    if not (full_name or "").strip():
        errors["full_name"] = [_l("Wajib diisi.")]
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = [_l("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD)]
    email = (email or "").strip() or None
    if email is not None and (len(email) > 254 or email.count("@") != 1 or " " in email):
        errors["email"] = [_l("Alamat e-mail tidak valid.")]
    region, agency = _validate(role, region_code, agency_id, errors)
    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    user = User(username=username, full_name=full_name.strip(), role=role, email=email,
                region_code=region.code if region else None, agency_id=agency.id if agency else None)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit("user.created", actor=actor, actor_name="cli" if actor is None else None, region_code=user.region_code,
          details={"user_id": user.id, "username": user.username, "role": user.role,
                   "region_code": user.region_code, "agency_id": user.agency_id})
    return user


def update_user(actor: User, user_id: int, *, full_name: str, role: str, region_code: str | None,
                agency_id: int | None, active: bool, password: str | None = None) -> User:
    _require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("Akun tidak ditemukan."))
    errors: dict = {}
    if not (full_name or "").strip():
        errors["full_name"] = [_l("Wajib diisi.")]
    if password and len(password) < MIN_PASSWORD:
        errors["password"] = [_l("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD)]
    if user.id == actor.id and (not active or role != Role.ADMIN):
        errors["active"] = [_l("Anda tidak dapat menonaktifkan atau mengubah peran akun Anda sendiri.")]
    region, agency = _validate(role, region_code, agency_id, errors)
    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    new = {"full_name": full_name.strip(), "role": role, "region_code": region.code if region else None,
           "agency_id": agency.id if agency else None, "active": bool(active)}
    diff = {k: [getattr(user, k), v] for k, v in new.items() if getattr(user, k) != v}
    for key, value in new.items():
        setattr(user, key, value)
    if password:
        user.set_password(password)
        diff["password"] = ["***", "***"]
    if diff:
        db.session.flush()
        action = "user.deactivated" if diff.get("active") == [True, False] else "user.updated"
        audit(action, actor=actor, region_code=user.region_code,
              details={"user_id": user.id, "username": user.username, "changes": diff})
        if set(diff) & {"password", "role", "region_code", "agency_id", "active"}:
            # A session or token was granted to who the user was; any change of who that is ends it.
            end_sessions(user, actor, reason="account changed: " + ", ".join(sorted(diff)))
    return user


def change_own_password(user: User, old_password: str, new_password: str, confirm: str, *,
                        address: str | None = None) -> None:
    """A signed-in user changes their own password, proving the current one first. Like an admin's reset, it
    ends every session and API token of the account: they were granted for the old password (the view signs
    this browser in again). A wrong current password is a failed login: in the hands of someone who found the
    session open, this form must not become a guessing oracle."""
    old_password, new_password, confirm = old_password or "", new_password or "", confirm or ""
    lockout.check_address(address)
    refusal = lockout.locked(user.username)
    if refusal is not None:
        raise refusal
    errors: dict = {}
    if not user.check_password(old_password):
        errors["old_password"] = [_l("Kata sandi lama salah.")]
        lockout.failed(user.username, address)
    else:
        lockout.succeeded(user.username)
    if len(new_password) < MIN_PASSWORD:
        errors["new_password"] = [_l("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD)]
    elif new_password == old_password:
        errors["new_password"] = [_l("Kata sandi baru harus berbeda dari kata sandi lama.")]
    if confirm != new_password:
        errors["confirm"] = [_l("Ulangan tidak sama dengan kata sandi baru.")]
    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    user.set_password(new_password)
    db.session.flush()
    audit("user.password_changed", actor=user, region_code=user.region_code,
          details={"user_id": user.id, "username": user.username})
    end_sessions(user, user, reason="password changed by the user")


def list_users() -> list[User]:
    return list(db.session.execute(select(User).order_by(User.role, User.username)).scalars())
