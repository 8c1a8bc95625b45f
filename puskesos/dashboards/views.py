"""The dashboard page: the figures of `services.build`, each as a chart and as a table linking to its cases."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from puskesos.cases.workflow import STATE_LABELS
from puskesos.core.errors import NotFound
from puskesos.dashboards import services
from puskesos.dashboards.charts import Bar, bar_chart
from puskesos.dashboards.recap_xlsx import XLSX, recap_workbook
from puskesos.extensions import db
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, ReferralStatus
from puskesos.regions.models import Region
from puskesos.web.forms import run
from puskesos.web.templating import prime_region_names, village_short

bp = Blueprint("dashboards", __name__, url_prefix="/dashboard")


def cases_url(number: services.Number) -> str | None:
    """The case list holding exactly this number's rows."""
    return url_for("cases.index", **number.args) if number.args is not None else None


@bp.get("/")
@login_required
def index():
    try:
        area = services.area_for(current_user, request.args.get("district") or None,
                                 request.args.get("village") or None)
    except NotFound:
        abort(404)
    board = services.build(current_user, area)
    prime_region_names([n.key for n in board.overdue_by_village] + [h.key for h, _c in board.poor_unserved]
                       + [area.code])
    state_label = {s.value: str(label) for s, label in STATE_LABELS.items()}

    def one(name, title, numbers, label) -> object:
        return bar_chart(name, title, [Bar(label(n), [n.value]) for n in numbers])

    charts = {
        "open": one("open", _("Kasus terbuka per tahap"), board.open_by_state, lambda n: state_label[n.key]),
        "overdue_state": one("overdue_state", _("Terlambat per tahap"), board.overdue_by_state,
                             lambda n: state_label[n.key]),
        "overdue_village": one("overdue_village", _("Terlambat per desa/kelurahan"), board.overdue_by_village,
                               lambda n: village_short(n.key)),
        "overdue_assignee": one("overdue_assignee", _("Terlambat per pekerja sosial"), board.overdue_by_assignee,
                                lambda n: str(n.label)),
        "overdue_agency": one("overdue_agency", _("Rujukan terlambat per instansi"), board.overdue_by_agency,
                              lambda n: str(n.label)),
        "weeks": bar_chart("weeks", _("Kasus dibuka dan ditutup per minggu"), [
            Bar(format_date(start, "d MMM"), [o.value, c.value])
            for start, o, c in board.weeks], [_("Dibuka"), _("Ditutup")]),
        "poor": bar_chart("poor", _("Rumah tangga desil 1–4 dengan pengaduan terbuka dan belum dilayani"), [
            Bar(village_short(h.key), [h.value]) for h, _c in board.poor_unserved]),
    }
    districts = []
    if len(current_user.region_code.split(".")) <= 2:
        districts = db.session.execute(
            select(Region).where(Region.level == 3, Region.code.like(current_user.region_code + ".%"))
            .order_by(Region.name)).scalars().all()
    villages = []
    if area.district or len(current_user.region_code.split(".")) == 3:
        villages = db.session.execute(
            select(Region).where(Region.level == 4, Region.parent_code == (area.district or current_user.region_code))
            .order_by(Region.name)).scalars().all()
    return render_template("dashboards/index.html", board=board, area=area, charts=charts, cases_url=cases_url,
                           state_label=state_label, statuses=list(ReferralStatus),
                           status_label={s.value: REFERRAL_STATUS_LABELS[s] for s in ReferralStatus},
                           districts=districts, villages=villages, window_days=services.WINDOW_DAYS,
                           step_sample=services.STEP_SAMPLE,
                           area_args={"district": area.district, "village": area.village})


@bp.get("/recap")
@login_required
def recap():
    """The month's recap, laid out for one A4 page."""
    try:
        area = services.area_for(current_user, request.args.get("district") or None,
                                 request.args.get("village") or None)
        month = services.month_start(request.args.get("month"))
    except NotFound:
        abort(404)
    result = services.monthly_recap(current_user, area, month)
    prime_region_names([code for code, _o, _c in result.by_village] + [area.code])
    if request.args.get("format") == "xlsx":
        data, refusal = run(recap_workbook, current_user, result)  # the export's audit event commits first
        if refusal is not None:
            abort(refusal.status)
        return Response(data, mimetype=XLSX, headers={
            "Content-Disposition": f"attachment; filename=rekap-{month:%Y-%m}-{area.code.replace('.', '')}.xlsx"})
    return render_template("dashboards/recap.html", recap=result, area=area)
