"""The JSON API /api/v1: tokens, listings (supply and demand), lifecycle, confidentiality and errors.

Every request goes through the test client with a real bearer token obtained from POST /api/v1/auth/token.
Unhandled exceptions are turned into the app's 500 response, as in production (see `production_errors`),
so that a crash shows up as a wrong status rather than as an exception inside the test."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.web.conftest import PASSWORD, token_request

API = "/api/v1"
PATHS = {"supply": f"{API}/supply-listings", "demand": f"{API}/demand-listings"}
KIND_FOR = {"supply": "producer", "demand": "consumer"}
GRADE_FIELD = {"supply": "grade", "demand": "min_grade"}
PRICE_FIELD = {"supply": "price_yuan_per_t", "demand": "max_delivered_price_yuan_per_t"}
QUALITY_FIELD = {"supply": "quality", "demand": "quality_limits"}
#: What only the owner's organisation, regulators and the operator may see.
CONFIDENTIAL = ("organisation", "site_id", "site_name", "lat", "lon", "notes")

SECRET_NOTES = "仅限本企业：联系人王工 13900000000"
SECRET_SITE = "保密二号灰场"
SECRET_LAT, SECRET_LON = "38.123457", "106.345679"


# --- helpers ---------------------------------------------------------------------------------------------

def today():
    from marketplace.services.listings import today_cst

    return today_cst()


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def supply_body(site_id, **overrides) -> dict:
    """A valid supply listing at `site_id`; `overrides` replace or add fields (site_id included)."""
    body = {"site_id": site_id, "material": "fly_ash", "grade": "II", "tonnes": 1200,
            "price_yuan_per_t": "35.50", "max_haul_km": 150, "period_start": day(0), "period_end": day(90),
            "quality": {"loi": "4.2", "fineness_45um": 18}, "notes": "每日两班装车"}
    body.update(overrides)
    return body


def demand_body(site_id, **overrides) -> dict:
    """A valid demand listing at `site_id`; `overrides` replace or add fields (site_id included)."""
    body = {"site_id": site_id, "material": "fly_ash", "min_grade": "II", "tonnes": 800,
            "max_delivered_price_yuan_per_t": "60.00", "max_haul_km": 200, "period_start": day(0),
            "period_end": day(120), "quality_limits": {"loi": {"max": "5"}, "so3": {"min": 0, "max": "3.0"}},
            "notes": "需铁路专用线"}
    body.update(overrides)
    return body


BODY = {"supply": supply_body, "demand": demand_body}


def assert_error(response, status: int, field: str | None = ..., code: str | None = None) -> dict:
    """The API's one error shape, as JSON, with this status (and `field`, `code` when given)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json", response.headers.get("Content-Type")
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if field is not ...:
        assert body["error"]["field"] == field, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def count(model) -> int:
    from marketplace.extensions import db

    db.session.rollback()  # see what the requests committed, not this session's stale view
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_saved():
    from marketplace.models import DemandListing, ListingEvent, SupplyListing

    return count(SupplyListing) == 0 and count(DemandListing) == 0 and count(ListingEvent) == 0


