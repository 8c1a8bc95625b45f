"""The caller's notifications over the API: the same rows, sentences and links as the bell's list."""

from __future__ import annotations

from flask import g
from marshmallow import EXCLUDE, Schema, fields, validate

from puskesos.api import present
from puskesos.api.schemas import text
from puskesos.api.views import BEARER, _newest_first, bp
from puskesos.core.ids import parse_id
from puskesos.extensions import db
from puskesos.notifications import services
from puskesos.notifications.models import Notification


class NotificationQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    unread = fields.Boolean(metadata={"description": "true: only unread ones; false: only read ones"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = text(100, metadata={"description": "next_cursor of the previous page"})


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "e.g. case.submitted, referral.new"})
    kind_label = fields.String(required=True)
    message = fields.String(required=True, metadata={"description": "In the caller's language"})
    params = fields.Dict(required=True, metadata={"description": "What the message is made from (codes)"})
    case_number = fields.String(required=True)
    referral_id = fields.Integer(allow_none=True, required=True)
    url = fields.String(required=True, metadata={"description": "The page to act on it"})
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


def _shown(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "kind_label": services.kind_label(n.kind), "message": services.message(n),
            "params": dict(n.params or {}), "case_number": (n.params or {}).get("case", ""),
            "referral_id": n.referral_id, "url": services.target(n, g.api_user, _external=True),
            "created_at": present.utc(n.created_at), "read_at": present.utc(n.read_at)}


@bp.route("/notifications")
@bp.arguments(NotificationQuerySchema, location="query")
@bp.response(200, NotificationPageSchema)
@bp.doc(security=BEARER)
def list_notifications(args: dict):
    """The caller's notifications, newest first"""
    query = services.user_notifications(g.api_user, args.get("unread"))
    rows, next_cursor = _newest_first(query, Notification.id, args)
    return {"items": [_shown(n) for n in rows], "next_cursor": next_cursor}


@bp.route("/notifications/<notification_id>/read", methods=["POST"])
@bp.response(200, NotificationSchema)
@bp.doc(security=BEARER)
def read_notification(notification_id: str):
    """Mark one of the caller's notifications read (another user's answers 404)"""
    row = services.mark_read(g.api_user, parse_id(notification_id))
    db.session.commit()
    return _shown(row)
