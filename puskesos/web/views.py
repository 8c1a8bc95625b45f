"""The home page sends each role to its work; the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_login import current_user, login_required

from puskesos.accounts.roles import Role
from puskesos.web.redirects import safe_next

bp = Blueprint("web", __name__)

HOME_BY_ROLE = {
    Role.OFFICER: "cases.index",
    Role.CASEWORKER: "cases.queue",
    Role.SUPERVISOR: "cases.index",
    Role.AGENCY: "referrals.inbox",
    Role.ADMIN: "accounts.users",
}


@bp.get("/")
@login_required
def home():
    return redirect(url_for(HOME_BY_ROLE[Role(current_user.role)]))


@bp.post("/lang/<code>")  # CSRFProtect checks the token, as on every POST
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")))
