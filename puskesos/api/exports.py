"""Exports through the API: the same files as the pages' export buttons, with the filters of the matching list
(GET /api/v1/cases, GET /api/v1/audit), streamed."""

from __future__ import annotations

from flask import g
from marshmallow import fields, validate

from puskesos.api.schemas import AuditQuerySchema, CaseQuerySchema
from puskesos.api.views import BEARER, audit_filters, bp, case_filters
from puskesos.reports import services
from puskesos.reports.exports import CONTENT_TYPES, FORMATS, XLSX_TYPE, stream_response

FORMAT = fields.String(load_default="csv", validate=validate.OneOf(FORMATS, error=services.BAD_FORMAT),
                       metadata={"description": "csv (UTF-8, comma-separated) or xlsx"})
FILE = {"schema": {"type": "string", "format": "binary"}}
FILE_RESPONSES = {200: {"content": {CONTENT_TYPES["csv"].split(";")[0]: FILE, XLSX_TYPE: FILE},
                          "headers": {"X-Export-Rows": {"description": "Rows in the file (also in the audit event)",
                                                        "schema": {"type": "integer"}}}}}


class CaseExportQuerySchema(CaseQuerySchema):
    class Meta(CaseQuerySchema.Meta):
        exclude = ("limit", "cursor")

    format = FORMAT


class AuditExportQuerySchema(AuditQuerySchema):
    class Meta(AuditQuerySchema.Meta):
        exclude = ("limit", "cursor")

    format = FORMAT


@bp.route("/exports/cases")
@bp.arguments(CaseExportQuerySchema, location="query")
@bp.response(200, description="The cases as a file; headers in the caller's language (Accept-Language)")
@bp.doc(security=BEARER, responses=FILE_RESPONSES)
def export_cases(args: dict):
    """The filtered case list as CSV or XLSX (masked NIK and KK), the caller's area only

    Filters as for GET /cases; a village outside the caller's area answers 404. Each export is an audit event
    (`export.cases`) naming the filter and the row count.
    """
    return stream_response(services.export_cases(g.api_user, case_filters(args), args["format"]))


@bp.route("/exports/audit")
@bp.arguments(AuditExportQuerySchema, location="query")
@bp.response(200, description="The audit events as a file, oldest first")
@bp.doc(security=BEARER, responses=FILE_RESPONSES)
def export_audit(args: dict):
    """The filtered audit log as CSV or XLSX (supervisors only)

    Filters as for GET /audit; each export is an audit event (`export.audit`) naming the filter and the row count.
    """
    return stream_response(services.export_audit(g.api_user, audit_filters(args), args["format"]))
