"""Signed checkpoints: a rewrite of the log by the table's owner, hashes recomputed and all, passes the plain chain
check but not the checkpoints, which name the first affected event. Also: keys, the checkpoint file's own integrity,
refusing to sign a broken chain, the supervisors' page and the published public key.

The tampering runs as the table's owner would: on PostgreSQL it switches the table's triggers off first.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from puskesos.audit import checkpoints
from puskesos.audit.chain import canonical, event_hash, hashed_fields, verify
from puskesos.audit.models import AuditEvent
from puskesos.cases import services
from puskesos.cases.workflow import State
from puskesos.core import timeutil
from puskesos.extensions import db
from tests import factories
from tests.helpers import login

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def signed(app, world, backend, tmp_path):
    """A case taken to `in_service`, a key pair, and checkpoints configured (none taken yet)."""
    case = factories.case_in(State.IN_SERVICE, world)
    key, pub = checkpoints.keygen(tmp_path / "keys")
    log = tmp_path / "checkpoints.jsonl"
    app.config.update(AUDIT_SIGNING_KEY=str(key), AUDIT_CHECKPOINTS=str(log))
    return SimpleNamespace(app=app, world=world, backend=backend, case=case, key=key, pub=pub, log=log,
                           tmp=tmp_path)


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", *args])


def checkpoint(s) -> dict:
    result = run(s.app, "checkpoint")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def verify_against(s, pub: Path | None = None):
    return run(s.app, "verify", "--checkpoints", str(s.log), "--public-key", str(pub or s.pub))


def head() -> int:
    return db.session.execute(select(func.max(AuditEvent.seq))).scalar_one()


def rows_from(seq: int) -> list[dict]:
    return [dict(r._mapping) for r in db.session.execute(
        select(*AuditEvent.__table__.c).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq))]


def as_owner(backend: str, *statements: tuple[str, dict]) -> None:
    """What the table's owner can do: switch the append-only triggers off, change rows, switch them on again."""
    if backend == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    for sql, params in statements:
        db.session.execute(text(sql), params)
    if backend == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    db.session.commit()


def rehash(rows: list[dict], prev: str) -> list[tuple[str, dict]]:
    """UPDATEs that give `rows` (in order, possibly renumbered) prev-hashes and hashes that link up from `prev`."""
    statements = []
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, hashed_fields(SimpleNamespace(**row)))
        statements.append(("UPDATE audit_event SET details = :details, prev_hash = :prev_hash, hash = :hash "
                           "WHERE seq = :seq", row))
    return statements


def rewrite_details(backend: str, seq: int, **changes) -> None:
    """The tamper script: change one event's details, then recompute every hash from it to the head."""
    rows = rows_from(seq)
    rows[0]["details"] = json.dumps({**json.loads(rows[0]["details"]), **changes}, separators=(",", ":"))
    as_owner(backend, *rehash(rows, rows[0]["prev_hash"]))


def reveal(s, times: int = 1) -> None:
    """Events that touch no case's version (a NIK shown): cut off at the end, the plain check cannot tell."""
    for _ in range(times):
        services.reveal_nik(s.case, s.world.caseworker)
        db.session.commit()


# -- the tamper test -------------------------------------------------------------------------------------------


def test_a_rewrite_with_recomputed_hashes_passes_the_chain_but_not_the_checkpoints(signed):
    first = checkpoint(signed)
    assert (first["seq"], first["events"], first["after"]) == (head(), head(), 0)
    assert [seq for seq, _ in first["anchors"]] == list(range(1, head() + 1))  # a short interval: every event
    edited = head() - 5
    rewrite_details(signed.backend, edited, note="diubah oleh pemilik tabel")

    plain = run(signed.app, "verify")
    assert plain.exit_code == 0 and "audit chain intact" in plain.output  # the chain alone cannot tell

    result = verify_against(signed)
    assert result.exit_code == 1
    assert f"checkpoint line 1 at event {edited}:" in result.output
    with pytest.raises(checkpoints.CheckpointError) as caught:
        checkpoints.verify_checkpoints(signed.log, checkpoints.load_public_key(signed.pub))
    assert caught.value.seq == edited


