"""NIK, KK and phone numbers encrypted at rest: what the database holds, how search still finds, who saw a full
number, and `flask keys rotate`."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import inspect, select, text

from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import details_of
from puskesos.cases import services
from puskesos.cases.models import Case
from puskesos.core import pii
from puskesos.extensions import db
from puskesos.keys import services as keys
from tests import factories
from tests.helpers import send, signed_in

KK = "1603010101100077"


def register(officer, **overrides) -> Case:
    """A case through the service, saved although the NIK or family card already has one."""
    case, _warnings = services.register(officer, factories.intake(**overrides), confirm_duplicate=True)
    db.session.commit()
    return case


def raw(case_id: int) -> dict:
    """The row as stored, read with plain SQL."""
    row = db.session.execute(text("SELECT nik, kk_number, phone, reporter_phone, nik_hash, kk_hash FROM case_file "
                                  "WHERE id = :id"), {"id": case_id}).mappings().one()
    return dict(row)


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def events(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.seq)).scalars())


def new_key() -> str:
    return pii.generate_key()


def test_the_table_holds_ciphertext_under_a_key_id_and_the_model_reads_plain_text(app, world):
    case = factories.register(world.officer, kk_number=KK, reporter_name="Ani", reporter_relation="anak",
                              reporter_phone="0813 1111 2222")
    nik = case.nik
    stored = raw(case.id)
    for column in ("nik", "kk_number", "phone", "reporter_phone"):
        assert stored[column].startswith("dev:"), column  # the key id travels with the value
        assert not re.search(r"\d{10}", stored[column]), column
    assert nik not in str(stored) and KK not in str(stored) and "81277889900" not in str(stored)
    assert "81311112222" not in str(stored)
    # Two cases of the same number: different ciphertexts (a fresh nonce each), the same keyed hash.
    twin = register(world.officer, nik=nik, kk_number=KK)
    assert raw(twin.id)["nik"] != stored["nik"]
    assert raw(twin.id)["nik_hash"] == stored["nik_hash"] and raw(twin.id)["kk_hash"] == stored["kk_hash"]
    assert re.fullmatch(r"[0-9a-f]{64}", stored["nik_hash"])

    again = fresh(case.id)
    assert (again.nik, again.kk_number, again.phone, again.reporter_phone) == (nik, KK, "+6281277889900",
                                                                              "+6281311112222")
    assert again.nik_masked == nik[:4] + "********" + nik[-4:]


def test_a_value_moved_to_another_column_or_tampered_with_does_not_decrypt(app, world):
    case = factories.register(world.officer, kk_number=KK)
    case_id, number = case.id, case.number
    db.session.execute(text("UPDATE case_file SET kk_number = nik WHERE id = :id"), {"id": case_id})
    db.session.commit()
    with pytest.raises(pii.DecryptionFailed, match=r"case_file\.kk_number"):
        fresh(case_id).kk_number  # noqa: B018  (reading is the test)
    db.session.rollback()

    stored = raw(case_id)["nik"]
    kid, body = stored.split(":")
    flipped = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    flipped[-1] ^= 1
    db.session.execute(text("UPDATE case_file SET nik = :v, kk_number = NULL WHERE id = :id"),
                       {"v": f"{kid}:{base64.urlsafe_b64encode(bytes(flipped)).decode()}", "id": case_id})
    db.session.commit()
    with pytest.raises(pii.DecryptionFailed) as failure:
        fresh(case_id).nik  # noqa: B018
    assert number not in str(failure.value) and "does not decrypt" in str(failure.value)


def test_search_and_the_duplicate_check_go_through_the_keyed_hash(app, world):
    case = factories.register(world.officer, kk_number=KK)
    nik = case.nik

    def found(q: str) -> list[str]:
        query = services.scoped_cases(world.caseworker, services.CaseFilters(q=q))
        return [c.number for c in db.session.execute(query).scalars()]

    assert found(nik) == [case.number]
    assert found(f"{nik[:6]} {nik[6:12]} {nik[12:]}") == [case.number]
    assert found(KK) == [case.number]
    assert found(nik[:12]) == []

    # Registering the same NIK, or another NIK with the same family card, warns before saving.
    for same in ({"nik": nik}, {"nik": factories.nik(), "kk_number": KK}):
        with pytest.raises(services.DuplicateFound) as dup:
            services.register(world.officer, factories.intake(**same))
        assert [c.number for c in dup.value.cases] == [case.number]
        db.session.rollback()
    assert [c.number for c in services.complainant_history(world.caseworker, None, KK)] == [case.number]

    # Comparing the encrypted column itself would silently match nothing: it is refused.
    with pytest.raises(TypeError, match="keyed hash"):
        select(Case).where(Case.nik == nik)


def test_erasing_a_number_clears_its_hash(app, world):
    case = factories.register(world.officer, kk_number=KK)
    case.nik, case.kk_number = None, None
    db.session.commit()
    stored = raw(case.id)
    assert stored["nik"] is None and stored["nik_hash"] is None and stored["kk_hash"] is None
    assert fresh(case.id).nik_masked == ""


def test_opening_the_edit_form_is_a_pii_view_of_nik_and_kk(app, world):
    case = factories.register(world.officer, kk_number=KK)
    client = signed_in(app, "officer_a")
    page = send(client, "GET", f"/cases/{case.number}/edit").get_data(as_text=True)
    assert f'value="{case.nik}"' in page and f'value="{KK}"' in page  # shown in full, to be corrected
    viewed = events("pii.viewed")
    assert [(e.case_id, e.actor_name, details_of(e)["field"]) for e in viewed] == [
        (case.id, "officer_a", "nik"), (case.id, "officer_a", "kk_number")]
    # A caseworker, who may not edit, is sent back to the case page: nothing shown, nothing recorded.
    send(signed_in(app, "caseworker"), "GET", f"/cases/{case.number}/edit")
    assert len(events("pii.viewed")) == 2
    assert verify().ok


def rotate_keys(app, *, keys_value: str, current: str, hash_key: str | None = None,
                previous_hash: str | None = None) -> None:
    app.config.update(PII_KEYS=keys_value, PII_KEY_ID=current)
    if hash_key is not None:
        app.config.update(PII_HASH_KEY=hash_key, PII_HASH_KEY_PREVIOUS=previous_hash)


def key_ids() -> list[str]:
    rows = db.session.execute(text("SELECT nik, kk_number, phone FROM case_file ORDER BY id")).all()
    return [pii.key_id(value) for row in rows for value in row if value]


def test_keys_rotate_is_interruptible_resumable_and_the_old_key_can_then_go(app, world):
    made = [register(world.officer, kk_number=KK if i % 2 else None) for i in range(5)]
    niks = {c.id: c.nik for c in made}
    old = app.config["PII_KEYS"]
    fresh_key = new_key()
    rotate_keys(app, keys_value=f"{old},k2={fresh_key}", current="k2")

    def stop_after_first_batch(_rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        keys.rotate(batch_size=2, progress=stop_after_first_batch)
    ids = key_ids()
    assert ids.count("k2") == len([v for c in made[:2] for v in (c.nik, c.kk_number, c.phone) if v])
    assert "dev" in ids  # the rest waits for the next run
    # Meanwhile every case reads, under either key, and new values use the new one.
    assert [fresh(c.id).nik for c in made] == list(niks.values())
    late = factories.register(world.officer)
    assert raw(late.id)["nik"].startswith("k2:")

    result = keys.rotate(batch_size=2)
    assert result.completed and result.reencrypted > 0 and set(key_ids()) == {"k2"}
    assert keys.rotate(batch_size=2).reencrypted == 0  # nothing left: a third run writes nothing

    rotate_keys(app, keys_value=f"k2={fresh_key}", current="k2")  # the old key removed
    assert [fresh(c.id).nik for c in made] == list(niks.values())
    query = services.scoped_cases(world.caseworker, services.CaseFilters(q=niks[made[3].id]))
    assert [c.id for c in db.session.execute(query).scalars()] == [made[3].id]

    runs = [details_of(e) for e in events("keys.rotated")]
    assert [(r["completed"], r["key_id"]) for r in runs] == [(False, "k2"), (True, "k2"), (True, "k2")]
    assert runs[0]["rows"] == 2 and runs[1]["rows"] == 6  # the second run went over every row again
    assert verify().ok


def test_the_rotate_command_rewraps_the_audit_logs_case_keys_so_the_old_key_can_go(app, world):
    case = register(world.officer, name="Siti Rotasi")
    old = app.config["PII_KEYS"]
    fresh_key = new_key()
    rotate_keys(app, keys_value=f"{old},k2={fresh_key}", current="k2")
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "1 audit case key(s) rewrapped" in result.output
    db.session.rollback()  # forget the case keys this session opened
    rotate_keys(app, keys_value=f"k2={fresh_key}", current="k2")  # the old key removed
    created = next(e for e in events("case.created") if e.case_id == case.id)
    assert details_of(created)["fields"]["name"] == "Siti Rotasi"  # the log still reads under the new key
    assert "Siti Rotasi" not in created.details
    assert verify().ok


def test_a_new_hash_key_is_recomputed_and_search_works_throughout_with_the_previous_one(app, world):
    case = factories.register(world.officer, kk_number=KK)
    old_hash = app.config["PII_HASH_KEY"]
    rotate_keys(app, keys_value=app.config["PII_KEYS"], current=app.config["PII_KEY_ID"], hash_key=new_key(),
                previous_hash=old_hash)

    def found() -> list[int]:
        query = services.scoped_cases(world.caseworker, services.CaseFilters(q=KK))
        return [c.id for c in db.session.execute(query).scalars()]

    before = raw(case.id)["kk_hash"]
    assert found() == [case.id]  # not yet re-hashed: found through the previous key
    result = keys.rotate()
    assert result.rehashed == 2 and result.reencrypted == 0 and raw(case.id)["kk_hash"] != before
    app.config["PII_HASH_KEY_PREVIOUS"] = None
    assert found() == [case.id]


def test_rotate_command_refuses_an_unknown_key_id_in_one_line(app, world):
    factories.register(world.officer)
    runner = app.test_cli_runner()
    fresh_key = new_key()
    rotate_keys(app, keys_value=f"k2={fresh_key}", current="k2")  # "dev" dropped before rotating: a mistake
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: case id ") and "'dev' is not in PII_KEYS" in last

    rotate_keys(app, keys_value=f"{factories_dev_keys()},k2={fresh_key}", current="k2")
    result = runner.invoke(args=["keys", "rotate", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "1 case(s) checked under key k2: 2 value(s) re-encrypted" in result.output
    assert [details_of(e)["completed"] for e in events("keys.rotated")] == [False, True]


def factories_dev_keys() -> str:
    return pii.DEVELOPMENT_KEYS["PII_KEYS"]


def test_keys_generate_prints_working_environment_lines(app):
    result = app.test_cli_runner().invoke(args=["keys", "generate", "--kid", "2026a"])
    assert result.exit_code == 0
    lines = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    assert lines["PII_KEY_ID"] == "2026a" and lines["PII_KEYS"].startswith("2026a=")
    ring = pii.parse(lines)
    assert ring.decrypt(ring.encrypt("1603011204850001", "x"), "x") == "1603011204850001"
    assert app.test_cli_runner().invoke(args=["keys", "generate", "--kid", "no spaces"]).exit_code == 2


def test_the_app_refuses_to_start_without_keys_outside_development(monkeypatch):
    from puskesos.config import finalize

    config = {"ENV_NAME": "production", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    with pytest.raises(RuntimeError, match="PII_KEYS"):
        finalize(dict(config))
    with pytest.raises(RuntimeError, match="PII_KEY_ID"):
        finalize({**config, "PII_KEYS": f"a={new_key()}", "PII_KEY_ID": "b", "PII_HASH_KEY": new_key()})
    with pytest.raises(RuntimeError, match="32 bytes"):
        finalize({**config, "PII_KEYS": "a=c2hvcnQ=", "PII_KEY_ID": "a", "PII_HASH_KEY": new_key()})
    good = {**config, "PII_KEYS": f"a={new_key()}", "PII_KEY_ID": "a", "PII_HASH_KEY": new_key()}
    finalize(good)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_day_of_demo_use_leaves_no_full_nik_in_any_table(app):
    """`flask demo load` (every road of the workflow, through the real services), then every text column of
    every table is scanned for the demo's NIKs and family card numbers."""
    app.config["REFERRAL_SIGNOFF"] = True
    result = app.test_cli_runner().invoke(args=["demo", "load", "--count", "30"])
    assert result.exit_code == 0, result.output
    cases = db.session.execute(select(Case)).scalars().all()
    numbers = {c.nik for c in cases} | {c.kk_number for c in cases if c.kk_number}
    assert len(numbers) > 30
    hits = []
    for table in db.metadata.sorted_tables:
        columns = [c["name"] for c in inspect(db.session.connection()).get_columns(table.name)
                   if str(c["type"]).upper().startswith(("VARCHAR", "TEXT", "JSON", "CHAR"))]
        if not columns:
            continue
        quoted = ", ".join(f'"{c}"' for c in columns)
        for row in db.session.execute(text(f'SELECT {quoted} FROM "{table.name}"')):
            for column, value in zip(columns, row, strict=True):
                for run in re.findall(r"\d{16}", str(value or "")):
                    if run in numbers:
                        hits.append((table.name, column))
    assert hits == []


def test_a_nik_or_kk_typed_into_free_text_is_kept_masked(app, world):
    """Only the NIK and KK fields are encrypted: a number typed into a description or a note is masked."""
    nik = factories.nik(district="160301", birth=dt.date(1990, 7, 1))
    case = register(world.officer, description=f"Pelapor NIK {nik}, KK 1603 0115 0712 0555, minta bantuan.")
    factories.fire(case, "submit", world.officer)
    factories.fire(case, "start_assessment", world.caseworker)
    factories.fire(case, "request_info", world.caseworker, note=f"Mohon fotokopi KTP NIK {nik}")
    db.session.commit()
    row = db.session.execute(text("SELECT description, info_request FROM case_file WHERE id = :id"),
                             {"id": case.id}).one()
    assert row.description == f"Pelapor NIK {nik[:4]}********{nik[-4:]}, KK 1603********0555, minta bantuan."
    assert row.info_request == f"Mohon fotokopi KTP NIK {nik[:4]}********{nik[-4:]}"
    page = send(signed_in(app, "caseworker"), "GET", f"/cases/{case.number}").get_data(as_text=True)
    assert nik not in page and "1603011507120555" not in page
