"""`flask retention apply`: cases closed longer than the retention period lose their complainant's personal data,
one version and one audit event each; open and recently closed cases are untouched; the audit chain still
verifies; the dashboard's and the recap's numbers stay what they were; a dry run changes nothing and a second run
finds nothing to do."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask_babel import format_date
from sqlalchemy import func, select, text

from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.audit.present import describe
from puskesos.cases import services as cases
from puskesos.cases.models import Case
from puskesos.core.errors import ValidationFailed, WorkflowRefused
from puskesos.core.timeutil import clock_at, utcnow, wib_date
from puskesos.dashboards import services as dashboards
from puskesos.extensions import db
from puskesos.privacy import services
from tests import factories
from tests.factories import case_in, fire
from tests.helpers import login

SIX_YEARS_AGO = utcnow() - dt.timedelta(days=6 * 366)
FOUR_YEARS_AGO = utcnow() - dt.timedelta(days=4 * 365)
PERSONAL = ("nik", "nik_hash", "kk_number", "kk_hash", "name", "sex", "birth_date", "phone", "address", "rt", "rw",
            "dtks_status", "dtsen_decile", "reporter_name", "reporter_relation", "reporter_phone", "description",
            "info_request", "outcome_note")
KEPT = ("number", "state", "category", "urgency", "outcome", "village_code", "district_code", "regency_code",
        "province_code", "assignee_id", "created_at", "closed_at", "due_on", "step_started_at", "created_by_id")


@pytest.fixture
def aged(world):
    """Two cases closed six years ago (one served through a referral, one not eligible), one closed four years
    ago, and one registered six years ago and still open."""
    with clock_at(SIX_YEARS_AGO):
        served = case_in("answered", world, name="Sumarni Lestari", kk_number="1603012501150007",
                         reporter_name="Joko Susilo", reporter_relation="Tetangga", reporter_phone="081299990000",
                         dtsen_decile=2, description="Anak sakit, BPJS tidak aktif.")
        fire(served, "close", world.caseworker, outcome="resolved", note="Sudah berobat gratis, ibu berterima kasih.")
        refused = case_in("closed", world, name="Hartono Wijaya", description="Minta bantuan modal warung.")
        still_open = factories.register(world.officer, name="Masih Terbuka", description="Belum diurus.")
    with clock_at(FOUR_YEARS_AGO):
        recent = case_in("closed", world, name="Baru Saja Ditutup", description="Tutup empat tahun lalu.")
    return {"served": served.id, "refused": refused.id, "open": still_open.id, "recent": recent.id}


def raw(case_id: int) -> dict:
    """The case row as stored, read with plain SQL (not through the model)."""
    return dict(db.session.execute(text("SELECT * FROM case_file WHERE id = :i"), {"i": case_id}).one()._mapping)


def raw_children(case_id: int) -> tuple[list[dict], list[dict]]:
    assessments = [dict(r._mapping) for r in db.session.execute(
        text("SELECT findings, recommended_services, eligible FROM assessment WHERE case_id = :i"), {"i": case_id})]
    referrals = [dict(r._mapping) for r in db.session.execute(text(
        "SELECT service, reason, decline_reason, service_given, revoke_reason, failure_reason, return_note, status, "
        "agency_id, consent, delivered_on FROM referral WHERE case_id = :i"), {"i": case_id})]
    return assessments, referrals


def event_count(case_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent)
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    return db.session.execute(query).scalar_one()


def figures(user) -> tuple:
    """Every number of the dashboard and of the recaps of the months the old cases were opened and closed."""
    area = dashboards.area_for(user)
    board = dashboards.build(user, area)

    def numbers(items) -> list:
        return [(n.key, n.value) for n in items]

    months = {wib_date(SIX_YEARS_AGO).replace(day=1), wib_date(FOUR_YEARS_AGO).replace(day=1)}
    recaps = [dashboards.monthly_recap(user, area, month) for month in sorted(months)]
    return (numbers(board.open_by_state), numbers(board.overdue_by_state), numbers(board.overdue_by_village),
            numbers(board.overdue_by_assignee), numbers(board.overdue_by_agency),
            [(m.key, m.days, m.count) for m in board.step_medians],
            [(start, o.value, c.value) for start, o, c in board.weeks],
            [(agency.id, numbers(ns), median.days, median.count) for agency, ns, median in board.referrals],
            [(h.value, c.value) for h, c in board.poor_unserved],
            [(r.by_village, r.by_category, r.by_outcome) for r in recaps])


def run(app, *args):
    return app.test_cli_runner().invoke(args=["retention", "apply", *args])


# -- the command ----------------------------------------------------------------------------------------------


def test_only_cases_closed_longer_than_the_period_are_erased(app, world, aged):
    untouched = {key: raw(aged[key]) for key in ("open", "recent")}
    before = {key: raw(aged[key]) for key in ("served", "refused")}
    events_before = {key: event_count(aged[key]) for key in aged}
    total_before = event_count()

    result = run(app)
    assert result.exit_code == 0, result.output
    assert "anonymised 2 case(s)" in result.output

    for key in ("open", "recent"):
        assert raw(aged[key]) == untouched[key]
        assert event_count(aged[key]) == events_before[key]
    for key in ("served", "refused"):
        row = raw(aged[key])
        assert row["anonymised_at"] is not None
        assert row["version"] == before[key]["version"] + 1
        assert event_count(aged[key]) == events_before[key] + 1
        assert {name: row[name] for name in KEPT} == {name: before[key][name] for name in KEPT}
        assert row["name"] == services.ANONYMISED_NAME
        assert row["description"] == ""
        assert row["dtks_status"] == "unknown"
        for name in PERSONAL:
            if name not in ("name", "description", "dtks_status"):
                assert row[name] is None, name
    assert event_count() == total_before + 2

    assessments, referrals = raw_children(aged["served"])
    assert assessments == [{"findings": "", "recommended_services": "", "eligible": assessments[0]["eligible"]}]
    assert assessments[0]["eligible"] in (True, 1)
    [referral] = referrals
    assert referral["status"] == "completed" and referral["consent"] == "written"
    assert referral["delivered_on"] is not None and referral["agency_id"] == world.bpjs.id
    assert {k: referral[k] for k in ("service", "reason", "service_given", "decline_reason", "revoke_reason",
                                     "failure_reason", "return_note")} == {
        "service": "", "reason": "", "service_given": None, "decline_reason": None, "revoke_reason": None,
        "failure_reason": None, "return_note": None}


def test_each_erasure_is_one_audited_version_and_the_chain_verifies(app, world, aged):
    assert run(app).exit_code == 0
    for key in ("served", "refused"):
        case = db.session.get(Case, aged[key])
        ours = db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                  .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert ours.action == "case.anonymised" and ours.actor_id is None and ours.actor_name == "retention"
        details = json.loads(ours.details)
        assert details == {"retention_years": 5, "closed_at": case.closed_at.date().isoformat()}
        with app.test_request_context():
            said = describe(ours)
            closed_on = format_date(case.closed_at.date(), "d MMMM yyyy")
        assert str(said.label) == "Data pribadi dihapus (masa retensi berakhir)"
        assert {str(label): words for label, words in said.lines} == {"Masa retensi (tahun)": "5",
                                                                       "Ditutup": closed_on}
    assert verify().ok
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_the_dashboard_and_the_recap_count_the_same_before_and_after(app, world, aged):
    before = {user: figures(getattr(world, user)) for user in ("supervisor", "supervisor_province", "caseworker",
                                                                  "officer")}
    assert any(month[2] for month in before["supervisor"][-1])  # the recaps do count the old, closed cases
    assert run(app).exit_code == 0
    db.session.expire_all()
    after = {user: figures(getattr(world, user)) for user in before}
    assert after == before


def test_a_dry_run_counts_and_changes_nothing(app, world, aged):
    rows = {key: raw(case_id) for key, case_id in aged.items()}
    total = event_count()
    result = run(app, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: 2 case(s)" in result.output
    assert {key: raw(case_id) for key, case_id in aged.items()} == rows
    assert event_count() == total


def test_a_second_run_does_nothing(app, world, aged):
    assert "anonymised 2 case(s)" in run(app).output
    rows = {key: raw(case_id) for key, case_id in aged.items()}
    total = event_count()
    result = run(app)
    assert result.exit_code == 0 and "anonymised 0 case(s)" in result.output
    assert {key: raw(case_id) for key, case_id in aged.items()} == rows
    assert event_count() == total
    assert verify().ok


def test_years_moves_the_cutoff_and_bad_values_are_refused(app, world, aged):
    assert app.config["RETENTION_YEARS"] == 5
    assert "dry run: 3 case(s)" in run(app, "--years", "3", "--dry-run").output  # the four-year-old one too
    assert "dry run: 0 case(s)" in run(app, "--years", "7", "--dry-run").output
    for bad in ("0", "-2", "lima"):
        result = run(app, "--years", bad)
        assert result.exit_code == 2 and "--years" in result.output
    app.config["RETENTION_YEARS"] = 0  # a configuration mistake: refused in one line, nothing erased
    total = event_count()
    result = run(app)
    assert result.exit_code == 1 and "retention refused" in result.output
    assert event_count() == total


def test_an_interrupted_run_is_resumed_by_the_next(app, world, aged):
    class Interrupted(Exception):
        pass

    def stop_after_first_batch(_n):
        raise Interrupted

    with pytest.raises(Interrupted):
        services.apply_retention(5, batch_size=1, progress=stop_after_first_batch)
    db.session.rollback()
    erased = [key for key in ("served", "refused") if raw(aged[key])["anonymised_at"] is not None]
    assert len(erased) == 1  # the first batch was committed
    assert verify().ok
    result = run(app)
    assert "anonymised 1 case(s)" in result.output
    assert all(raw(aged[key])["anonymised_at"] is not None for key in ("served", "refused"))
    assert verify().ok


# -- what people see afterwards -------------------------------------------------------------------------------


def test_the_case_page_and_list_say_the_data_was_erased(app, client, world, aged):
    number = db.session.get(Case, aged["served"]).number
    assert run(app).exit_code == 0
    login(client, "supervisor")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "Data pribadi telah dihapus sesuai masa retensi." in page
    assert "anonymised-notice" in page
    for personal in ("Sumarni Lestari", "Joko Susilo", "Anak sakit", "Sudah berobat gratis", "Tetangga"):
        assert personal not in page  # neither on the case nor in its timeline's details
    assert "Data pribadi dihapus (masa retensi berakhir)" in page  # the timeline names the erasure
    listing = client.get("/cases/?state=closed").get_data(as_text=True)
    assert services.ANONYMISED_NAME in listing and "Sumarni Lestari" not in listing
    assert "Baru Saja Ditutup" in listing  # a case still within its period shows as before


def test_the_persons_nik_no_longer_finds_an_erased_case(app, client, world, aged):
    served = db.session.get(Case, aged["served"])
    nik, number = served.nik, served.number
    assert run(app).exit_code == 0
    login(client, "supervisor")
    html = client.post("/privacy/subject-access", data={"nik": nik, "format": "html"}).get_data(as_text=True)
    assert number not in html and 'id="case-count">0<' in html
    assert cases.complainant_history(world.supervisor, nik, None) == []


def test_an_erased_case_cannot_be_reopened(app, world, aged):
    assert run(app).exit_code == 0
    case = db.session.get(Case, aged["refused"])
    assert "reopen" not in cases.allowed_events(case, world.caseworker)
    with pytest.raises(WorkflowRefused, match="retensi"):
        cases.fire(case, "reopen", world.caseworker, reason="Ada pengaduan baru.")
    db.session.rollback()
    assert db.session.get(Case, aged["refused"]).state == "closed"


def test_anonymising_is_only_for_closed_cases(app, world, aged):
    case = db.session.get(Case, aged["open"])
    with pytest.raises(ValidationFailed, match="ditutup"):
        services.anonymise(case, 5)
    db.session.rollback()
    assert raw(aged["open"])["anonymised_at"] is None