def test_renumbering_after_a_deleted_event_is_caught_at_that_event(signed):
    reveal(signed)
    deleted = head()
    factories.fire(signed.case, "report_service", signed.world.agency_user,
                   referral_id=signed.case.referrals[0].id, service_given="PBI aktif",
                   delivered_on=timeutil.today().isoformat())
    checkpoint(signed)
    later = rows_from(deleted + 1)
    for row in later:
        row["seq"] -= 1
    as_owner(signed.backend,
             ("DELETE FROM audit_event WHERE seq = :s", {"s": deleted}),
             ("UPDATE audit_event SET seq = seq - 1 WHERE seq > :s", {"s": deleted}),
             *rehash(later, rows_from(deleted - 1)[0]["hash"]))
    assert run(signed.app, "verify").exit_code == 0  # the NIK view is gone without a trace in the chain

    result = verify_against(signed)
    assert result.exit_code == 1 and f"at event {deleted}:" in result.output


def test_a_tail_cut_off_behind_the_last_checkpoint_is_caught(signed):
    reveal(signed, 3)
    signed_head = checkpoint(signed)["seq"]
    as_owner(signed.backend, ("DELETE FROM audit_event WHERE seq > :s", {"s": signed_head - 3}))
    assert run(signed.app, "verify").exit_code == 0

    result = verify_against(signed)
    assert result.exit_code == 1
    assert f"at event {signed_head - 2}:" in result.output and "cut off" in result.output


def test_a_deleted_middle_event_is_caught(signed):
    checkpoint(signed)
    gone = head() // 2
    as_owner(signed.backend, ("DELETE FROM audit_event WHERE seq = :s", {"s": gone}))
    result = verify_against(signed)
    assert result.exit_code == 1 and f"at event {gone}:" in result.output and "missing" in result.output


def test_a_long_interval_is_named_as_precisely_as_its_anchors_allow(signed):
    reveal(signed, 300)
    line = checkpoint(signed)
    assert len(line["anchors"]) <= checkpoints.MAX_ANCHORS and line["anchors"][-1][0] == line["seq"]
    edited = head() - 150
    rewrite_details(signed.backend, edited, field="kk")
    with pytest.raises(checkpoints.CheckpointError) as caught:
        checkpoints.verify_checkpoints(signed.log, checkpoints.load_public_key(signed.pub))
    message = str(caught.value)
    stride = line["anchors"][-1][0] - line["anchors"][-2][0]
    assert stride > 1 and "between event" in message
    assert edited - stride < caught.value.seq <= edited  # the range starts after the last anchor still as signed
    assert f"between event {caught.value.seq} and event " in message


def test_anchors_are_bounded_and_even():
    assert checkpoints.anchor_seqs(10, 10) == []
    assert checkpoints.anchor_seqs(0, 5) == [1, 2, 3, 4, 5]
    seqs = checkpoints.anchor_seqs(100, 1_000_100)
    assert len(seqs) <= checkpoints.MAX_ANCHORS and seqs[-1] == 1_000_100 and seqs[0] > 100
    assert len({b - a for a, b in itertools.pairwise(seqs)}) == 1


# -- the checkpoint file and the key -------------------------------------------------------------------------


def test_an_edited_checkpoint_line_fails_its_signature(signed):
    checkpoint(signed)
    reveal(signed)
    checkpoint(signed)
    lines = signed.log.read_text().splitlines()
    forged = json.loads(lines[1])
    forged["events"] += 1
    signed.log.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    result = verify_against(signed)
    assert result.exit_code == 1 and "checkpoint line 2: the signature does not verify" in result.output


def test_checkpoint_lines_out_of_order_are_caught(signed):
    checkpoint(signed)
    reveal(signed)
    checkpoint(signed)
    first, second = signed.log.read_text().splitlines()
    signed.log.write_text(second + "\n" + first + "\n")
    result = verify_against(signed)
    assert result.exit_code == 1 and "checkpoint line 1 is out of order" in result.output


def test_a_wrong_public_key_is_refused(signed):
    checkpoint(signed)
    _, other = checkpoints.keygen(signed.tmp / "other")
    result = verify_against(signed, other)
    assert result.exit_code == 1 and "not with the given public key" in result.output


def test_keygen_refuses_to_overwrite_and_keeps_the_private_key_private(app, tmp_path):
    out = tmp_path / "keys"
    result = run(app, "keygen", "--out", str(out))
    assert result.exit_code == 0, result.output
    key, pub = out / "audit-signing.key", out / "audit-signing.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = key.read_bytes(), pub.read_bytes()

    again = run(app, "keygen", "--out", str(out))
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
    assert (key.read_bytes(), pub.read_bytes()) == before
    pub.unlink()  # either file alone is enough to refuse
    assert run(app, "keygen", "--out", str(out)).exit_code == 1
    assert key.read_bytes() == before[0]


