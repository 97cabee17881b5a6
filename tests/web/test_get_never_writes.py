"""GET never writes: every GET route, as every role, on the demo market with expired listings and proposals
that the scheduled job has not stored yet, runs no INSERT, UPDATE or DELETE; expiry reads the same before and
after the job; the edge commits a POST once and nothing else."""
from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text, update

from marketplace.clock import to_cst, today_cst, utcnow
from marketplace.models import (
    Agreement,
    ApiToken,
    DemandListing,
    LedgerEntry,
    ListingStatus,
    MatchRound,
    Organisation,
    ProductionWindow,
    Proposal,
    ProposalStatus,
    Shipment,
    Site,
    SubsidyClaim,
    SupplyListing,
    User,
)
from tests.web.conftest import login, token_request

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
ROLES = ("anonymous", "producer@example.com", "consumer@example.com", "regulator@example.com", "admin@example.com")


class WriteCounter:
    """Counts INSERT/UPDATE/DELETE statements sent to the database, with the statements themselves."""

    def __init__(self, engine) -> None:
        self.engine, self.writes = engine, []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if WRITE.match(statement):
            self.writes.append(statement.split("\n")[0][:120])

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


@pytest.fixture
def demo(db):
    """The demo market, plus a listing whose period ended yesterday and a proposal past its lifetime, both
    still stored as live (the scheduled expiry has not run): the old GETs expired them with UPDATEs."""
    from marketplace.services.demo import seed_demo

    seed_demo()
    db.session.commit()
    ended = db.session.scalar(select(SupplyListing).where(SupplyListing.status == ListingStatus.OPEN)
                              .order_by(SupplyListing.id))
    ended.period_start, ended.period_end = today_cst() - timedelta(days=30), today_cst() - timedelta(days=1)
    db.session.commit()
    proposal = db.session.scalar(select(Proposal).order_by(Proposal.id))
    db.session.execute(update(Proposal).where(Proposal.id == proposal.id)
                       .values(status=ProposalStatus.PENDING, expires_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    from marketplace.models import User
    from marketplace.services.papers import co2

    agreement = db.session.scalar(select(Agreement).order_by(Agreement.id))
    producer = db.session.scalar(select(User).where(User.organisation_id == agreement.producer_org_id))
    # the year of its newest delivery (on 1 January "this year" has none yet)
    year = to_cst(db.session.scalar(select(func.max(LedgerEntry.dispatched_at))
                                    .where(LedgerEntry.agreement_id == agreement.id))).year
    certificate = co2.issue(producer, "agreement", year, agreement.id)  # its public pages are walked too
    db.session.commit()
    return {"ended": ended.id, "proposal": proposal.id, "token": certificate.token}


def _first(db, column, *where):
    return db.session.scalar(select(column).where(*where).order_by(column).limit(1))


def _ids(db, user: User | None, demo) -> dict[str, object]:
    """Real ids for the arguments of the GET routes: the viewer's own where it has them."""
    org_id = user.organisation_id if user else None
    mine = (lambda col: col == org_id) if user else (lambda col: True)
    return {
        "supply_listing_id": demo["ended"],
        "demand_listing_id": _first(db, DemandListing.id),
        "agreement_id": _first(db, Agreement.id, mine(Agreement.consumer_org_id) | mine(Agreement.producer_org_id))
        or _first(db, Agreement.id),
        "round_id": _first(db, MatchRound.id),
        "proposal_id": demo["proposal"],
        "shipment_id": _first(db, Shipment.id),
        "claim_id": _first(db, SubsidyClaim.id, mine(SubsidyClaim.organisation_id)) or _first(db, SubsidyClaim.id),
        "org_id": _first(db, Organisation.id),
        "site_id": _first(db, Site.id, mine(Site.organisation_id)) or _first(db, Site.id),
        "entry_id": _first(db, LedgerEntry.id),
        "seq": _first(db, LedgerEntry.seq),
        "code": "en",
        "token": demo["token"],
        "window_id": _first(db, ProductionWindow.id),
    }


def _urls(app, ids: dict) -> list[str]:
    """Every GET route with each value of its `any(...)` arguments and real ids for the others."""
    from werkzeug.routing.converters import AnyConverter

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        choices = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, AnyConverter):
                choices[name] = sorted(converter.items)
            else:
                choices[name] = [name]
        for combo in itertools.product(*choices.values()):
            values = dict(zip(choices, combo, strict=True))
            for name in values:
                if name == "listing_id":
                    values[name] = ids[f"{values.get('side', 'supply')}_listing_id"]
                elif name not in ("side", "fmt", "table"):
                    values[name] = ids[name]
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls))


