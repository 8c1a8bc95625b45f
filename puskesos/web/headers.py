"""Security headers on every response: nothing loads from elsewhere, nothing frames us, nothing personal is
kept in a cache, and outside development the browser is told to use HTTPS only."""

from __future__ import annotations

from flask import Flask, Response, request

from puskesos.config import RELAXED_ENVS

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'self'")
HSTS = "max-age=31536000; includeSubDomains"
# Only the files under /static/ (ours and Bootstrap's) may be cached: pages, JSON, problem documents, exports
# and letters all may carry personal data, and what carries none (the public letter check) loses nothing.
CACHEABLE_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def register(app: Flask) -> None:
    hsts = app.config["ENV_NAME"] not in RELAXED_ENVS

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
        return response
