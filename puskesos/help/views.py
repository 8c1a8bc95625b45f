"""The help page with the case and referral workflows as diagrams, and the same facts as tables."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import login_required

from puskesos.help.diagram import case_graph, legend, referral_graph, render_svg

bp = Blueprint("help", __name__, url_prefix="/help")


@bp.get("/workflow")
@login_required
def workflow():
    cases, referrals = case_graph(), referral_graph()
    return render_template(
        "help/workflow.html", graphs=[
            (_("Alur kasus"), cases, render_svg(cases, _("Diagram alur kasus"))),
            (_("Alur rujukan"), referrals, render_svg(referrals, _("Diagram alur rujukan"))),
        ], legend=legend)
