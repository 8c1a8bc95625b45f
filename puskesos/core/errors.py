"""Errors raised by service functions; views and the API turn them into answers."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a message for the user (already translated, lazily)."""

    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(str(message))
        self.message = message
        self.errors = errors or {}


class NotFound(ServiceError):
    """Unknown, or outside the caller's area: the two are indistinguishable on purpose."""

    status = 404


class Forbidden(ServiceError):
    """A role that may never do this (not an area question: those answer NotFound)."""

    status = 403


class ValidationFailed(ServiceError):
    status = 422


class WorkflowRefused(ServiceError):
    """The workflow table does not allow this event now, or a guard refused it."""

    status = 422


class Conflict(ServiceError):
    """Someone changed the case since the caller read it (optimistic locking)."""

    status = 409


class BadRequest(ServiceError):
    """Malformed input that is not any field's fault alone (a cursor, a header)."""

    status = 400


class PreconditionRequired(ServiceError):
    """A write that must name the version it changes (If-Match) did not."""

    status = 428
