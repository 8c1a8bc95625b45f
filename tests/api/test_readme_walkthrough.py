"""The README's curl walk-through, run as written against a live server holding the demo data."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from puskesos.audit.chain import verify
from puskesos.extensions import db

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"```sh\n(BASE=http://127\.0\.0\.1:5000/api/v1\n.*?)```", re.S)


@pytest.fixture
def demo_server(app, backend):
    if backend != "sqlite":
        pytest.skip("one backend is enough for the README; the API tests cover PostgreSQL")
    app.config["REFERRAL_SIGNOFF"] = True  # as `make run` has it
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def test_the_readme_walkthrough_works_as_written(demo_server):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    script = BLOCK.search(README.read_text(encoding="utf-8")).group(1)
    script = script.replace("http://127.0.0.1:5000", demo_server)
    db.session.commit()  # hold no SQLite lock while the server works
    run = subprocess.run(["bash", "-eo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    # Issue 6: once its only referral is served the case is `answered` (the caseworker's to close), not in service.
    assert lines[:4] == ["submitted", "in_assessment", "assessed", "referred"]
    assert re.fullmatch(r"pending RJK/1603/\d{4}/\d{6}", lines[4]), lines[4]  # signed off, with its letter number
    assert lines[5:7] == ["in_service", "answered"]
    assert lines[7] == "closed resolved"
    assert "'case.created'" in lines[8] and "'case.close'" in lines[8] and "'referral.report_service'" in lines[8]
    assert "'referral.approve_referral'" in lines[8]
    assert lines[9].startswith("401 ")
    db.session.rollback()
    assert verify().ok