def test_keygen_runs_without_the_apps_environment_or_directory(tmp_path):
    """README: `python -m puskesos.audit.cli keygen` as the job's user, before any of the app's settings exist."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}  # no SECRET_KEY, no DATABASE_URL, no PII keys
    out = tmp_path / "new" / "keys"
    made = subprocess.run([sys.executable, "-m", "puskesos.audit.cli", "keygen", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o700  # made for the key: the job user's alone
    assert stat.S_IMODE((out / "audit-signing.key").stat().st_mode) == 0o600
    checkpoints.load_private_key(out / "audit-signing.key")
    again = subprocess.run([sys.executable, "-m", "puskesos.audit.cli", "keygen", "--out", str(out)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr and "Traceback" not in again.stderr


def test_checkpoint_without_configuration_says_what_is_missing(app, world, tmp_path):
    result = run(app, "checkpoint")
    assert result.exit_code == 1 and "AUDIT_SIGNING_KEY is not set" in result.output
    app.config.update(AUDIT_SIGNING_KEY=str(tmp_path / "nothing.key"), AUDIT_CHECKPOINTS=str(tmp_path / "c"))
    result = run(app, "checkpoint")
    assert result.exit_code == 1 and "cannot read" in result.output and "Traceback" not in result.output


# -- signing -------------------------------------------------------------------------------------------------


def test_two_checkpoints_in_a_row_then_more_events(signed):
    first, second = checkpoint(signed), checkpoint(signed)
    assert (second["seq"], second["after"], second["anchors"]) == (first["seq"], first["seq"], [])
    reveal(signed, 2)
    third = checkpoint(signed)
    assert third["after"] == first["seq"] and [a[0] for a in third["anchors"]] == [head() - 1, head()]
    result = verify_against(signed)
    assert result.exit_code == 0, result.output
    assert f"{head()} events, agreeing with 3 signed checkpoints" in result.output


def test_checkpoint_refuses_to_sign_a_broken_chain(signed):
    checkpoint(signed)
    reveal(signed, 2)
    broken = head() - 1
    as_owner(signed.backend, ("UPDATE audit_event SET details = '{}' WHERE seq = :s", {"s": broken}))
    result = run(signed.app, "checkpoint")
    assert result.exit_code == 1 and f"refusing to sign: audit chain broken at event {broken}" in result.output
    assert len(signed.log.read_text().splitlines()) == 1


def test_checkpoint_refuses_to_sign_over_a_rewrite_of_what_it_signed_before(signed):
    checkpoint(signed)
    edited = head() - 2
    rewrite_details(signed.backend, edited, note="palsu")
    reveal(signed)
    result = run(signed.app, "checkpoint")
    assert result.exit_code == 1 and f"at event {edited}:" in result.output
    assert len(signed.log.read_text().splitlines()) == 1


def test_verify_since_the_last_checkpoint(signed):
    checkpoint(signed)
    reveal(signed, 3)
    result = run(signed.app, "verify", "--since-checkpoint")
    assert result.exit_code == 0, result.output
    anchored = len(json.loads(signed.log.read_text())["anchors"])
    assert f"the {anchored} events it anchors (its head, event {head() - 3}, among them) are as signed" \
        in result.output
    assert "the 3 events after it link to it" in result.output  # what it read, not counted from the head
    broken = head() - 1
    as_owner(signed.backend, ("UPDATE audit_event SET details = '{}' WHERE seq = :s", {"s": broken}))
    result = run(signed.app, "verify", "--since-checkpoint", "--public-key", str(signed.pub))
    assert result.exit_code == 1 and f"broken at event {broken}" in result.output


def test_concurrent_checkpoints_through_the_real_command_append_whole_lines(signed):
    """Two `flask --app wsgi audit checkpoint` processes at once: the file lock makes one follow the other."""
    db.session.commit()
    env = {**os.environ, "PUSKESOS_ENV": "development", "DATABASE_URL": db.engine.url.render_as_string(False),
           "AUDIT_SIGNING_KEY": str(signed.key), "AUDIT_CHECKPOINTS": str(signed.log)}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "audit", "checkpoint"]
    procs = [subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    lines = signed.log.read_text().splitlines()
    assert len(lines) == 2 and sorted(lines) == sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert json.loads(lines[1])["after"] == json.loads(lines[0])["seq"]
    check = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify", "--checkpoints",
                            str(signed.log), "--public-key", str(signed.pub)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert "agreeing with 2 signed checkpoints" in check.stdout


# -- the page and the public key -------------------------------------------------------------------------------


def test_supervisors_see_the_checkpoints_and_whether_they_verify(signed, client):
    older = checkpoint(signed)["seq"]
    reveal(signed)
    newer = checkpoint(signed)["seq"]
    login(client, "supervisor")
    log_page = client.get("/audit").get_data(as_text=True)
    assert 'href="/audit/checkpoints"' in log_page
    page = client.get("/audit/checkpoints")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count('class="checkpoint-row"') == 2 and body.count("signature-valid") == 2
    assert body.index(f"<td>{newer}</td>") < body.index(f"<td>{older}</td>")  # newest first
    assert "/audit/signing-key.pub" in body

    lines = signed.log.read_text().splitlines()
    signed.log.write_text(lines[0] + "\n" + lines[1].replace('"events":', '"events":1') + "\nnot json\n")
    body = client.get("/audit/checkpoints").get_data(as_text=True)
    assert body.count("signature-valid") == 1 and body.count("signature-invalid") == 2


@pytest.mark.parametrize("username", [None, "officer_a", "caseworker", "bpjs_user", "admin"])
def test_other_roles_get_the_same_answer_as_for_the_audit_log(signed, client, username):
    checkpoint(signed)
    if username:
        login(client, username)
    pages, log = client.get("/audit/checkpoints"), client.get("/audit")
    assert pages.status_code == log.status_code == (404 if username else 302)
    assert pages.headers.get("Location", "").split("?")[0] == log.headers.get("Location", "").split("?")[0]


def test_the_page_says_when_nothing_is_configured(app, world, client):
    login(client, "supervisor")
    page = client.get("/audit/checkpoints")
    assert page.status_code == 200 and "checkpoints-unconfigured" in page.get_data(as_text=True)


def test_the_public_key_is_published_without_login(signed, client):
    answer = client.get("/audit/signing-key.pub")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.get_data() == signed.pub.read_bytes()
    signed.app.config.update(AUDIT_SIGNING_KEY=None)
    answer = client.get("/audit/signing-key.pub")
    assert answer.status_code == 404 and answer.mimetype == "text/plain"
    assert "belum dikonfigurasi" in answer.get_data(as_text=True)


def test_the_chain_itself_still_verifies(signed):
    checkpoint(signed)
    assert verify().ok


# -- what a hostile probe found (issue 8) ---------------------------------------------------------------------


def sign(s, fields: dict) -> str:
    """A checkpoint line signed with the real key: what a bug, or an older version, could have written."""
    key = checkpoints.load_private_key(s.key)
    signature = base64.b64encode(key.sign(canonical(fields).encode())).decode()
    return canonical({**fields, "signature": signature})


def following(line: str, **changes) -> dict:
    """The fields of a checkpoint after a quiet hour following `line`, with `changes`."""
    before = json.loads(line)
    fields = {name: value for name, value in before.items() if name != "signature"}
    return {**fields, "after": before["seq"], "previous": hashlib.sha256(line.encode()).hexdigest(), "anchors": [],
            **changes}


def test_a_rewrite_up_to_a_quiet_checkpoint_is_caught_from_it_and_never_signed(signed):
    """A quiet hour's checkpoint signs no anchors, only its head: that head is still compared with the event there."""
    reveal(signed, 3)
    checkpoint(signed)
    quiet = checkpoint(signed)
    assert (quiet["after"], quiet["anchors"]) == (quiet["seq"], [])
    reveal(signed, 2)
    # The owner cuts what came after the checkpoint, edits an earlier event and recomputes the hashes to its head.
    as_owner(signed.backend, ("DELETE FROM audit_event WHERE seq > :s", {"s": quiet["seq"]}))
    edited = quiet["seq"] - 2
    rewrite_details(signed.backend, edited, note="diubah oleh pemilik tabel")
    assert run(signed.app, "verify").exit_code == 0

    since = run(signed.app, "verify", "--since-checkpoint")
    assert since.exit_code == 1
    assert f"differs from the last checkpoint at or before event {quiet['seq']}: its hash is not the one signed" \
        in since.output
    refused = run(signed.app, "checkpoint")
    assert refused.exit_code == 1 and f"at or before event {quiet['seq']}" in refused.output
    assert len(signed.log.read_text().splitlines()) == 2  # the rewritten head was not signed
    full = verify_against(signed)
    assert full.exit_code == 1 and f"at event {edited}:" in full.output


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "busy"])
def test_a_tail_cut_back_behind_the_last_checkpoint_is_named_from_its_first_missing_event(signed, quiet):
    reveal(signed, 20)
    checkpoint(signed)
    if not quiet:
        reveal(signed, 5)
    last = checkpoint(signed)
    cut = last["seq"] - 13  # before the previous checkpoint's head too
    as_owner(signed.backend, ("DELETE FROM audit_event WHERE seq >= :s", {"s": cut}))
    assert run(signed.app, "verify").exit_code == 0

    for command in (["verify", "--since-checkpoint"], ["checkpoint"],
                    ["verify", "--checkpoints", str(signed.log), "--public-key", str(signed.pub)]):
        result = run(signed.app, *command)
        assert result.exit_code == 1, command
        assert f"at event {cut}: the chain ends at event {cut - 1}, before the head of" in result.output, command
        assert "events were cut off" in result.output and "out of order" not in result.output
    assert len(signed.log.read_text().splitlines()) == 2  # no older head signed after a newer one


