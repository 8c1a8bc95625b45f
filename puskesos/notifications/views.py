"""The bell in the navbar and the list of one's notifications; marking them read."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from puskesos.core.errors import NotFound
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.extensions import db
from puskesos.notifications import services
from puskesos.notifications.models import Notification

bp = Blueprint("notifications", __name__)

FILTERS = {"unread": True, "read": False}


@bp.app_template_global()
def bell_cap() -> int:
    return services.BELL_CAP


@bp.app_template_global()
def unread_notifications() -> int:
    """The bell's number: one capped COUNT on (recipient_id, read_at), once per request."""
    if "_unread_notifications" not in g:
        g._unread_notifications = services.unread_count(current_user) if current_user.is_authenticated else 0
    return g._unread_notifications


@bp.get("/notifications")
@login_required
def index():
    shown = request.args.get("show") if request.args.get("show") in FILTERS else None
    page = newest_first(services.user_notifications(current_user, FILTERS.get(shown)), Notification.id,
                        parse_id(request.args.get("before")), current_app.config["PAGE_SIZE"])
    items = [{"row": n, "message": services.message(n), "kind": services.kind_label(n.kind),
              "url": services.target(n, current_user)} for n in page.rows]
    return render_template("notifications/index.html", items=items, shown=shown, next_before=page.next_before)


def _back():
    """Back to the list as it was shown (only our own filter and paging arguments)."""
    args = {key: request.form.get(key) for key in ("show", "before") if request.form.get(key)}
    if args.get("show") not in FILTERS:
        args.pop("show", None)
    if "before" in args and parse_id(args["before"]) is None:
        args.pop("before")
    return redirect(url_for("notifications.index", **args), 303)


@bp.post("/notifications/<id:notification_id>/read")
@login_required
def read(notification_id: int):
    try:
        services.mark_read(current_user, notification_id)
    except NotFound:
        abort(404)
    db.session.commit()
    return _back()


@bp.post("/notifications/read-all")
@login_required
def read_all():
    services.mark_all_read(current_user)
    db.session.commit()
    return _back()
