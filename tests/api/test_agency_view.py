"""What an agency reads of a case through the API is what its referral page shows (issue 8).

The complainant agreed to share a referral with an agency, not the case: the page shows the agency whom to
serve (number, name, masked NIK, village) and its own referral, and hides the complaint, the assessment, the
closing note and the other agencies' referrals. The API once returned all of them; here every field of the
API's case is checked, for the agency and against its referral page.
"""

from __future__ import annotations

import re

from puskesos.api.present import AGENCY_CASE_FIELDS
from puskesos.cases.models import Case
from puskesos.core import timeutil
from puskesos.extensions import db
from puskesos.regions.models import Region
from tests import factories
from tests.api.conftest import assert_problem
from tests.helpers import signed_in

# Words that appear in one place only, so their absence from a page or an answer means something.
DESCRIPTION = "Pengaduan rahasia: suami sakit jantung, utang di warung"
INFO_REQUEST = "Mohon lampirkan surat keterangan dokter Puskesmas Tanjung"
FINDINGS = "Temuan asesmen: rumah tidak layak, anak putus sekolah"
RECOMMENDED = "Rekomendasi: PKH dan RTLH"
CLOSING_NOTE = "Catatan penutupan: keluarga sudah pindah ke Palembang"
OTHER_SERVICE = "Penerbitan akta kelahiran anak kedua"
OTHER_REASON = "Anak kedua belum punya akta"
WITHHELD = (DESCRIPTION, INFO_REQUEST, FINDINGS, RECOMMENDED, CLOSING_NOTE, OTHER_SERVICE, OTHER_REASON)


def assessed_case(w) -> Case:
    """A case with a complaint, an answered request for information and an assessment, ready to refer."""
    case = factories.register(w.officer, description=DESCRIPTION)
    factories.fire(case, "submit", w.officer)
    factories.fire(case, "start_assessment", w.caseworker)
    factories.fire(case, "request_info", w.caseworker, note=INFO_REQUEST)
    factories.fire(case, "submit", w.officer)
    factories.fire(case, "start_assessment", w.caseworker)
    factories.fire(case, "complete_assessment", w.caseworker, findings=FINDINGS, eligible=True,
                   recommended_services=RECOMMENDED)
    return case


def refer(case, w, agency, **inputs):
    factories.fire(case, "refer", w.caseworker, **{**factories.refer_inputs(agency), **inputs})
    return case.referrals[-1]


def closed_case(w) -> tuple[Case, object, object]:
    """BPJS served the complainant; Disdukcapil declined its referral; Dinsos closed the case with a note."""
    case = assessed_case(w)
    ours = refer(case, w, w.bpjs)
    theirs = refer(case, w, w.dukcapil, service=OTHER_SERVICE, reason=OTHER_REASON)
    factories.fire(case, "accept", w.agency_user, referral_id=ours.id)
    factories.fire(case, "report_service", w.agency_user, referral_id=ours.id, service_given="PBI-JK aktif",
                   delivered_on=timeutil.today())
    factories.fire(case, "decline", w.agency_other_user, referral_id=theirs.id, reason="Bukan kewenangan kami")
    factories.fire(case, "close", w.caseworker, outcome="resolved", note=CLOSING_NOTE)
    return case, ours, theirs


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_an_agency_reads_what_its_referral_page_shows_field_by_field(app, api, world):
    w = world
    case = assessed_case(w)
    ours = refer(case, w, w.bpjs)
    refer(case, w, w.dukcapil, service=OTHER_SERVICE, reason=OTHER_REASON)
    full = api("caseworker").case(case.number)
    resp = api("bpjs_user").get(f"cases/{case.number}")
    assert resp.status_code == 200
    seen = resp.get_json()
    assert resp.headers["ETag"] == f'"{full["version"]}"'  # what a write must name, as the page's forms carry it

    # Every field of the case, as Dinsos reads it: an agency gets the declared ones, the same, and no other.
    assert set(seen) == set(AGENCY_CASE_FIELDS)
    for field, value in full.items():
        if field not in AGENCY_CASE_FIELDS:
            assert field not in seen, field
        elif field == "referrals":
            assert seen[field] == [r for r in value if r["id"] == ours.id]
        elif field == "allowed_events":
            assert seen[field] == ["accept", "decline"]
        else:
            assert seen[field] == value, field
    assert {"assessment", "outcome_note", "description", "info_request", "state", "assignee"} <= set(full)
    assert not any(secret in resp.get_data(as_text=True) for secret in WITHHELD)

    # The referral page shows each of them, and none of what the API withholds.
    html = page_text(signed_in(app, "bpjs_user").get(f"/referrals/{ours.id}").get_data(as_text=True))
    village = db.session.get(Region, seen["village_code"]).name
    for shown in (seen["number"], seen["name"], seen["nik_masked"], village, f'value="{seen["version"]}"'):
        assert shown in html, shown
    for event in seen["allowed_events"]:
        assert f'data-event="{event}"' in html
    for field in ("service", "reason", "status"):
        assert str(seen["referrals"][0][field]) in html, field
    assert not any(secret in html for secret in WITHHELD)


