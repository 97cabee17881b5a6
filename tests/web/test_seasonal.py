"""Seasonal planning in the market (issue #14): monthly profiles and yards/silos on listings (form and API, as
each role, with hostile input), the production calendar (regulators publish it; a cement demand takes it by
default) and the regulator's seasonal desk."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.models import AuditEntry, GenerationRecord, ProductionWindow, SupplyListing
from tests.web.conftest import csrf_token, login, token_request

API = "/api/v1"
YEAR = 2027  # the test clock's next year: a whole calendar year of future months
PROFILE = [900, 950, 800, 600, 500, 450, 450, 500, 550, 700, 850, 950]


def supply_form(site_id, **overrides):
    data = {"site_id": str(site_id), "material": "fly_ash", "grade": "II", "tonnes": "8000",
            "period_start": f"{YEAR}-01-01", "period_end": f"{YEAR}-12-31", "price": "20.00", "max_haul_km": "200",
            "publish": "Publish", **{f"m-{i + 1}": str(t) for i, t in enumerate(PROFILE)},
            "storage_capacity_t": "3000", "storage_stock_t": "1200", "holding_yuan_per_t_month": "0.80"}
    data.update(overrides)
    return data


def post(client, url, data, page=None):
    client.get("/lang/en")
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page or url)})


@pytest.fixture
def producer(logged_in, make_site):
    client, user = logged_in(kind="producer")
    return client, user, make_site(user.organisation, name="灰场一号")


def api_token(client, user) -> dict:
    token = client.post(f"{API}/auth/token", json=token_request(user)).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


# --- profiles and silos through the form ----------------------------------------------------------------

def test_a_producer_posts_a_monthly_profile_and_its_yard(producer, db):
    client, _user, site = producer
    r = post(client, "/listings/supply/new", supply_form(site.id))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    listing = db.session.scalar(select(SupplyListing))
    assert listing.monthly_tonnes == PROFILE
    assert (listing.storage_capacity_t, listing.storage_stock_t) == (3000, 1200)
    assert listing.holding_yuan_per_t_month == Decimal("0.80")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="listing-months"' in page and "1,200" in page and "3,000" in page


@pytest.mark.parametrize("field,value,error", [
    ("m-3", "-5", "Must be at least 0"),
    ("m-7", "12.5", "whole number"),
    ("m-12", "lots", "whole number"),
    ("m-1", "", "This field is required"),  # 11 months given, one left blank
    ("storage_stock_t", "3001", "cannot exceed the capacity"),
    ("storage_capacity_t", "-1", "Must be between 0 and 5,000,000"),
    ("storage_capacity_t", "0", "at least one tonne"),
    ("holding_yuan_per_t_month", "-0.10", "Must be between 0 and 1,000"),
    ("holding_yuan_per_t_month", "0.123", "At most 2 decimals"),
])
def test_bad_profiles_and_silos_are_form_errors_that_keep_the_input(producer, db, field, value, error):
    client, _user, site = producer
    r = post(client, "/listings/supply/new", supply_form(site.id, **{field: value}), page="/listings/supply/new")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and error in page, page[:200]
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0
    assert 'value="950"' in page  # the other months are kept too
    assert f'value="{value}"' in page or value == ""  # what was typed is kept


def test_a_stock_without_a_capacity_is_refused(producer, db):
    client, _user, site = producer
    r = post(client, "/listings/supply/new", supply_form(site.id, storage_capacity_t=""))
    assert r.status_code == 200 and "capacity of the yard or silo first" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0


def test_the_firm_corrects_its_own_profile_and_another_firm_cannot(producer, make_user, db):
    client, _user, site = producer
    post(client, "/listings/supply/new", supply_form(site.id))
    listing = db.session.scalar(select(SupplyListing))
    url = f"/listings/supply/{listing.id}/edit"
    edit = client.get(url).get_data(as_text=True)
    assert 'name="m-1"' in edit and 'value="900"' in edit  # the stored profile fills the grid
    r = post(client, url, supply_form(site.id, **{"m-1": "0", "storage_stock_t": "100"}))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(SupplyListing, listing.id).monthly_tonnes[0] == 0
    other = client.application.test_client()
    login(other, make_user(kind="producer"))
    assert other.get(url).status_code in (403, 404)
    assert post(other, url, supply_form(site.id, **{"m-1": "5"}), page="/listings/mine").status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(SupplyListing, listing.id).monthly_tonnes[0] == 0


# --- the API --------------------------------------------------------------------------------------------

def supply_body(site_id, **overrides):
    body = {"site_id": site_id, "material": "fly_ash", "grade": "II", "tonnes": 8000, "price_yuan_per_t": "20.00",
            "max_haul_km": 200, "period_start": f"{YEAR}-01-01", "period_end": f"{YEAR}-12-31",
            "monthly_tonnes": PROFILE, "storage_capacity_t": 3000, "storage_stock_t": 1200,
            "holding_yuan_per_t_month": "0.80"}
    body.update(overrides)
    return body


def test_the_api_takes_and_shows_profiles_and_silos(client, make_user, make_site):
    user = make_user(kind="producer")
    site = make_site(user.organisation)
    headers = api_token(client, user)
    r = client.post(f"{API}/supply-listings", json=supply_body(site.id), headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["monthly_tonnes"] == PROFILE
    silo = (body["storage_capacity_t"], body["storage_stock_t"], body["holding_yuan_per_t_month"])
    assert silo == (3000, 1200, "0.80")
    # another firm sees the profile and the silo (they are not the firm's identity)
    other = make_user(kind="consumer")
    seen = client.get(f"{API}/supply-listings/{body['id']}", headers=api_token(client, other)).get_json()
    assert seen["monthly_tonnes"] == PROFILE and "organisation" not in seen


@pytest.mark.parametrize("overrides,field", [
    ({"monthly_tonnes": PROFILE[:11]}, "monthly_tonnes"),
    ({"monthly_tonnes": [*PROFILE, 5]}, "monthly_tonnes"),
    ({"monthly_tonnes": [-1, *PROFILE[1:]]}, "monthly_tonnes"),
    ({"monthly_tonnes": ["x"] * 12}, "monthly_tonnes"),
    ({"monthly_tonnes": "900"}, "monthly_tonnes"),
    ({"monthly_tonnes": {"jan": 5}}, "monthly_tonnes"),
    ({"storage_stock_t": 3001}, "storage_stock_t"),
    ({"storage_capacity_t": -5}, "storage_capacity_t"),
    ({"storage_capacity_t": None}, "storage_capacity_t"),
    ({"holding_yuan_per_t_month": "-1"}, "holding_yuan_per_t_month"),
    ({"holding_yuan_per_t_month": "1e9"}, "holding_yuan_per_t_month"),
])
def test_bad_profiles_and_silos_are_422_naming_the_field(client, make_user, make_site, db, overrides, field):
    user = make_user(kind="producer")
    site = make_site(user.organisation)
    r = client.post(f"{API}/supply-listings", json=supply_body(site.id, **overrides), headers=api_token(client, user))
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["field"] == field
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0


def test_a_change_cannot_put_the_stock_above_the_capacity(client, make_user, make_site):
    user = make_user(kind="producer")
    site = make_site(user.organisation)
    headers = api_token(client, user)
    listing = client.post(f"{API}/supply-listings", json=supply_body(site.id), headers=headers).get_json()
    r = client.patch(f"{API}/supply-listings/{listing['id']}", json={"storage_capacity_t": 1000}, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "storage_stock_t"
    r = client.patch(f"{API}/supply-listings/{listing['id']}", json={"storage_stock_t": 2500}, headers=headers)
    assert r.status_code == 200 and r.get_json()["storage_stock_t"] == 2500


# --- defaults: the calendar and the declarations ---------------------------------------------------------

def demand_body(site_id, **overrides):
    body = {"site_id": site_id, "material": "fly_ash", "tonnes": 7400, "max_haul_km": 200, "use": "cement",
            "period_start": f"{YEAR}-01-01", "period_end": f"{YEAR}-12-31"}
    body.update(overrides)
    return body


def test_a_cement_demand_takes_the_winter_window_by_default(client, make_user, make_site):
    user = make_user(kind="consumer")
    site = make_site(user.organisation)  # in Yinchuan
    body = client.post(f"{API}/demand-listings", json=demand_body(site.id), headers=api_token(client, user)).get_json()
    months = body["monthly_tonnes"]
    assert sum(months) == 7400  # the need over the year, into the months the kiln runs
    assert months[0] == months[1] == months[2] == months[11] == 0  # stopped 1 Jan - 31 Mar and from 15 Nov
    assert len(set(months[3:10])) <= 2 and abs(months[10] - months[4] * 14 / 30) <= 1  # November: 14 of 30 days


def test_a_firm_may_correct_the_calendar_s_profile_and_other_uses_spread_evenly(client, make_user, make_site):
    user = make_user(kind="consumer")
    site = make_site(user.organisation)
    headers = api_token(client, user)
    own = [600] * 12
    body = client.post(f"{API}/demand-listings", json=demand_body(site.id, monthly_tonnes=own), headers=headers)
    assert body.get_json()["monthly_tonnes"] == own
    bricks = client.post(f"{API}/demand-listings", json=demand_body(site.id, use="bricks_blocks"), headers=headers)
    assert bricks.get_json()["monthly_tonnes"] is None  # no window for bricks: spread evenly when planning


def test_a_regulator_s_summer_window_changes_new_cement_profiles(client, make_user, make_site, db):
    regulator = make_user(kind="regulator")
    login(client, regulator)
    r = post(client, "/seasonal/calendar", {"year": str(YEAR), "city": "Yinchuan", "use": "cement",
                                            "starts_on": f"{YEAR}-07-01", "ends_on": f"{YEAR}-07-31", "note": "夏季"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    client = client.application.test_client()
    user = make_user(kind="consumer")
    site = make_site(user.organisation)
    body = client.post(f"{API}/demand-listings", json=demand_body(site.id), headers=api_token(client, user)).get_json()
    assert body["monthly_tonnes"][6] == 0


def test_a_supply_takes_its_declared_generation_by_default(client, make_user, make_site, db):
    user = make_user(kind="producer")
    site = make_site(user.organisation)
    from marketplace.services.catalogue import material_by_code

    fly_ash = material_by_code("fly_ash")
    for month, generated in ((1, "1200.4"), (7, "500"), (12, "1300")):
        db.session.add(GenerationRecord(site_id=site.id, material_id=fly_ash.id, month=date(2026, month, 1),
                                        tonnes_generated=Decimal(generated), tonnes_used_in_house=Decimal("100")))
    db.session.commit()
    body = supply_body(site.id)
    del body["monthly_tonnes"]
    listing = client.post(f"{API}/supply-listings", json=body, headers=api_token(client, user)).get_json()
    months = listing["monthly_tonnes"]
    # the listing's 8,000 t shaped like the declarations (1,100 t free in January, 400 in July, 1,200 in
    # December; the other months as their average, 900)
    assert sum(months) == 8000
    assert months[0] == round(8000 * 1100 / 10800) and months[6] == round(8000 * 400 / 10800)
    assert max(months) == months[11] and months[1] == months[5] == months[7]


# --- the production calendar page -------------------------------------------------------------------------

WINDOW = {"year": str(YEAR), "city": "Zhongwei", "use": "cement", "starts_on": f"{YEAR}-08-01",
          "ends_on": f"{YEAR}-08-20", "note": "夏季错峰"}


def test_the_calendar_is_seeded_with_the_winter_window_in_every_city(db):
    rows = db.session.scalars(select(ProductionWindow).where(ProductionWindow.year == 2026)).all()
    assert {w.city for w in rows} == {"Yinchuan", "Shizuishan", "Wuzhong", "Guyuan", "Zhongwei"}
    assert {(w.use, w.starts_on, w.ends_on) for w in rows} == {("cement", date(2026, 11, 15), date(2027, 3, 31))}


def test_a_regulator_publishes_corrects_and_withdraws_a_window_with_an_audit_trail(client, make_user, db):
    regulator = make_user(kind="regulator")
    login(client, regulator)
    r = post(client, "/seasonal/calendar", WINDOW)
    assert r.status_code == 302
    window = db.session.scalar(select(ProductionWindow).where(ProductionWindow.note == WINDOW["note"]))
    assert window.ends_on == date(YEAR, 8, 20) and window.updated_by_id == regulator.id
    r = post(client, f"/seasonal/calendar/{window.id}", {**WINDOW, "ends_on": f"{YEAR}-08-25"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProductionWindow, window.id).ends_on == date(YEAR, 8, 25)
    window_id = window.id
    r = post(client, f"/seasonal/calendar/{window_id}/delete", {}, page="/seasonal/calendar")
    db.session.expire_all()
    assert r.status_code == 302 and db.session.get(ProductionWindow, window_id) is None
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.window")
                                 .order_by(AuditEntry.id)).all()
    assert len(entries) == 3 and entries[1].details["before"]["ends_on"] == f"{YEAR}-08-20"
    assert entries[2].details["after"] is None


@pytest.mark.parametrize("field,value,error", [
    ("ends_on", f"{YEAR}-07-01", "ends before it starts"),
    ("ends_on", f"{YEAR + 2}-08-01", "at most a year"),
    ("city", "Beijing", "Not a valid choice"),
    ("use", "plutonium", "Not a valid choice"),
    ("year", "1999", "Must be between 2,000 and 2,100"),
    ("year", "20x7", "whole number"),
    ("starts_on", f"{YEAR + 3}-01-01", "starts in its year"),
    ("note", "长" * 201, "200"),
])
def test_bad_windows_are_form_errors_and_change_nothing(client, make_user, db, field, value, error):
    login(client, make_user(kind="regulator"))
    before = db.session.scalar(select(func.count(ProductionWindow.id)))
    r = post(client, "/seasonal/calendar", {**WINDOW, field: value})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and error in page, re.findall(r'class="error"[^<]*>([^<]*)', page)
    assert db.session.scalar(select(func.count(ProductionWindow.id))) == before
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


@pytest.mark.parametrize("kind", ["producer", "consumer", "operator"])
def test_only_regulators_publish_windows(client, make_user, db, kind):
    login(client, make_user(kind=kind))
    before = db.session.scalar(select(func.count(ProductionWindow.id)))
    assert client.get("/seasonal/calendar").status_code == 200  # everyone reads the calendar
    token = csrf_token(client, "/listings/mine")
    assert client.post("/seasonal/calendar", data={**WINDOW, "csrf_token": token}).status_code == 403
    window_id = db.session.scalar(select(ProductionWindow.id).limit(1))
    assert client.get(f"/seasonal/calendar/{window_id}").status_code == 403
    assert client.post(f"/seasonal/calendar/{window_id}", data={**WINDOW, "csrf_token": token}).status_code == 403
    assert client.post(f"/seasonal/calendar/{window_id}/delete", data={"csrf_token": token}).status_code == 403
    assert db.session.scalar(select(func.count(ProductionWindow.id))) == before


def test_a_window_post_without_csrf_is_refused(client, make_user, db):
    login(client, make_user(kind="regulator"))
    before = db.session.scalar(select(func.count(ProductionWindow.id)))
    r = client.post("/seasonal/calendar", data=WINDOW)
    assert r.status_code in (200, 400)
    assert db.session.scalar(select(func.count(ProductionWindow.id))) == before


def test_the_calendar_escapes_a_hostile_note(client, make_user):
    login(client, make_user(kind="regulator"))
    post(client, "/seasonal/calendar", {**WINDOW, "note": "<script>alert(1)</script>"})
    page = client.get(f"/seasonal/calendar?year={YEAR}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_no_such_window_is_404(client, make_user):
    login(client, make_user(kind="regulator"))
    assert client.get("/seasonal/calendar/999999").status_code == 404
    assert client.get("/seasonal/calendar/99999999999999999999").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_carry_the_monthly_profile_in_one_cell(producer, db, fmt):
    client, _user, site = producer
    post(client, "/listings/supply/new", supply_form(site.id))
    r = client.get(f"/listings/supply/export.{fmt}?mine=1")
    assert r.status_code == 200  # a list in a row was a 500 (openpyxl cannot write a list)
    if fmt == "csv":
        assert " ".join(str(t) for t in PROFILE) in r.get_data(as_text=True)
    else:
        from io import BytesIO

        from openpyxl import load_workbook

        cells = [c.value for row in load_workbook(BytesIO(r.data)).active.iter_rows() for c in row]
        assert " ".join(str(t) for t in PROFILE) in cells
