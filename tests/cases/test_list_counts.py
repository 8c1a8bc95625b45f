"""Counts above a list: exact below the cap, "cap+" above it, never more work than the cap in any area."""

from __future__ import annotations

from puskesos.cases import services
from puskesos.cases.workflow import State
from tests import factories
from tests.helpers import login


def test_counts_stop_just_past_the_cap(world):
    for _ in range(4):
        factories.register(world.officer)
    factories.case_in(State.SUBMITTED, world)
    assert services.state_counts(world.supervisor) == {"registered": 4, "submitted": 1}
    assert services.state_counts(world.supervisor, cap=2) == {"registered": 3, "submitted": 1}  # 3 = "more than 2"


def test_the_page_shows_a_capped_count_with_a_plus(world, client, monkeypatch):
    for _ in range(3):
        factories.register(world.officer)
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    login(client, "supervisor")
    page = client.get("/cases/").get_data(as_text=True)
    assert 'data-state="registered">Terdaftar</a>:\n      <strong>2+</strong>' in page
