"""The audit log a supervisor can read: every action and detail in words of the page's language, a field diff with
its label and masked personal data, filters by action label, by user (name or username), by case number and by
date range, and sign-ins hidden unless asked for. The case timeline uses the same words."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from sqlalchemy import select

from puskesos.audit.models import AuditEvent
from puskesos.audit.present import ACTION_LABELS, action_choices, describe
from puskesos.cases import services
from puskesos.cases.intake import INTAKE
from puskesos.cases.workflow import EVENTS, inputs_of
from puskesos.core import timeutil
from puskesos.extensions import db
from tests import factories
from tests.helpers import login

ROW_RE = re.compile(r"<tr>\s*<td>(\d+)</td>(.*?)</tr>", re.S)


def every_kind_of_event(w) -> object:
    """One case through every step that writes a distinct kind of detail: registration, an edit of personal data,
    assessment, two referrals (one served, one that failed), a NIK reveal, closing."""
    case = factories.register(w.officer, phone="0812 1111 2222")
    services.update_intake(case, w.officer, {**{s.name: getattr(case, s.name) for s in INTAKE},
                                             "phone": "0813 3333 4444", "rt": "7"}, expected_version=case.version)
    db.session.commit()
    factories.fire(case, "submit", w.officer)
    factories.fire(case, "start_assessment", w.caseworker)
    factories.fire(case, "complete_assessment", w.caseworker, **factories.ASSESSMENT)
    factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(w.bpjs))
    factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(w.dukcapil))
    bpjs, dukcapil = case.referrals
    factories.fire(case, "accept", w.agency_user, referral_id=bpjs.id)
    factories.fire(case, "report_service", w.agency_user, referral_id=bpjs.id, service_given="PBI aktif",
                   delivered_on=timeutil.today().isoformat())
    factories.fire(case, "accept", w.agency_other_user, referral_id=dukcapil.id)
    factories.fire(case, "report_failure", w.agency_other_user, referral_id=dukcapil.id,
                   reason="Pengadu tidak datang untuk perekaman")
    services.reveal_nik(case, w.caseworker)
    db.session.commit()
    factories.fire(case, "close", w.caseworker, outcome="resolved", note="Layanan diterima")
    return case


def internal_keys() -> set[str]:
    """Every key the services write into details, and every input name: none may be shown as a label."""
    keys = {spec.name for spec in INTAKE} | {spec.name for e in EVENTS for spec in inputs_of(e)}
    for details in db.session.execute(select(AuditEvent.details)).scalars():
        keys |= set(json.loads(details))
    return keys


def test_every_event_reads_in_words(world):
    case = every_kind_of_event(world)
    keys = internal_keys()
    events = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
    assert {e.action for e in events} >= {"case.created", "case.updated", "referral.report_failure", "pii.viewed",
                                          "case.close", "user.created", "agency.created"}
    for event in events:
        described = describe(event)
        assert str(described.label) != event.action and "." not in str(described.label), event.action
        for label, text in described.lines:
            assert str(label) not in keys, (event.action, label)
            assert "{" not in text and "[" not in text, (event.action, label, text)
            assert case.nik not in text  # a full NIK never shows in the log
    created = describe(next(e for e in events if e.action == "case.created"))
    assert ("Nomor HP", "+62812…") in [(str(label), text) for label, text in created.lines]
    assert ("Kategori", "Kesehatan") in [(str(label), text) for label, text in created.lines]


def test_a_field_diff_has_its_label_and_masks_personal_data(world, client):
    case = every_kind_of_event(world)
    login(client, "supervisor")
    page = html.unescape(client.get(f"/audit?case_number={case.number}").get_data(as_text=True))
    page = page[page.index("<tbody>"):]  # the rows (the filter's options carry the codes as values)
    assert "Nomor HP:</span> <span" in page
    assert "+62812… → +62813…" in page
    assert "RT:</span> <span" in page and "002 → 007" in page
    assert "+6281211112222" not in page and "+6281333334444" not in page
    for code in ("case.updated", "referral.report_failure", "case.close", '"changes"', "service_given"):
        assert code not in page, code
    assert "Laporkan tidak dapat dilayani" in page and "Pengadu tidak datang untuk perekaman" in page
    # The case timeline speaks the same words.
    login(client, "caseworker")
    timeline = html.unescape(client.get(f"/cases/{case.number}").get_data(as_text=True))
    assert "+62812… → +62813…" in timeline and "Diubah: phone" not in timeline
    assert "Laporkan tidak dapat dilayani" in timeline


def test_the_log_speaks_english_too(world, client):
    every_kind_of_event(world)
    login(client, "supervisor")
    client.post("/lang/en", data={"next": "/audit"})
    page = html.unescape(client.get("/audit?action=case.updated").get_data(as_text=True))
    assert "Phone number:</span>" in page or "Mobile number:</span>" in page, page[-3000:]
    assert "Data pengaduan diubah" not in page


def seqs(client, query: str) -> set[int]:
    page = client.get("/audit" + query)
    assert page.status_code == 200
    return {int(n) for n, _rest in ROW_RE.findall(page.get_data(as_text=True))}


def test_filters_by_action_label_user_case_and_dates(world, client):
    first = every_kind_of_event(world)
    second = factories.register(world.officer)
    login(client, "supervisor")
    events = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())

    def expected(keep) -> set[int]:
        return {e.seq for e in events if e.region_code and e.region_code.startswith("16.03") and keep(e)}

    # The action list offers labels, one per action the log can hold.
    page = client.get("/audit").get_data(as_text=True)
    for code, label in action_choices():
        assert f'<option value="{code}">{html.escape(str(label))}</option>' in page
    assert seqs(client, "?action=referral.report_failure") == expected(
        lambda e: e.action == "referral.report_failure") != set()
    # By user: the username, or part of the full name (the World's users are named after their usernames).
    assert seqs(client, "?actor=caseworker") == expected(lambda e: e.actor_name == "caseworker") != set()
    assert seqs(client, "?actor=Officer%20A") == expected(lambda e: e.actor_name == "officer_a") != set()
    # By case number.
    assert seqs(client, f"?case_number={second.number}") == expected(lambda e: e.case_number == second.number)
    assert seqs(client, f"?case_number={first.number.lower()}") == expected(
        lambda e: e.case_number == first.number)
    # By date range (days in WIB): today holds everything, yesterday nothing.
    today = timeutil.today()
    yesterday = today - dt.timedelta(days=1)
    assert seqs(client, f"?since={today}&until={today}") == expected(lambda e: not e.action.startswith("auth."))
    assert seqs(client, f"?since={yesterday}&until={yesterday}") == set()


@pytest.mark.parametrize("ask", [False, True])
def test_sign_ins_are_hidden_unless_asked_for(world, client, ask):
    factories.register(world.officer)
    login(client, "supervisor")  # writes auth.login for the supervisor's regency
    events = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
    shown = seqs(client, "?include_auth=y" if ask else "")
    auth = {e.seq for e in events if e.action.startswith("auth.") and (e.region_code or "").startswith("16.03")}
    assert auth
    assert (auth <= shown) if ask else not (auth & shown)
    # Asking for a sign-in action by name shows it whatever the box says.
    assert auth <= seqs(client, "?action=auth.login")


def test_every_action_has_a_label(world):
    every_kind_of_event(world)
    actions = set(db.session.execute(select(AuditEvent.action).distinct()).scalars())
    assert actions <= set(ACTION_LABELS), actions - set(ACTION_LABELS)
