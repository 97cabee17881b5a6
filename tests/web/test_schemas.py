"""One description per input and output (marketplace/schemas): a limit said once reaches the API's 422, the
web form's error and the OpenAPI document; unknown fields are refused by name; decimals keep their places;
messages are translated and name the field; every documented response has a schema."""
from __future__ import annotations

from datetime import timedelta

import annotated_types
import pytest
from sqlalchemy import func, select

from marketplace.api.spec import built_document
from marketplace.schemas.listings import SupplyListingCreate
from tests.web.conftest import csrf_token, token_request

API = "/api/v1"


@pytest.fixture(autouse=True)
def production_errors(app, monkeypatch):
    """A crash is the app's 500 response (as in production), not an exception in the test."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


@pytest.fixture
def producer(client, make_user, make_site):
    """A verified producer with a site, logged in on `client` (the web pages) and holding a bearer token."""
    from tests.web.conftest import login

    user = make_user(kind="producer")
    site = make_site(user.organisation)
    response = client.post(f"{API}/auth/token", json=token_request(user))
    assert response.status_code == 201, response.get_data(as_text=True)
    login(client, user)
    return user, site, {"Authorization": f"Bearer {response.get_json()['token']}"}


def today():
    from marketplace.clock import today_cst

    return today_cst()


def supply_body(site_id: int, **overrides) -> dict:
    body = {"site_id": site_id, "material": "fly_ash", "grade": "II", "tonnes": 1200, "price_yuan_per_t": "35.50",
            "max_haul_km": 150, "period_start": today().isoformat(),
            "period_end": (today() + timedelta(days=90)).isoformat(), "quality": {"loi": "4.2"}}
    body.update(overrides)
    return body


def supply_form(site_id: int, **overrides) -> dict:
    data = {"site_id": str(site_id), "material": "fly_ash", "grade": "II", "tonnes": "1200",
            "period_start": today().isoformat(), "period_end": (today() + timedelta(days=90)).isoformat(),
            "price": "35.50", "max_haul_km": "200", "notes": "", "publish": "Publish"}
    data.update(overrides)
    return data


def listings_saved(db) -> int:
    from marketplace.models import SupplyListing

    db.session.rollback()
    return db.session.scalar(select(func.count(SupplyListing.id)))


def error_of(response, status: int = 422) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


@pytest.fixture
def tonnes_at_most_1000():
    """The one change: the supply listing schema's upper bound on tonnes becomes 1,000 (put back afterwards)."""
    field = SupplyListingCreate.model_fields["tonnes"]
    before = list(field.metadata)
    field.metadata = [annotated_types.Le(1000) if isinstance(m, annotated_types.Le) else m for m in before]
    SupplyListingCreate.model_rebuild(force=True)
    built_document.cache_clear()  # the served document is built once per process
    yield
    field.metadata = before
    SupplyListingCreate.model_rebuild(force=True)
    built_document.cache_clear()


def test_a_limit_changed_in_one_schema_shows_in_the_api_the_form_and_the_openapi_document(
        client, db, producer, tonnes_at_most_1000):
    _user, site, bearer = producer
    client.get("/lang/en")

    api = client.post(f"{API}/supply-listings", json=supply_body(site.id, tonnes=1001), headers=bearer)
    error = error_of(api)
    assert (error["field"], error["message"]) == ("tonnes", "Must be between 1 and 1,000.")

    form = client.post("/listings/supply/new", data={**supply_form(site.id, tonnes="1001"),
                                                     "csrf_token": csrf_token(client, "/listings/supply/new")})
    assert form.status_code == 200
    assert "Must be between 1 and 1,000." in form.get_data(as_text=True)
    assert listings_saved(db) == 0
    assert 'data-max="1000"' in client.get("/listings/supply/new").get_data(as_text=True)

    document = client.get(f"{API}/openapi.json").get_json()
    assert document["components"]["schemas"]["SupplyListingCreate"]["properties"]["tonnes"]["maximum"] == 1000

    # and 1,000 itself still passes everywhere
    assert client.post(f"{API}/supply-listings", json=supply_body(site.id, tonnes=1000),
                       headers=bearer).status_code == 201


def test_without_the_change_the_three_say_5_000_000(client, db, producer):
    _user, site, bearer = producer
    client.get("/lang/en")
    assert client.post(f"{API}/supply-listings", json=supply_body(site.id, tonnes=1001),
                       headers=bearer).status_code == 201
    error = error_of(client.post(f"{API}/supply-listings", json=supply_body(site.id, tonnes=5_000_001),
                                 headers=bearer))
    assert error["message"] == "Must be between 1 and 5,000,000."
    document = client.get(f"{API}/openapi.json").get_json()
    assert document["components"]["schemas"]["SupplyListingCreate"]["properties"]["tonnes"]["maximum"] == 5_000_000
    assert 'data-max="5000000"' in client.get("/listings/supply/new").get_data(as_text=True)


