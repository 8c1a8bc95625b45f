"""Registering a complaint: NIK, KK and phone checks, area, duplicates, corrections and case numbers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from puskesos.audit.models import AuditEvent
from puskesos.audit.services import details_of
from puskesos.cases import services
from puskesos.cases.intake import INTAKE
from puskesos.cases.models import Case
from puskesos.cases.services import DuplicateFound
from puskesos.cases.workflow import DEADLINES, State
from puskesos.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, WorkflowRefused
from puskesos.core.timeutil import clock_at
from puskesos.extensions import db
from puskesos.workdays.services import add_working_days
from tests import factories


def counts() -> tuple[int, int]:
    return (db.session.execute(select(func.count()).select_from(Case)).scalar_one(),
            db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def register(actor, confirm: bool = False, **overrides):
    case, warnings = services.register(actor, factories.intake(**overrides), confirm_duplicate=confirm)
    db.session.commit()
    return case, [str(w) for w in warnings]


def refused(actor, field: str, **overrides) -> list[str]:
    """Registration fails on `field`, saves nothing, and returns the field's messages."""
    before = counts()
    with pytest.raises(ValidationFailed) as failure:
        services.register(actor, factories.intake(**overrides))
    db.session.rollback()
    assert counts() == before
    assert field in failure.value.errors, failure.value.errors
    messages = [str(m) for m in failure.value.errors[field]]
    assert all(m.strip() for m in messages)
    return messages


def audit_details(action: str, case) -> list[dict]:
    """The details as a reader of the log gets them (personal values are stored sealed: audit/sealing.py)."""
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.case_id == case.id)
                              .order_by(AuditEvent.seq)).scalars()
    return [details_of(r) for r in rows]


# -- NIK ------------------------------------------------------------------------------------------------------


NIK_REFUSALS = [
    ("160301120485001", "16 digit"),  # 15 digits
    ("16030112048500011", "16 digit"),  # 17 digits
    ("16030112048500A1", "16 digit"),
    ("", "16 digit"),
    ("1603013204850001", "Tanggal lahir"),  # day 32
    ("1603017204850001", "Tanggal lahir"),  # day 72 (a woman's 32nd)
    ("1603011213850001", "Tanggal lahir"),  # month 13
    ("1603012902010001", "Tanggal lahir"),  # 29 February 2001
    ("1603011204850000", "0000"),
    ("0003011204850001", "provinsi"),
    ("1600001204850001", "00"),  # regency and district 00
]


def test_nik_hard_checks(world):
    for nik, says in NIK_REFUSALS:
        messages = refused(world.officer, "nik", nik=nik)
        assert any(says in m for m in messages), (nik, messages)


def test_nik_gives_sex_and_birth_date(world):
    woman, warnings = register(world.officer, nik=factories.nik(birth=dt.date(1990, 7, 5), female=True))
    assert woman.nik[6:8] == "45"
    assert (woman.sex, woman.birth_date) == ("P", dt.date(1990, 7, 5))
    assert warnings == []
    man, _ = register(world.officer, nik=factories.nik(birth=dt.date(1979, 12, 31)))
    assert (man.sex, man.birth_date) == ("L", dt.date(1979, 12, 31))


def test_nik_disagreeing_with_entered_birth_date_or_sex_is_a_warning(world):
    case, warnings = register(world.officer, nik=factories.nik(birth=dt.date(1985, 4, 12)), birth_date="1985-04-21",
                              sex="P")
    assert case.id is not None and case.state == State.REGISTERED
    assert len(warnings) == 2
    assert any("Tanggal lahir" in w for w in warnings) and any("Jenis kelamin" in w for w in warnings)


def test_unknown_district_code_is_a_warning(world):
    case, warnings = register(world.officer, nik=factories.nik(district="160399"))
    assert case.nik.startswith("160399")
    assert len(warnings) == 1 and "16.03.99" in warnings[0]


def test_entered_birth_date_and_sex_are_checked(world):
    assert "birth_date" in refused_fields(world.officer, birth_date="1985-02-30")
    assert "sex" in refused_fields(world.officer, sex="X")


def refused_fields(actor, **overrides) -> set[str]:
    with pytest.raises(ValidationFailed) as failure:
        services.register(actor, factories.intake(**overrides))
    db.session.rollback()
    return set(failure.value.errors)


def test_every_problem_is_reported_at_once(world):
    fields = refused_fields(world.officer, nik="123", name="", kk_number="12", phone="abc", category="magic",
                            village_code="16.04.01.2001", rt="x")
    assert fields == {"nik", "name", "kk_number", "phone", "category", "village_code", "rt"}


