"""Version 1 of the JSON API. Every write is a call of the same service the pages use."""

from __future__ import annotations

from flask import g, request, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from puskesos.accounts.lockout import LoginRefused
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
    CaseSearchSchema,
    EventSchema,
    ReferralPageSchema,
    ReferralQuerySchema,
    RegionQuerySchema,
    RegionSchema,
    TimelineEventSchema,
    TokenRequestSchema,
    TokenSchema,
)
from puskesos.audit import sealing
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import AuditFilters, details_of, log_query, timeline
from puskesos.cases import services as cases
from puskesos.core import pii
from puskesos.core.errors import BadRequest, Forbidden, PreconditionRequired
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.extensions import db
from puskesos.referrals.models import Referral
from puskesos.referrals.services import agencies_in_area, referral_query
from puskesos.regions.services import children
from puskesos.web.input_guard import GuardedArgumentsParser

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Puskesos JSON API, version 1")
bp.ARGUMENTS_PARSER = GuardedArgumentsParser()  # one JSON parse per request, the guarded one

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
    """`If-Match: 3`, `"3"` or `W/"3"`: the version the client last saw (a version no case can have is
    malformed, whatever its length)."""
    if header is None:
        return None
    version = parse_id(header.strip().removeprefix("W/").strip('"'), minimum=0)
    if version is None:
        raise BadRequest(_l("If-Match harus berisi versi kasus, misalnya \"3\"."),
                         {"If-Match": [_l("Versi kasus tidak valid.")]})
    return version


def _case_response(case, status: int = 200):
    headers = {"ETag": f'"{case.version}"'}
    if status == 201:
        headers["Location"] = url_for("api.Case", number=case.number)
    return present.case_detail(case, g.api_user), status, headers


# -- tokens ---------------------------------------------------------------------------------------------------


@bp.route("/tokens", methods=["POST"])
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
@bp.doc(security=[])
def create_token(credentials: dict):
    """Exchange a username and password for a bearer token

    Failed attempts count against the account (locked for a growing delay) and the client address (a budget);
    successful ones count for nothing. Past either, 429 with `Retry-After`, even for the right password.
    Successful and failed attempts are audit events.
    """
    try:
        user = authenticate(credentials["username"], credentials["password"], channel="api",
                            address=get_remote_address())
    except LoginRefused as refusal:
        db.session.commit()  # the refused attempt is recorded
        return problem(429, refusal.message, headers={"Retry-After": str(refusal.retry_after)})
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


NIK_IN_URL = _l("Demi perlindungan data pribadi, NIK atau nomor KK tidak dikirim di alamat (URL): kirim "
                "pencarian sebagai JSON ke POST /api/v1/cases/search.")


def case_filters(args: dict, *, in_url: bool = True) -> cases.CaseFilters:
    """The list's arguments as the services take them (the list, its export, the search). A full NIK or KK in a
    query string is refused, never searched: it would sit in every proxy's and server's access log."""
    if in_url and pii.looks_like_nik(args.get("q")):
        raise BadRequest(NIK_IN_URL, {"q": [NIK_IN_URL]})
    return cases.CaseFilters(state=args.get("state"), village_code=args.get("village_code"),
                             category=args.get("category"), overdue=bool(args.get("overdue")), q=args.get("q"))


def _case_page(args: dict, *, in_url: bool) -> dict:
    """A page of GET /cases or of POST /cases/search."""
    filters = case_filters(args, in_url=in_url)
    cursor = present.decode_cursor(args.get("cursor"))
    if cursor is not None and cases.parse_cursor(cursor) is None:
        raise present.bad_cursor()
    page = cases.page_cases(g.api_user, filters, cursor, args["limit"])
    return {"items": [present.summary(c, g.api_user) for c in page.rows],
            "next_cursor": present.encode_cursor(page.next_cursor)}


@bp.route("/cases")
class Cases(MethodView):
    @bp.arguments(CaseQuerySchema, location="query")
    @bp.response(200, CasePageSchema)
    @bp.doc(security=BEARER)
    def get(self, args: dict):
        """Cases in the caller's area, by due date

        `q` finds a case number or part of a name; a full NIK or KK is refused here (400): search it with
        POST /cases/search, which keeps it out of URLs and access logs.
        """
        return _case_page(args, in_url=True)

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


@bp.route("/cases/search", methods=["POST"])
@bp.arguments(CaseSearchSchema)
@bp.response(200, CasePageSchema)
@bp.doc(security=BEARER)
def search_cases(args: dict):
    """Search cases: the filters of GET /cases in a JSON body

    The way to search by a full NIK or family card number (matched through a keyed hash; the numbers are stored
    encrypted). Answers as GET /cases; send `next_cursor` back as `cursor` with the same body for the next page.
    """
    return _case_page(args, in_url=False)


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
        own = {r.id for r in present.visible_referrals(case, g.api_user)}
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
    sealing.prime(e.case_id for e in rows)  # the page's case keys in one query (details_of opens with them)
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
