"""The JSON API (version 1) over the same services as the pages: same workflow, jurisdiction and audit."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from puskesos.api import exports, notifications  # noqa: F401  (their routes join `bp` before it is registered)
    from puskesos.api.docs import bp as docs_bp
    from puskesos.api.spec import PuskesosApi
    from puskesos.api.views import bp
    from puskesos.extensions import csrf

    api = PuskesosApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A token from POST /api/v1/tokens"})
    api.register_blueprint(bp)
    csrf.exempt(bp)  # bearer tokens, never cookies: no cross-site request can carry one
    app.register_blueprint(docs_bp)
