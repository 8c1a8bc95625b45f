"""Region look-ups for the cascading village picker."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import login_required

from puskesos.regions.services import children

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.get("/<code>/children")
@bp.get("/children", defaults={"code": None})
@login_required
def region_children(code: str | None):
    """Public reference data (Kemendagri codes); any signed-in user may browse it."""
    return jsonify([{"code": r.code, "name": r.name, "level": r.level} for r in children(code)])