# -- KK, phone, village -----------------------------------------------------------------------------------------


def test_kk_must_be_sixteen_digits(world):
    for kk in ("160301120485000", "16030112048500011", "16030112048500X1"):
        assert refused(world.officer, "kk_number", kk_number=kk)


def test_kk_separators_are_removed_and_empty_is_none(world):
    case, _ = register(world.officer, kk_number="1603 0112 0485-0001")
    assert case.kk_number == "1603011204850001"
    case, _ = register(world.officer, kk_number="  ")
    assert case.kk_number is None


def test_phone_is_normalised(world):
    for raw in ("0812 7788 9900", "+62 812-7788-9900", "62812778899 00", "081277889900"):
        case, _ = register(world.officer, True, phone=raw, reporter_phone=raw, reporter_name="Budi",
                           reporter_relation="anak")
        assert case.phone == case.reporter_phone == "+6281277889900", raw


def test_invalid_phone_is_refused(world):
    assert refused(world.officer, "phone", phone="12")
    assert refused(world.officer, "reporter_phone", reporter_phone="halo")


def test_a_village_outside_the_officers_area_is_refused(world):
    for village in (factories.VILLAGE_B, factories.VILLAGE_LAHAT):
        messages = refused(world.officer, "village_code", village_code=village)
        assert any("luar wilayah" in m for m in messages), village


def test_an_unknown_or_non_village_code_is_refused(world):
    for village in ("", "16.03.01", "16.03.01.9999", "99.99.99.9999"):
        assert refused(world.officer, "village_code", village_code=village)


def test_only_an_officer_registers(world):
    before = counts()
    for role in ("caseworker", "supervisor", "supervisor_province", "agency_user", "admin"):
        with pytest.raises(Forbidden) as refusal:
            services.register(getattr(world, role), factories.intake())
        assert str(refusal.value.message).strip()
        db.session.rollback()
        assert counts() == before, role


def test_registration_is_audited_with_the_nik_masked(world):
    nik, kk = factories.nik(), "1603010101010001"
    case, _ = register(world.officer, nik=nik, kk_number=kk)
    (details,) = audit_details("case.created", case)
    assert details["fields"]["nik"] == nik[:4] + "********" + nik[-4:]
    assert details["fields"]["kk_number"] == "1603********0001"
    assert details["duplicate_confirmed"] is False
    assert nik not in json.dumps(details) and kk not in json.dumps(details)


# -- duplicates ---------------------------------------------------------------------------------------------


def test_an_open_case_with_the_same_nik_anywhere_blocks_registration(world):
    nik = factories.nik()
    own, _ = register(world.officer, nik=nik)
    register(world.officer_b, True, nik=nik, village_code=factories.VILLAGE_B)  # same regency, other village
    register(world.officer_lahat, True, nik=nik, village_code=factories.VILLAGE_LAHAT)  # other regency
    before = counts()
    with pytest.raises(DuplicateFound) as found:
        services.register(world.officer, factories.intake(nik=nik))
    assert isinstance(found.value, Conflict)
    assert str(found.value.message).strip()
    assert [c.id for c in found.value.cases] == [own.id]  # only what officer A may open
    assert found.value.elsewhere == 2
    db.session.rollback()
    assert counts() == before


def test_the_same_kk_is_a_duplicate_too(world):
    kk = "1603010101010002"
    other, _ = register(world.officer_lahat, kk_number=kk, village_code=factories.VILLAGE_LAHAT)
    with pytest.raises(DuplicateFound) as found:
        services.register(world.officer, factories.intake(kk_number=kk))
    db.session.rollback()
    assert (found.value.cases, found.value.elsewhere) == ([], 1)  # nothing of Lahat is shown in Muara Enim
    with pytest.raises(DuplicateFound) as found:
        services.register(world.officer_lahat, factories.intake(kk_number=kk, village_code=factories.VILLAGE_LAHAT))
    db.session.rollback()
    assert ([c.id for c in found.value.cases], found.value.elsewhere) == ([other.id], 0)


def test_open_duplicates_are_searched_across_areas(world):
    nik = factories.nik()
    a, _ = register(world.officer, nik=nik)
    b, _ = register(world.officer_b, True, nik=nik, village_code=factories.VILLAGE_B)
    found = services.find_open_duplicates(nik, None)
    assert [c.id for c in found] == [a.id, b.id]


def test_confirming_a_duplicate_saves_it_and_says_so(world):
    nik = factories.nik()
    first, _ = register(world.officer, nik=nik)
    second, _ = services.register(world.officer, factories.intake(nik=nik), confirm_duplicate=True)
    db.session.commit()
    assert second.id != first.id and second.nik == first.nik
    (details,) = audit_details("case.created", second)
    assert details["duplicate_confirmed"] is True