@pytest.mark.parametrize("role", ROLES)
def test_no_get_route_writes_as_any_role(role, demo, app, client, db):
    user = None if role == "anonymous" else db.session.scalar(select(User).where(User.email == role))
    headers = {}
    if user is not None:
        from marketplace.services.demo import DEMO_PASSWORD

        login(client, user, DEMO_PASSWORD)
        api = app.test_client()
        token = api.post("/api/v1/auth/token", json=token_request(user, DEMO_PASSWORD)).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
    urls = _urls(app, _ids(db, user, demo))
    assert len(urls) > 60
    answered = {}
    with WriteCounter(db.engine) as counter:
        for url in urls:
            before = len(counter.writes)
            response = client.get(url, headers=headers if url.startswith("/api/") else {})
            answered[url] = response.status_code
            assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
            assert len(counter.writes) == before, (url, counter.writes[before:])
    assert counter.writes == []
    if user is not None:  # the walk reached real pages, not only refusals
        assert sum(1 for status in answered.values() if status == 200) > 30, answered
    # and the expired rows are still stored as they were: only the scheduled job stores expiry
    db.session.rollback()
    assert db.session.get(SupplyListing, demo["ended"]).status == ListingStatus.EXPIRED  # as read
    assert db.session.scalar(text(f"SELECT status FROM supply_listing WHERE id = {demo['ended']}")) == "open"
    assert db.session.scalar(text(f"SELECT status FROM proposal WHERE id = {demo['proposal']}")) == "pending"


def test_api_token_use_is_recorded_on_writing_requests_only_and_at_most_once_a_minute(client, make_user,
                                                                                     make_site, db):
    user = make_user(kind="producer")
    site = make_site(user.organisation)
    draft = {"site_id": site.id, "material": "fgd_gypsum", "tonnes": 10, "period_start": today_cst().isoformat(),
             "period_end": (today_cst() + timedelta(days=9)).isoformat(), "price_yuan_per_t": "1",
             "max_haul_km": 50, "status": "draft"}
    token = client.post("/api/v1/auth/token", json=token_request(user)).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with WriteCounter(db.engine) as counter:
        assert client.get("/api/v1/sites", headers=headers).status_code == 200
    assert counter.writes == []
    db.session.rollback()
    assert db.session.scalar(select(ApiToken.last_used_at)) is None
    # a writing request records it
    assert client.post("/api/v1/supply-listings", headers=headers, json=draft).status_code == 201
    db.session.rollback()
    first = db.session.scalar(select(ApiToken.last_used_at))
    assert first is not None
    # within the minute the conditional UPDATE matches no row (so it locks none) and the time stays
    assert client.post("/api/v1/supply-listings", headers=headers, json=draft).status_code == 201
    db.session.rollback()
    assert db.session.scalar(select(ApiToken.last_used_at)) == first


# --- expiry reads the same before and after the scheduled job --------------------------------------------

def _reads(client, api_headers, listing_id: int, proposal_id: int) -> dict:
    return {
        "browse": client.get("/listings/supply").get_data(as_text=True).count(f"/listings/supply/{listing_id}\""),
        "detail": client.get(f"/listings/supply/{listing_id}").status_code,
        "api_list": [x["id"] for x in client.get("/api/v1/supply-listings", headers=api_headers).get_json()["items"]],
        "api_detail": client.get(f"/api/v1/supply-listings/{listing_id}", headers=api_headers).get_json()["status"],
        "api_expired": [x["id"] for x in client.get("/api/v1/supply-listings?mine=1&status=expired",
                                                    headers=api_headers).get_json()["items"]],
        "api_open": [x["id"] for x in client.get("/api/v1/supply-listings?mine=1&status=open",
                                                 headers=api_headers).get_json()["items"]],
        "proposal": client.get(f"/api/v1/proposals/{proposal_id}", headers=api_headers).get_json()["status"],
        "pending": [x["id"] for x in client.get("/api/v1/proposals?status=pending", headers=api_headers)
                    .get_json()["items"]],
        "expired": [x["id"] for x in client.get("/api/v1/proposals?status=expired", headers=api_headers)
                    .get_json()["items"]],
    }


def _gypsum_round(make_user, make_site, db):
    """A producer's 100 t of gypsum, a consumer's 50 t need, and the consumer's round: one pending proposal."""
    from marketplace.services import listings, rounds

    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    supply = listings.create_listing(producer, "supply", {
        "site_id": make_site(producer.organisation).id, "material": "fgd_gypsum", "tonnes": 100,
        "period_start": today_cst(), "period_end": today_cst() + timedelta(days=30), "price_yuan_per_t": "5",
        "max_haul_km": 300})
    demand = listings.create_listing(consumer, "demand", {
        "site_id": make_site(consumer.organisation, lat="38.2", lon="106.3").id, "material": "fgd_gypsum",
        "tonnes": 50, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=30),
        "max_haul_km": 300})
    round_ = rounds.start_round(consumer, demand_listing_ids=[demand.id])
    db.session.commit()  # the queue runs the round (immediate mode)
    return producer, consumer, supply, round_.proposals[0]


