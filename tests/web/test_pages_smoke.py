import re

from tests import factories
from tests.helpers import login


def test_walk_pages(world, client):
    login(client, "officer_a")
    assert client.get("/").status_code == 302
    resp = client.get("/cases/")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    resp = client.get("/cases/new")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    data = factories.intake()
    resp = client.post("/cases/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-5000:]
    number = resp.headers["Location"].rsplit("/", 1)[-1]
    resp = client.get(f"/cases/{number}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-5000:]
    html = resp.get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    resp = client.post(f"/cases/{number}/events/submit", data={"version": version})
    assert resp.status_code == 302
    resp = client.post(f"/cases/{number}/nik")  # POST → 303 → GET shows the full NIK once
    assert resp.status_code == 303 and resp.headers["Location"] == f"/cases/{number}"
    resp = client.get(resp.headers["Location"])
    assert resp.status_code == 200 and 'id="full-nik"' in resp.get_data(as_text=True)
    assert client.get(f"/cases/{number}/nik").status_code == 303  # a refresh of the old address
    login(client, "caseworker")
    for url in ("/cases/queue", "/cases/mine", "/cases/", f"/cases/{number}"):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[-3000:])
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert client.post(f"/cases/{number}/events/start_assessment", data={"version": version}).status_code == 302
    resp = client.get(f"/cases/{number}/events/complete_assessment")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    version = re.search(r'name="version" type="hidden" value="(\d+)"', resp.get_data(as_text=True)).group(1)
    resp = client.post(f"/cases/{number}/events/complete_assessment",
                       data={"version": version, "findings": "x", "eligible": "yes", "recommended_services": "PBI"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    resp = client.get(f"/cases/{number}/events/refer")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    version = re.search(r'name="version" type="hidden" value="(\d+)"', resp.get_data(as_text=True)).group(1)
    resp = client.post(f"/cases/{number}/events/refer", data={"version": version, "agency_id": world.bpjs.id,
                       "service": "PBI", "reason": "r", "consent": "verbal"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    login(client, "bpjs_user")
    resp = client.get("/referrals")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    rid = re.search(r'/referrals/(\d+)', resp.get_data(as_text=True)).group(1)
    resp = client.get(f"/referrals/{rid}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    version = re.search(r'name="version" type="hidden" value="(\d+)"', resp.get_data(as_text=True)).group(1)
    assert client.post(f"/referrals/{rid}/accept", data={"version": version}).status_code == 302
    html = client.get(f"/referrals/{rid}").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    delivered = re.search(r'name="delivered_on"[^>]*value="([0-9-]+)"', html).group(1)  # starts at today
    resp = client.post(f"/referrals/{rid}/report_service",
                       data={"version": version, "service_given": "PBI aktif", "delivered_on": delivered})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    login(client, "caseworker")
    for url in (f"/cases/{number}", "/cases/?state=answered", "/cases/?assignee=me",
                f"/cases/{number}/events/close"):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[-3000:])
    assert "Rujukan terjawab" in client.get(f"/cases/{number}").get_data(as_text=True)
    login(client, "supervisor")
    resp = client.get("/audit")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    resp = client.get("/cases/?state=open&overdue=y&q=Siti")
    assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    login(client, "admin")
    for url in ("/admin/users", "/admin/users/new", "/admin/agencies", "/admin/agencies/new",
                f"/admin/users/{world.officer.id}", f"/admin/agencies/{world.bpjs.id}"):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[-3000:])
