"""Reservations cannot be weaponised: a utiliser's huge demand and Find matches lock no supply until it
accepts, then only briefly and up to its share; withdrawing or editing a listing ends its proposals."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.clock import today_cst
from marketplace.models import Proposal, SupplyListing
from marketplace.services import listings as listing_service
from marketplace.services import proposals, rounds, tariff
from tests.web.test_api_listings import API, PATHS, Api, issue_token

PLACES = [("38.0575", "106.6914"), ("39.0410", "106.3950"), ("37.9240", "105.9110"), ("38.9130", "106.5230"),
          ("37.5200", "105.1800")]


@pytest.fixture
def fly_ash_market(client, make_user, make_site, db):
    """Five producers with 10,000 t of fly ash each (50,000 t free); an attacker and a bystander utiliser."""
    supplies = []
    for lat, lon in PLACES:
        producer = make_user(kind="producer")
        site = make_site(producer.organisation, lat=lat, lon=lon)
        supplies.append(listing_service.create_listing(producer, "supply", {
            "site_id": site.id, "material": "fly_ash", "grade": "II", "tonnes": 10_000, "price_yuan_per_t": "20",
            "max_haul_km": 2000, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)}))
    people = {}
    for name in ("attacker", "bystander"):
        user = make_user(kind="consumer")
        people[name] = Api(client, user, issue_token(client, user), make_site(user.organisation, lat="38.47",
                                                                              lon="106.28"))
    db.session.commit()
    return {"supplies": supplies, **people}


def weaponised_demand(api, tonnes=5_000_000) -> dict:
    """The finding's demand: 5,000,000 t, no price cap, a 2,000 km haul."""
    response = api.post(PATHS["demand"], json={
        "site_id": api.site.id, "material": "fly_ash", "tonnes": tonnes, "max_haul_km": 2000,
        "period_start": today_cst().isoformat(), "period_end": (today_cst() + timedelta(days=60)).isoformat()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def find_matches(api, demand_id: int):
    """Find matches through the API: the round is queued (202), the queue runs it, then it is read (200)."""
    queued = api.post(f"{API}/match-rounds", json={"demand_listing_ids": [demand_id]})
    if queued.status_code != 202:
        return queued
    return api.get(f"{API}/match-rounds/{queued.get_json()['id']}")


def free_supply(db) -> int:
    """Fly ash the next round could still offer: unpromised tonnes minus what pending proposals hold."""
    db.session.rollback()
    supplies = list(db.session.scalars(select(SupplyListing)))
    instance, _, _ = rounds.build_instance(supplies, [], tariff.tariff_in_force())
    return sum(s["tonnes"] for s in instance["supplies"])


def statuses(db, ids) -> set[str]:
    db.session.rollback()
    return {db.session.get(Proposal, i).status.value for i in ids}


def test_a_weaponised_find_matches_reserves_nothing_and_is_bounded_by_the_share_cap(fly_ash_market, db):
    attacker, bystander = fly_ash_market["attacker"], fly_ash_market["bystander"]
    demand = weaponised_demand(attacker)
    response = find_matches(attacker, demand["id"])
    assert response.status_code == 200 and response.get_json()["status"] == "done", response.get_json()
    proposals = response.get_json()["proposals"]
    offered = sum(p["tonnes"] for p in proposals)
    # the round is trimmed to 20 % of the 50,000 t free, not the 75-100 % of the finding
    assert 0 < offered <= 10_000
    # and until the attacker accepts, its proposals hold nothing: everything is still free to others
    assert free_supply(db) == 50_000
    mine = weaponised_demand(bystander, tonnes=3_000)
    got = find_matches(bystander, mine["id"]).get_json()["proposals"]
    assert sum(p["tonnes"] for p in got) == 3_000

    # The attacker accepts all of its proposals: now they hold, up to its cap and only for a few hours.
    before = datetime.now(UTC)
    for p in proposals:
        accepted = attacker.post(f"{API}/proposals/{p['id']}/accept")
        assert accepted.status_code == 200, accepted.get_json()
        expires = datetime.fromisoformat(accepted.get_json()["expires_at"].replace("Z", "+00:00"))
        assert expires <= before + timedelta(hours=4, minutes=1)
    assert free_supply(db) == 50_000 - offered >= 40_000
    # Another Find matches beyond the cap is refused, with the API's error shape and no 500
    again = find_matches(attacker, demand["id"])
    assert again.status_code == 409, again.get_json()
    assert set(again.get_json()["error"]) == {"code", "message", "field"}


def test_an_acceptance_that_would_go_beyond_the_cap_is_refused(fly_ash_market, db, app, monkeypatch):
    attacker = fly_ash_market["attacker"]
    demand = weaponised_demand(attacker)
    proposals = find_matches(attacker, demand["id"]).get_json()["proposals"]
    first = proposals[0]
    # the market shrinks (other deals are made): the cap, 20 % of what is free, now ends below the first hold
    monkeypatch.setitem(app.config, "RESERVATION_FLOOR_T", 0)
    db.session.rollback()
    for supply in db.session.scalars(select(SupplyListing)):
        supply.tonnes_promised = 9_000 if supply.id != first["supply_listing_id"] else 0
    db.session.commit()
    free = 10_000 + 4 * 1_000
    assert first["tonnes"] > free * 0.2
    refused = attacker.post(f"{API}/proposals/{first['id']}/accept")
    assert refused.status_code == 409, refused.get_json()
    assert statuses(db, [first["id"]]) == {"pending"}
    assert db.session.get(Proposal, first["id"]).consumer_decision is None


def test_the_hold_ends_after_its_hours_and_frees_the_tonnes(fly_ash_market, db, monkeypatch):
    attacker, bystander = fly_ash_market["attacker"], fly_ash_market["bystander"]
    demand = weaponised_demand(attacker)
    offered = find_matches(attacker, demand["id"]).get_json()["proposals"]
    for p in offered:
        assert attacker.post(f"{API}/proposals/{p['id']}/accept").status_code == 200
    held = sum(p["tonnes"] for p in offered)
    assert free_supply(db) == 50_000 - held
    # five hours later (the hold is four): nothing is held; the next round expires the proposals
    later = datetime.now(UTC) + timedelta(hours=5)
    monkeypatch.setattr(proposals, "utcnow", lambda: later)
    monkeypatch.setattr(rounds, "utcnow", lambda: later)
    assert free_supply(db) == 50_000
    mine = weaponised_demand(bystander, tonnes=3_000)
    assert find_matches(bystander, mine["id"]).get_json()["status"] == "done"
    assert statuses(db, [p["id"] for p in offered]) == {"pending"}  # stored so until the scheduled job runs
    assert proposals.expire_proposals(later) == len(offered)  # the scheduled job, at that hour
    db.session.commit()
    assert statuses(db, [p["id"] for p in offered]) == {"expired"}


def test_a_market_round_still_holds_until_decided(fly_ash_market, make_user, db):
    """The operator's rounds are not Find matches: their proposals hold for the tariff's lifetime."""
    attacker = fly_ash_market["attacker"]
    weaponised_demand(attacker, tonnes=5_000)
    operator = make_user(kind="operator")
    rounds.start_round(operator)
    db.session.commit()
    assert free_supply(db) == 45_000


@pytest.mark.parametrize("how", ["withdraw", "edit", "draft"])
def test_withdrawing_or_editing_a_listing_ends_its_pending_proposals_at_once(fly_ash_market, db, how):
    attacker = fly_ash_market["attacker"]
    demand = weaponised_demand(attacker)
    offered = find_matches(attacker, demand["id"]).get_json()["proposals"]
    for p in offered[:1]:
        attacker.post(f"{API}/proposals/{p['id']}/accept")
    url = f"{PATHS['demand']}/{demand['id']}"
    response = {"withdraw": lambda: attacker.delete(url),
                "edit": lambda: attacker.patch(url, json={"tonnes": 4_000_000}),
                "draft": lambda: attacker.patch(url, json={"status": "draft"})}[how]()
    assert response.status_code == 200, response.get_json()
    ids = [p["id"] for p in offered]
    assert statuses(db, ids) == {"withdrawn"}
    assert free_supply(db) == 50_000
    # and they can no longer be accepted by anyone
    producer_of = {s.id: s.organisation_id for s in fly_ash_market["supplies"]}
    from marketplace.models import User

    producer_org_id = producer_of[offered[0]["supply_listing_id"]]
    producer = db.session.scalar(select(User).where(User.organisation_id == producer_org_id))
    from marketplace.errors import Conflict

    with pytest.raises(Conflict):
        proposals.decide(producer, ids[0], "accept")
    db.session.rollback()


def test_a_supply_withdrawn_through_the_web_form_ends_its_proposals(fly_ash_market, client, db):
    from marketplace.models import User
    from tests.web.conftest import login, post_form

    attacker = fly_ash_market["attacker"]
    demand = weaponised_demand(attacker, tonnes=2_000)
    proposals = find_matches(attacker, demand["id"]).get_json()["proposals"]
    supply = db.session.get(SupplyListing, proposals[0]["supply_listing_id"])
    owner = db.session.scalar(select(User).where(User.organisation_id == supply.organisation_id))
    login(client, owner)
    response = post_form(client, f"/listings/supply/{supply.id}/status", {"status": "withdrawn"},
                         page=f"/listings/supply/{supply.id}")
    assert response.status_code == 302
    assert statuses(db, [proposals[0]["id"]]) == {"withdrawn"}


def test_accepting_twice_is_answered_as_already_decided_not_as_the_cap(fly_ash_market, db, app, monkeypatch):
    attacker = fly_ash_market["attacker"]
    demand = weaponised_demand(attacker)
    proposal = find_matches(attacker, demand["id"]).get_json()["proposals"][0]
    assert attacker.post(f"{API}/proposals/{proposal['id']}/accept").status_code == 200
    monkeypatch.setitem(app.config, "RESERVATION_FLOOR_T", 0)
    monkeypatch.setitem(app.config, "RESERVATION_SHARE_CAP", "0.01")  # now far over the cap
    again = attacker.post(f"{API}/proposals/{proposal['id']}/accept")
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "decision"
    assert "already decided" in again.get_json()["error"]["message"] or "已" in again.get_json()["error"]["message"]