def test_a_closed_case_is_not_a_duplicate(world):
    nik, kk = factories.nik(), "1603010101010003"
    closed, _ = register(world.officer, nik=nik, kk_number=kk)
    factories.fire(closed, "resolve_at_intake", world.officer, action_taken="Informasi diberikan")
    again, _ = register(world.officer, nik=nik, kk_number=kk)
    assert again.id != closed.id


# -- corrections ----------------------------------------------------------------------------------------------


def test_update_intake_records_a_masked_field_diff(world):
    old_nik, new_nik = factories.nik(), factories.nik()
    case, _ = register(world.officer, nik=old_nik, name="Siti Aminah")
    version = case.version
    services.update_intake(case, world.officer, factories.intake(
        nik=new_nik, name="Siti Aminah Lubis", kk_number="1603010101010004", phone="0812 1111 2222"),
        expected_version=version)
    db.session.commit()
    assert (case.nik, case.name, case.kk_number, case.phone) == (new_nik, "Siti Aminah Lubis", "1603010101010004",
                                                                 "+6281211112222")
    assert case.version == version + 1
    (details,) = audit_details("case.updated", case)
    changes = details["changes"]
    assert changes["name"] == ["Siti Aminah", "Siti Aminah Lubis"]
    assert changes["nik"] == [old_nik[:4] + "********" + old_nik[-4:], new_nik[:4] + "********" + new_nik[-4:]]
    assert changes["kk_number"] == [None, "1603********0004"]
    assert changes["phone"] == ["+6281277889900", "+6281211112222"]
    assert set(changes) == {"nik", "name", "kk_number", "phone"}  # unchanged fields are not listed
    text = json.dumps(details)
    assert old_nik not in text and new_nik not in text and "1603010101010004" not in text


def test_update_without_changes_writes_nothing(world):
    nik = factories.nik()
    case, _ = register(world.officer, nik=nik)
    version, before = case.version, counts()
    services.update_intake(case, world.officer, factories.intake(nik=nik), expected_version=version)
    db.session.commit()
    assert (case.version, counts()) == (version, before)


def test_update_in_needs_info_is_allowed(world):
    case = factories.case_in(State.NEEDS_INFO, world)
    services.update_intake(case, world.officer, factories.intake(nik=case.nik, description="Foto KK terlampir."),
                           expected_version=case.version)
    db.session.commit()
    assert case.description == "Foto KK terlampir."


def test_update_is_refused_after_submission(world):
    for state in (State.SUBMITTED, State.IN_ASSESSMENT, State.ASSESSED, State.REFERRED, State.CLOSED):
        case = factories.case_in(state, world)
        version, before = case.version, counts()
        with pytest.raises(WorkflowRefused) as refusal:
            services.update_intake(case, world.officer, factories.intake(nik=case.nik, name="Nama Lain"),
                                   expected_version=version)
        assert str(refusal.value.message).strip()
        db.session.rollback()
        assert (case.version, case.name, counts()) == (version, "Siti Aminah", before), state


def test_only_the_villages_officer_updates(world):
    case, _ = register(world.officer)
    before = counts()
    for role, error in (("caseworker", WorkflowRefused), ("caseworker2", WorkflowRefused),
                        ("supervisor", WorkflowRefused), ("officer_b", NotFound), ("officer_lahat", NotFound),
                        ("caseworker_lahat", NotFound), ("agency_user", NotFound), ("admin", NotFound)):
        with pytest.raises(error):
            services.update_intake(case, getattr(world, role), factories.intake(nik=case.nik, name="Nama Lain"),
                                   expected_version=case.version)
        db.session.rollback()
        assert (case.name, counts()) == ("Siti Aminah", before), role


def test_update_cannot_move_the_case_out_of_the_area(world):
    case, _ = register(world.officer)
    with pytest.raises(ValidationFailed) as failure:
        services.update_intake(case, world.officer, factories.intake(nik=case.nik, village_code=factories.VILLAGE_B),
                               expected_version=case.version)
    db.session.rollback()
    assert "village_code" in failure.value.errors
    assert case.village_code == factories.VILLAGE_A