def test_expired_listings_and_proposals_read_the_same_before_and_after_the_job(make_user, make_site, client, db):
    from marketplace import jobs

    producer, _consumer, supply, pending = _gypsum_round(make_user, make_site, db)
    login(client, producer)
    token = client.post("/api/v1/auth/token", json=token_request(producer)).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    live = _reads(client, headers, supply.id, pending.id)
    assert live["detail"] == 200 and supply.id in live["api_list"] and live["proposal"] == "pending"

    yesterday = today_cst() - timedelta(days=1)
    db.session.execute(update(SupplyListing).where(SupplyListing.id == supply.id)
                       .values(period_end=yesterday, period_start=yesterday - timedelta(days=8)))
    db.session.execute(update(Proposal).where(Proposal.id == pending.id)
                       .values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    before_job = _reads(client, headers, supply.id, pending.id)
    assert before_job["api_detail"] == "expired" and supply.id not in before_job["api_list"]
    assert supply.id in before_job["api_expired"] and supply.id not in before_job["api_open"]
    assert before_job["proposal"] == "expired" and pending.id in before_job["expired"]
    assert pending.id not in before_job["pending"] and before_job["browse"] == 0
    assert db.session.scalar(text(f"SELECT status FROM proposal WHERE id = {pending.id}")) == "pending"

    assert jobs.expire_due() == {"listings": 1, "proposals": 1}
    db.session.commit()
    assert db.session.scalar(text(f"SELECT status FROM proposal WHERE id = {pending.id}")) == "expired"
    assert _reads(client, headers, supply.id, pending.id) == before_job


def test_a_proposal_past_its_lifetime_cannot_be_accepted_before_the_job_has_run(make_user, make_site, client, db):
    producer, _consumer, _supply, proposal = _gypsum_round(make_user, make_site, db)
    db.session.execute(update(Proposal).where(Proposal.id == proposal.id)
                       .values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    token = client.post("/api/v1/auth/token", json=token_request(producer)).get_json()["token"]
    r = client.post(f"/api/v1/proposals/{proposal.id}/accept", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "status"


# --- the edge's one transaction ----------------------------------------------------------------------------

@pytest.fixture
def probe_routes(app):
    """An app of its own (on the same database) with two throw-away routes: a POST whose view raises after a
    flush, a GET that flushes."""
    from marketplace import create_app
    from marketplace.config import TestingConfig
    from marketplace.extensions import csrf
    from marketplace.extensions import db as _db

    probe = create_app(TestingConfig)

    def probe_post():
        _db.session.add(Organisation(name="probe-post", credit_code=None, kind="producer"))
        _db.session.flush()
        raise RuntimeError("the view fails after its flush")

    def probe_get():
        _db.session.add(Organisation(name="probe-get", credit_code=None, kind="producer"))
        _db.session.flush()
        return "ok"

    probe.add_url_rule("/_probe/post", "probe_post", probe_post, methods=["POST"])
    probe.add_url_rule("/_probe/get", "probe_get", probe_get, methods=["GET"])
    csrf.exempt(probe_post)
    return probe


def _probe_orgs(db) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(Organisation.name).where(Organisation.name.like("probe-%"))))


def test_a_post_whose_view_raises_after_a_flush_commits_nothing(probe_routes, db):
    probe_routes.config["PROPAGATE_EXCEPTIONS"] = False
    assert probe_routes.test_client().post("/_probe/post").status_code == 500
    assert _probe_orgs(db) == []


def test_a_get_that_flushes_writes_nothing(probe_routes, db):
    assert probe_routes.test_client().get("/_probe/get").status_code == 200
    assert _probe_orgs(db) == []


def test_a_refused_form_keeps_nothing(logged_in, make_site, db):
    """A listing form that the service refuses (a price beyond the limit) stores no row and no history."""
    from marketplace.models import ListingEvent
    from tests.web.conftest import post_form

    client, user = logged_in(kind="producer")
    site = make_site(user.organisation)
    with WriteCounter(db.engine) as counter:
        r = post_form(client, "/listings/supply/new", {
            "site_id": str(site.id), "material": "fgd_gypsum", "tonnes": "100",
            "period_start": today_cst().isoformat(), "period_end": (today_cst() + timedelta(days=30)).isoformat(),
            "price": "1000000", "max_haul_km": "100", "publish": "1"}, page="/listings/supply/new")
    assert r.status_code in (200, 400) and "1000000" in r.get_data(as_text=True)  # the form keeps what was typed
    db.session.rollback()
    assert db.session.scalar(select(SupplyListing.id)) is None
    assert db.session.scalar(select(ListingEvent.id)) is None
    assert not [w for w in counter.writes if "supply_listing" in w]  # refused before anything was written
