"""Login, logout, one's own password and the admin's account pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from puskesos.accounts import services
from puskesos.accounts.forms import LoginForm, PasswordForm, UserForm
from puskesos.accounts.lockout import LoginRefused
from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.extensions import db
from puskesos.referrals.services import list_agencies
from puskesos.web.access import require_role
from puskesos.web.forms import run, show_refusal
from puskesos.web.redirects import safe_next

bp = Blueprint("accounts", __name__)


def _refused(template: str, form, refusal: LoginRefused, status: int = 429):
    """A refusal for too many failed logins: the message says when to try again, `Retry-After` in seconds."""
    flash(str(refusal.message), "danger")
    return render_template(template, form=form), status, {"Retry-After": str(refusal.retry_after)}


# What a browser's session keeps across a sign-out or sign-in: the language it reads. Nothing of the last user
# (a posted NIK search, a NIK about to be revealed) is left for the next one at a shared office computer.
KEPT_ACROSS_USERS = ("lang",)


def fresh_session() -> None:
    kept = {key: session[key] for key in KEPT_ACROSS_USERS if key in session}
    session.clear()
    session.update(kept)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, address=get_remote_address())
        except LoginRefused as refusal:
            db.session.commit()  # the refused attempt is audited too
            return _refused("accounts/login.html", form, refusal)
        db.session.commit()  # the audit event of a failed login must land too
        if user is not None:
            fresh_session()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        flash(_("Nama pengguna atau kata sandi salah, atau akun tidak aktif."), "danger")
        return render_template("accounts/login.html", form=form), 401
    return render_template("accounts/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    """Ends every session of the account (and its API tokens), so a cookie copied from this browser dies too."""
    services.sign_out(current_user)
    db.session.commit()
    logout_user()
    fresh_session()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Any signed-in user changes their own password; their other sessions end, this one goes on."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        _result, refusal = run(services.change_own_password, user, form.old_password.data,
                               form.new_password.data, form.confirm.data, address=get_remote_address())
        if refusal is None:
            login_user(user)  # this browser under the new generation; every other session is over
            flash(_("Kata sandi Anda sudah diubah."), "success")
            return redirect(url_for("web.home"), 303)
        if isinstance(refusal, LoginRefused):
            return _refused("accounts/password.html", form, refusal)
        show_refusal(form, refusal)
        status = 422
    elif form.errors:
        status = 422
    return render_template("accounts/password.html", form=form), status


def _agency_choices(form: UserForm) -> None:
    form.agency_id.choices = [(0, "—")] + [(a.id, a.name) for a in list_agencies()]


@bp.get("/admin/users")
@login_required
def users():
    require_role(Role.ADMIN)
    return render_template("accounts/users.html", users=services.list_users())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    require_role(Role.ADMIN)
    form = UserForm()
    _agency_choices(form)
    status = 200
    if form.validate_on_submit():
        user, refusal = run(services.create_user, current_user, username=form.username.data,
                            full_name=form.full_name.data, password=form.password.data or "", role=form.role.data,
                            region_code=form.region_code.data or None, agency_id=form.agency_id.data or None)
        if refusal is None:
            flash(_("Akun %(name)s dibuat.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
        show_refusal(form, refusal)
        status = 422
    elif form.errors:
        status = 422
    return render_template("accounts/user_form.html", form=form, user=None), status


@bp.route("/admin/users/<id:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int):
    require_role(Role.ADMIN)
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    _agency_choices(form)
    del form.username
    status = 200
    if form.validate_on_submit():
        _result, refusal = run(services.update_user, current_user, user.id, full_name=form.full_name.data,
                         role=form.role.data, region_code=form.region_code.data or None,
                         agency_id=form.agency_id.data or None, active=form.active.data,
                         password=form.password.data or None)
        if refusal is None:
            if user.id == current_user.id:  # an admin who reset their own password stays signed in here
                login_user(user)
            flash(_("Akun %(name)s diperbarui.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
        show_refusal(form, refusal)
        status = 422
    elif form.errors:
        status = 422
    return render_template("accounts/user_form.html", form=form, user=user), status
