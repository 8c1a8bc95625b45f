"""Case list latency beside a baseline measured in the same run (DESIGN.md, "How good it must be").

Fills a database with N cases in Muara Enim (bulk inserts, not the services: this measures reading),
then times the supervisor's list page (50 rows, filtered by state and area, sorted by due date) and a
minimal Flask view rendering the same 50 rows from one raw SQL query with a plain template (decrypting
the NIK it masks, as the page does). Then the same for a search by NIK: the page's posted search (keyed
hash) beside one raw query on `nik_hash`.

    .venv/bin/python bench/case_list.py --cases 200000
    .venv/bin/python bench/case_list.py --cases 1000000 --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The database is built once per URL and size and reused (pass --rebuild to start again).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

from flask import Flask, render_template_string
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from puskesos import create_app
from puskesos.accounts.services import create_user
from puskesos.cases.models import Case
from puskesos.cases.workflow import State
from puskesos.core import pii
from puskesos.extensions import db
from puskesos.regions.models import Region
from puskesos.regions.services import load_regions

PASSWORD = "bench-password"
BASELINE_SQL = text(
    "SELECT number, name, nik, village_code, category, state, due_on FROM case_file "
    "WHERE regency_code = :regency AND state = :state ORDER BY due_on, id LIMIT 50")
BASELINE_TEMPLATE = """<table>{% for r in rows %}<tr><td>{{ r.number }}</td><td>{{ r.name }}</td>
<td>{{ nik(r.nik)[:4] }}********{{ nik(r.nik)[-4:] }}</td><td>{{ r.village_code }}</td><td>{{ r.category }}</td>
<td>{{ r.state }}</td><td>{{ r.due_on }}</td></tr>{% endfor %}</table>"""
BASELINE_NIK_SQL = text(
    "SELECT number, name, nik, village_code, category, state, due_on FROM case_file "
    "WHERE regency_code = :regency AND nik_hash = :hash ORDER BY due_on, id LIMIT 50")


def nik_serial(serial: int, rng: random.Random) -> str:
    return f"160301{rng.randint(1, 28):02d}0185{serial % 10000 or 1:04d}"


def build(app: Flask, cases: int, rebuild: bool) -> None:
    with app.app_context():
        if rebuild:
            db.drop_all()
        db.create_all()
        have = db.session.execute(select(func.count()).select_from(Case)).scalar_one()
        if have >= cases:
            print(f"reusing {have:,} cases")
            return
        if not db.session.execute(select(func.count()).select_from(Region)).scalar_one():
            load_regions(["16.03"])
            create_user(None, username="bench_officer", full_name="Bench", password=PASSWORD, role="officer",
                        region_code="16.03.01.2011")
            create_user(None, username="bench_supervisor", full_name="Bench", password=PASSWORD,
                        role="supervisor", region_code="16.03")
            db.session.commit()
        villages = list(db.session.execute(select(Region.code).where(Region.level == 4)).scalars())
        officer_id = db.session.execute(text("SELECT id FROM user_account WHERE username='bench_officer'")).scalar()
        rng = random.Random(1603)
        states = [s.value for s in State]
        today = dt.date.today()
        started = time.perf_counter()
        batch = []
        for serial in range(have + 1, cases + 1):
            village = rng.choice(villages)
            state = rng.choice(states)
            nik = nik_serial(serial, rng)
            batch.append({
                "number": f"SLRT-1603-2026-{serial:07d}", "state": state, "version": 1,
                "category": "health", "description": "bench", "urgency": "normal",
                "village_code": village, "district_code": village[:8], "regency_code": "16.03",
                "province_code": "16", "nik": nik, "nik_hash": pii.blind_index(nik),  # encrypted by the column type
                "name": f"Warga {serial}", "dtks_status": "unknown", "due_estimated": False,
                "due_on": None if state == "closed" else today + dt.timedelta(days=rng.randint(-20, 20)),
                "created_by_id": officer_id, "updated_by_id": officer_id,
                "created_at": dt.datetime(2026, 1, 1), "updated_at": dt.datetime(2026, 1, 1),
                "step_started_at": dt.datetime(2026, 1, 1),
            })
            if len(batch) == 10_000:
                db.session.execute(Case.__table__.insert(), batch)
                db.session.commit()
                batch.clear()
                print(f"\r{serial:,} cases", end="", flush=True)
        if batch:
            db.session.execute(Case.__table__.insert(), batch)
            db.session.commit()
        print(f"\rinserted {cases - have:,} cases in {time.perf_counter() - started:.0f} s")
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def timed(get, runs: int) -> list[float]:
    for _ in range(5):
        get()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        resp = get()
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200, resp.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--state", default="submitted")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path('instance').resolve() / f'bench-{args.cases}.sqlite'}"
    Path("instance").mkdir(exist_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      **pii.DEVELOPMENT_KEYS,
                      "RATELIMIT_ENABLED": False})
    build(app, args.cases, args.rebuild)

    client = app.test_client()
    resp = client.post("/login", data={"username": "bench_supervisor", "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code
    ours = timed(lambda: client.get(f"/cases/?state={args.state}"), args.runs)

    baseline_app = Flask("baseline")
    with app.app_context():
        engine = db.engine  # the same engine and pool as the app's, so only the code path differs
        ring = pii.keyring()

    @baseline_app.get("/")
    def baseline_view():
        with engine.connect() as conn:
            rows = conn.execute(BASELINE_SQL, {"regency": "16.03", "state": args.state}).all()
        return render_template_string(BASELINE_TEMPLATE, rows=rows, nik=lambda v: ring.decrypt(v, "case_file.nik"))

    with app.app_context():
        sought = db.session.execute(select(Case.nik).order_by(Case.id.desc()).limit(1)).scalar_one()
        db.session.remove()  # SQLite: every transaction holds the write lock until it ends

    @baseline_app.get("/nik")
    def baseline_nik_view():
        with engine.connect() as conn:
            rows = conn.execute(BASELINE_NIK_SQL, {"regency": "16.03", "hash": ring.blind_index(sought)}).all()
        return render_template_string(BASELINE_TEMPLATE, rows=rows, nik=lambda v: ring.decrypt(v, "case_file.nik"))

    base = timed(baseline_app.test_client().get, args.runs)
    found = client.post("/cases/search", data={"q": sought})
    assert found.status_code == 303, found.status_code
    ours_nik = timed(lambda: client.get(found.headers["Location"]), args.runs)
    base_nik = timed(lambda: baseline_app.test_client().get("/nik"), args.runs)
    print(f"database: {engine.url.render_as_string(hide_password=True)}, cases: {args.cases:,}, "
          f"state={args.state}, runs: {args.runs}")
    report("case list page", ours, "baseline view", base, "median <= 30 ms and <= 2x the baseline")
    report("NIK search page", ours_nik, "baseline by hash", base_nik, "<= 2x its baseline")


def report(name: str, ours: list[float], base_name: str, base: list[float], bar: str) -> None:
    median_ours, median_base = statistics.median(ours), statistics.median(base)
    print(f"{name:16}: median {median_ours:7.2f} ms   p90 {sorted(ours)[int(len(ours) * .9)]:7.2f} ms")
    print(f"{base_name:16}: median {median_base:7.2f} ms   p90 {sorted(base)[int(len(base) * .9)]:7.2f} ms")
    print(f"{'ratio':16}: {median_ours / median_base:.2f}x  (DESIGN: {bar})")


if __name__ == "__main__":
    main()
