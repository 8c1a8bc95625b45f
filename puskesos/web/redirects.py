"""Where to go after a login or a language switch: only ever a path on this site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import url_for

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None) -> str:
    """A same-site path, or the home page. Control characters and backslashes are refused outright:
    browsers and Werkzeug strip or rewrite them, turning `/\\t/evil.example` into `//evil.example`."""
    target = target or ""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or _UNSAFE.search(target) or parts.scheme \
            or parts.netloc:
        return url_for("web.home")
    return target
