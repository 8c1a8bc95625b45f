"""Subject access for supervisors: a NIK typed into a POST form, answered with a printable document or a JSON
file. Nothing about the person ever travels in a URL, so no redirect after the POST: the answer is the page."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template
from flask_login import current_user, login_required

from puskesos.accounts.roles import Role
from puskesos.core.timeutil import utcnow
from puskesos.privacy import services
from puskesos.privacy.forms import SubjectAccessForm
from puskesos.web.access import require_role
from puskesos.web.forms import run, show_refusal

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

NO_STORE = {"Cache-Control": "no-store"}


@bp.route("/subject-access", methods=["GET", "POST"])
@login_required
def subject_access():
    require_role(Role.SUPERVISOR)
    form = SubjectAccessForm()
    if not form.validate_on_submit():
        return render_template("privacy/request.html", form=form), 422 if form.errors else 200, NO_STORE
    doc, refusal = run(services.subject_access, current_user, form.nik.data, form.format.data)
    if refusal is not None:
        show_refusal(form, refusal)
        return render_template("privacy/request.html", form=form), refusal.status, NO_STORE
    if form.format.data == "json":
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return Response(json.dumps(services.as_json(doc), ensure_ascii=False, indent=2),
                        mimetype="application/json", headers={
                            **NO_STORE,
                            "Content-Disposition": f"attachment; filename=data-pribadi-{stamp}.json"})
    return render_template("privacy/document.html", doc=doc, note=services.OTHER_AREAS_NOTE), 200, NO_STORE
