"""Role gates for pages: a page of another role answers 404, like a case outside the user's area."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from puskesos.accounts.roles import Role


def require_role(*roles: Role) -> None:
    if current_user.role not in roles:
        abort(404)
