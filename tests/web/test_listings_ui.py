"""Listings in the browser (through the HTTP client): post, validate, edit, withdraw, history,
confidentiality in pages, the map and exports, bulk import, escaping."""
import csv
import io
import json
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from marketplace.clock import today_cst
from marketplace.models import DemandListing, ListingEvent, ListingStatus, SupplyListing
from marketplace.services import listings
from tests.web.conftest import csrf_token, login

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def supply_form(site_id, **overrides):
    data = {"site_id": str(site_id), "material": "fly_ash", "grade": "II", "tonnes": "1200",
            "period_start": today_cst().isoformat(), "period_end": (today_cst() + timedelta(days=90)).isoformat(),
            "price": "35.50", "max_haul_km": "200", "notes": "袋装或散装",
            "q-fly_ash-loi": "6.2", "q-fly_ash-fineness_45um": "22", "publish": "Publish"}
    data.update(overrides)
    return data


def post(client, url, data, page=None, **kwargs):
    token = csrf_token(client, page or url)
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


@pytest.fixture
def producer(logged_in, make_site):
    client, user = logged_in(kind="producer")
    site = make_site(user.organisation, name="恒源灰库", lat="38.0575", lon="106.6914", county="Lingwu",
                     park="Ningdong")
    return client, user, site


def count(db, model=SupplyListing):
    return db.session.scalar(select(func.count(model.id)))


def test_producer_posts_a_supply_listing_with_quality(producer, db):
    client, user, site = producer
    r = post(client, "/listings/supply/new", supply_form(site.id))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    listing = db.session.scalar(select(SupplyListing))
    assert listing.status == ListingStatus.OPEN and listing.tonnes == 1200
    assert str(listing.price_yuan_per_t) == "35.50"
    assert listing.quality == {"loi": "6.2", "fineness_45um": "22"}
    assert listing.organisation_id == user.organisation_id
    events = list(db.session.scalars(select(ListingEvent)))
    assert [e.action for e in events] == ["created"]


def test_save_as_draft(producer, db):
    client, _, site = producer
    data = supply_form(site.id)
    del data["publish"]
    data["save_draft"] = "Save as draft"
    post(client, "/listings/supply/new", data)
    assert db.session.scalar(select(SupplyListing.status)) == ListingStatus.DRAFT


@pytest.mark.parametrize("field,value,message", [
    ("tonnes", "-5", "Must be between 1 and 5,000,000"),
    ("tonnes", "1e9", "Must be between 1 and 5,000,000"),
    ("tonnes", "12.5", "whole number"),
    ("grade", "S95", "Not a grade of fly_ash"),
    ("material", "plutonium", "Not a valid choice"),
    ("price", "12.345", "At most 2 decimals"),
    ("price", "", "This field is required"),
    ("max_haul_km", "0", "Must be between 1 and 2,000"),
    ("q-fly_ash-loi", "lots", "Enter a number"),
    ("period_end", (today_cst() - timedelta(days=400)).isoformat(), "ends before it starts"),
    ("notes", "长" * 100_000, "At most 2000 characters"),
])
def test_bad_supply_input_is_refused_and_nothing_saved(producer, db, field, value, message):
    client, _, site = producer
    client.get("/lang/en")
    r = post(client, "/listings/supply/new", supply_form(site.id, **{field: value}))
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    assert count(db) == 0


def test_error_messages_are_in_chinese_by_default(producer, db):
    client, _, site = producer
    r = post(client, "/listings/supply/new", supply_form(site.id, tonnes="-5"))
    assert "必须在 1 到 5,000,000 之间" in r.get_data(as_text=True)
    assert count(db) == 0


@pytest.mark.parametrize("content,name,message", [
    (b"MZ\x90\x00 not a pdf", "cert.pdf", "must be a PDF, PNG or JPEG"),
    (b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024), "big.pdf", "at most 5 MB"),
])
def test_bad_certificates_are_refused(producer, db, content, name, message):
    client, _, site = producer
    client.get("/lang/en")
    r = post(client, "/listings/supply/new", {**supply_form(site.id), "certificate": (io.BytesIO(content), name)},
             content_type="multipart/form-data", follow_redirects=True)
    assert message in r.get_data(as_text=True)
    listing = db.session.scalar(select(SupplyListing))
    assert listing is None or listing.certificate_path is None


