from sqlalchemy import select

from puskesos.accounts.models import User
from puskesos.audit.models import AuditEvent
from puskesos.extensions import db
from puskesos.referrals.models import Agency
from tests import factories
from tests.helpers import login


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_admin_creates_an_officer_bound_to_a_village(world, client):
    login(client, "admin")
    resp = client.post("/admin/users/new", data={
        "username": "petugas.pagardewa", "full_name": "Rina Marlina", "role": "officer",
        "region_code": factories.VILLAGE_B, "agency_id": "0", "password": "kuat-sekali-123"})
    assert resp.status_code == 302
    user = db.session.execute(select(User).where(User.username == "petugas.pagardewa")).scalar_one()
    assert user.role == "officer" and user.region_code == factories.VILLAGE_B
    assert user.password_hash != "kuat-sekali-123" and user.check_password("kuat-sekali-123")
    assert actions()[-1] == "user.created"


def test_an_officer_must_be_bound_to_a_village_not_a_regency(world, client):
    login(client, "admin")
    before = db.session.execute(select(User.id)).all()
    resp = client.post("/admin/users/new", data={
        "username": "salah", "full_name": "Salah Wilayah", "role": "officer", "region_code": "16.03",
        "agency_id": "0", "password": "kuat-sekali-123"})
    assert resp.status_code == 422
    assert "terikat pada satu desa" in resp.get_data(as_text=True)
    assert db.session.execute(select(User.id)).all() == before


def test_deactivated_user_can_no_longer_sign_in_and_re_role_is_audited(world, client):
    login(client, "admin")
    resp = client.post(f"/admin/users/{world.officer_b.id}", data={
        "full_name": world.officer_b.full_name, "role": "officer", "region_code": factories.VILLAGE_B,
        "agency_id": "0", "password": ""})  # active unchecked
    assert resp.status_code == 302
    assert actions()[-1] == "user.deactivated"
    resp = client.post(f"/admin/users/{world.caseworker2.id}", data={
        "full_name": "Caseworker Dua", "role": "supervisor", "region_code": "16.03", "agency_id": "0",
        "active": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.caseworker2.id).role == "supervisor"
    client.post("/logout")
    resp = client.post("/login", data={"username": "officer_b", "password": factories.PASSWORD})
    assert resp.status_code == 401
    assert actions()[-1] == "auth.login_failed"


def test_admin_manages_agencies(world, client):
    login(client, "admin")
    resp = client.post("/admin/agencies/new", data={"name": "Baznas Muara Enim", "kind": "baznas",
                                                     "region_code": "16.03", "contact": "0734-421000"})
    assert resp.status_code == 302
    agency = db.session.execute(select(Agency).where(Agency.name == "Baznas Muara Enim")).scalar_one()
    assert agency.serves(factories.VILLAGE_A) and not agency.serves(factories.VILLAGE_LAHAT)
    resp = client.post(f"/admin/agencies/{agency.id}", data={"name": "Baznas Muara Enim", "kind": "baznas",
                                                              "region_code": "16.03"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agency, agency.id).active is False
    resp = client.post("/admin/agencies/new", data={"name": "Baznas Muara Enim", "kind": "baznas",
                                                     "region_code": "16.03"})
    assert resp.status_code == 422 and "sudah ada" in resp.get_data(as_text=True)


def test_only_admins_reach_the_admin_pages(world, client):
    for username in ("officer_a", "caseworker", "supervisor", "bpjs_user"):
        login(client, username)
        for url in ("/admin/users", "/admin/users/new", "/admin/agencies", f"/admin/users/{world.admin.id}"):
            assert client.get(url).status_code == 404, (username, url)


def test_users_create_command(app):
    factories.load_regions(["16.03"])
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "root", "--role", "admin", "--password", "sangat-rahasia"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "root", "--role", "admin", "--password", "sangat-rahasia"])
    assert result.exit_code == 1 and "sudah dipakai" in result.output
    result = runner.invoke(args=["users", "create", "x", "--role", "caseworker", "--region", "16.03.01",
                                 "--password", "sangat-rahasia"])
    assert result.exit_code == 1 and "error:" in result.output
