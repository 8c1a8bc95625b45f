"""Version 1 of the JSON API. Every write is a call of the same service the pages use."""

from __future__ import annotations

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from puskesos.accounts.roles import Role
from puskesos.accounts.services import authenticate
from puskesos.api import present, tokens
from puskesos.api.problems import problem
from puskesos.api.schemas import (
    AgencySchema,
    AuditPageSchema,
    AuditQuerySchema,
    CaseCreateSchema,
    CasePageSchema,
    CasePatchSchema,
    CaseQuerySchema,
    CaseSchema,
    EventSchema,
    ReferralPageSchema,
    ReferralQuerySchema,
    RegionQuerySchema,
    RegionSchema,
    TimelineEventSchema,
    TokenRequestSchema,
    TokenSchema,
)
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import AuditFilters, details_of, log_query, timeline
from puskesos.cases import services as cases
from puskesos.core.errors import BadRequest, Forbidden, PreconditionRequired
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.extensions import db, limiter
from puskesos.referrals.models import Referral
from puskesos.referrals.services import agencies_in_area, referral_query
from puskesos.regions.services import children

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Puskesos JSON API, version 1")

BEARER = [{"bearerAuth": []}]
PUBLIC_ENDPOINTS = {"api.create_token"}


@bp.before_request
def require_token():
    """Every call but the token request carries `Authorization: Bearer <token>`; cookies count for nothing."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    row = tokens.resolve(token.strip()) if scheme.lower() == "bearer" else None
    if row is None:
        return problem(401, _l("Token tidak ada, tidak valid, kedaluwarsa, atau sudah dicabut."))
    g.api_token, g.api_user = row, row.user
    return None


def _committed(result):
    db.session.commit()
    return result


def _version_from(header: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"`: the version the client last saw."""
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()):
        raise BadRequest(_l("If-Match harus berisi versi kasus, misalnya \"3\"."),
                         {"If-Match": [_l("Versi kasus tidak valid.")]})
    return int(value)


def _case_response(case, status: int = 200):
    headers = {"ETag": f'"{case.version}"'}
    if status == 201:
        headers["Location"] = url_for("api.Case", number=case.number)
    return present.case_detail(case, g.api_user), status, headers


# -- tokens ---------------------------------------------------------------------------------------------------


def _token_limit() -> str:
    return current_app.config["API_TOKEN_RATE_LIMIT"]


@bp.route("/tokens", methods=["POST"])
@limiter.limit(_token_limit)
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@bp.doc(security=[])
def create_token(credentials: dict):
    """Exchange a username and password for a bearer token

    Rate limited per client address. Successful and failed attempts are audit events.
    """
    user = authenticate(credentials["username"], credentials["password"], channel="api")
    if user is None:
        db.session.commit()  # the failed attempt is recorded
        return problem(401, _l("Nama pengguna atau kata sandi salah, atau akun tidak aktif."))
    token, row = tokens.issue(user)
    db.session.commit()
    return {"token": token, "expires_at": present.utc(row.expires_at)}


@bp.route("/tokens/current", methods=["DELETE"])
@bp.response(204)
@bp.doc(security=BEARER)
def revoke_token():
    """Revoke the token this request carries"""
    tokens.revoke(g.api_token)
    db.session.commit()


# -- cases ----------------------------------------------------------------------------------------------------


def case_filters(args: dict) -> cases.CaseFilters:
    """The list's query arguments as the services take them (the list and its export)."""
    return cases.CaseFilters(state=args.get("state"), village_code=args.get("village_code"),
                             category=args.get("category"), overdue=bool(args.get("overdue")), q=args.get("q"))


@bp.route("/cases")
class Cases(MethodView):
    @bp.arguments(CaseQuerySchema, location="query")
    @bp.response(200, CasePageSchema)
    @bp.doc(security=BEARER)
    def get(self, args: dict):
        """Cases in the caller's area, by due date"""
        cursor = present.decode_cursor(args.get("cursor"))
        if cursor is not None and cases.parse_cursor(cursor) is None:
            raise present.bad_cursor()
        page = cases.page_cases(g.api_user, case_filters(args), cursor, args["limit"])
        return {"items": [present.summary(c) for c in page.rows], "next_cursor": present.encode_cursor(
            page.next_cursor)}

    @bp.arguments(CaseCreateSchema)
    @bp.response(201, CaseSchema)
    @bp.doc(security=BEARER)
    def post(self, data: dict):
        """Register a complaint (village officers)

        A NIK or KK that already has an open case is refused with 409 unless `confirm_duplicate` is true.
        """
        confirm = data.pop("confirm_duplicate", False)
        case, _warnings = cases.register(g.api_user, data, confirm_duplicate=confirm)
        return _committed(_case_response(case, 201))


