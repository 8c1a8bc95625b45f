"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from puskesos import create_app
from puskesos.extensions import db
from tests.conftest import database_url


@pytest.fixture
def empty_app(backend, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_diff() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_gives_the_models_schema(empty_app):
    upgrade()
    assert schema_diff() == []


def test_downgrade_removes_everything_and_upgrade_again(empty_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert schema_diff() == []


def test_postgres_migration_installs_the_audit_trigger(empty_app, backend):
    if backend != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    upgrade()
    with db.engine.connect() as conn:
        triggers = {row[0] for row in conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal")}
    assert triggers == {"audit_event_no_update", "audit_event_no_truncate", "audit_event_at_head"}


def test_0007_encrypts_the_plain_rows_of_0006_and_they_stay_searchable(empty_app, backend):
    """A database of 0006 (plain NIK, KK and phones, a referral pointing at the case) upgraded: every value is
    ciphertext under the key id, the hashes are there, the model reads and search finds; the downgrade decrypts."""
    from sqlalchemy import select, text

    from puskesos.cases.models import Case
    from puskesos.cases.services import same_person

    nik, kk = "1603011204850001", "1603010101100077"
    upgrade(revision="0006")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO region (code, name, level) VALUES ('16.03.01.2011', 'Embawang', 4)"))
        conn.execute(text("INSERT INTO user_account (id, username, full_name, password_hash, role, active, "
                          "created_at) VALUES (1, 'officer', 'Officer', 'x', 'officer', true, '2026-01-01')"))
        conn.execute(text("INSERT INTO agency (id, name, kind, region_code, active, created_at) "
                          "VALUES (1, 'BPJS', 'bpjs_kesehatan', '16.03.01.2011', true, '2026-01-01')"))
        for i in (1, 2, 3):
            conn.execute(text(
                "INSERT INTO case_file (id, number, state, version, category, description, urgency, village_code, "
                "district_code, regency_code, province_code, nik, kk_number, name, phone, reporter_phone, dtks_status, "
                "due_estimated, created_by_id, created_at, updated_by_id, updated_at, step_started_at) VALUES "
                "(:id, :number, 'registered', 1, 'health', 'x', 'normal', '16.03.01.2011', '16.03.01', '16.03', "
                "'16', :nik, :kk, 'Siti', '+6281277889900', :reporter, 'unknown', false, 1, '2026-01-01', 1, "
                "'2026-01-01', '2026-01-01')"),
                {"id": i, "number": f"SLRT-1603-2026-00000{i}", "nik": nik[:-1] + str(i),
                 "kk": kk if i < 3 else None, "reporter": "+6281311112222" if i == 1 else None})
        conn.execute(text("INSERT INTO referral (id, case_id, agency_id, service, reason, consent, status, "
                          "created_by_id, created_at, due_estimated) VALUES (1, 1, 1, 's', 'r', 'written', "
                          "'pending', 1, '2026-01-01', false)"))
    upgrade()
    assert schema_diff() == []
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT nik, kk_number, phone, reporter_phone, nik_hash, kk_hash FROM case_file "
                                   "ORDER BY id")).all()
    assert all(value.startswith("dev:") for row in stored for value in row[:4] if value is not None)
    assert not any(nik[:-1] in str(row) or kk in str(row) or "81277889900" in str(row) for row in stored)
    assert stored[2].kk_number is None and stored[2].kk_hash is None and stored[0].kk_hash == stored[1].kk_hash
    cases = db.session.execute(select(Case).order_by(Case.id)).scalars().all()
    assert [(c.nik, c.kk_number, c.phone) for c in cases] == [
        (nik, kk, "+6281277889900"), (nik[:-1] + "2", kk, "+6281277889900"), (nik[:-1] + "3", None,
                                                                              "+6281277889900")]
    assert cases[0].reporter_phone == "+6281311112222"
    assert [c.id for c in db.session.execute(select(Case).where(same_person(nik, None))).scalars()] == [1]
    assert [c.id for c in db.session.execute(select(Case).where(same_person(None, kk))).scalars()] == [1, 2]
    db.session.remove()

    if backend == "sqlite":
        return  # going down passes 0008, whose rebuild of case_file SQLite refuses while referrals point at it
    downgrade(revision="0006")
    with db.engine.connect() as conn:
        plain = conn.execute(text("SELECT nik, kk_number, reporter_phone FROM case_file ORDER BY id")).all()
    assert [tuple(row) for row in plain] == [(nik, kk, "+6281311112222"), (nik[:-1] + "2", kk, None),
                                             (nik[:-1] + "3", None, None)]
