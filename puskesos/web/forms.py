"""Helpers shared by every feature's views: running a service, showing its refusal on a form."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash
from flask_wtf import FlaskForm

from puskesos.core.errors import ServiceError
from puskesos.extensions import db

T = TypeVar("T")


def run(service: Callable[..., T], /, *args, **kwargs) -> tuple[T | None, ServiceError | None]:
    """Call a service and commit, or roll back and hand back its refusal: one transaction per action."""
    try:
        result = service(*args, **kwargs)
        db.session.commit()
        return result, None
    except ServiceError as refusal:
        db.session.rollback()
        return None, refusal


def show_refusal(form: FlaskForm | None, refusal: ServiceError) -> None:
    """Put per-field messages on the form's fields and the general message on the form (its error summary shows
    it), or in a flash when there is no form. A case changed
    meanwhile is shown beside the form that keeps what the user typed (see `changed_meanwhile`), not flashed."""
    if getattr(refusal, "changes", None) is not None and form is not None:
        return
    leftover = []
    for name, messages in refusal.errors.items():
        field = getattr(form, name, None) if form is not None and name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [str(m) for m in messages]
        else:
            leftover.extend(str(m) for m in messages)
    message = str(refusal.message)
    if leftover and message not in leftover:
        message = message + " " + " ".join(leftover)
    if form is not None:
        # Said in the form's error summary (templates/forms.html), beside the fields it names, not in a flash.
        form.form_errors = [*form.form_errors, message]
        return
    flash(message, "danger")
