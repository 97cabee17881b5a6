"""No input gives a 500: each input found to crash the platform (issue 10, finding 7), through the HTTP client
as the role that can send it. Pages answer with a form error that keeps the input, or the 400 page; the API
with its JSON error naming the field."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.models import ApiToken, Shipment, Site, SupplyListing
from marketplace.services.generation import CST
from tests.web.conftest import PASSWORD, csrf_token, login, post_form, token_request
from tests.web.deals import make_agreement

NUL = "a\x00b"


def api_token(client, user) -> dict:
    r = client.post("/api/v1/auth/token", json=token_request(user))
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def raw_json(client, url, text: str, headers=None, method="post"):
    """A JSON body sent as typed (escapes such as \\u0000 or \\ud800 reach the parser untouched)."""
    return getattr(client, method)(url, data=text.encode(), content_type="application/json", headers=headers or {})


def assert_api_400(response, field=None):
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and error["message"]
    if field is not None:
        assert error["field"] == field


# --- NUL bytes -------------------------------------------------------------------------------------------

def test_nul_in_the_login_email_is_a_form_error_that_keeps_the_input(client, db):
    client.get("/lang/en")
    r = client.post("/auth/login", data={"email": "x\x00@example.com", "password": "secret",
                                         "csrf_token": csrf_token(client)})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "characters that are not allowed" in page and "@example.com" in page


@pytest.mark.parametrize("body", ['{"email": "a\\u0000@example.com", "password": "x"}',
                                  '{"email": "a@example.com", "password": "x\\u0000"}',
                                  '{"email": "\\ud800@example.com", "password": "x"}'])
def test_nul_or_a_lone_surrogate_at_the_unauthenticated_token_endpoint_is_a_400(client, db, body):
    r = raw_json(client, "/api/v1/auth/token", body)
    assert_api_400(r)
    assert r.get_json()["error"]["field"] in ("email", "password")


@pytest.fixture
def producer(logged_in, make_site):
    client, user = logged_in(kind="producer")
    return client, user, make_site(user.organisation)


def test_nul_in_listing_notes_is_a_form_error_and_nothing_is_saved(producer, db):
    from tests.web.test_listings_ui import supply_form

    client, _, site = producer
    client.get("/lang/en")
    r = post_form(client, "/listings/supply/new", supply_form(site.id, notes="袋装" + NUL),
                  page="/listings/supply/new")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "characters that are not allowed" in page and "袋装" in page
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0


@pytest.mark.parametrize("notes", ["\\u0000", "\\ud800", "x\\udfffy", "\\u001b[31m"])
def test_nul_and_lone_surrogates_in_notes_through_the_api_name_the_field(producer, client, db, notes):
    _, user, site = producer
    today = datetime.now(CST).date()
    # JSON text by hand (braces, raw escapes): printf-style, not an f-string
    body = ('{"site_id": %d, "material": "fly_ash", "tonnes": 10, "max_haul_km": 50, "price_yuan_per_t": "1",'  # noqa: UP031
            ' "period_start": "%s", "period_end": "%s", "notes": "%s"}'
            % (site.id, today, today + timedelta(days=5), notes))
    r = raw_json(client, "/api/v1/supply-listings", body, api_token(client, user))
    assert_api_400(r, "notes")
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0


def test_multi_line_notes_still_pass(producer, client, db):
    _, user, site = producer
    today = datetime.now(CST).date()
    r = client.post("/api/v1/supply-listings", headers=api_token(client, user), json={
        "site_id": site.id, "material": "fly_ash", "tonnes": 10, "max_haul_km": 50, "price_yuan_per_t": "1",
        "period_start": str(today), "period_end": str(today + timedelta(days=5)), "notes": "一行\r\n二行\t三"})
    assert r.status_code == 201, r.get_json()


def test_nul_in_a_site_name_and_a_token_name_are_form_errors(producer, db):
    client, _, _ = producer
    client.get("/lang/en")
    r = post_form(client, "/org/sites/new", {"name": "灰库" + NUL, "place": "park:Ningdong"}, page="/org/sites/new")
    assert r.status_code == 200 and "characters that are not allowed" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Site.id))) == 1
    r = post_form(client, "/auth/tokens", {"name": "磅" + NUL}, page="/auth/tokens")
    assert r.status_code in (200, 302) and db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_nul_in_an_uploaded_file_name_is_a_400(producer, db):
    client, _, _ = producer
    token = csrf_token(client, "/listings/supply/import")
    r = client.post("/listings/supply/import", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"site_id\n1\n"), "a\x00.csv"), "csrf_token": token})
    assert r.status_code == 400


def test_nul_in_a_form_field_no_form_declares_is_the_400_page(producer, db):
    from tests.web.test_listings_ui import supply_form

    client, _, site = producer
    r = post_form(client, "/listings/supply/new", supply_form(site.id, **{"q-fly_ash-loi": "6\x00"}),
                  page="/listings/supply/new")
    assert r.status_code == 400
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0


@pytest.fixture
def deal(make_user, make_site, db):
    return make_agreement(make_user, make_site, tonnes=100)


def ticket(**overrides):
    when = (datetime.now(CST) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {"ticket_no": "T1", "truck_plate": "宁A12345", "dispatched_at": when, "gross_kg": "40000",
            "tare_kg": "15000", **overrides}


def test_nul_in_a_ticket_number_is_refused_on_the_page_and_the_api(deal, client, db):
    agreement, producer, _ = deal
    login(client, producer)
    page = f"/match/agreements/{agreement.id}"
    r = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", ticket(ticket_no="T" + NUL), page=page)
    assert r.status_code == 422  # the agreement page again, the ticket as typed, the error beside its field
    r = client.post(f"/api/v1/agreements/{agreement.id}/shipments", json=ticket(ticket_no="T" + NUL),
                    headers=api_token(client, producer))
    assert_api_400(r, "ticket_no")
    assert db.session.scalar(select(func.count(Shipment.id))) == 0


def test_nul_in_baseline_evidence_is_refused(logged_in, db):
    client, user = logged_in(kind="consumer")
    r = post_form(client, "/subsidies/baselines", {"year": "2024", "tonnes": "100", "evidence": "发票" + NUL},
                  page="/subsidies/")
    assert r.status_code < 500
    r = raw_json(client, "/api/v1/baselines", '{"year": 2024, "tonnes": "100", "evidence": "x\\u0000"}',
                 api_token(client, user))
    assert_api_400(r, "evidence")


# --- JSON depth and size ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/auth/token", "/api/v1/supply-listings"])
def test_deeply_nested_json_is_a_400_before_parsing(client, db, url):
    r = raw_json(client, url, "[" * 100_000)
    assert_api_400(r)
    r = raw_json(client, url, '{"a":' * 50_000 + "1" + "}" * 50_000)
    assert_api_400(r)


def test_a_json_body_over_the_limit_is_a_413(client, db):
    r = raw_json(client, "/api/v1/auth/token", '{"email": "' + "x" * (2 * 1024 * 1024) + '"}')
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"


# --- next --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%0D%0A//x", "/%0Aevil", "/%09/evil.example", "//evil.example",
                                    "/\\evil.example", "https://evil.example/"])
def test_an_unsafe_next_falls_back_to_the_home_page(client, db, target):
    r = client.get(f"/lang/en?next={target}")
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_an_unsafe_next_after_login_falls_back_to_the_home_page(client, make_user):
    user = make_user()
    r = client.post("/auth/login?next=/%0D%0ASet-Cookie:x=1", data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_a_safe_next_still_works(client, db):
    r = client.get("/lang/en?next=/listings/supply?material=fly_ash")
    assert r.status_code == 302 and r.headers["Location"] == "/listings/supply?material=fly_ash"


# --- dates ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59:59-12:00", "1999-12-31T23:59"])
def test_absurd_dispatch_times_are_refused_not_a_500(deal, client, db, moment):
    agreement, producer, _ = deal
    r = client.post(f"/api/v1/agreements/{agreement.id}/shipments", json=ticket(dispatched_at=moment),
                    headers=api_token(client, producer))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "dispatched_at"
    login(client, producer)
    r = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", ticket(dispatched_at=moment),
                  page=f"/match/agreements/{agreement.id}")
    assert r.status_code == 422
    assert db.session.scalar(select(func.count(Shipment.id))) == 0


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_absurd_listing_dates_are_refused_on_the_page_and_the_api(producer, db, day):
    from tests.web.test_listings_ui import supply_form

    client, user, site = producer
    client.get("/lang/en")
    r = post_form(client, "/listings/supply/new", supply_form(site.id, period_end=day), page="/listings/supply/new")
    assert r.status_code == 200 and "between 2000 and 2100" in r.get_data(as_text=True)
    r = client.post("/api/v1/supply-listings", headers=api_token(client, user), json={
        "site_id": site.id, "material": "fly_ash", "tonnes": 10, "max_haul_km": 50, "price_yuan_per_t": "1",
        "period_start": "2026-01-01", "period_end": day})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "period_end"


# --- page numbers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,url", [("consumer", "/deliveries/ledger"), ("regulator", "/deliveries/ledger"),
                                      ("regulator", "/admin/organisations"), ("operator", "/admin/organisations")])
@pytest.mark.parametrize("page", ["999999999999999999", "-1", "0", "1e9", "x"])
def test_absurd_page_numbers_are_a_400(logged_in, db, kind, url, page):
    client, _ = logged_in(kind=kind)
    assert client.get(f"{url}?page={page}").status_code == 400
    assert client.get(f"{url}?page=2").status_code == 200


@pytest.mark.parametrize("page", ["999999999999999999", "0"])
def test_absurd_page_numbers_on_the_api_are_a_4xx(logged_in, client, db, page):
    _, user = logged_in(kind="regulator")
    for url in ("/api/v1/ledger", "/api/v1/supply-listings"):
        r = client.get(f"{url}?page={page}", headers=api_token(client, user))
        assert r.status_code == 422 and r.get_json()["error"]["field"] == "page"


# --- query arguments ------------------------------------------------------------------------------------------

def test_control_characters_in_query_arguments_are_a_400(producer, client, db):
    c, user, _ = producer
    assert c.get("/listings/supply?q=a%00b").status_code == 400
    r = client.get("/api/v1/supply-listings?material=fly%00ash", headers=api_token(client, user))
    assert_api_400(r, "material")