def test_certificate_is_stored_and_served_only_to_those_allowed(producer, make_user, db):
    client, _, site = producer
    pdf = b"%PDF-1.4\n% lab report\n"
    post(client, "/listings/supply/new", {**supply_form(site.id), "certificate": (io.BytesIO(pdf), "../../etc/x.pdf")},
         content_type="multipart/form-data")
    listing = db.session.scalar(select(SupplyListing))
    assert listing.certificate_type == "application/pdf" and ".." not in listing.certificate_path
    r = client.get(f"/listings/supply/{listing.id}/certificate")
    assert r.status_code == 200 and r.data == pdf
    consumer = make_user(kind="consumer")
    other = client.application.test_client()
    login(other, consumer)
    assert other.get(f"/listings/supply/{listing.id}/certificate").status_code == 404
    regulator = make_user(kind="regulator")
    third = client.application.test_client()
    login(third, regulator)
    assert third.get(f"/listings/supply/{listing.id}/certificate").status_code == 200


def test_edit_withdraw_and_history(producer, db):
    client, _user, site = producer
    post(client, "/listings/supply/new", supply_form(site.id))
    listing = db.session.scalar(select(SupplyListing))
    r = post(client, f"/listings/supply/{listing.id}/edit", supply_form(site.id, tonnes="900", price="30"))
    assert r.status_code == 302
    r = post(client, f"/listings/supply/{listing.id}/status", {"status": "withdrawn"},
             page=f"/listings/supply/{listing.id}")
    assert r.status_code == 302
    db.session.refresh(listing)
    assert listing.tonnes == 900 and listing.status == ListingStatus.WITHDRAWN
    events = list(db.session.scalars(select(ListingEvent).order_by(ListingEvent.id)))
    assert [e.action for e in events] == ["created", "updated", "withdrawn"]
    assert events[1].changes["tonnes"] == [1200, 900]
    page = client.get(f"/listings/supply/{listing.id}").get_data(as_text=True)
    assert "1200 → 900" in page
    # withdrawn is final: no more edits
    client.get("/lang/en")
    r = post(client, f"/listings/supply/{listing.id}/edit", supply_form(site.id, tonnes="800"),
             page=f"/listings/supply/{listing.id}")
    assert r.status_code == 409
    db.session.refresh(listing)
    assert listing.tonnes == 900


def test_only_the_owner_edits(producer, make_user, make_site, db):
    client, _, site = producer
    post(client, "/listings/supply/new", supply_form(site.id))
    listing = db.session.scalar(select(SupplyListing))
    rival = make_user(kind="producer")
    rival_site = make_site(rival.organisation)
    other = client.application.test_client()
    login(other, rival)
    assert other.get(f"/listings/supply/{listing.id}/edit").status_code == 403
    r = post(other, f"/listings/supply/{listing.id}/status", {"status": "withdrawn"}, page="/listings/mine")
    assert r.status_code == 403
    db.session.refresh(listing)
    assert listing.status == ListingStatus.OPEN and listing.site_id == site.id
    assert rival_site.id != site.id


@pytest.fixture
def market(producer, make_user, make_site, db):
    """A producer's open listing with notes carrying an XSS payload; a consumer 40 km away looks at it."""
    client, _user, site = producer
    post(client, "/listings/supply/new", supply_form(site.id, notes=XSS))
    consumer = make_user(kind="consumer")
    consumer_site = make_site(consumer.organisation, name="灵武水泥厂", lat="38.094", lon="106.335")
    viewer = client.application.test_client()
    login(viewer, consumer)
    return viewer, consumer, consumer_site, db.session.scalar(select(SupplyListing))


