"""Error answers: a clear page in the user's language, or problem+json under /api/. Never a bare 500."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from puskesos.api.problems import flatten_errors, problem
from puskesos.core.errors import ServiceError
from puskesos.extensions import db

MESSAGES = {
    400: _l("Permintaan tidak dapat diproses: periksa isian Anda (karakter tidak sah atau format salah)."),
    403: _l("Anda tidak berwenang membuka halaman ini."),
    404: _l("Halaman atau data tidak ditemukan."),
    405: _l("Cara membuka halaman ini tidak diizinkan."),
    413: _l("Data yang dikirim terlalu besar."),
    429: _l("Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi."),
    500: _l("Terjadi kesalahan pada sistem. Kejadian ini sudah dicatat."),
}


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/regions/")


def render_error(status: int, message=None, errors: dict | None = None, **extra):
    if _wants_problem():
        return problem(status, message or MESSAGES.get(status), errors, **extra)
    return render_template("errors.html", status=status, message=message or MESSAGES.get(status, MESSAGES[400])), \
        status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return render_error(400, _l("Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu "
                                    "kirim kembali."))

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        extra = {}
        if hasattr(exc, "cases"):  # a duplicate intake: the open cases the caller may look at
            extra = {"duplicates": [c.number for c in exc.cases], "elsewhere": exc.elsewhere}
        return render_error(exc.status, exc.message, exc.errors or None, **extra)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        if data.get("messages") and _wants_problem():  # webargs: the request did not fit the schema
            return render_error(status, _l("Periksa kembali isian yang ditandai."),
                                flatten_errors(data["messages"]))
        if status == 404 and request.endpoint == "referrals.verify":  # a letter's check: "not valid", whatever the URL
            return render_template("referrals/verify.html", found=None), 404
        return render_error(status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        db.session.rollback()
        return render_error(500)