def test_a_closed_case_keeps_its_closing_note_and_assessment_from_the_agency(app, api, world):
    case, ours, theirs = closed_case(world)
    full = api("caseworker").case(case.number)
    assert full["outcome_note"] == CLOSING_NOTE and full["assessment"]["findings"] == FINDINGS
    assert [r["id"] for r in full["referrals"]] == [ours.id, theirs.id]

    resp = api("bpjs_user").get(f"cases/{case.number}")
    seen = resp.get_json()
    assert set(seen) == set(AGENCY_CASE_FIELDS)
    assert [(r["id"], r["status"], r["service_given"]) for r in seen["referrals"]] == [
        (ours.id, "completed", "PBI-JK aktif")]
    assert seen["allowed_events"] == []
    assert not any(secret in resp.get_data(as_text=True) for secret in WITHHELD)
    html = page_text(signed_in(app, "bpjs_user").get(f"/referrals/{ours.id}").get_data(as_text=True))
    assert "PBI-JK aktif" in html and not any(secret in html for secret in WITHHELD)

    # The agency that declined reads the case no more, on the page or through the API.
    assert_problem(api("dukcapil_user").get(f"cases/{case.number}"), 404)
    assert signed_in(app, "dukcapil_user").get(f"/referrals/{theirs.id}").status_code == 404


def test_an_agency_does_not_see_its_own_declined_referral_beside_the_new_one(app, api, world):
    """The page's rule for referrals (the inbox's): its own, while pending, accepted, completed or failed."""
    w = world
    case = assessed_case(w)
    first = refer(case, w, w.bpjs, service="Layanan pertama ditolak")
    factories.fire(case, "decline", w.agency_user, referral_id=first.id, reason="Data peserta tidak cocok")
    second = refer(case, w, w.bpjs)
    seen = api("bpjs_user").case(case.number)
    assert [r["id"] for r in seen["referrals"]] == [second.id]
    inbox = api("bpjs_user").get("referrals").get_json()
    assert [r["id"] for r in inbox["items"]] == [second.id]
    assert signed_in(app, "bpjs_user").get(f"/referrals/{first.id}").status_code == 404
    timeline = api("bpjs_user").get(f"cases/{case.number}/timeline").get_json()
    assert timeline and {e["details"].get("referral_id") for e in timeline} == {second.id}


def test_an_agencys_case_list_shows_what_its_inbox_shows(api, world):
    w = world
    case = assessed_case(w)
    refer(case, w, w.bpjs)
    items = api("bpjs_user").get("cases").get_json()["items"]
    assert [item["number"] for item in items] == [case.number]
    full = api("caseworker").get("cases").get_json()["items"]
    assert "assignee" in full[0] and "assignee" not in items[0]
    assert set(items[0]) == set(full[0]) & set(AGENCY_CASE_FIELDS)