def test_others_see_the_listing_but_not_who_where_or_notes(market):
    viewer, _, _, listing = market
    for url in ("/listings/supply", f"/listings/supply/{listing.id}", "/listings/supply/map.json"):
        response = viewer.get(url)
        page = (json.dumps(response.get_json(), ensure_ascii=False) if response.is_json
                else response.get_data(as_text=True))
        assert "恒源灰库" not in page, url
        assert listing.organisation.name not in page, url
        assert "alert" not in page and "onerror" not in page, url
        assert "38.0575" not in page and "106.6914" not in page, url
    detail = viewer.get(f"/listings/supply/{listing.id}").get_data(as_text=True)
    assert "1,200" in detail and "35.50" in detail and "灵武市" in detail


def map_marker(client, url="/listings/supply/map.json"):
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/json"
    collection = response.get_json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 1
    return collection["features"][0]


def test_the_map_puts_others_at_the_county_seat_with_nothing_that_names_them(market):
    from marketplace import gazetteer

    viewer, _, _, listing = market
    marker = map_marker(viewer)
    seat = gazetteer.COUNTIES["Lingwu"]
    assert marker["geometry"] == {"type": "Point", "coordinates": [float(seat.lon), float(seat.lat)]}
    labels = [label for label, _value in marker["properties"]["popup"]]
    assert len(labels) == 5  # material, grade, tonnes, price, county; no organisation, site or notes
    assert {"1,200", "35.50", "灵武市"} <= set(dict(marker["properties"]["popup"]).values())
    assert marker["properties"]["link"] == f"/listings/supply/{listing.id}"


def test_exports_keep_the_secret_too(market):
    viewer, _, _, _listing = market
    csv_text = viewer.get("/listings/supply/export.csv?codes=1").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["tonnes"] == "1200" and rows[0]["price_yuan_per_t"] == "35.50"
    assert "organisation" not in rows[0] and "notes" not in rows[0] and "site_id" not in rows[0]
    xlsx = load_workbook(io.BytesIO(viewer.get("/listings/supply/export.xlsx?codes=1").data))
    header = [c.value for c in next(xlsx.active.iter_rows(max_row=1))]
    assert "organisation" not in header and "tonnes" in header


def test_owner_and_regulator_see_everything_escaped(market, producer, make_user):
    client, _, _ = producer
    listing = market[3]
    page = client.get(f"/listings/supply/{listing.id}").get_data(as_text=True)
    assert "恒源灰库" in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    regulator = make_user(kind="regulator")
    reg = client.application.test_client()
    login(reg, regulator)
    assert listing.organisation.name in reg.get(f"/listings/supply/{listing.id}").get_data(as_text=True)
    marker = map_marker(reg)
    # staff see who and where, as plain strings for the map script to put in as text
    assert [float(x) for x in marker["geometry"]["coordinates"]] == [106.6914, 38.0575]
    popup = dict(marker["properties"]["popup"])
    assert listing.organisation.name in popup.values() and "恒源灰库" in popup.values() and XSS in popup.values()
    own = map_marker(client)
    assert XSS in dict(own["properties"]["popup"]).values()
    rows = list(csv.DictReader(io.StringIO(reg.get("/listings/supply/export.csv?codes=1").get_data(as_text=True)
                                           .lstrip("\ufeff"))))
    assert rows[0]["organisation"] == listing.organisation.name and rows[0]["notes"] == XSS


def test_the_browse_page_draws_its_map_in_the_page_from_local_assets(market):
    viewer = market[0]
    page = viewer.get("/listings/supply?material=fly_ash").get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in page and "/static/js/map.js" in page
    assert 'data-map-url="/listings/supply/map.json?' in page and "material=fly_ash" in page
    assert "<iframe" not in page
    assert "cdn." not in page and "cdnjs" not in page and "netdna" not in page