def test_a_tail_cut_between_distant_anchors_is_named_from_its_first_missing_event(signed):
    reveal(signed, 300)
    line = checkpoint(signed)
    anchors = [seq for seq, _ in line["anchors"]]
    assert anchors[-2] - anchors[-3] > 2  # checkpoints more than 128 events apart: anchors a stride apart
    kept = anchors[-3] + 1  # the chain now ends between two anchors
    as_owner(signed.backend, ("DELETE FROM audit_event WHERE seq > :s", {"s": kept}))

    with pytest.raises(checkpoints.CheckpointError) as caught:
        checkpoints.verify_checkpoints(signed.log, checkpoints.load_public_key(signed.pub))
    assert caught.value.seq == kept + 1
    assert f"at event {kept + 1}: the chain ends at event {kept}, before the head" in str(caught.value)
    assert "between" not in str(caught.value)
    since = run(signed.app, "verify", "--since-checkpoint")
    assert since.exit_code == 1 and f"at event {kept + 1}: the chain ends at event {kept}," in since.output


def test_a_signed_line_older_than_the_one_before_it_is_named_a_cut_back_chain(signed):
    """`checkpoint` no longer signs one; a file written before may hold one, and verify says what it means."""
    reveal(signed, 5)
    first = checkpoint(signed)
    older = first["seq"] - 3
    hash_ = rows_from(older)[0]["hash"]
    text = signed.log.read_text().splitlines()[0]
    with signed.log.open("a") as f:
        f.write(sign(signed, following(text, seq=older, hash=hash_, events=older)) + "\n")
    result = verify_against(signed)
    assert result.exit_code == 1 and "out of order" not in result.output
    assert f"checkpoint line 2 signs event {older}, an older head than checkpoint line 1 (event {first['seq']})" \
        in result.output


