"""Schemathesis against /api/v1/openapi.json: generated requests to every operation, in-process (WSGI),
with a real bearer token, find no server error and no response that breaks the OpenAPI document.

How it is wired (schemathesis 4.32, pytest 9.2):
- The schema is loaded when the module is collected, from the same function that serves
  /api/v1/openapi.json (test_the_served_document_is_the_one_tested checks they agree). The lazy loader
  `schemathesis.pytest.from_fixture` is not used: with pytest 9.2 its generated test fails on
  `request.node._nodeid`, an attribute pytest no longer has.
- `@schema.parametrize()` makes one pytest item per operation. Its function-scoped fixtures (the app, the
  account, the token) are set up once per operation, not per generated example, so data the examples create
  accumulates within one operation's run; conftest's `app` fixture empties the database after each item.
- Requests go to the WSGI app in-process (`case.call_and_validate(app=...)`), no network.
"""
from __future__ import annotations

import contextvars
import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.conftest import token_request

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
#: Generated examples per operation (fuzzing phase); keeps the whole file under a minute.
MAX_EXAMPLES = int(os.environ.get("API_SCHEMA_MAX_EXAMPLES", "30"))
#: A fixed seed makes the run repeatable; set API_SCHEMA_SEED to explore other inputs.
SEED = int(os.environ.get("API_SCHEMA_SEED", "20240601"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
#: Catalogue codes (migrations/versions/0001_initial.py), to steer generated listings past "unknown material".
MATERIALS = ["fly_ash", "fgd_gypsum", "coal_gangue", "furnace_slag", "gbf_slag", "steel_slag", "carbide_slag",
             "gasification_slag", "ferroalloy_slag"]



def generated_document() -> dict:
    """The document the app serves, generated (api/spec.py) from a test app's routes and the schemas."""
    from marketplace import create_app
    from marketplace.api.spec import openapi_document
    from marketplace.config import TestingConfig

    with create_app(TestingConfig).app_context():
        return openapi_document()


schema = schemathesis.openapi.from_dict(generated_document(), config=schemathesis.Config(seed=SEED))


def isolated(flask_app):
    """The WSGI app with each request in its own application context, as in production.

    The `app` fixture keeps an app context open for the test; without this, Flask would reuse it (and its
    database session and `g`) for every request schemathesis sends."""
    from flask.globals import _cv_app

    def wsgi(environ, start_response):
        def run():
            _cv_app.set(None)
            return flask_app(environ, start_response)

        return contextvars.copy_context().run(run)

    return wsgi


@pytest.fixture
def wsgi_app(app, monkeypatch):
    # A crash becomes the app's own 500 response (as in production) for not_a_server_error to report.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    return isolated(app)


@pytest.fixture
def account(app, make_user, make_site):
    """A verified producer-and-consumer (kind "both") user with one site, and a real bearer token for it.

    Depends on `app`, whose teardown empties the database: the account lives for one test item."""
    user = make_user(kind="both")
    site = make_site(user.organisation)
    response = app.test_client().post("/api/v1/auth/token", json=token_request(user))
    assert response.status_code == 201, response.get_data(as_text=True)
    return SimpleNamespace(site_id=site.id, headers={"Authorization": f"Bearer {response.get_json()['token']}"})


@pytest.fixture
def bearer(account) -> dict:
    return account.headers


@SETTINGS
@schema.parametrize()
def test_api_answers_every_generated_request_as_its_openapi_document_says(case, wsgi_app, bearer):
    case.call_and_validate(app=wsgi_app, headers=bearer, checks=CHECKS)


# --- the listing operations, steered onto the caller's own site and listings ------------------------------
# Purely generated requests rarely name an existing site or listing, so they stop at "choose one of your
# sites" / 404. Here each example may swap in the caller's own site, own listing, a catalogue material and
# dates around today; everything else stays generated, so the deeper validation and the lifecycle are fuzzed.

@pytest.fixture
def own_listings(app, account, wsgi_app) -> dict:
    """One open supply and one open demand listing of the account, created through the API.

    (Asks for `wsgi_app` so that a crash here, too, is a 500 response rather than an exception.)"""
    from marketplace.services.listings import today_cst

    client, today = app.test_client(), today_cst()
    ids = {}
    for side in ("supply", "demand"):
        body = {"site_id": account.site_id, "material": "fly_ash", "tonnes": 500, "max_haul_km": 100,
                "period_start": today.isoformat(), "period_end": (today + timedelta(days=60)).isoformat()}
        if side == "supply":
            body["price_yuan_per_t"] = "20.00"
        response = client.post(f"/api/v1/{side}-listings", json=body, headers=account.headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        ids[side] = response.get_json()["id"]
    return ids


STEER = st.fixed_dictionaries({
    "own_site": st.booleans(),
    "own_listing": st.booleans(),
    "valid_base": st.booleans(),
    "keep": st.sets(st.integers(0, 15), max_size=2),  # which generated body fields survive on a valid base
    "material": st.none() | st.sampled_from(MATERIALS),
    "start": st.none() | st.integers(-40, 400),
    "days": st.integers(-5, 1200),
})


def valid_listing(side: str, site_id: int) -> dict:
    from marketplace.services.listings import today_cst

    today = today_cst()
    body = {"site_id": site_id, "material": "fly_ash", "tonnes": 300, "max_haul_km": 120,
            "period_start": today.isoformat(), "period_end": (today + timedelta(days=30)).isoformat()}
    if side == "supply":
        body.update(price_yuan_per_t="12.50", grade="II", quality={"loi": "3.1"})
    else:
        body.update(min_grade="III", max_delivered_price_yuan_per_t="40.00", quality_limits={"loi": {"max": 5}})
    return body


def steer(case, choice: dict, site_id: int, listing_ids: dict) -> None:
    """Point a generated case at the caller's own site and listing, and (sometimes) make its body valid
    except for a few generated fields, so that validation past the first field is reached."""
    from marketplace.services.listings import today_cst

    side = "supply" if "/supply-" in case.operation.path else "demand"
    if choice["own_listing"] and case.path_parameters and "listing_id" in case.path_parameters:
        case.path_parameters["listing_id"] = listing_ids[side]
    if choice["own_site"] and case.query and "near_site_id" in case.query:
        case.query["near_site_id"] = site_id
    if not isinstance(case.body, dict):
        return
    if choice["valid_base"] and case.method.upper() == "POST":
        generated = sorted(case.body)
        kept = {key: case.body[key] for n, key in enumerate(generated) if n in choice["keep"]}
        case.body.clear()
        case.body.update(valid_listing(side, site_id), **kept)
    if choice["own_site"]:
        case.body["site_id"] = site_id
    if choice["material"] is not None:
        case.body["material"] = choice["material"]
    if choice["start"] is not None:
        start = today_cst() + timedelta(days=choice["start"])
        case.body["period_start"] = start.isoformat()
        case.body["period_end"] = (start + timedelta(days=choice["days"])).isoformat()


listing_schema = schema.include(path_regex=r"^/api/v1/(supply|demand)-listings")


@SETTINGS
@listing_schema.parametrize()
@listing_schema.given(choice=STEER)
def test_listing_operations_on_own_site_and_listings_answer_as_documented(case, choice, wsgi_app, account,
                                                                           own_listings):
    steer(case, choice, account.site_id, own_listings)
    case.call_and_validate(app=wsgi_app, headers=account.headers, checks=CHECKS)


# --- the unauthenticated token endpoint, with hostile text --------------------------------------------------
# Anyone on the network can reach POST /auth/token. Generated bodies, without a bearer token, sometimes steered
# to an existing account's e-mail, with NUL, other control characters, lone surrogates, right-to-left marks
# and very long strings in every field, and sometimes nested deeply: no 5xx, every answer as documented.

HOSTILE_TEXT = ["\ud800", "\x00", "a\x00b", "x\udfffy", "\u202eadmin", "\x1b[2J", "\r\n", "9" * 5000, "1e999", "-0",
                "' OR 1=1 --", "\ufeff", ""]
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(alphabet=st.characters(codec=None, categories=["Cc", "Cs", "Cf", "Lo", "Ll", "Nd"]), max_size=60),
)
token_schema = schema.include(path_regex=r"^/api/v1/auth/token$")


@SETTINGS
@token_schema.parametrize()
@token_schema.given(email=st.sampled_from(HOSTILE_TEXT), password=HOSTILE, name=st.none() | HOSTILE,
                    real_email=st.booleans(), depth=st.sampled_from([0] * 8 + [40, 500]))
def test_the_token_endpoint_answers_hostile_bodies_without_a_token_as_documented(case, email, password, name,
                                                                                 real_email, depth, wsgi_app,
                                                                                 account_email):
    if isinstance(case.body, dict):
        case.body["email"] = account_email + email if real_email else email
        case.body["password"] = password
        if name is not None:
            case.body["name"] = name
        if depth:
            case.body["password"] = json_nested(depth)
    case.call_and_validate(app=wsgi_app, checks=CHECKS)


def json_nested(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def account_email(make_user) -> str:
    """An existing account's e-mail, which generated bodies extend with hostile characters."""
    return make_user(kind="both").email


# --- the document itself ---------------------------------------------------------------------------------

def test_the_served_document_is_the_one_tested(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == schema.raw_schema


def test_the_document_describes_every_listing_operation():
    labels = {result.ok().label for result in schema.get_all_operations()}
    for side in ("supply", "demand"):
        path = f"/api/v1/{side}-listings"
        assert {f"GET {path}", f"POST {path}", f"GET {path}/{{listing_id}}", f"PATCH {path}/{{listing_id}}",
                f"DELETE {path}/{{listing_id}}"} <= labels
    assert "POST /api/v1/auth/token" in labels