@bp.route("/cases/<number>", endpoint="Case")
class CaseResource(MethodView):
    @bp.response(200, CaseSchema)
    @bp.doc(security=BEARER)
    def get(self, number: str):
        """One case, with what the caller may do with it now"""
        return _case_response(cases.get_case(g.api_user, number))

    @bp.arguments(CasePatchSchema)
    @bp.response(200, CaseSchema)
    @bp.doc(security=BEARER, parameters=[{"in": "header", "name": "If-Match", "required": True,
                                          "schema": {"type": "string"},
                                          "description": "The case version being changed, e.g. \"3\""}])
    def patch(self, changes: dict, number: str):
        """Correct intake data while the case is `registered` or `needs_info`"""
        case = cases.get_case(g.api_user, number)
        version = _version_from(request.headers.get("If-Match"))
        if version is None:
            raise PreconditionRequired(_l("Sertakan header If-Match dengan versi kasus yang diubah."))
        confirm = changes.pop("confirm_duplicate", False)
        current = {name: getattr(case, name) for name in cases.INTAKE_FIELDS}
        case, _warnings = cases.update_intake(case, g.api_user, {**current, **changes}, expected_version=version,
                                              confirm_duplicate=confirm)
        return _committed(_case_response(case))


@bp.route("/cases/<number>/events", methods=["POST"])
@bp.arguments(EventSchema)
@bp.response(200, CaseSchema)
@bp.doc(security=BEARER, parameters=[{"in": "header", "name": "If-Match", "required": False,
                                      "schema": {"type": "string"},
                                      "description": "Refuse with 409 unless the case is still at this version"}])
def fire_event(inputs: dict, number: str):
    """Fire a workflow event with the inputs its row of the table requires"""
    case = cases.get_case(g.api_user, number)
    event = inputs.pop("event")
    cases.fire(case, event, g.api_user, expected_version=_version_from(request.headers.get("If-Match")), **inputs)
    return _committed(_case_response(case))


@bp.route("/cases/<number>/timeline")
@bp.response(200, TimelineEventSchema(many=True))
@bp.doc(security=BEARER)
def case_timeline(number: str):
    """The case's audit events, oldest first (agencies: those of their own referrals)"""
    case = cases.get_case(g.api_user, number)
    events = timeline(case)
    if g.api_user.role == Role.AGENCY:
        own = {r.id for r in case.referrals if r.agency_id == g.api_user.agency_id}
        events = [e for e in events if details_of(e).get("referral_id") in own]
    return [present.timeline_event(e) for e in events]


# -- referrals, regions, agencies -----------------------------------------------------------------------------


@bp.route("/referrals")
@bp.arguments(ReferralQuerySchema, location="query")
@bp.response(200, ReferralPageSchema)
@bp.doc(security=BEARER)
def list_referrals(args: dict):
    """An agency's inbox; for Dinsos users, the referrals of cases in their area. Newest first"""
    query = referral_query(g.api_user, args.get("status"))
    rows, next_cursor = _newest_first(query, Referral.id, args)
    return {"items": [present.referral(r) for r in rows], "next_cursor": next_cursor}


@bp.route("/regions")
@bp.arguments(RegionQuerySchema, location="query")
@bp.response(200, RegionSchema(many=True))
@bp.doc(security=BEARER)
def list_regions(args: dict):
    """Regions one level below a Kemendagri code (public reference data)"""
    return [{"code": r.code, "name": r.name, "level": r.level} for r in children(args.get("parent"))]


@bp.route("/agencies")
@bp.response(200, AgencySchema(many=True))
@bp.doc(security=BEARER)
def list_agencies():
    """Agencies serving the caller's area (an agency user: its own agency)"""
    user = g.api_user
    agencies = [user.agency] if user.role == Role.AGENCY and user.agency else agencies_in_area(user)
    return [{"id": a.id, "name": a.name, "kind": a.kind, "region_code": a.region_code, "contact": a.contact,
             "active": a.active} for a in agencies]


# -- audit ----------------------------------------------------------------------------------------------------


@bp.route("/audit")
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, AuditPageSchema)
@bp.doc(security=BEARER)
def audit_log(args: dict):
    """Audit events of the supervisor's area, newest first (supervisors only)"""
    if g.api_user.role != Role.SUPERVISOR:
        raise Forbidden(_l("Log audit hanya untuk supervisor."))
    query = log_query(g.api_user, audit_filters(args))
    rows, next_cursor = _newest_first(query, AuditEvent.seq, args)
    return {"items": [present.audit_event(e) for e in rows], "next_cursor": next_cursor}


def audit_filters(args: dict) -> AuditFilters:
    """The log's query arguments as the services take them (the log and its export)."""
    return AuditFilters(case_number=args.get("case"), actor=args.get("actor"), action=args.get("action"),
                        since=args.get("since"))


def _newest_first(query, key, args: dict) -> tuple[list, str | None]:
    """A newest-first page; the opaque cursor wraps the key to continue below."""
    cursor = present.decode_cursor(args.get("cursor"))
    before = parse_id(cursor) if cursor is not None else None
    if cursor is not None and before is None:
        raise present.bad_cursor()
    page = newest_first(query, key, before, args["limit"])
    return page.rows, present.encode_cursor(str(page.next_before)) if page.next_before else None