def test_the_page_shows_a_line_that_does_not_follow_the_one_before_as_not_valid(signed, client):
    """Two signed lines for one event with different hashes (what `checkpoint` signed before it compared the
    head): each signature verifies, but the second line cannot follow the first."""
    checkpoint(signed)
    text = signed.log.read_text().splitlines()[0]
    with signed.log.open("a") as f:
        f.write(sign(signed, following(text, hash="f" * 64)) + "\n")
        f.write(sign(signed, following(text)) + "\n")  # follows line 1, not the line before it
    login(client, "supervisor")
    body = client.get("/audit/checkpoints").get_data(as_text=True)
    assert body.count('class="checkpoint-row"') == 3
    assert body.count("signature-valid") == 1 and body.count("signature-invalid") == 2
    assert body.rindex("signature-valid") > body.rindex("signature-invalid")  # the oldest, last, is the valid one


def test_the_web_servers_need_only_the_public_key(signed, client):
    """Only the checkpoint job holds the private key; the pages and `verify` read AUDIT_PUBLIC_KEY."""
    checkpoint(signed)
    signed.app.config.update(AUDIT_SIGNING_KEY=None, AUDIT_PUBLIC_KEY=str(signed.pub))
    answer = client.get("/audit/signing-key.pub")
    assert answer.status_code == 200 and answer.get_data() == signed.pub.read_bytes()
    login(client, "supervisor")
    body = client.get("/audit/checkpoints").get_data(as_text=True)
    assert body.count("signature-valid") == 1 and checkpoints.key_id(checkpoints.load_public_key(signed.pub)) in body
    assert run(signed.app, "verify", "--since-checkpoint").exit_code == 0
    assert run(signed.app, "verify", "--checkpoints", str(signed.log)).exit_code == 0
    refused = run(signed.app, "checkpoint")
    assert refused.exit_code == 1 and "AUDIT_SIGNING_KEY is not set" in refused.output


