"""The workflow diagrams are drawn from the tables: read the drawing back from the help page and hold it against
the case table, the referral table, their deadlines and the rule that places a case after a referral event.
A row added to a table shows up in the drawing without anyone touching the diagram."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from puskesos.accounts.roles import Role
from puskesos.cases import workflow as case_table
from puskesos.referrals import workflow as referral_table
from puskesos.referrals.models import ReferralStatus
from tests.helpers import login

EDGE_RE = re.compile(r'<g class="edge( derived)?" data-events="([^"]+)" data-from="([^"]+)" data-to="([^"]+)"')
NODE_RE = re.compile(r'<g class="node" data-state="([^"]+)">.*?</g>', re.S)
SVG_RE = re.compile(r"<svg .*?</svg>", re.S)


def drawings(client) -> list[str]:
    page = client.get("/help/workflow")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "http://" not in body.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    svgs = SVG_RE.findall(body)
    assert len(svgs) == 2
    return svgs


def edges(svg: str, derived: bool | None = None) -> set[tuple[str, str, str]]:
    return {(event, src, dst) for dashed, events, src, dst in EDGE_RE.findall(svg)
            if derived is None or bool(dashed) == derived for event in events.split()}


def nodes(svg: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in NODE_RE.finditer(svg)}


class Held:
    def __init__(self, status):
        self.status = status


def place(statuses) -> str:
    return case_table.state_from_referrals([Held(s) for s in statuses]).value


def expected_case_edges() -> set[tuple[str, str, str]]:
    """Straight from the case table: each row, each source, to its destination (refer: where one more pending
    referral puts the case)."""
    pending_after = {"assessed": "referred", "referred": "referred", "answered": "referred",
                     "in_service": "in_service"}  # DESIGN: some accepted → in_service, else some pending → referred
    return {(step.event, source.value, step.dest.value if step.dest else pending_after[source.value])
            for step in case_table.TABLE for source in step.sources}


def expected_referral_edges() -> set[tuple[str, str, str]]:
    return {(step.event, source.value, step.dest.value) for step in referral_table.TABLE for source in step.sources}


@pytest.fixture
def page_client(world, client):
    login(client, "caseworker")
    return client


def test_the_case_diagram_is_the_case_table(page_client):
    case_svg, _referral_svg = drawings(page_client)
    assert edges(case_svg, derived=False) == expected_case_edges()
    assert set(nodes(case_svg)) == {s.value for s in case_table.State}


def test_the_dashed_moves_are_those_the_referral_table_can_cause(page_client):
    case_svg, _ = drawings(page_client)
    drawn = edges(case_svg, derived=True)
    # Each dashed move must be one a real referral event makes: try it on every case with up to two referrals.
    possible = set()
    statuses = [s.value for s in ReferralStatus]
    for n in (1, 2):
        for held in itertools.product(statuses, repeat=n):
            for i, status in enumerate(held):
                for step in referral_table.TABLE:
                    if status in step.sources:
                        after = place([*held[:i], step.dest.value, *held[i + 1:]])
                        if after != place(held):
                            possible.add((step.event, place(held), after))
    assert drawn == possible
    # The moves the issue names are there: a served or failed last referral leaves the case `answered`.
    assert {("report_service", "in_service", "answered"), ("report_failure", "in_service", "answered"),
            ("accept", "referred", "in_service"), ("decline", "referred", "assessed")} <= drawn


def test_the_referral_diagram_is_the_referral_table(page_client):
    _, referral_svg = drawings(page_client)
    assert edges(referral_svg) == expected_referral_edges()
    assert set(nodes(referral_svg)) == {s.value for s in ReferralStatus}


def test_deadlines_and_roles_are_shown(page_client):
    case_svg, referral_svg = drawings(page_client)
    for state, days in case_table.DEADLINES.items():
        node = nodes(case_svg)[state.value]
        assert (f"{days} hari kerja" in node) if isinstance(days, int) else ("ikut tenggat rujukan" in node)
    for status, days in referral_table.DEADLINES.items():
        assert f"{days} hari kerja" in nodes(referral_svg)[status.value]
    assert "hari kerja" not in nodes(case_svg)["closed"]
    legend = page_client.get("/help/workflow").get_data(as_text=True)
    assert "Buka kembali (Pekerja sosial Dinsos, Supervisor)" in legend
    assert "Laporkan tidak dapat dilayani (Petugas instansi rujukan)" in legend


def test_a_new_row_appears_without_touching_the_diagram(page_client, monkeypatch):
    """The drawing is generated: add a row (and change a deadline) and it is drawn."""
    extra = case_table.Step("reopen", (case_table.State.ANSWERED,), case_table.State.IN_ASSESSMENT,
                            frozenset({Role.SUPERVISOR}))
    monkeypatch.setattr(case_table, "TABLE", (*case_table.TABLE, extra))
    monkeypatch.setitem(page_client.application.config, "SLA_DAYS", {"assessed": 9})
    case_svg, _ = drawings(page_client)
    assert ("reopen", "answered", "in_assessment") in edges(case_svg, derived=False)
    assert "9 hari kerja" in nodes(case_svg)["assessed"]
    step = dataclasses.replace(referral_table.step_of("accept"), sources=(ReferralStatus.DECLINED,))
    monkeypatch.setattr(referral_table, "TABLE", (*referral_table.TABLE, step))
    _, referral_svg = drawings(page_client)
    assert ("accept", "declined", "accepted") in edges(referral_svg)


def test_every_role_may_read_the_help(world, client):
    for username in ("officer_a", "caseworker", "supervisor", "bpjs_user", "admin"):
        login(client, username)
        assert client.get("/help/workflow").status_code == 200
    client.post("/logout")
    assert client.get("/help/workflow").status_code == 302