def test_browse_by_distance_from_my_site(market, make_user, make_site, producer, db):
    viewer, _consumer, consumer_site, listing = market
    page = viewer.get(f"/listings/supply?near_site_id={consumer_site.id}&within_km=50").get_data(as_text=True)
    assert f'/listings/supply/{listing.id}"' in page
    page = viewer.get(f"/listings/supply?near_site_id={consumer_site.id}&within_km=10").get_data(as_text=True)
    assert f'/listings/supply/{listing.id}"' not in page
    # someone else's site as the origin is refused with a message
    page = viewer.get(f"/listings/supply?near_site_id={producer[2].id}&within_km=50")
    assert page.status_code == 200


def test_browse_filters(market):
    viewer, _, _, listing = market
    link = f'/listings/supply/{listing.id}"'
    assert link in viewer.get("/listings/supply?material=fly_ash&grade=II").get_data(as_text=True)
    assert link not in viewer.get("/listings/supply?material=fly_ash&grade=I").get_data(as_text=True)
    assert link not in viewer.get("/listings/supply?material=gbf_slag").get_data(as_text=True)
    assert link in viewer.get("/listings/supply?county=Lingwu&max_price=40").get_data(as_text=True)
    assert link not in viewer.get("/listings/supply?max_price=20").get_data(as_text=True)
    assert link not in viewer.get("/listings/supply?min_tonnes=5000").get_data(as_text=True)
    assert viewer.get("/listings/supply?min_tonnes=abc&sort=bogus").status_code == 200


def test_withdrawn_and_draft_listings_of_others_are_invisible(market, producer, db):
    viewer, _, _, listing = market
    client = producer[0]
    post(client, f"/listings/supply/{listing.id}/status", {"status": "draft"}, page=f"/listings/supply/{listing.id}")
    assert viewer.get(f"/listings/supply/{listing.id}").status_code == 404
    assert f'/listings/supply/{listing.id}"' not in viewer.get("/listings/supply").get_data(as_text=True)


def test_expired_listings_leave_the_market(market, db):
    viewer, _, _, listing = market
    listing.period_start = today_cst() - timedelta(days=30)
    listing.period_end = today_cst() - timedelta(days=1)
    db.session.commit()
    assert f'/listings/supply/{listing.id}"' not in viewer.get("/listings/supply").get_data(as_text=True)
    stored = select(type(listing).status).where(type(listing).id == listing.id)  # the column, as stored
    assert db.session.scalar(stored) == ListingStatus.OPEN  # reading the market wrote nothing (GET never writes)
    db.session.refresh(listing)
    assert listing.status == ListingStatus.EXPIRED  # but it reads as expired already
    assert listings.expire_due() == 1  # what the scheduled expiry job does
    db.session.commit()
    assert db.session.scalar(stored) == ListingStatus.EXPIRED


def test_consumer_posts_a_demand_with_quality_limits(logged_in, make_site, db):
    client, user = logged_in(kind="consumer")
    site = make_site(user.organisation)
    data = {"site_id": str(site.id), "material": "fgd_gypsum", "grade": "", "tonnes": "5000",
            "period_start": today_cst().isoformat(), "period_end": (today_cst() + timedelta(days=60)).isoformat(),
            "price": "", "max_haul_km": "150", "qmin-fgd_gypsum-caso4_2h2o": "90",
            "qmax-fgd_gypsum-chloride": "0.1", "publish": "Publish"}
    r = post(client, "/listings/demand/new", data)
    assert r.status_code == 302
    demand = db.session.scalar(select(DemandListing))
    assert demand.quality_limits == {"caso4_2h2o": {"min": "90"}, "chloride": {"max": "0.1"}}
    assert demand.max_delivered_price_yuan_per_t is None and demand.min_grade is None
    client.get("/lang/en")
    r = post(client, "/listings/demand/new", {**data, "qmin-fgd_gypsum-caso4_2h2o": "95",
                                              "qmax-fgd_gypsum-caso4_2h2o": "80"})
    assert "minimum is above the maximum" in r.get_data(as_text=True)
    assert count(db, DemandListing) == 1


@pytest.mark.parametrize("kind,side", [("consumer", "supply"), ("producer", "demand"), ("regulator", "supply")])
def test_only_the_right_kind_of_organisation_posts(logged_in, kind, side):
    client, _ = logged_in(kind=kind)
    assert client.get(f"/listings/{side}/new").status_code == 403


