"""Factories: build users, agencies and cases through the real services."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from puskesos.accounts.services import create_user
from puskesos.cases import services as cases
from puskesos.cases.workflow import State
from puskesos.core import timeutil
from puskesos.extensions import db
from puskesos.referrals.services import create_agency
from puskesos.regions.services import load_regions
from puskesos.workdays.services import import_from_lokal

PASSWORD = "rahasia123"
VILLAGE_A = "16.03.01.2011"  # Embawang, Tanjung Agung, Muara Enim
VILLAGE_B = "16.03.01.2012"  # Pagar Dewa, same district
VILLAGE_LAHAT = "16.04.01.2001"  # Kembang Ayun, Kabupaten Lahat

_serial = itertools.count(1)


@dataclass
class World:
    officer: object
    officer_b: object
    officer_lahat: object
    caseworker: object
    caseworker2: object
    caseworker_lahat: object
    supervisor: object
    supervisor_province: object
    supervisor_lahat: object
    agency_user: object
    agency_other_user: object
    admin: object
    bpjs: object
    dukcapil: object
    lahat_agency: object


def user(role: str, username: str, region_code: str | None = None, agency=None):
    return create_user(None, username=username, full_name=username.replace("_", " ").title(), password=PASSWORD,
                       role=role, region_code=region_code, agency_id=agency.id if agency else None)


def build_world() -> World:
    load_regions(["16.03", "16.04"])
    import_from_lokal()
    bpjs = create_agency(None, name="BPJS Kesehatan Muara Enim", kind="bpjs_kesehatan", region_code="16.03")
    dukcapil = create_agency(None, name="Disdukcapil Muara Enim", kind="disdukcapil", region_code="16.03")
    lahat_agency = create_agency(None, name="BPJS Kesehatan Lahat", kind="bpjs_kesehatan", region_code="16.04")
    w = World(
        officer=user("officer", "officer_a", VILLAGE_A),
        officer_b=user("officer", "officer_b", VILLAGE_B),
        officer_lahat=user("officer", "officer_lahat", VILLAGE_LAHAT),
        caseworker=user("caseworker", "caseworker", "16.03"),
        caseworker2=user("caseworker", "caseworker2", "16.03"),
        caseworker_lahat=user("caseworker", "caseworker_lahat", "16.04"),
        supervisor=user("supervisor", "supervisor", "16.03"),
        supervisor_province=user("supervisor", "supervisor_prov", "16"),
        supervisor_lahat=user("supervisor", "supervisor_lahat", "16.04"),
        agency_user=user("agency", "bpjs_user", agency=bpjs),
        agency_other_user=user("agency", "dukcapil_user", agency=dukcapil),
        admin=user("admin", "admin"),
        bpjs=bpjs, dukcapil=dukcapil, lahat_agency=lahat_agency,
    )
    db.session.commit()
    return w


def nik(district: str = "160301", birth: dt.date = dt.date(1985, 4, 12), female: bool = False,
        serial: int | None = None) -> str:
    day = birth.day + (40 if female else 0)
    return f"{district}{day:02d}{birth.month:02d}{birth.year % 100:02d}{(serial or next(_serial)) % 10000 or 1:04d}"


def intake(**overrides) -> dict:
    data = {
        "nik": nik(), "name": "Siti Aminah", "village_code": VILLAGE_A, "category": "health",
        "description": "Kartu KIS tidak aktif saat berobat ke puskesmas.", "address": "Jl. Lintas Sumatera No. 4",
        "rt": "2", "rw": "1", "phone": "0812 7788 9900", "dtks_status": "yes", "urgency": "normal",
    }
    data.update(overrides)
    return data


def register(officer, **overrides):
    case, _warnings = cases.register(officer, intake(**overrides))
    db.session.commit()
    return case


def fire(case, event: str, actor, **inputs):
    cases.fire(case, event, actor, **inputs)
    db.session.commit()
    return case


ASSESSMENT = {"findings": "Keluarga miskin, KIS nonaktif sejak 2025.", "eligible": True,
              "recommended_services": "Reaktivasi PBI-JK"}


def refer_inputs(agency) -> dict:
    return {"agency_id": agency.id, "service": "Reaktivasi PBI-JK", "reason": "Peserta PBI nonaktif",
            "consent": "written"}


def case_in(state: str, w: World, **overrides):
    """A case of officer A's village driven through the real workflow to `state`."""
    case = register(w.officer, **overrides)
    path = {
        State.REGISTERED: [],
        State.SUBMITTED: ["submit"],
        State.IN_ASSESSMENT: ["submit", "start"],
        State.NEEDS_INFO: ["submit", "start", "info"],
        State.ASSESSED: ["submit", "start", "assess"],
        State.REFERRED: ["submit", "start", "assess", "refer"],
        State.IN_SERVICE: ["submit", "start", "assess", "refer", "accept"],
        State.ANSWERED: ["submit", "start", "assess", "refer", "accept", "report"],
        State.CLOSED: ["submit", "start", "assess", "close"],
    }[State(state)]
    for step in path:
        if step == "submit":
            fire(case, "submit", w.officer)
        elif step == "start":
            fire(case, "start_assessment", w.caseworker)
        elif step == "info":
            fire(case, "request_info", w.caseworker, note="Lampirkan foto KK.")
        elif step == "assess":
            fire(case, "complete_assessment", w.caseworker, **ASSESSMENT)
        elif step == "refer":
            fire(case, "refer", w.caseworker, **refer_inputs(w.bpjs))
        elif step == "accept":
            fire(case, "accept", w.agency_user, referral_id=case.referrals[-1].id)
        elif step == "report":
            fire(case, "report_service", w.agency_user, referral_id=case.referrals[-1].id,
                 service_given="PBI-JK aktif kembali", delivered_on=timeutil.today())
        elif step == "close":
            fire(case, "close", w.caseworker, outcome="not_eligible", note="Tidak memenuhi syarat")
    assert case.state == state
    return case