@pytest.mark.parametrize("method,path,body", [
    ("post", "/supply-listings", None),
    ("post", "/auth/token", {"email": "a@example.org", "password": "x"}),
    ("post", "/match-rounds", {}),
    ("post", "/subsidy-claims", {"year": 2025}),
    ("post", "/baselines", {"year": 2025, "tonnes": "1", "evidence": "x"}),
    ("post", "/shipments/1/confirm", {"received_net_kg": 1000}),
    ("post", "/agreements/1/shipments", {"ticket_no": "T1", "truck_plate": "宁A12345",
                                         "dispatched_at": "2025-01-01T08:00", "gross_kg": 30000, "tare_kg": 10000}),
])
def test_an_unknown_field_is_refused_by_name(client, db, producer, method, path, body):
    _user, site, bearer = producer
    body = dict(supply_body(site.id) if body is None else body, colour="red")
    error = error_of(getattr(client, method)(f"{API}{path}", json=body, headers=bearer))
    assert error["field"] == "colour"
    assert error["message"] == "未知字段。"
    assert listings_saved(db) == 0


@pytest.mark.parametrize("overrides,field,message", [
    ({"price_yuan_per_t": "12.345"}, "price_yuan_per_t", "At most 2 decimals."),
    ({"price_yuan_per_t": 12.345}, "price_yuan_per_t", "At most 2 decimals."),
    ({"price_yuan_per_t": "99724.56977993078"}, "price_yuan_per_t", "At most 2 decimals."),
    ({"price_yuan_per_t": "1e999"}, "price_yuan_per_t", "Must be between -10,000 and 100,000."),
    ({"price_yuan_per_t": "NaN"}, "price_yuan_per_t", "Enter a number."),
    ({"quality": {"loi": "4.12345"}}, "quality.loi", "At most 4 decimals."),
    ({"tonnes": 12.5}, "tonnes", "Enter a whole number."),
    ({"tonnes": True}, "tonnes", "Enter a whole number."),
])
def test_decimals_keep_their_places_and_numbers_their_kind(client, db, producer, overrides, field, message):
    _user, site, bearer = producer
    client.get("/lang/en")
    error = error_of(client.post(f"{API}/supply-listings", json=supply_body(site.id, **overrides), headers=bearer))
    assert (error["field"], error["message"]) == (field, message)
    assert listings_saved(db) == 0


def test_money_is_stored_exactly_and_answered_with_two_decimals(client, db, producer):
    from decimal import Decimal

    from marketplace.models import SupplyListing

    _user, site, bearer = producer
    created = client.post(f"{API}/supply-listings", json=supply_body(site.id, price_yuan_per_t="12.5"),
                          headers=bearer)
    assert created.status_code == 201
    assert created.get_json()["price_yuan_per_t"] == "12.50"
    db.session.rollback()
    assert db.session.scalar(select(SupplyListing.price_yuan_per_t)) == Decimal("12.50")


@pytest.mark.parametrize("lang,message", [("zh", "最多保留 2 位小数。"), ("en", "At most 2 decimals.")])
def test_messages_are_translated_and_name_the_field(client, db, producer, lang, message):
    _user, site, bearer = producer
    client.get(f"/lang/{lang}")
    error = error_of(client.post(f"{API}/supply-listings", json=supply_body(site.id, price_yuan_per_t="1.001"),
                                 headers=bearer))
    assert error == {"code": "invalid", "message": message, "field": "price_yuan_per_t"}


def test_a_zh_reader_gets_every_kind_of_refusal_in_chinese(client, db, producer):
    _user, site, bearer = producer
    cases = [({"tonnes": 0}, "tonnes", "必须在 1 到 5,000,000 之间。"),
             ({"tonnes": "lots"}, "tonnes", "请输入整数。"),
             ({"notes": "长" * 2001}, "notes", "最多 2000 个字符。"),
             ({"period_start": "01/02/2025"}, "period_start", "请按 YYYY-MM-DD 格式输入日期。")]
    for overrides, field, message in cases:
        error = error_of(client.post(f"{API}/supply-listings", json=supply_body(site.id, **overrides),
                                     headers=bearer))
        assert (error["field"], error["message"]) == (field, message), overrides
    body = supply_body(site.id)
    del body["material"]
    error = error_of(client.post(f"{API}/supply-listings", json=body, headers=bearer))
    assert (error["field"], error["message"]) == ("material", "此项为必填项。")


def test_every_documented_response_has_a_schema(client):
    document = client.get(f"{API}/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"200", "201", "202"} & set(operation["responses"]), (method, path)
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                name = schema["$ref"].rsplit("/", 1)[-1]
                assert name in schemas, (method, path, status)
                if status.startswith(("4", "5")):
                    assert name == "ErrorBody", (method, path, status)
                elif path != f"{API}/openapi.json":
                    assert schemas[name].get("properties"), (method, path, status, name)