def test_unverified_producer_cannot_publish(logged_in, make_site, db):
    client, user = logged_in(kind="producer", verified=False)
    site = make_site(user.organisation)
    r = post(client, "/listings/supply/new", supply_form(site.id))
    assert r.status_code == 403
    assert count(db) == 0


# --- bulk import ---------------------------------------------------------------------------------------

def csv_file(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
    return io.BytesIO(buffer.getvalue().encode("utf-8"))


HEADER = ["site_id", "material", "grade", "tonnes", "period_start", "period_end", "price_yuan_per_t", "max_haul_km",
          "notes", "quality.loi"]


def test_import_a_good_csv(producer, db):
    client, _, site = producer
    end = (today_cst() + timedelta(days=30)).isoformat()
    rows = [HEADER, [site.id, "fly_ash", "I", 500, today_cst().isoformat(), end, "60", 150, "一", "4.5"],
            [site.id, "furnace_slag", "", 800, today_cst().isoformat(), end, "-5.00", 100, "二", ""]]
    r = post(client, "/listings/supply/import", {"file": (csv_file(rows), "listings.csv")},
             content_type="multipart/form-data")
    assert r.status_code == 302
    assert count(db) == 2
    assert {row.material.code for row in db.session.scalars(select(SupplyListing))} == {"fly_ash", "furnace_slag"}


def test_a_bad_row_is_reported_by_line_and_field_and_nothing_is_saved(producer, db):
    client, _, site = producer
    end = (today_cst() + timedelta(days=30)).isoformat()
    rows = [HEADER, [site.id, "fly_ash", "I", 500, today_cst().isoformat(), end, "60", 150, "", ""],
            [site.id, "fly_ash", "S95", 500, today_cst().isoformat(), end, "60", 150, "", ""],
            [site.id, "fly_ash", "I", -1, today_cst().isoformat(), end, "60", 150, "", ""]]
    client.get("/lang/en")
    r = post(client, "/listings/supply/import", {"file": (csv_file(rows), "listings.csv")},
             content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<td>3</td><td>grade</td>" in page and "<td>4</td><td>tonnes</td>" in page
    assert count(db) == 0


def test_import_xlsx(producer, db):
    client, _, site = producer
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append([site.id, "fly_ash", "III", 700, today_cst(), today_cst() + timedelta(days=10), 10, 120, "xlsx", 9.5])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    r = post(client, "/listings/supply/import", {"file": (buffer, "listings.xlsx")},
             content_type="multipart/form-data")
    assert r.status_code == 302
    listing = db.session.scalar(select(SupplyListing))
    assert listing.tonnes == 700 and listing.quality == {"loi": "9.5"}


def test_import_refuses_a_file_that_is_not_a_table(producer, db):
    client, _, _ = producer
    client.get("/lang/en")
    r = post(client, "/listings/supply/import", {"file": (io.BytesIO(b"PK\x03\x04garbage"), "x.xlsx")},
             content_type="multipart/form-data")
    assert "not a readable XLSX" in r.get_data(as_text=True)
    r = post(client, "/listings/supply/import", {"file": (io.BytesIO(b"\xff\xfe\x00bad"), "x.csv")},
             content_type="multipart/form-data")
    assert "UTF-8" in r.get_data(as_text=True)
    assert count(db) == 0


def test_api_token_page_creates_and_revokes(logged_in, db):
    from marketplace.models import ApiToken

    client, _user = logged_in(kind="producer")
    r = post(client, "/auth/tokens", {"name": "地磅系统"})
    page = r.get_data(as_text=True)
    assert "nxw_" in page
    token = db.session.scalar(select(ApiToken))
    api = client.application.test_client()
    plain = page.split("<code>nxw_")[1].split("</code>")[0]
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer nxw_{plain}"}).status_code == 200
    post(client, f"/auth/tokens/{token.id}/revoke", {}, page="/auth/tokens")
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer nxw_{plain}"}).status_code == 401