def test_update_with_a_stale_version_names_who_changed_the_case(world):
    colleague = factories.user("officer", "officer_a2", factories.VILLAGE_A)
    case, _ = register(world.officer)
    stale = case.version
    services.update_intake(case, colleague, factories.intake(nik=case.nik, name="Siti A."), expected_version=stale)
    db.session.commit()
    before = counts()
    with pytest.raises(Conflict) as conflict:
        services.update_intake(case, world.officer, factories.intake(nik=case.nik, name="Siti B."),
                               expected_version=stale)
    assert not isinstance(conflict.value, DuplicateFound)
    assert "Officer A2" in str(conflict.value.message)
    db.session.rollback()
    assert (case.name, counts()) == ("Siti A.", before)


def test_update_to_a_nik_with_an_open_case_is_a_duplicate(world):
    taken = factories.nik()
    register(world.officer_lahat, nik=taken, village_code=factories.VILLAGE_LAHAT)
    case, _ = register(world.officer)
    with pytest.raises(DuplicateFound) as found:
        services.update_intake(case, world.officer, factories.intake(nik=taken), expected_version=case.version)
    db.session.rollback()
    assert (found.value.cases, found.value.elsewhere) == ([], 1)
    assert case.nik != taken


# -- case numbers ---------------------------------------------------------------------------------------------


def test_case_numbers_count_per_regency_and_year(world, monkeypatch):
    monkeypatch.setattr(services, "today", lambda: dt.date(2027, 1, 4))
    first, _ = register(world.officer)
    second, _ = register(world.officer_b, village_code=factories.VILLAGE_B)
    lahat, _ = register(world.officer_lahat, village_code=factories.VILLAGE_LAHAT)
    third, _ = register(world.officer)
    assert [first.number, second.number, third.number] == [
        "SLRT-1603-2027-000001", "SLRT-1603-2027-000002", "SLRT-1603-2027-000003"]
    assert lahat.number == "SLRT-1604-2027-000001"
    monkeypatch.setattr(services, "today", lambda: dt.date(2028, 1, 3))
    next_year, _ = register(world.officer)
    assert next_year.number == "SLRT-1603-2028-000001"


def test_a_refused_registration_does_not_use_a_number(world):
    first, _ = register(world.officer)
    refused(world.officer, "nik", nik="123")
    second, _ = register(world.officer)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


# -- issue 6: the limits declared once, a clock from registration, the complainant's history ------------------


def test_every_declared_length_limit_holds_at_the_service(world):
    """The limit of each free-text intake input is its `Input.max_length` (INTAKE), and nothing else."""
    plain = [spec for spec in INTAKE if spec.kind in ("text", "textarea") and spec.max_length and spec.clean is None
             and spec.name != "nik"]
    assert {spec.name for spec in plain} >= {"name", "address", "description", "reporter_name"}
    for spec in plain:
        messages = refused(world.officer, spec.name, **{spec.name: "x" * (spec.max_length + 1)})
        assert any(str(spec.max_length) in m for m in messages), (spec.name, messages)
        case, _ = register(world.officer, True, **{spec.name: "x" * spec.max_length})
        assert getattr(case, spec.name) == "x" * spec.max_length, spec.name


def test_registering_starts_the_clock_of_the_registered_step(world):
    """`registered` has its deadline too (DEADLINES): counted in working days from the day of registration."""
    registered_at = dt.datetime(2026, 3, 2, 2, 0)  # Monday 09:00 WIB
    with clock_at(registered_at):
        case, _ = register(world.officer)
    assert case.step_started_at == case.created_at == registered_at
    assert isinstance(DEADLINES[State.REGISTERED], int)
    assert case.due_on == add_working_days(dt.date(2026, 3, 2), DEADLINES[State.REGISTERED]).day
    assert case.due_on == dt.date(2026, 3, 4)  # Tuesday and Wednesday, no holiday
    with clock_at(registered_at + dt.timedelta(days=2)):
        assert (case.days_in_step, case.is_overdue) == (2, False)
    with clock_at(registered_at + dt.timedelta(days=3)):
        assert (case.days_in_step, case.is_overdue) == (3, True)


def test_the_duplicate_warning_carries_the_complainants_history(world):
    nik = factories.nik()
    closed = factories.case_in(State.CLOSED, world, nik=nik)
    open_case, _ = register(world.officer, nik=nik)
    lahat, _ = register(world.officer_lahat, True, nik=nik, village_code=factories.VILLAGE_LAHAT)
    other, _ = register(world.officer)  # another complainant
    with pytest.raises(DuplicateFound) as found:
        services.register(world.officer, factories.intake(nik=nik))
    db.session.rollback()
    assert [c.id for c in found.value.cases] == [open_case.id]  # the open one blocks
    history = {c.id for c in found.value.history}
    assert {closed.id, open_case.id} <= history  # closed ones are listed too
    assert lahat.id not in history and other.id not in history  # never outside the area
