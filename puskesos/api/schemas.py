"""What the API accepts and returns; the OpenAPI document is generated from these.

Input schemas check types and shapes only. What makes a NIK valid, a village in the caller's area or
an event allowed now is decided by the services, which answer with the same messages as the pages.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from puskesos.cases.intake import INTAKE
from puskesos.cases.vocabulary import Category
from puskesos.cases.workflow import EVENTS, State, inputs_of
from puskesos.core.ids import MAX_ID
from puskesos.core.inputs import schema_class
from puskesos.referrals.models import ReferralStatus

ID = validate.Range(min=1, max=MAX_ID)


def text(limit: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


def choice(values, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf([str(v) for v in values]), **kwargs)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "What went wrong, in the caller's language"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Messages per input field"})
    duplicates = fields.List(fields.String(), metadata={"description": "Open cases with the same NIK or KK that "
                                                                       "the caller may open"})
    elsewhere = fields.Integer(metadata={"description": "Open duplicates outside the caller's area"})


# -- tokens ---------------------------------------------------------------------------------------------------


class TokenRequestSchema(Schema):
    username = text(50, required=True)
    password = text(200, required=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


# -- cases ----------------------------------------------------------------------------------------------------


class CaseQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a query string may carry what a proxy or a cache buster adds

    state = choice([*State, "open"])
    village_code = text(13)
    category = choice(Category)
    overdue = fields.Boolean()
    q = text(60, metadata={"description": "Case number or part of the name; a full NIK or KK is refused here "
                                          "(400): use POST /cases/search"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = text(100, metadata={"description": "next_cursor of the previous page"})


class CaseSearchSchema(CaseQuerySchema):
    """POST /cases/search: the list's filters as a JSON body, where a full NIK may travel."""

    class Meta:
        unknown = RAISE

    q = text(60, metadata={"description": "Case number, part of the name, or a full NIK or KK (spaces allowed)"})


class CaseSummarySchema(Schema):
    number = fields.String(required=True)
    state = fields.String(required=True)
    version = fields.Integer(required=True)
    category = fields.String(required=True)
    urgency = fields.String(required=True)
    village_code = fields.String(required=True)
    nik_masked = fields.String(required=True)
    name = fields.String(required=True)
    due_at = fields.Date(allow_none=True, required=True,
                         metadata={"description": "Deadline of the current step (every open state has one)"})
    overdue = fields.Boolean(required=True)
    days_in_step = fields.Integer(allow_none=True, required=True,
                                  metadata={"description": "Calendar days since the case entered its state"})
    assignee = fields.String(allow_none=True, metadata={"description": "Not shown to agency users"})
    created_at = fields.DateTime(required=True)


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class AssessmentSchema(Schema):
    findings = fields.String(required=True)
    eligible = fields.Boolean(required=True)
    recommended_services = fields.String(required=True)
    assessed_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ReferralSchema(Schema):
    id = fields.Integer(required=True)
    case_number = fields.String(required=True)
    agency_id = fields.Integer(required=True)
    agency = fields.String(required=True)
    service = fields.String(required=True)
    reason = fields.String(required=True)
    consent = fields.String(required=True)
    status = fields.String(required=True)
    due_on = fields.Date(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    decline_reason = fields.String(allow_none=True)
    service_given = fields.String(allow_none=True)
    delivered_on = fields.Date(allow_none=True)
    revoke_reason = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    letter_number = fields.String(allow_none=True, metadata={"description": "Given when a supervisor approves it"})
    return_note = fields.String(allow_none=True)
    verify_url = fields.String(allow_none=True, metadata={"description": "Public check of the referral letter"})


class CaseSchema(CaseSummarySchema):
    description = fields.String(metadata={"description": "Not shown to agency users"})
    outcome = fields.String(allow_none=True, metadata={"description": "Not shown to agency users"})
    outcome_note = fields.String(allow_none=True, metadata={"description": "Not shown to agency users"})
    info_request = fields.String(allow_none=True, metadata={"description": "Not shown to agency users"})
    updated_at = fields.DateTime(required=True)
    assessment = fields.Nested(AssessmentSchema, allow_none=True, metadata={"description": "Not shown to agency users"})
    referrals = fields.List(fields.Nested(ReferralSchema), required=True)
    allowed_events = fields.List(fields.String(), required=True,
                                 metadata={"description": "The events this caller may fire on the case now"})


CONFIRM_DUPLICATE = fields.Boolean(load_default=False, metadata={
    "description": "Save although an open case has the same NIK or KK (after checking it)"})

# Made from the declarations the forms and the services use: the same limits, choices and required fields.
CaseCreateSchema = schema_class("CaseCreateSchema", INTAKE, required=lambda spec: spec.required is True,
                                extra={"confirm_duplicate": CONFIRM_DUPLICATE})
CasePatchSchema = schema_class("CasePatchSchema", INTAKE, extra={"confirm_duplicate": CONFIRM_DUPLICATE})
# One schema for every event: each row's inputs are checked by the service when it is fired.
EventSchema = schema_class("EventSchema", [spec for event in EVENTS for spec in inputs_of(event)],
                           extra={"event": choice(EVENTS, required=True)})


class TimelineEventSchema(Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True)
    action = fields.String(required=True)
    details = fields.Dict(required=True)


# -- referrals, regions, agencies, audit ----------------------------------------------------------------------


class ReferralQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = choice(ReferralStatus)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = text(100)


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class RegionQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    parent = text(13, metadata={"description": "A code such as 16.03; provinces when omitted"})


class RegionSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.Integer(required=True)


class AgencySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    region_code = fields.String(required=True)
    contact = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)


class AuditQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    case = text(32, metadata={"description": "Case number"})
    actor = text(50, metadata={"description": "Username"})
    action = text(40, metadata={"description": "e.g. case.refer, or case.* for every case action"})
    since = fields.Date()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = text(100)


class AuditEventSchema(Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True)
    action = fields.String(required=True)
    case = fields.String(allow_none=True, required=True)
    region_code = fields.String(allow_none=True, required=True)
    details = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