class Api:
    """A client that sends one user's bearer token with every request."""

    def __init__(self, client, user, token: str, site):
        self.client, self.user, self.token, self.site = client, user, token, site

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url, **kw):
        return self.client.patch(url, headers=self.headers, **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self.headers, **kw)

    def create(self, side: str, status: str | None = None, **overrides) -> dict:
        """POST a valid listing (with `overrides`) and return its JSON."""
        body = BODY[side](self.site.id, **overrides)
        if status is not None:
            body["status"] = status
        response = self.post(PATHS[side], json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()


def issue_token(client, user, password=PASSWORD) -> str:
    response = client.post(f"{API}/auth/token", json=token_request(user, password))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


@pytest.fixture(autouse=True)
def production_errors(app, monkeypatch):
    """An unhandled exception becomes the app's 500 response, as in production, not an exception in the test."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


def without_timestamps(listing: dict) -> dict:
    return {k: v for k, v in listing.items() if k not in ("created_at", "updated_at")}


@pytest.fixture
def api_as(client, make_user, make_site):
    """api_as(kind="producer", verified=True, with_site=True, **site) -> Api for a new user of a new organisation."""
    def make(kind="producer", verified=True, with_site=True, **site_fields):
        user = make_user(kind=kind, verified=verified)
        site = make_site(user.organisation, **site_fields) if with_site else None
        return Api(client, user, issue_token(client, user), site)

    return make


def set_status(side: str, listing_id: int, status: str, promised: int = 0) -> None:
    """Put a listing into a state only the system reaches (matched, expired) directly in the database."""
    from marketplace.extensions import db
    from marketplace.models import DemandListing, ListingStatus, SupplyListing

    db.session.rollback()
    listing = db.session.get(SupplyListing if side == "supply" else DemandListing, listing_id)
    listing.status = ListingStatus(status)
    listing.tonnes_promised = promised
    db.session.commit()


# --- tokens and authentication --------------------------------------------------------------------------

def test_token_for_right_password_is_201_and_opens_the_api(client, make_user):
    user = make_user(kind="producer")
    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    token = response.get_json()["token"]
    assert isinstance(token, str) and len(token) >= 32
    assert client.get(PATHS["supply"], headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_wrong_password_gets_no_token(client, make_user):
    user = make_user()
    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": "not-the-password"})
    error = assert_error(response, 401)
    assert "token" not in response.get_json()
    assert error["code"] == "unauthorised"


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user()
    wrong_password = client.post(f"{API}/auth/token", json={"email": user.email, "password": "nope"})
    unknown_email = client.post(f"{API}/auth/token", json={"email": "nobody@example.org", "password": "nope"})
    assert_error(unknown_email, 401)
    assert unknown_email.get_json() == wrong_password.get_json()


@pytest.mark.parametrize("body", [{}, {"email": "a@example.org"}, {"password": "x"},
                                  {"email": 5, "password": "x"}, {"email": "a@example.org", "password": None}])
def test_token_request_without_email_or_password_is_422(client, body):
    field = "email" if not isinstance(body.get("email"), str) else "password"
    assert_error(client.post(f"{API}/auth/token", json=body), 422, field=field)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_repeated_failed_logins_are_refused_with_429(app, client, make_user, language):
    user, bystander = make_user(), make_user()
    client.get(f"/lang/{language}")  # the refusal must not depend on the language of its message
    max_failures = app.config["LOGIN_MAX_FAILURES"]
    assert max_failures == 5
    for _ in range(max_failures):
        assert_error(client.post(f"{API}/auth/token", json={"email": user.email, "password": "guess"}), 401)
    # Locked now: even the right password is refused, and the refusal says why.
    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD})
    assert_error(response, 429, code="too_many_attempts")
    assert "token" not in response.get_json()
    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": "guess"})
    assert_error(response, 429, code="too_many_attempts")
    # The lock is on that account only.
    assert client.post(f"{API}/auth/token", json={"email": bystander.email, "password": PASSWORD}).status_code == 201


def test_revoked_token_stops_working(client, db, make_user):
    from marketplace.services import tokens

    user = make_user()
    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD})
    token, token_id = response.get_json()["token"], response.get_json()["id"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(PATHS["supply"], headers=headers).status_code == 200
    tokens.revoke_token(user, token_id)
    db.session.commit()
    assert_error(client.get(PATHS["supply"], headers=headers), 401)


def test_token_of_a_deactivated_user_is_401(client, db, make_user):
    user = make_user()
    headers = {"Authorization": f"Bearer {issue_token(client, user)}"}
    assert client.get(PATHS["demand"], headers=headers).status_code == 200
    user.active = False
    db.session.commit()
    assert_error(client.get(PATHS["demand"], headers=headers), 401)


def test_deactivated_user_gets_no_new_token(client, db, make_user):
    user = make_user()
    user.active = False
    db.session.commit()
    response = client.post(f"{API}/auth/token", json={"email": user.email, "password": PASSWORD})
    assert response.status_code in (401, 403)
    assert_error(response, response.status_code)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Bearer nxw_not-a-real-token",
                                    "Basic dXNlcjpwYXNz", "Token nxw_abc"])
def test_request_without_a_valid_token_is_401_json(client, header):
    headers = {} if header is None else {"Authorization": header}
    response = client.get(PATHS["supply"], headers=headers)
    assert_error(response, 401, code="unauthorised")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_is_only_accepted_as_a_bearer_token(client, make_user):
    """The token sent under another scheme, or as a cookie, opens nothing."""
    token = issue_token(client, make_user())
    assert_error(client.get(PATHS["supply"], headers={"Authorization": f"Basic {token}"}), 401)
    client.set_cookie("token", token)
    assert_error(client.get(PATHS["supply"]), 401)


def test_a_logged_in_browser_session_does_not_open_the_api(logged_in):
    """The API authenticates by token only: a session cookie (without CSRF) must not do."""
    client, _user = logged_in(kind="producer")
    assert_error(client.get(PATHS["supply"]), 401)


# --- errors are JSON -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"{API}/nothing-here", f"{API}/supply-listings/abc", f"{API}/supply-listings/1/x"])
def test_unknown_url_under_the_api_is_404_json(api_as, path):
    api = api_as()
    assert_error(api.get(path), 404, code="not_found")
    assert_error(api.client.get(path), 404)  # without a token as well: no HTML anywhere under /api/v1


@pytest.mark.parametrize("method, path", [("put", f"{API}/supply-listings/1"), ("delete", f"{API}/supply-listings"),
                                          ("patch", f"{API}/demand-listings"), ("get", f"{API}/auth/token"),
                                          ("post", f"{API}/openapi.json")])
def test_wrong_method_is_405_json(api_as, method, path):
    api = api_as()
    response = api.client.open(path, method=method.upper(), headers=api.headers, json={})
    assert_error(response, 405, code="method_not_allowed")


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_missing_listing_is_404_json(api_as, side):
    api = api_as(kind="both")
    assert_error(api.get(f"{PATHS[side]}/999999"), 404)
    assert_error(api.get(f"{PATHS[side]}/{2**31}"), 404)
    assert_error(api.patch(f"{PATHS[side]}/999999", json={"tonnes": 5}), 404)
    assert_error(api.delete(f"{PATHS[side]}/{2**63}"), 404)


@pytest.mark.parametrize("kwargs", [
    {"json": [1, 2]}, {"json": "a string"}, {"json": None}, {"data": "tonnes=5", "content_type": "text/plain"},
    {"data": "{not json", "content_type": "application/json"},
    {"data": "", "content_type": "application/json"},
], ids=["list", "string", "null", "form-text", "broken-json", "empty"])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_body_that_is_not_a_json_object_is_400(api_as, method, kwargs):
    api = api_as(kind="both")
    url = PATHS["supply"] if method == "post" else f"{PATHS['supply']}/{api.create('supply')['id']}"
    assert_error(getattr(api, method)(url, **kwargs), 400, field=None, code="bad_request")


def test_oversized_body_is_refused_as_json(app, api_as):
    api = api_as(kind="producer")
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    response = api.post(PATHS["supply"], data=b"{" + b" " * too_big + b"}", content_type="application/json")
    assert_error(response, 413)
    assert nothing_saved()


def test_token_request_that_is_not_a_json_object_is_400(client):
    assert_error(client.post(f"{API}/auth/token", json=["a", "b"]), 400, code="bad_request")
    assert_error(client.post(f"{API}/auth/token", data="email=a&password=b"), 400, code="bad_request")


def test_openapi_document_is_public_and_openapi_3_1(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1.")
    for path in ("/api/v1/auth/token", "/api/v1/supply-listings", "/api/v1/supply-listings/{listing_id}",
                 "/api/v1/demand-listings", "/api/v1/demand-listings/{listing_id}"):
        assert path in doc["paths"], path


def test_every_api_route_is_described_in_the_openapi_document(app, client):
    import re

    doc = client.get(f"{API}/openapi.json").get_json()
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in doc["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []


# --- creating listings -----------------------------------------------------------------------------------

def test_producer_posts_a_supply_listing_that_is_open_at_once(api_as):
    api = api_as(kind="producer")
    body = supply_body(api.site.id)
    response = api.post(PATHS["supply"], json=body)
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    listing = response.get_json()
    assert isinstance(listing["id"], int)
    assert listing["status"] == "open"
    assert listing["site_id"] == api.site.id
    assert listing["organisation"] == api.user.organisation.name
    assert (listing["material"], listing["grade"], listing["tonnes"], listing["max_haul_km"]) == \
        ("fly_ash", "II", 1200, 150)
    assert listing["price_yuan_per_t"] == "35.50"
    assert listing["quality"] == {"loi": "4.2", "fineness_45um": "18"}
    assert (listing["period_start"], listing["period_end"]) == (body["period_start"], body["period_end"])
    assert listing["notes"] == body["notes"]
    # and it is stored: GET returns the same
    assert without_timestamps(api.get(f"{PATHS['supply']}/{listing['id']}").get_json()) == \
        without_timestamps(listing)


def test_consumer_posts_a_demand_listing_that_is_open_at_once(api_as):
    api = api_as(kind="consumer")
    body = demand_body(api.site.id)
    response = api.post(PATHS["demand"], json=body)
    assert response.status_code == 201, response.get_json()
    listing = response.get_json()
    assert listing["status"] == "open"
    assert listing["site_id"] == api.site.id
    assert listing["organisation"] == api.user.organisation.name
    assert (listing["material"], listing["min_grade"], listing["tonnes"], listing["max_haul_km"]) == \
        ("fly_ash", "II", 800, 200)
    assert listing["max_delivered_price_yuan_per_t"] == "60.00"
    assert listing["quality_limits"] == {"loi": {"max": "5"}, "so3": {"min": "0", "max": "3"}}
    assert (listing["period_start"], listing["period_end"]) == (body["period_start"], body["period_end"])
    assert listing["notes"] == body["notes"]
    assert without_timestamps(api.get(f"{PATHS['demand']}/{listing['id']}").get_json()) == \
        without_timestamps(listing)


def test_demand_listing_may_leave_out_grade_price_and_quality(api_as):
    api = api_as(kind="consumer")
    body = {k: v for k, v in demand_body(api.site.id).items()
            if k not in ("min_grade", "max_delivered_price_yuan_per_t", "quality_limits", "notes")}
    listing = api.post(PATHS["demand"], json=body).get_json()
    assert (listing["min_grade"], listing["max_delivered_price_yuan_per_t"], listing["quality_limits"]) == \
        (None, None, {})


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_timestamps_carry_their_time_zone_and_read_back_unchanged(api_as, side):
    from datetime import datetime

    api = api_as(kind="both")
    created = api.create(side)
    read = api.get(f"{PATHS[side]}/{created['id']}").get_json()
    listed = api.get(PATHS[side], query_string={"mine": "1"}).get_json()["items"][0]
    for key in ("created_at", "updated_at"):
        for shown in (created, read, listed):
            assert datetime.fromisoformat(shown[key]).tzinfo is not None, (key, shown[key])
        assert read[key] == created[key] == listed[key]


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_listing_posted_as_draft_stays_a_draft(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side, status="draft")
    assert listing["status"] == "draft"
    assert api.get(f"{PATHS[side]}/{listing['id']}").get_json()["status"] == "draft"


@pytest.mark.parametrize("side, kind", [("supply", "consumer"), ("demand", "producer"),
                                        ("supply", "regulator"), ("demand", "regulator"),
                                        ("supply", "operator"), ("demand", "operator")])
def test_only_the_right_kind_of_organisation_may_post(api_as, side, kind):
    api = api_as(kind=kind)
    assert_error(api.post(PATHS[side], json=BODY[side](api.site.id)), 403, code="forbidden")
    assert nothing_saved()


@pytest.mark.parametrize("side, kind", [("supply", "producer"), ("demand", "consumer"),
                                        ("supply", "both"), ("demand", "both")])
def test_unverified_organisation_may_not_post(api_as, side, kind):
    api = api_as(kind=kind, verified=False)
    assert_error(api.post(PATHS[side], json=BODY[side](api.site.id)), 403, code="forbidden")
    assert nothing_saved()


def test_producer_and_consumer_may_post_both_sides(api_as):
    api = api_as(kind="both")
    assert api.create("supply")["status"] == "open"
    assert api.create("demand")["status"] == "open"


# --- bad input: each field -> 422 naming it, nothing saved ---------------------------------------------

def _bad_inputs():
    past = {"period_start": day(-60), "period_end": day(-30)}
    backwards = {"period_start": day(30), "period_end": day(10)}
    cases = []
    for side in ("supply", "demand"):
        grade, price, quality = GRADE_FIELD[side], PRICE_FIELD[side], QUALITY_FIELD[side]
        common = [
            ("tonnes-negative", {"tonnes": -5}, "tonnes"),
            ("tonnes-zero", {"tonnes": 0}, "tonnes"),
            ("tonnes-fraction", {"tonnes": 1.5}, "tonnes"),
            ("tonnes-text", {"tonnes": "abc"}, "tonnes"),
            ("tonnes-true", {"tonnes": True}, "tonnes"),
            ("tonnes-huge", {"tonnes": 10**12}, "tonnes"),
            ("tonnes-list", {"tonnes": [5]}, "tonnes"),
            ("price-3-decimals", {price: "12.345"}, price),
            ("price-3-decimals-number", {price: 12.345}, price),
            ("price-nan", {price: "NaN"}, price),
            ("price-1e999", {price: "1e999"}, price),
            ("price-1e30", {price: "1e30"}, price),
            ("price-text", {price: "cheap"}, price),
            ("haul-zero", {"max_haul_km": 0}, "max_haul_km"),
            ("haul-5000", {"max_haul_km": 5000}, "max_haul_km"),
            ("period-backwards", backwards, "period_end"),
            ("period-in-the-past", past, "period_end"),
            ("start-month-13", {"period_start": "2026-13-01"}, "period_start"),
            ("end-month-13", {"period_end": "2026-13-01"}, "period_end"),
            ("start-not-a-string", {"period_start": 20260101}, "period_start"),
            ("unknown-material", {"material": "unobtainium"}, "material"),
            ("material-not-a-string", {"material": ["fly_ash"]}, "material"),
            ("grade-of-another-material", {grade: "S95"}, grade),
            ("grade-of-ungraded-material", {"material": "fgd_gypsum", grade: "I", quality: {}}, grade),
            ("site-id-text", {"site_id": "abc"}, "site_id"),
            ("site-id-missing-site", {"site_id": 987654}, "site_id"),
            ("site-id-beyond-64-bit", {"site_id": 10**20}, "site_id"),
            ("site-id-superscript-digit", {"site_id": "²"}, "site_id"),
            ("notes-100kb", {"notes": "备" * 100_000}, "notes"),
            ("notes-not-text", {"notes": 42}, "notes"),
            ("status-fully-matched", {"status": "fully_matched"}, "status"),
            ("status-withdrawn", {"status": "withdrawn"}, "status"),
            ("status-not-a-string", {"status": 1}, "status"),
        ]
        if side == "supply":
            common += [
                ("unknown-quality-parameter", {"quality": {"colour": "grey"}}, "quality.colour"),
                ("quality-value-text", {"quality": {"loi": "abc"}}, "quality.loi"),
                ("quality-value-bool", {"quality": {"loi": True}}, "quality.loi"),
                ("quality-value-1e999", {"quality": {"loi": "1e999"}}, "quality.loi"),
                ("quality-not-an-object", {"quality": ["loi", 4]}, "quality"),
                ("price-missing", {"price_yuan_per_t": None}, "price_yuan_per_t"),
            ]
        else:
            common += [
                ("unknown-quality-parameter", {"quality_limits": {"colour": {"max": 1}}}, "quality_limits.colour"),
                ("quality-limit-text", {"quality_limits": {"loi": {"max": "abc"}}}, "quality_limits.loi.max"),
                ("quality-limit-1e999", {"quality_limits": {"loi": {"max": "1e999"}}}, "quality_limits.loi.max"),
                ("quality-limits-min-above-max", {"quality_limits": {"loi": {"min": 5, "max": "2"}}},
                 "quality_limits.loi"),
                ("quality-limit-not-an-object", {"quality_limits": {"loi": 5}}, "quality_limits.loi"),
                ("quality-limit-unknown-bound", {"quality_limits": {"loi": {"avg": 5}}}, "quality_limits.loi"),
            ]
        cases += [pytest.param(side, overrides, field, id=f"{side}-{name}") for name, overrides, field in common]
    return cases


BAD_INPUTS = _bad_inputs()


@pytest.mark.parametrize("side, overrides, field", BAD_INPUTS)
def test_bad_field_on_create_is_422_naming_it_and_saves_nothing(api_as, side, overrides, field):
    api = api_as(kind="both")
    body = BODY[side](api.site.id)
    body.update(overrides)
    response = api.post(PATHS[side], json=body)
    assert_error(response, 422, field=field, code="invalid")
    assert nothing_saved()


@pytest.mark.parametrize("side, overrides, field",
                         [p for p in BAD_INPUTS if "status" not in p.values[1]])
def test_bad_field_on_change_is_422_naming_it_and_changes_nothing(api_as, side, overrides, field):
    from marketplace.models import ListingEvent

    api = api_as(kind="both")
    listing = api.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    response = api.patch(url, json=overrides)
    assert_error(response, 422, field=field, code="invalid")
    assert without_timestamps(api.get(url).get_json()) == without_timestamps(listing)
    assert count(ListingEvent) == 1  # only "created"


@pytest.mark.parametrize("side", ["supply", "demand"])
@pytest.mark.parametrize("missing", ["site_id", "material", "tonnes", "period_start", "period_end", "max_haul_km"])
def test_required_field_left_out_is_422_naming_it(api_as, side, missing):
    api = api_as(kind="both")
    body = BODY[side](api.site.id)
    del body[missing]
    assert_error(api.post(PATHS[side], json=body), 422, field=missing)
    assert nothing_saved()


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_site_of_another_organisation_is_422(api_as, make_org, make_site, side):
    api = api_as(kind="both")
    other_site = make_site(make_org(kind="both"))
    assert_error(api.post(PATHS[side], json=BODY[side](other_site.id)), 422, field="site_id")
    assert nothing_saved()
    listing = api.create(side)
    assert_error(api.patch(f"{PATHS[side]}/{listing['id']}", json={"site_id": other_site.id}), 422, field="site_id")
    assert api.get(f"{PATHS[side]}/{listing['id']}").get_json()["site_id"] == api.site.id


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_archived_site_is_422(api_as, db, side):
    api = api_as(kind="both")
    api.site.active = False
    db.session.commit()
    assert_error(api.post(PATHS[side], json=BODY[side](api.site.id)), 422, field="site_id")
    assert nothing_saved()


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_script_in_notes_comes_back_verbatim_as_json(api_as, side, payload):
    api = api_as(kind="both")
    response = api.post(PATHS[side], json=BODY[side](api.site.id, notes=payload))
    assert response.status_code == 201
    for r in (response, api.get(f"{PATHS[side]}/{response.get_json()['id']}"),
              api.get(PATHS[side], query_string={"mine": "1"})):
        assert r.mimetype == "application/json", r.headers["Content-Type"]
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        body = r.get_json()
        notes = body["items"][0]["notes"] if "items" in body else body["notes"]
        assert notes == payload  # stored and returned as sent, not HTML-escaped
        assert "&lt;" not in r.get_data(as_text=True)


# --- changing listings and their lifecycle ---------------------------------------------------------------

@pytest.mark.parametrize("side", ["supply", "demand"])
def test_owner_changes_fields_with_patch(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    change = {"tonnes": 4321, PRICE_FIELD[side]: "41.20", "notes": "改为汽运", "period_end": day(200)}
    response = api.patch(url, json=change)
    assert response.status_code == 200, response.get_json()
    for key, value in change.items():
        assert response.get_json()[key] == value
        assert api.get(url).get_json()[key] == value


def test_changing_material_checks_the_grade_against_the_new_material(api_as):
    api = api_as(kind="producer")
    listing = api.create("supply")  # fly_ash, grade II
    url = f"{PATHS['supply']}/{listing['id']}"
    assert_error(api.patch(url, json={"material": "gbf_slag", "quality": {}}), 422, field="grade")
    response = api.patch(url, json={"material": "gbf_slag", "grade": "S95", "quality": {"specific_surface": 420}})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["material"], response.get_json()["grade"]) == ("gbf_slag", "S95")


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_lifecycle_draft_open_draft_withdrawn(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side, status="draft")
    url = f"{PATHS[side]}/{listing['id']}"
    for status in ("open", "draft", "open", "withdrawn"):
        response = api.patch(url, json={"status": status})
        assert response.status_code == 200, (status, response.get_json())
        assert response.get_json()["status"] == status
        assert api.get(url).get_json()["status"] == status


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_partly_matched_listing_can_be_withdrawn(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side)
    set_status(side, listing["id"], "partly_matched", promised=100)
    response = api.patch(f"{PATHS[side]}/{listing['id']}", json={"status": "withdrawn"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "withdrawn"


@pytest.mark.parametrize("start, target", [
    ("withdrawn", "open"), ("withdrawn", "draft"), ("expired", "open"), ("expired", "draft"),
    ("fully_matched", "withdrawn"), ("fully_matched", "open"), ("partly_matched", "draft"),
    ("open", "fully_matched"), ("open", "partly_matched"), ("open", "expired"), ("draft", "expired"),
])
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_any_other_status_move_is_409(api_as, side, start, target):
    api = api_as(kind="both")
    listing = api.create(side)
    promised = {"partly_matched": 100, "fully_matched": listing["tonnes"]}.get(start, 0)
    if start != "open":
        set_status(side, listing["id"], start, promised=promised)
    url = f"{PATHS[side]}/{listing['id']}"
    assert_error(api.patch(url, json={"status": target}), 409, code="conflict")
    assert api.get(url).get_json()["status"] == start


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_unknown_status_is_422(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    assert_error(api.patch(url, json={"status": "sold"}), 422, field="status")
    assert_error(api.patch(url, json={"status": ["open"]}), 422, field="status")
    assert api.get(url).get_json()["status"] == "open"


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_a_refused_status_move_also_undoes_the_field_changes_sent_with_it(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    assert_error(api.patch(url, json={"tonnes": 5, "status": "fully_matched"}), 409)
    assert api.get(url).get_json()["tonnes"] == listing["tonnes"]


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_fields_of_a_withdrawn_listing_cannot_change(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    api.delete(url)
    assert_error(api.patch(url, json={"tonnes": 5}), 409)
    assert api.get(url).get_json()["tonnes"] == listing["tonnes"]


def test_publishing_a_draft_whose_period_has_ended_is_refused(api_as, db):
    from marketplace.models import SupplyListing

    api = api_as(kind="producer")
    listing = api.create("supply", status="draft")
    db.session.rollback()
    row = db.session.get(SupplyListing, listing["id"])
    row.period_start, row.period_end = today() - timedelta(days=20), today() - timedelta(days=1)
    db.session.commit()
    response = api.patch(f"{PATHS['supply']}/{listing['id']}", json={"status": "open"})
    assert response.status_code in (409, 422)
    assert api.get(f"{PATHS['supply']}/{listing['id']}").get_json()["status"] in ("draft", "expired")


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_delete_withdraws_the_listing(api_as, side):
    owner, other = api_as(kind="both"), api_as(kind="both")
    listing = owner.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    response = owner.delete(url)
    assert response.status_code == 200
    assert response.get_json()["status"] == "withdrawn"
    assert owner.get(url).get_json()["status"] == "withdrawn"  # kept in the history
    assert_error(other.get(url), 404)
    assert listing["id"] not in [i["id"] for i in other.get(PATHS[side]).get_json()["items"]]


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_delete_of_a_fully_matched_listing_is_409(api_as, side):
    api = api_as(kind="both")
    listing = api.create(side)
    set_status(side, listing["id"], "fully_matched", promised=listing["tonnes"])
    assert_error(api.delete(f"{PATHS[side]}/{listing['id']}"), 409)


# --- who may change what --------------------------------------------------------------------------------

@pytest.mark.parametrize("side", ["supply", "demand"])
def test_another_organisation_may_not_change_or_withdraw_a_visible_listing(api_as, side):
    owner, other = api_as(kind="both"), api_as(kind="both")
    listing = owner.create(side)
    url = f"{PATHS[side]}/{listing['id']}"
    assert other.get(url).status_code == 200  # visible...
    assert_error(other.patch(url, json={"tonnes": 1}), 403, code="forbidden")  # ...but not theirs
    assert_error(other.patch(url, json={"status": "withdrawn"}), 403, code="forbidden")
    assert_error(other.delete(url), 403, code="forbidden")
    after = owner.get(url).get_json()
    assert (after["tonnes"], after["status"]) == (listing["tonnes"], "open")


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_a_draft_of_another_organisation_is_404_for_every_method(api_as, side):
    owner, other = api_as(kind="both"), api_as(kind="both")
    draft = owner.create(side, status="draft")
    url = f"{PATHS[side]}/{draft['id']}"
    assert_error(other.get(url), 404)
    assert_error(other.patch(url, json={"tonnes": 1}), 404)
    assert_error(other.patch(url, json={"status": "open"}), 404)
    assert_error(other.delete(url), 404)
    assert draft["id"] not in [i["id"] for i in other.get(PATHS[side]).get_json()["items"]]
    assert owner.get(url).get_json()["status"] == "draft"


@pytest.mark.parametrize("staff", ["regulator", "operator"])
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_staff_see_everything_but_change_nothing(api_as, side, staff):
    owner, reader = api_as(kind="both", name=SECRET_SITE, lat=SECRET_LAT, lon=SECRET_LON), api_as(kind=staff)
    opened = owner.create(side, notes=SECRET_NOTES)
    draft = owner.create(side, status="draft", notes=SECRET_NOTES)
    for listing in (opened, draft):
        shown = reader.get(f"{PATHS[side]}/{listing['id']}")
        assert shown.status_code == 200
        body = shown.get_json()
        assert body["organisation"] == owner.user.organisation.name
        assert (body["site_id"], body["site_name"], body["notes"]) == (owner.site.id, SECRET_SITE, SECRET_NOTES)
        assert Decimal(body["lat"]) == Decimal(SECRET_LAT) and Decimal(body["lon"]) == Decimal(SECRET_LON)
    items = reader.get(PATHS[side]).get_json()["items"]
    assert [i["id"] for i in items] == [opened["id"]]
    assert items[0]["organisation"] == owner.user.organisation.name and items[0]["notes"] == SECRET_NOTES
    drafts = reader.get(PATHS[side], query_string={"status": "draft"}).get_json()["items"]
    assert [i["id"] for i in drafts] == [draft["id"]]
    url = f"{PATHS[side]}/{opened['id']}"
    assert_error(reader.patch(url, json={"tonnes": 1}), 403)
    assert_error(reader.delete(url), 403)
    assert owner.get(url).get_json()["status"] == "open"


# --- confidentiality -------------------------------------------------------------------------------------

@pytest.fixture
def secret_market(api_as):
    """An owner (kind both) with one open listing on each side, notes and a site nobody else may see."""
    owner = api_as(kind="both", name=SECRET_SITE, lat=SECRET_LAT, lon=SECRET_LON)
    listings = {side: owner.create(side, notes=SECRET_NOTES) for side in ("supply", "demand")}
    return owner, listings


def assert_no_identity(item: dict, owner, response) -> None:
    """No confidential key in `item`, and no secret value anywhere in the response (under any key)."""
    import json

    leaked = sorted(set(CONFIDENTIAL) & set(item))
    assert leaked == [], f"{leaked} shown to another organisation"
    raw = json.dumps(response.get_json(), ensure_ascii=False)  # the body escapes Chinese as \\uXXXX
    for secret in (owner.user.organisation.name, SECRET_SITE, SECRET_NOTES, SECRET_LAT, SECRET_LON,
                   SECRET_LAT.rstrip("0"), SECRET_LON.rstrip("0")):
        assert secret not in raw, f"{secret!r} appears in the response"


@pytest.mark.parametrize("viewer_kind", ["producer", "consumer", "both"])
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_another_organisation_sees_no_identity_in_one_listing(api_as, secret_market, side, viewer_kind):
    owner, listings = secret_market
    viewer = api_as(kind=viewer_kind)
    response = viewer.get(f"{PATHS[side]}/{listings[side]['id']}")
    assert response.status_code == 200
    assert response.get_json()["tonnes"] == listings[side]["tonnes"]  # the listing itself is visible
    assert_no_identity(response.get_json(), owner, response)


@pytest.mark.parametrize("viewer_kind", ["producer", "consumer", "both"])
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_another_organisation_sees_no_identity_in_the_list(api_as, secret_market, side, viewer_kind):
    owner, listings = secret_market
    viewer = api_as(kind=viewer_kind)
    response = viewer.get(PATHS[side])
    items = response.get_json()["items"]
    assert [i["id"] for i in items] == [listings[side]["id"]]
    assert_no_identity(items[0], owner, response)


@pytest.mark.parametrize("viewer_kind", ["producer", "consumer", "both"])
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_another_organisation_sees_no_identity_in_the_list_near_its_site(api_as, secret_market, side, viewer_kind):
    owner, listings = secret_market
    viewer = api_as(kind=viewer_kind, lat="38.200", lon="106.400")
    response = viewer.get(PATHS[side], query_string={"near_site_id": viewer.site.id, "within_km": 100})
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [i["id"] for i in items] == [listings[side]["id"]]
    assert 5 < items[0]["distance_km"] < 20
    assert_no_identity(items[0], owner, response)


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_owner_sees_identity_in_one_listing_and_the_list(api_as, secret_market, side):
    owner, listings = secret_market
    for item in (owner.get(f"{PATHS[side]}/{listings[side]['id']}").get_json(),
                 owner.get(PATHS[side]).get_json()["items"][0],
                 owner.get(PATHS[side], query_string={"near_site_id": owner.site.id}).get_json()["items"][0]):
        assert (item["organisation"], item["site_id"], item["site_name"], item["notes"]) == \
            (owner.user.organisation.name, owner.site.id, SECRET_SITE, SECRET_NOTES)


def test_a_colleague_in_the_same_organisation_sees_identity(client, make_user, secret_market):
    owner, listings = secret_market
    colleague = make_user(org=owner.user.organisation, role="member")
    headers = {"Authorization": f"Bearer {issue_token(client, colleague)}"}
    body = client.get(f"{PATHS['supply']}/{listings['supply']['id']}", headers=headers).get_json()
    assert (body["organisation"], body["notes"]) == (owner.user.organisation.name, SECRET_NOTES)


def test_near_site_id_must_be_a_site_of_the_caller(api_as, secret_market):
    """Measuring from someone else's site would tell where their listings are relative to it."""
    owner, _ = secret_market
    viewer = api_as(kind="consumer")
    response = viewer.get(PATHS["supply"], query_string={"near_site_id": owner.site.id})
    assert_error(response, 422, field="near_site_id")


# --- browsing: filters, sort, pagination ---------------------------------------------------------------

@pytest.fixture
def market(api_as):
    """Two producers in two cities, and a consumer near the first; names -> supply listing ids."""
    a = api_as(kind="producer", lat="38.094", lon="106.335", county="Lingwu")
    b = api_as(kind="producer", lat="39.020", lon="106.380", county="Dawukou")
    from marketplace.extensions import db

    b.site.city = "Shizuishan"
    db.session.commit()
    ids = {
        "a_fly_ash_II": a.create("supply", tonnes=1000, price_yuan_per_t="30.00")["id"],
        "a_slag_S95": a.create("supply", material="gbf_slag", grade="S95", quality={}, tonnes=500,
                               price_yuan_per_t=80)["id"],
        "b_fly_ash_I": b.create("supply", grade="I", tonnes=3000, price_yuan_per_t="10.00")["id"],
        "b_steel_slag": b.create("supply", material="steel_slag", grade=None, quality={"free_cao": "3.5"},
                                 tonnes=200, price_yuan_per_t="-5.00")["id"],
    }
    a.create("supply", status="draft", tonnes=9999)  # never listed for others
    viewer = api_as(kind="consumer", lat="38.120", lon="106.300", county="Lingwu")
    return viewer, ids, a, b


@pytest.mark.parametrize("query, expected", [
    ({}, {"a_fly_ash_II", "a_slag_S95", "b_fly_ash_I", "b_steel_slag"}),
    ({"material": "fly_ash"}, {"a_fly_ash_II", "b_fly_ash_I"}),
    ({"material": "fly_ash", "grade": "I"}, {"b_fly_ash_I"}),
    ({"material": "gbf_slag", "grade": "S95"}, {"a_slag_S95"}),
    ({"city": "Shizuishan"}, {"b_fly_ash_I", "b_steel_slag"}),
    ({"county": "Lingwu"}, {"a_fly_ash_II", "a_slag_S95"}),
    ({"min_tonnes": 1000}, {"a_fly_ash_II", "b_fly_ash_I"}),
    ({"min_price": "10", "max_price": "30"}, {"a_fly_ash_II", "b_fly_ash_I"}),
    ({"max_price": "0"}, {"b_steel_slag"}),
    ({"min_price": "30.01"}, {"a_slag_S95"}),
    ({"within_km": 30}, {"a_fly_ash_II", "a_slag_S95"}),
    ({"within_km": 2000}, {"a_fly_ash_II", "a_slag_S95", "b_fly_ash_I", "b_steel_slag"}),
    ({"material": "fly_ash", "city": "Yinchuan", "min_tonnes": 1}, {"a_fly_ash_II"}),
], ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None)
def test_list_filters(market, query, expected):
    viewer, ids, _a, _b = market
    if "within_km" in query:
        query = {**query, "near_site_id": viewer.site.id}
    response = viewer.get(PATHS["supply"], query_string=query)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {i["id"] for i in body["items"]} == {ids[name] for name in expected}
    assert body["total"] == len(expected)


@pytest.mark.parametrize("page, shown", [(1, 2), (2, 2), (3, 0)])
def test_the_total_is_the_same_on_every_page_when_distances_are_measured(market, page, shown):
    # the page's own statement counts the rows it measures; past the last page the count is asked on its own
    viewer, _ids, _a, _b = market
    body = viewer.get(PATHS["supply"], query_string={"near_site_id": viewer.site.id, "within_km": 2000,
                                                       "per_page": 2, "page": page}).get_json()
    assert (len(body["items"]), body["total"]) == (shown, 4)


@pytest.mark.parametrize("sort, expected", [
    ("price", ["b_steel_slag", "b_fly_ash_I", "a_fly_ash_II", "a_slag_S95"]),
    ("-price", ["a_slag_S95", "a_fly_ash_II", "b_fly_ash_I", "b_steel_slag"]),
    ("tonnes", ["b_steel_slag", "a_slag_S95", "a_fly_ash_II", "b_fly_ash_I"]),
    ("-tonnes", ["b_fly_ash_I", "a_fly_ash_II", "a_slag_S95", "b_steel_slag"]),
    ("newest", ["b_steel_slag", "b_fly_ash_I", "a_slag_S95", "a_fly_ash_II"]),
])
def test_list_sort_orders(market, sort, expected):
    viewer, ids, _a, _b = market
    items = viewer.get(PATHS["supply"], query_string={"sort": sort}).get_json()["items"]
    assert [i["id"] for i in items] == [ids[name] for name in expected]


def test_list_near_a_site_is_sorted_by_distance_with_distance_km(market):
    viewer, ids, _a, _b = market
    items = viewer.get(PATHS["supply"], query_string={"near_site_id": viewer.site.id}).get_json()["items"]
    distances = [i["distance_km"] for i in items]
    assert distances == sorted(distances)
    assert {i["id"] for i in items[:2]} == {ids["a_fly_ash_II"], ids["a_slag_S95"]}
    assert all(isinstance(d, (int, float)) and d >= 0 for d in distances)


def test_mine_lists_only_the_callers_own_listings_drafts_included(market):
    viewer, ids, a, b = market
    mine_a = a.get(PATHS["supply"], query_string={"mine": "1"}).get_json()["items"]
    assert {i["id"] for i in mine_a} > {ids["a_fly_ash_II"], ids["a_slag_S95"]}
    assert len(mine_a) == 3 and {i["status"] for i in mine_a} == {"open", "draft"}
    assert all(i["organisation"] == a.user.organisation.name for i in mine_a)
    assert {i["id"] for i in b.get(PATHS["supply"], query_string={"mine": "1"}).get_json()["items"]} == \
        {ids["b_fly_ash_I"], ids["b_steel_slag"]}
    assert viewer.get(PATHS["supply"], query_string={"mine": "1"}).get_json()["items"] == []


def test_demand_list_filters_by_material_and_grade(api_as):
    consumer, reader = api_as(kind="consumer"), api_as(kind="producer")
    fly_ash = consumer.create("demand")["id"]
    slag = consumer.create("demand", material="gbf_slag", min_grade="S105", quality_limits={},
                           max_delivered_price_yuan_per_t=None)["id"]
    assert [i["id"] for i in reader.get(PATHS["demand"], query_string={"material": "gbf_slag", "grade": "S105"})
            .get_json()["items"]] == [slag]
    assert [i["id"] for i in reader.get(PATHS["demand"], query_string={"max_price": "100"})
            .get_json()["items"]] == [fly_ash]


def test_pagination(api_as):
    owner, reader = api_as(kind="producer"), api_as(kind="consumer")
    created = [owner.create("supply", tonnes=100 + n)["id"] for n in range(5)]
    seen = []
    for page in (1, 2, 3):
        body = reader.get(PATHS["supply"], query_string={"per_page": 2, "page": page}).get_json()
        assert (body["total"], body["page"], body["per_page"], body["pages"]) == (5, page, 2, 3)
        assert len(body["items"]) == (2 if page < 3 else 1)
        seen += [i["id"] for i in body["items"]]
    assert seen == sorted(created, reverse=True)  # newest first, no repeats, none left out
    beyond = reader.get(PATHS["supply"], query_string={"per_page": 2, "page": 4}).get_json()
    assert (beyond["items"], beyond["total"]) == ([], 5)
    default = reader.get(PATHS["supply"]).get_json()
    assert (default["page"], default["per_page"], default["pages"]) == (1, 25, 1)


@pytest.mark.parametrize("query, field", [
    ({"material": "unobtainium"}, "material"),
    ({"grade": "I"}, "grade"),
    ({"material": "fly_ash", "grade": "S95"}, "grade"),
    ({"material": "fgd_gypsum", "grade": "I"}, "grade"),
    ({"city": "Atlantis"}, "city"),
    ({"county": "Nowhere"}, "county"),
    ({"min_tonnes": "abc"}, "min_tonnes"),
    ({"min_tonnes": "-1"}, "min_tonnes"),
    ({"min_tonnes": "1.5"}, "min_tonnes"),
    ({"min_price": "1.234"}, "min_price"),
    ({"min_price": "NaN"}, "min_price"),
    ({"max_price": "1e999"}, "max_price"),
    ({"max_price": "cheap"}, "max_price"),
    ({"near_site_id": "abc"}, "near_site_id"),
    ({"near_site_id": "999999"}, "near_site_id"),
    ({"near_site_id": str(10**20)}, "near_site_id"),
    ({"within_km": "50"}, "near_site_id"),
    ({"near_site_id": "{site}", "within_km": "0"}, "within_km"),
    ({"near_site_id": "{site}", "within_km": "abc"}, "within_km"),
    ({"sort": "distance"}, "near_site_id"),
    ({"sort": "random"}, "sort"),
    ({"status": "sold"}, "status"),
    ({"page": "0"}, "page"),
    ({"page": "abc"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "101"}, "per_page"),
], ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None)
@pytest.mark.parametrize("side", ["supply", "demand"])
def test_bad_list_filter_is_422_naming_it(api_as, side, query, field):
    api = api_as(kind="both")
    query = {k: (str(api.site.id) if v == "{site}" else v) for k, v in query.items()}
    assert_error(api.get(PATHS[side], query_string=query), 422, field=field, code="invalid")


def test_expired_listings_leave_the_market(api_as, db):
    from marketplace.models import SupplyListing

    owner, reader = api_as(kind="producer"), api_as(kind="consumer")
    listing = owner.create("supply")
    db.session.rollback()
    row = db.session.get(SupplyListing, listing["id"])
    row.period_start, row.period_end = today() - timedelta(days=30), today() - timedelta(days=1)
    db.session.commit()
    assert reader.get(PATHS["supply"]).get_json()["items"] == []
    assert_error(reader.get(f"{PATHS['supply']}/{listing['id']}"), 404)
    assert owner.get(f"{PATHS['supply']}/{listing['id']}").get_json()["status"] == "expired"


def test_an_ended_listing_reads_as_expired_at_once(api_as, db):
    """Not only after someone lists the market: the listing itself says expired, and cannot be edited."""
    from marketplace.models import SupplyListing

    owner = api_as(kind="producer")
    listing = owner.create("supply")
    db.session.rollback()
    row = db.session.get(SupplyListing, listing["id"])
    row.period_start, row.period_end = today() - timedelta(days=30), today() - timedelta(days=1)
    db.session.commit()
    assert owner.get(f"{PATHS['supply']}/{listing['id']}").get_json()["status"] == "expired"
    assert_error(owner.patch(f"{PATHS['supply']}/{listing['id']}", json={"tonnes": 5}), 409)


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_unknown_fields_are_refused_naming_them(api_as, side):
    owner = api_as(kind="both")
    listing = owner.create(side)
    assert_error(owner.patch(f"{PATHS[side]}/{listing['id']}", json={"tonnes": 5, "colour": "grey"}), 422,
                 field="colour")
    assert owner.get(f"{PATHS[side]}/{listing['id']}").get_json()["tonnes"] == listing["tonnes"]
    body = BODY[side](owner.site.id, tonnage=3)
    assert_error(owner.post(PATHS[side], json=body), 422, field="tonnage")


def test_distances_to_others_listings_are_coarse(api_as):
    owner = api_as(kind="producer", lat="38.0575", lon="106.6914")
    reader = api_as(kind="consumer", lat="38.094", lon="106.335")
    owner.create("supply")
    mine = owner.get(f"{PATHS['supply']}?near_site_id={owner.site.id}").get_json()["items"][0]["distance_km"]
    theirs = reader.get(f"{PATHS['supply']}?near_site_id={reader.site.id}").get_json()["items"][0]["distance_km"]
    assert mine == 0.0
    assert theirs % 5 == 0 and 25 <= theirs <= 40