def test_checkpoint_refuses_a_key_other_than_the_published_one(signed):
    _, other = checkpoints.keygen(signed.tmp / "other")
    signed.app.config.update(AUDIT_PUBLIC_KEY=str(other))
    result = run(signed.app, "checkpoint")
    assert result.exit_code == 1 and "is not the private half of AUDIT_PUBLIC_KEY" in result.output
    assert not signed.log.exists()


@pytest.mark.parametrize(("created_at", "valid"), [
    ("9999-12-31T23:59:59-23:59", False),
    ("0001-01-01T00:00:00+01:00", False),
    ("9999-12-31T20:00:00+00:00", False),  # shown in WIB, 7 hours later: past the calendar's end
    ("2026-05-04T10:00:00", False),  # no offset: not a time this file holds
    ("2026-05-04T10:00:00+07:00", True),
])
def test_a_line_with_an_impossible_time_is_shown_as_not_valid(signed, client, created_at, valid):
    checkpoint(signed)
    text = signed.log.read_text().splitlines()[0]
    with signed.log.open("a") as f:
        f.write(sign(signed, following(text, created_at=created_at)) + "\n")
    login(client, "supervisor")
    page = client.get("/audit/checkpoints")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("signature-valid") == (2 if valid else 1)
    assert (verify_against(signed).exit_code == 0) is valid


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=6)
TIMES = st.builds(lambda when, minutes: when.isoformat() + f"{'+' if minutes >= 0 else '-'}"
                                                            f"{abs(minutes) // 60:02}:{abs(minutes) % 60:02}",
                  st.datetimes() | st.sampled_from([dt.datetime.min, dt.datetime.max]),  # the calendar's ends too
                  st.integers(-1439, 1439)) | st.text(max_size=30)
TYPED = {"seq": st.integers(), "hash": st.text(max_size=70), "created_at": TIMES, "events": st.integers(),
         "key_id": st.text(max_size=50), "after": st.integers(), "previous": st.none() | st.text(max_size=70),
         "signature": st.text(max_size=100),
         "anchors": st.lists(st.tuples(st.integers(), st.text(max_size=20)).map(list), max_size=4)}
LINES = st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.text(max_size=10), JSON, max_size=5).map(json.dumps),
    st.fixed_dictionaries({}, optional={name: kind | JSON for name, kind in TYPED.items()}).map(json.dumps),
    st.fixed_dictionaries(TYPED).map(json.dumps),  # every field of the right type: only the values are wrong
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(LINES, min_size=1, max_size=4), keep_real=st.booleans())
@example(lines=['{"created_at":"9999-12-31T23:59:59-23:59","seq":1,"hash":"","events":1,"key_id":"",'
                '"after":0,"anchors":[],"signature":""}', "[" * 100_000, '{"signature":"\\ud800"}'], keep_real=True)
def test_no_line_in_the_checkpoint_file_makes_the_page_fail(fuzz_page, lines, keep_real):
    s, client, real = fuzz_page
    data = (real + "\n" if keep_real else "") + "\n".join(lines) + "\n"
    s.log.write_bytes(data.encode("utf-8", "surrogatepass"))
    listed = checkpoints.listing(s.app.config, 100)
    fuzzed = listed.rows[:-1] if keep_real else listed.rows  # newest first: the real line is the oldest
    assert listed.state == "ok" and not any(row.verified for row in fuzzed)
    page = client.get("/audit/checkpoints")
    assert page.status_code == 200


@pytest.fixture
def fuzz_page(signed, client):
    checkpoint(signed)
    real = signed.log.read_text().splitlines()[0]
    login(client, "supervisor")
    return signed, client, real
