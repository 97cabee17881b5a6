"""Sites: placing them by gazetteer or coordinates, validation, editing, archiving, deleting."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.models import GenerationRecord, Material, Site
from tests.web.conftest import post_form

SITE = {"name": "二号灰库", "place": "", "lat": "38.1", "lon": "106.63", "county": "Lingwu",
        "industrial_park": "Ningdong"}


def count_sites(db):
    return db.session.scalar(select(func.count(Site.id)))


def test_add_a_site_by_picking_a_place(logged_in, db):
    client, user = logged_in()
    r = post_form(client, "/org/sites/new", {"name": "宁东堆场", "place": "park:Ningdong", "lat": "", "lon": ""})
    assert r.status_code == 302
    site = db.session.scalar(select(Site))
    assert (site.lat, site.lon) == (Decimal("38.100000"), Decimal("106.630000"))
    assert (site.city, site.county, site.industrial_park) == ("Yinchuan", "Lingwu", "Ningdong")
    assert site.organisation_id == user.organisation_id


def test_add_a_site_by_coordinates(logged_in, db):
    client, _ = logged_in()
    r = post_form(client, "/org/sites/new", {**SITE, "rail_siding": "y"})
    assert r.status_code == 302
    site = db.session.scalar(select(Site))
    assert site.rail_siding is True and site.lat == Decimal("38.1")


@pytest.mark.parametrize("field,value,message", [
    ("lat", "91", "between -90 and 90"),
    ("lat", "-90.5", "between -90 and 90"),
    ("lon", "181", "between -180 and 180"),
    ("lat", "abc", "Enter a number"),
    ("lat", "NaN", "Enter a number"),
    ("lat", "", "Pick a place or enter the coordinates"),
    ("name", "", "This field is required"),
    ("name", "名" * 100_000, "At most 200 characters"),
    ("county", "Atlantis", "Not a valid choice"),
])
def test_bad_site_input_gives_a_message_and_saves_nothing(logged_in, db, field, value, message):
    client, _ = logged_in()
    client.get("/lang/en")
    r = post_form(client, "/org/sites/new", {**SITE, field: value})
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    assert count_sites(db) == 0


def test_site_error_is_in_chinese_by_default(logged_in, db):
    client, _ = logged_in()
    r = post_form(client, "/org/sites/new", {**SITE, "lat": "91"})
    assert "必须在 -90 到 90 度之间" in r.get_data(as_text=True)
    assert count_sites(db) == 0


FAR = {**SITE, "lat": "31.23", "lon": "121.47", "county": "", "industrial_park": ""}  # Shanghai
NEIGHBOUR = {**SITE, "name": "阿拉善左旗堆场", "lat": "38.83", "lon": "105.67", "county": "",
             "industrial_park": ""}  # Bayanhot, Alxa Left Banner (Inner Mongolia)


def test_a_site_far_from_ningxia_and_its_neighbours_is_refused_even_when_confirmed(logged_in, db):
    client, _ = logged_in()
    client.get("/lang/en")
    for data in (FAR, {**FAR, "confirm_outside": "y"}):
        r = post_form(client, "/org/sites/new", data)
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and "far outside Ningxia" in page
        assert 'value="31.23"' in page and 'value="121.47"' in page  # what was typed stays
    assert count_sites(db) == 0


def test_a_site_in_a_neighbouring_region_needs_the_confirmation(logged_in, db):
    client, _ = logged_in()
    client.get("/lang/en")
    r = post_form(client, "/org/sites/new", NEIGHBOUR)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "tick the confirmation" in page
    assert 'name="confirm_outside"' in page and 'value="38.83"' in page and "阿拉善左旗堆场" in page
    assert count_sites(db) == 0
    r = post_form(client, "/org/sites/new", {**NEIGHBOUR, "confirm_outside": "y"})
    assert r.status_code == 302
    assert count_sites(db) == 1
    assert "outside Ningxia, in a neighbouring region" in client.get("/org/").get_data(as_text=True)
    site = db.session.scalar(select(Site))
    edit = client.get(f"/org/sites/{site.id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="confirm_outside"', edit)  # saving it again keeps it


def test_a_site_in_ningxia_needs_no_confirmation_and_is_not_offered_one(logged_in, db):
    client, _ = logged_in()
    assert 'name="confirm_outside"' not in client.get("/org/sites/new").get_data(as_text=True)
    assert post_form(client, "/org/sites/new", SITE).status_code == 302


def test_moving_a_site_beyond_the_region_is_refused(logged_in, make_site, db):
    client, user = logged_in()
    site = make_site(user.organisation)
    r = post_form(client, f"/org/sites/{site.id}/edit", {**FAR, "confirm_outside": "y"})
    assert r.status_code == 200
    db.session.refresh(site)
    assert site.lat == Decimal("38.094")


@pytest.mark.parametrize("name,lat,lon,zone", [
    ("Yuanyang Lake power plant", "38.0575", "106.6914", "ningxia"),
    ("Shizuishan power station, Huinong", "39.2848", "106.7890", "ningxia"),
    ("Yanchi", "37.783", "107.406", "ningxia"),
    ("Longde", "35.625", "106.111", "ningxia"),
    ("Bayanhot (Alxa Left Banner)", "38.83", "105.67", "neighbour"),
    ("Wuhai", "39.65", "106.80", "neighbour"),
    ("Dingbian (Shaanxi)", "37.59", "107.60", "neighbour"),
    ("Pingliang (Gansu)", "35.54", "106.67", "neighbour"),
    ("Lanzhou", "36.06", "103.83", "neighbour"),
    ("Baotou", "40.65", "109.84", "outside"),
    ("Xi'an", "34.34", "108.94", "outside"),
    ("swapped coordinates", "106.28", "38.47", "outside"),
])
def test_the_zones(name, lat, lon, zone):
    from marketplace.region import zone_of

    assert zone_of(Decimal(lat), Decimal(lon)) == zone, name


def test_every_gazetteer_place_and_the_demo_spread_around_it_is_in_ningxia():
    from marketplace.gazetteer import PLACES
    from marketplace.region import zone_of

    step = Decimal("0.03")  # the demo places firms up to 0.03 degrees from a place
    for place in PLACES.values():
        for dlat in (-step, 0, step):
            for dlon in (-step, 0, step):
                assert zone_of(place.lat + dlat, place.lon + dlon) == "ningxia", place.key


def test_edit_own_site(logged_in, make_site, db):
    client, user = logged_in()
    site = make_site(user.organisation)
    assert client.get(f"/org/sites/{site.id}/edit").status_code == 200
    r = post_form(client, f"/org/sites/{site.id}/edit", {**SITE, "name": "改名厂区"})
    assert r.status_code == 302
    db.session.refresh(site)
    assert site.name == "改名厂区" and site.industrial_park == "Ningdong"


def test_sites_of_another_organisation_are_invisible(logged_in, make_user, make_site, db):
    client, _ = logged_in()
    other = make_user()
    site = make_site(other.organisation, name="别人的厂区")
    assert client.get(f"/org/sites/{site.id}/edit").status_code == 404
    assert post_form(client, f"/org/sites/{site.id}/edit", {**SITE, "name": "hijack"}).status_code == 404
    assert post_form(client, f"/org/sites/{site.id}/archive", {}).status_code == 404
    assert post_form(client, f"/org/sites/{site.id}/delete", {}).status_code == 404
    assert "别人的厂区" not in client.get("/org/").get_data(as_text=True)
    db.session.refresh(site)
    assert site.name == "别人的厂区" and site.active


def test_archive_and_restore(logged_in, make_site, db):
    client, user = logged_in()
    site = make_site(user.organisation)
    post_form(client, f"/org/sites/{site.id}/archive", {})
    db.session.refresh(site)
    assert site.active is False
    post_form(client, f"/org/sites/{site.id}/archive", {})
    db.session.refresh(site)
    assert site.active is True


def test_delete_an_unused_site_but_not_one_with_records(logged_in, make_site, db):
    from datetime import date

    client, user = logged_in()
    unused = make_site(user.organisation, name="空厂区")
    used = make_site(user.organisation, name="有记录的厂区")
    fly_ash = db.session.scalar(select(Material).where(Material.code == "fly_ash"))
    db.session.add(GenerationRecord(site_id=used.id, material_id=fly_ash.id, month=date(2026, 1, 1),
                                    tonnes_generated=Decimal(10), tonnes_used_in_house=Decimal(0),
                                    tonnes_stored=Decimal(0)))
    db.session.commit()
    client.get("/lang/en")
    post_form(client, f"/org/sites/{unused.id}/delete", {})
    r = post_form(client, f"/org/sites/{used.id}/delete", {})
    assert "archive it instead" in client.get("/org/").get_data(as_text=True) or r.status_code == 302
    names = set(db.session.scalars(select(Site.name)))
    assert names == {"有记录的厂区"}


def test_site_names_are_escaped(logged_in, db):
    client, _ = logged_in()
    post_form(client, "/org/sites/new", {**SITE, "name": "<script>alert(1)</script>"})
    page = client.get("/org/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the default site ------------------------------------------------------------------------------------

def selected_site(html: str) -> str | None:
    """The value of the option the site select pre-selects."""
    select_html = re.search(r'<select[^>]*name="site_id".*?</select>', html, re.S).group(0)
    match = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select_html)
    return (match.group(1) or match.group(2)) if match else None


def test_the_default_site_is_pre_selected_on_the_listing_and_generation_forms(logged_in, make_site, db, client):
    client, user = logged_in()
    far = make_site(user.organisation, name="A 阿拉善堆场", lat="38.83", lon="105.67", county="")  # sorts first
    home = make_site(user.organisation, name="B 宁东厂区")
    other = make_site(user.organisation, name="C 灵武厂区")
    # no default yet: the first site in Ningxia, not the neighbour's that sorts first
    assert selected_site(client.get("/listings/supply/new").get_data(as_text=True)) == str(home.id)
    assert selected_site(client.get("/generation/").get_data(as_text=True)) == str(home.id)
    assert post_form(client, f"/org/sites/{other.id}/default", {}).status_code == 302
    assert selected_site(client.get("/listings/supply/new").get_data(as_text=True)) == str(other.id)
    assert selected_site(client.get("/generation/").get_data(as_text=True)) == str(other.id)
    assert 'id="default-site"' in client.get("/org/").get_data(as_text=True)
    post_form(client, f"/org/sites/{far.id}/default", {})
    assert db.session.scalars(select(Site.id).where(Site.is_default.is_(True))).all() == [far.id]  # one only
    assert selected_site(client.get("/generation/").get_data(as_text=True)) == str(far.id)


def test_an_archived_site_is_no_default_and_cannot_become_one(logged_in, make_site, db):
    client, user = logged_in()
    site = make_site(user.organisation)
    post_form(client, f"/org/sites/{site.id}/default", {})
    post_form(client, f"/org/sites/{site.id}/archive", {})
    db.session.refresh(site)
    assert (site.active, site.is_default) == (False, False)
    client.get("/lang/en")
    post_form(client, f"/org/sites/{site.id}/default", {})
    assert "archived site cannot be the default" in client.get("/org/").get_data(as_text=True)
    db.session.refresh(site)
    assert site.is_default is False


def test_another_firms_site_cannot_be_made_my_default(logged_in, make_site, make_org, db):
    client, _ = logged_in()
    theirs = make_site(make_org())
    assert post_form(client, f"/org/sites/{theirs.id}/default", {}).status_code == 404
    db.session.refresh(theirs)
    assert theirs.is_default is False


def test_the_default_is_only_set_by_post_with_a_csrf_token(logged_in, make_site, db):
    client, user = logged_in()
    site = make_site(user.organisation)
    assert client.get(f"/org/sites/{site.id}/default").status_code == 405
    assert client.post(f"/org/sites/{site.id}/default").status_code == 400
    db.session.refresh(site)
    assert site.is_default is False


def test_the_api_names_the_default_site(logged_in, make_site, client):
    from tests.web.test_api_listings import API, issue_token

    client, user = logged_in()
    site = make_site(user.organisation)
    post_form(client, f"/org/sites/{site.id}/default", {})
    token = issue_token(client, user)
    items = client.get(f"{API}/sites", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    assert [(i["id"], i["is_default"]) for i in items] == [(site.id, True)]
