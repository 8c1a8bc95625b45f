"""POST /api/v1/cases/search: a NIK or KK search in a request body; GET /api/v1/cases refuses one in its URL."""

from __future__ import annotations

from puskesos.cases import services
from puskesos.extensions import db
from tests import factories
from tests.api.conftest import assert_problem, numbers

KK = "1603010101100077"


def register(officer, **overrides):
    case, _warnings = services.register(officer, factories.intake(**overrides), confirm_duplicate=True)
    db.session.commit()
    return case


def test_search_by_nik_and_kk_in_the_body_answers_like_the_list(api, world):
    case = register(world.officer, kk_number=KK)
    twin = register(world.officer, kk_number=KK, name="Adik Siti")
    other = register(world.officer)
    lahat = register(world.officer_lahat, village_code=factories.VILLAGE_LAHAT, kk_number=KK)
    caseworker = api("caseworker")

    def searched(**body) -> list[str]:
        resp = caseworker.post("cases/search", body)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert set(resp.get_json()) == {"items", "next_cursor"}
        return sorted(numbers(resp.get_json()))

    assert searched(q=case.nik) == [case.number]
    assert searched(q=f"{case.nik[:4]} {case.nik[4:8]} {case.nik[8:]}") == [case.number]
    assert searched(q=KK) == sorted([case.number, twin.number])  # not Lahat's: outside the caseworker's area
    assert searched(q=KK, state="submitted") == []
    assert searched(q=case.nik[:12]) == []
    assert searched(q=other.number) == [other.number]
    assert searched() == sorted([case.number, twin.number, other.number])
    assert lahat.number not in searched(q=KK)

    # Pages as the list pages: the cursor goes back in the same body.
    first = caseworker.post("cases/search", {"q": KK, "limit": 1}).get_json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = caseworker.post("cases/search", {"q": KK, "limit": 1, "cursor": first["next_cursor"]}).get_json()
    assert numbers(first) + numbers(rest) == [case.number, twin.number]  # same due date: by id
    # The list's own view of the same case: identical items.
    listed = caseworker.get("cases", query={"q": case.number}).get_json()["items"]
    assert caseworker.post("cases/search", {"q": case.nik}).get_json()["items"] == listed


def test_a_nik_or_kk_in_the_query_string_is_refused_and_points_to_the_search(api, world):
    case = register(world.officer, kk_number=KK)
    caseworker = api("caseworker")
    for q in (case.nik, KK, f"{case.nik[:4]} {case.nik[4:]}", f"x{case.nik}"):
        for url in ("cases", "exports/cases"):
            body = assert_problem(caseworker.get(url, query={"q": q}), 400)
            assert "POST /api/v1/cases/search" in body["detail"] and "q" in body["errors"], (url, q)
            assert case.nik not in str(body) and KK not in str(body)
    body = assert_problem(caseworker.get("cases", query={"q": KK}, lang="en"), 400)
    assert "POST /api/v1/cases/search" in body["detail"]
    # A name or a case number still travels in the query string.
    assert numbers(caseworker.get("cases", query={"q": case.number}).get_json()) == [case.number]


def test_search_body_is_checked_like_any_other(api, world):
    caseworker = api("caseworker")
    for body, field in (({"q": "x" * 61}, "q"), ({"state": "bogus"}, "state"), ({"limit": 0}, "limit"),
                        ({"nik": "1603011204850001"}, "nik"), ({"q": 1603011204850001}, "q")):
        problem = assert_problem(caseworker.post("cases/search", body), 422)
        assert field in problem["errors"], body
    assert_problem(api("caseworker").client.post("/api/v1/cases/search", json={"q": "x"}), 401)


def test_the_search_is_in_the_openapi_document(client, world):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/cases/search"]["post"]
    assert "requestBody" in operation and "200" in operation["responses"]
    assert "POST /cases/search" in spec["paths"]["/api/v1/cases"]["get"]["description"]
