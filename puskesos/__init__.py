"""Puskesos: case management for the SLRT referral programme."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session

from puskesos.config import INSTANCE_DIR, Config, TestingConfig, finalize

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app in small steps; no database work happens here."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure(app, config or {})
    configure_extensions(app)
    register_blueprints(app)
    register_cli(app)
    from puskesos.web import errors, headers, input_guard, templating

    errors.register(app)
    headers.register(app)
    input_guard.register(app)
    templating.register(app)
    if app.config.get("PROXY_COUNT"):
        # Behind nginx every client would otherwise share the proxy's address, and one failed-login budget.
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    return app


def configure(app: Flask, overrides: dict) -> None:
    app.config.from_object(TestingConfig if overrides.get("TESTING") else Config)
    app.config.update(overrides)
    finalize(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)


def select_locale() -> str:
    """Pages: the session's choice, else Indonesian. The API: Accept-Language. Commands speak Indonesian."""
    from flask import current_app

    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or default
    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else default


def configure_extensions(app: Flask) -> None:
    from puskesos import (
        database,  # noqa: F401  (registers the SQLite engine hooks)
        database_roles,
        models,  # noqa: F401  (every model, for Alembic and relationships)
    )
    from puskesos.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    database_roles.register(app)  # production: a warning if the app's role could rewrite the audit log
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "warning"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Silakan masuk terlebih dahulu.")

    @login_manager.user_loader
    def load_user(session_id: str):
        from puskesos.accounts.services import load_user

        return load_user(session_id)  # checks the session generation: a signed-out cookie loads no one


def register_blueprints(app: Flask) -> None:
    from puskesos.core.ids import IdConverter

    app.url_map.converters["id"] = IdConverter
    from puskesos.accounts.views import bp as accounts_bp
    from puskesos.audit.views import bp as audit_bp
    from puskesos.cases.views import bp as cases_bp
    from puskesos.dashboards.views import bp as dashboards_bp
    from puskesos.help.views import bp as help_bp
    from puskesos.notifications.views import bp as notifications_bp
    from puskesos.privacy.views import bp as privacy_bp
    from puskesos.referrals.views import bp as referrals_bp
    from puskesos.regions.views import bp as regions_bp
    from puskesos.reports.views import bp as reports_bp
    from puskesos.web.views import bp as web_bp

    for blueprint in (web_bp, accounts_bp, cases_bp, referrals_bp, audit_bp, regions_bp, help_bp, notifications_bp,
                      dashboards_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(reports_bp)
    app.register_blueprint(privacy_bp)

    from puskesos import api

    api.register(app)


def register_cli(app: Flask) -> None:
    from puskesos.cli import register

    register(app)
