"""Matching rounds in the marketplace: proposals equal the optimiser's plan; acceptance by both parties
makes an agreement; nothing is promised twice; only the parties decide."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.clock import today_cst
from marketplace.errors import MarketplaceError
from marketplace.models import Agreement, DemandListing, ListingStatus, Proposal, ProposalStatus, SupplyListing
from marketplace.services import listings as listing_service
from marketplace.services import proposals, rounds, tariff
from matching import Instance, SolveOptions, solve, validate
from tests.web.conftest import login


@pytest.fixture
def market(make_user, make_site, db):
    """Two fly-ash producers and two cement works around Lingwu/Ningdong, with an operator."""
    def supply(user, site, tonnes, price, grade="II", loi="6"):
        return listing_service.create_listing(user, "supply", {
            "site_id": site.id, "material": "fly_ash", "grade": grade, "quality": {"loi": loi}, "tonnes": tonnes,
            "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60), "price_yuan_per_t": price,
            "max_haul_km": 200})

    def demand(user, site, tonnes, min_grade="II", max_price="120"):
        return listing_service.create_listing(user, "demand", {
            "site_id": site.id, "material": "fly_ash", "min_grade": min_grade,
            "quality_limits": {"loi": {"max": "8"}}, "tonnes": tonnes, "period_start": today_cst(),
            "period_end": today_cst() + timedelta(days=90), "max_delivered_price_yuan_per_t": max_price,
            "max_haul_km": 150})

    p1, p2 = make_user(kind="producer"), make_user(kind="producer")
    c1, c2 = make_user(kind="consumer"), make_user(kind="consumer")
    s1 = supply(p1, make_site(p1.organisation, lat="38.0575", lon="106.6914"), 600, "30.00")
    s2 = supply(p2, make_site(p2.organisation, lat="39.0410", lon="106.3950", county="Dawukou"), 800, "20.00")
    d1 = demand(c1, make_site(c1.organisation, lat="38.094", lon="106.335"), 500)
    d2 = demand(c2, make_site(c2.organisation, lat="38.913", lon="106.523", county="Pingluo"), 700)
    operator = make_user(kind="operator")
    db.session.commit()
    return {"p1": p1, "p2": p2, "c1": c1, "c2": c2, "s1": s1, "s2": s2, "d1": d1, "d2": d2, "operator": operator}


def run_round(actor, **kwargs):
    from marketplace.extensions import db

    round_ = rounds.start_round(actor, **kwargs)
    db.session.commit()
    return round_


def test_round_proposals_equal_the_optimisers_plan_on_the_same_listings(market, db):
    round_ = run_round(market["operator"])
    supplies = list(db.session.scalars(select(SupplyListing)))
    demands = list(db.session.scalars(select(DemandListing)))
    instance_json, _, _ = rounds.build_instance(supplies, demands, tariff.tariff_in_force())
    # what the round proposed is reserved: only 1,400 - 1,200 t of supply and no demand are left to offer
    assert sum(s["tonnes"] for s in instance_json["supplies"]) == 200 and instance_json["demands"] == []
    # Rebuild the instance as it was (nothing reserved) and solve it independently.
    for p in round_.proposals:
        p.status = ProposalStatus.DECLINED
    db.session.flush()
    instance_json, _, _ = rounds.build_instance(supplies, demands, tariff.tariff_in_force())
    instance = Instance.from_json(instance_json)
    plan = solve(instance, SolveOptions())
    assert validate(instance, plan) == []
    got = sorted((f"S{p.supply_listing_id}", f"D{p.demand_listing_id}", p.tonnes, p.transport_cost_yuan_per_t)
                 for p in round_.proposals)
    want = sorted((x.supply, x.demand, x.tonnes, x.transport_cost_yuan_per_t) for x in plan.pairings)
    assert got == want
    assert round_.tonnes_matched == plan.tonnes_matched == 1200
    assert round_.transport_cost_yuan == plan.transport_cost_yuan
    assert round_.tariff.version == 1
    db.session.rollback()


def test_one_acceptance_alone_creates_nothing(market, db):
    round_ = run_round(market["operator"])
    proposal = round_.proposals[0]
    producer = market["p1"] if proposal.producer_org_id == market["p1"].organisation_id else market["p2"]
    proposals.decide(producer, proposal.id, "accept")
    db.session.commit()
    assert db.session.scalar(select(func.count(Agreement.id))) == 0
    assert db.session.get(SupplyListing, proposal.supply_listing_id).tonnes_promised == 0
    assert db.session.get(Proposal, proposal.id).status == ProposalStatus.PENDING


def parties(market, proposal):
    by_org = {u.organisation_id: u for u in (market["p1"], market["p2"], market["c1"], market["c2"])}
    return by_org[proposal.producer_org_id], by_org[proposal.consumer_org_id]


def test_both_accept_make_an_agreement_and_reduce_both_listings(market, db):
    round_ = run_round(market["operator"])
    proposal = round_.proposals[0]
    producer, consumer = parties(market, proposal)
    proposals.decide(producer, proposal.id, "accept")
    proposals.decide(consumer, proposal.id, "accept")
    db.session.commit()
    agreement = db.session.scalar(select(Agreement))
    assert agreement.tonnes == proposal.tonnes and agreement.proposal_id == proposal.id
    supply = db.session.get(SupplyListing, proposal.supply_listing_id)
    demand = db.session.get(DemandListing, proposal.demand_listing_id)
    assert supply.tonnes_promised == proposal.tonnes and demand.tonnes_promised == proposal.tonnes
    assert supply.status in (ListingStatus.PARTLY_MATCHED, ListingStatus.FULLY_MATCHED)
    assert (demand.status == ListingStatus.FULLY_MATCHED) == (demand.tonnes == proposal.tonnes)
    # the two parties now see each other's names and sites, a third party still does not
    assert listing_service.can_see_identity(consumer, supply) and listing_service.can_see_identity(producer, demand)
    stranger = market["c2"] if consumer is market["c1"] else market["c1"]
    assert not listing_service.can_see_identity(stranger, supply)


def test_declined_and_expired_proposals_free_their_tonnes(market, db):
    round_ = run_round(market["operator"])
    first, second = round_.proposals[0], round_.proposals[1]
    producer, _ = parties(market, first)
    proposals.decide(producer, first.id, "decline")
    second.expires_at = second.expires_at - timedelta(days=30)
    db.session.commit()
    again = run_round(market["operator"])
    offered = {(p.supply_listing_id, p.demand_listing_id) for p in again.proposals}
    assert (first.supply_listing_id, first.demand_listing_id) in offered
    assert db.session.get(Proposal, second.id).status == ProposalStatus.EXPIRED
    with pytest.raises(MarketplaceError):
        proposals.decide(parties(market, second)[0], second.id, "accept")
    db.session.rollback()


def test_overlapping_rounds_cannot_promise_more_than_a_listing_has(market, db):
    """Two proposals on the same supply from rounds that did not see each other: the second lapses."""
    round_a = run_round(market["operator"])
    # Pretend the first round's proposals were never there for the second round (an overlapping round).
    for p in round_a.proposals:
        p.status = ProposalStatus.DECLINED
    db.session.commit()
    round_b = run_round(market["operator"])
    for p in round_a.proposals:
        p.status = ProposalStatus.PENDING
    db.session.commit()
    supply_id = market["s2"].id
    pa = next(p for p in round_a.proposals if p.supply_listing_id == supply_id)
    pb = next(p for p in round_b.proposals
              if p.supply_listing_id == supply_id and p.demand_listing_id == pa.demand_listing_id)
    for proposal in (pa, pb):
        producer, consumer = parties(market, proposal)
        proposals.decide(producer, proposal.id, "accept")
        proposals.decide(consumer, proposal.id, "accept")
        db.session.commit()
    statuses = sorted(db.session.get(Proposal, p.id).status.value for p in (pa, pb))
    assert statuses == ["agreed", "lapsed"]
    supply = db.session.get(SupplyListing, supply_id)
    assert supply.tonnes_promised <= supply.tonnes
    assert db.session.scalar(select(func.count(Agreement.id))) == 1


def test_a_round_asks_about_its_listings_in_batches(market, db, monkeypatch):
    # a market round's listings are tens of thousands: never one IN list of all their ids
    from marketplace import extensions

    first = run_round(market["operator"])
    supplies = [market["s1"], market["s2"]]
    ids = [s.id for s in supplies]
    whole = proposals.pending_tonnes(Proposal.supply_listing_id, ids)
    assert whole and sum(whole.values()) == sum(p.tonnes for p in first.proposals)
    monkeypatch.setattr(extensions, "IN_BATCH", 1)
    from sqlalchemy import event

    asked = []

    def count(conn, cursor, statement, params, context, executemany):
        if "FROM proposal" in statement:
            asked.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert proposals.pending_tonnes(Proposal.supply_listing_id, ids) == whole
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(asked) == len(ids)  # one statement per batch of one id
    second = run_round(market["operator"])  # sees what the first one holds, one listing per statement
    assert second.status.value == "done"
    for s in supplies:
        held = sum(p.tonnes for r in (first, second) for p in r.proposals if p.supply_listing_id == s.id)
        assert held <= s.tonnes


def test_the_cost_curve_is_worked_out_once_the_proposals_are_out(market, db, monkeypatch):
    from marketplace.models import MatchRound, RoundStatus

    seen = []
    real = rounds.store_curve

    def spy(round_id, plan):
        seen.append((db.session.scalar(select(MatchRound.status).where(MatchRound.id == round_id)),
                     db.session.scalar(select(func.count(Proposal.id)).where(Proposal.round_id == round_id))))
        real(round_id, plan)

    monkeypatch.setattr(rounds, "store_curve", spy)
    round_ = run_round(market["operator"])
    assert seen and seen[0][0] == RoundStatus.DONE and seen[0][1] > 0  # done and offered before the curve
    db.session.refresh(round_)
    assert round_.stats["curve"] == "done" and round_.marginal_cost_curve
    assert round_.marginal_cost_curve[-1]["tonnes_to"] == round_.tonnes_matched


def test_a_curve_that_fails_leaves_the_round_done(market, db, monkeypatch, client):
    import matching.solver as solver_mod

    def broken(*args, **kwargs):
        raise RuntimeError("no curve today")

    monkeypatch.setattr(solver_mod, "marginal_cost_curve", broken)
    round_ = run_round(market["operator"])
    db.session.refresh(round_)
    assert round_.status.value == "done" and round_.proposals
    assert (round_.stats["curve"], round_.marginal_cost_curve) == ("failed", [])
    login(client, market["operator"])
    page = client.get(f"/match/rounds/{round_.id}").get_data(as_text=True)
    assert 'id="curve-pending"' not in page and 'id="curve-chart"' not in page
    round_.stats = {**round_.stats, "curve": "pending"}  # as it is between the proposals and the curve
    db.session.commit()
    assert 'id="curve-pending"' in client.get(f"/match/rounds/{round_.id}").get_data(as_text=True)


def test_a_party_decides_once(market, db):
    from marketplace.errors import Conflict

    round_ = run_round(market["operator"])
    proposal = round_.proposals[0]
    producer, _ = parties(market, proposal)
    proposals.decide(producer, proposal.id, "accept")
    db.session.commit()
    with pytest.raises(Conflict):
        proposals.decide(producer, proposal.id, "decline")
    db.session.rollback()


@pytest.mark.parametrize("who", ["operator", "stranger_consumer", "regulator"])
def test_only_the_two_parties_act_on_a_proposal(market, make_user, db, who):
    from marketplace.errors import NotFound, PermissionDenied

    round_ = run_round(market["operator"])
    proposal = round_.proposals[0]
    actor = {"operator": market["operator"], "regulator": make_user(kind="regulator"),
             "stranger_consumer": make_user(kind="consumer")}[who]
    with pytest.raises((PermissionDenied, NotFound)):
        proposals.decide(actor, proposal.id, "accept")
    db.session.rollback()
    assert db.session.get(Proposal, proposal.id).producer_decision is None


def test_private_round_for_one_demand(market, db):
    round_ = run_round(market["c1"], demand_listing_ids=[market["d1"].id])
    assert round_.scope == "demand"
    assert {p.demand_listing_id for p in round_.proposals} == {market["d1"].id}
    assert sum(p.tonnes for p in round_.proposals) == 500


def test_private_round_needs_ones_own_listing(market, db):
    from marketplace.errors import PermissionDenied, ValidationError

    with pytest.raises(ValidationError):
        run_round(market["c1"], demand_listing_ids=[market["d2"].id])
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        run_round(market["c1"])
    db.session.rollback()


def test_round_skips_pairs_within_one_organisation(make_user, make_site, market, db):
    both = make_user(kind="both")
    site = make_site(both.organisation, lat="38.10", lon="106.62")
    listing_service.create_listing(both, "supply", {
        "site_id": site.id, "material": "fly_ash", "grade": "I", "tonnes": 300, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=30), "price_yuan_per_t": "0", "max_haul_km": 100})
    own_demand = listing_service.create_listing(both, "demand", {
        "site_id": site.id, "material": "fly_ash", "tonnes": 300, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=30), "max_haul_km": 100})
    db.session.commit()
    round_ = run_round(market["operator"])
    assert all(p.producer_org_id != p.consumer_org_id for p in round_.proposals)
    assert own_demand.id not in {p.demand_listing_id for p in round_.proposals} or all(
        p.producer_org_id != both.organisation_id for p in round_.proposals if p.demand_listing_id == own_demand.id)


def test_minimum_shipment_option(market, db):
    round_ = run_round(market["operator"], min_shipment_t=400)
    assert round_.proposals and all(p.tonnes >= 400 for p in round_.proposals)
    assert round_.stats["solver"] == "cp_sat"


def test_bad_round_parameters_are_refused(market, db):
    from marketplace.errors import ValidationError

    for kwargs in ({"min_shipment_t": -1}, {"max_partners": 0}, {"period_start": "2026-02-30"},
                   {"supply_listing_ids": "1,2"}, {"period_start": "2027-01-02", "period_end": "2027-01-01"}):
        with pytest.raises(ValidationError):
            run_round(market["operator"], **kwargs)
        db.session.rollback()


def test_tariff_versions(market, db, make_user):
    from marketplace.errors import PermissionDenied, ValidationError

    data = {"road_yuan_per_t_km": "0.45", "handling_yuan_per_t": "6", "circuity": "1.25",
            "rail_fixed_yuan_per_t": "", "rail_yuan_per_t_km": "", "co2_kg_per_t_km": "0.09",
            "rail_co2_kg_per_t_km": "0.03", "proposal_lifetime_hours": "48", "note": "2026 survey"}
    version = tariff.set_tariff(market["operator"], data)
    db.session.commit()
    assert version.version == 2 and tariff.tariff_in_force().road_yuan_per_t_km == Decimal("0.4500")
    assert run_round(market["operator"]).tariff.version == 2
    with pytest.raises(PermissionDenied):
        tariff.set_tariff(make_user(kind="regulator"), data)
    with pytest.raises(ValidationError):
        tariff.set_tariff(market["operator"], {**data, "rail_fixed_yuan_per_t": "10"})
    with pytest.raises(ValidationError):
        tariff.set_tariff(market["operator"], {**data, "circuity": "0.5"})
    db.session.rollback()


# --- through the web and the API --------------------------------------------------------------------------

def test_round_page_and_acceptance_through_the_browser_client(market, client, db):
    login(client, market["operator"])
    from tests.web.conftest import post_form

    r = post_form(client, "/match/rounds/new", {"period_start": "", "period_end": ""}, page="/match/rounds/")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "1,200" in page and 'id="round-map"' in page
    proposal = db.session.scalar(select(Proposal).order_by(Proposal.id))
    producer, consumer = parties(market, proposal)
    for user in (producer, consumer):
        c = client.application.test_client()
        login(c, user)
        assert 'id="pending-count"' in c.get("/").get_data(as_text=True)
        r = post_form(c, f"/match/proposals/{proposal.id}/decide", {"decision": "accept"}, page="/match/proposals/")
        assert r.status_code == 302
    agreement = db.session.scalar(select(Agreement))
    assert agreement is not None
    c = client.application.test_client()
    login(c, consumer)
    page = c.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    assert producer.organisation.name in page
    c2 = client.application.test_client()
    login(c2, market["c2"] if consumer is market["c1"] else market["c1"])
    assert c2.get(f"/match/agreements/{agreement.id}").status_code == 404


def test_round_map_hides_sites_from_a_party(market, client, db):
    from marketplace import gazetteer

    round_ = run_round(market["operator"])
    proposal = round_.proposals[0]
    producer, consumer = parties(market, proposal)
    login(client, consumer)
    response = client.get(f"/match/rounds/{round_.id}/map.json")
    assert response.mimetype == "application/json"
    page = json.dumps(response.get_json(), ensure_ascii=False)
    assert producer.organisation.name not in page
    supply = db.session.get(SupplyListing, proposal.supply_listing_id)
    points = [f["geometry"]["coordinates"] for f in response.get_json()["features"]
              if f["geometry"]["type"] == "Point"]
    assert [float(supply.site.lon), float(supply.site.lat)] not in points
    seat = gazetteer.COUNTIES[supply.site.county]
    assert [float(seat.lon), float(seat.lat)] in points
    # the consumer's own site is exact, and its own organisation named
    demand = db.session.get(DemandListing, proposal.demand_listing_id)
    assert [float(demand.site.lon), float(demand.site.lat)] in points
    assert consumer.organisation.name in page
    # once both accept, each party sees the other's site and name
    proposals.decide(producer, proposal.id, "accept")
    proposals.decide(consumer, proposal.id, "accept")
    db.session.commit()
    response = client.get(f"/match/rounds/{round_.id}/map.json")
    points = [f["geometry"]["coordinates"] for f in response.get_json()["features"]
              if f["geometry"]["type"] == "Point"]
    assert [float(supply.site.lon), float(supply.site.lat)] in points
    assert producer.organisation.name in json.dumps(response.get_json(), ensure_ascii=False)


def api_token(client, user):
    from tests.web.conftest import token_request

    r = client.post("/api/v1/auth/token", json=token_request(user))
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_the_api_flow(market, client, db):
    op = api_token(client, market["operator"])
    r = client.post("/api/v1/match-rounds", json={"supply_listing_ids": [market["s1"].id],
                                                   "demand_listing_ids": [market["d1"].id]}, headers=op)
    assert r.status_code == 202, r.get_json()
    queued = r.get_json()
    assert queued["status"] == "queued" and queued["proposals"] == []  # the answer comes before the solve
    # the queue runs the round when the request has committed (immediate mode in tests); then it is read
    body = client.get(f"/api/v1/match-rounds/{queued['id']}", headers=op).get_json()
    assert body["status"] == "done" and body["error"] is None and body["finished_at"]
    assert len(body["proposals"]) == 1
    p = body["proposals"][0]
    assert p["supply_listing_id"] == market["s1"].id and p["tonnes"] == 500 and p["agreement_id"] is None
    producer, consumer = api_token(client, market["p1"]), api_token(client, market["c1"])
    pending = client.get("/api/v1/proposals?status=pending", headers=producer).get_json()["items"]
    assert [x["id"] for x in pending] == [p["id"]]
    assert client.post(f"/api/v1/proposals/{p['id']}/accept", headers=op).status_code == 403
    assert client.post(f"/api/v1/proposals/{p['id']}/accept", headers=producer).get_json()["agreement_id"] is None
    assert client.post(f"/api/v1/proposals/{p['id']}/accept", headers=producer).status_code == 409
    done = client.post(f"/api/v1/proposals/{p['id']}/accept", headers=consumer).get_json()
    assert done["status"] == "agreed" and done["agreement_id"]
    agreement = client.get(f"/api/v1/agreements/{done['agreement_id']}", headers=consumer).get_json()
    assert agreement["tonnes"] == 500 and agreement["producer"] == market["p1"].organisation.name
    listed = client.get("/api/v1/agreements", headers=producer).get_json()["items"]
    assert [a["id"] for a in listed] == [agreement["id"]]
    stranger = api_token(client, market["c2"])
    assert client.get(f"/api/v1/agreements/{agreement['id']}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/proposals/{p['id']}", headers=stranger).status_code == 404
    # the listing API now shows the counterparty's identity to the consumer
    listing = client.get(f"/api/v1/supply-listings/{market['s1'].id}", headers=consumer).get_json()
    assert listing["organisation"] == market["p1"].organisation.name and listing["tonnes_remaining"] == 100


def test_a_rounds_proposals_come_a_page_at_a_time(market, client, db, monkeypatch):
    # a market round makes tens of thousands: the API and the round page give them a page at a time
    round_ = run_round(market["operator"])
    made = db.session.scalars(select(Proposal.id).where(Proposal.round_id == round_.id).order_by(Proposal.id)).all()
    assert len(made) >= 2
    assert round_.proposal_count == len(made)  # written once with them: the rounds list counts nothing
    op = api_token(client, market["operator"])
    whole = client.get(f"/api/v1/match-rounds/{round_.id}", headers=op).get_json()
    assert [p["id"] for p in whole["proposals"]] == made
    assert (whole["proposals_total"], whole["page"], whole["per_page"], whole["pages"]) == (len(made), 1, 500, 1)
    seen = []
    for page in range(1, len(made) + 1):
        body = client.get(f"/api/v1/match-rounds/{round_.id}?per_page=1&page={page}", headers=op).get_json()
        assert (body["proposals_total"], body["pages"], len(body["proposals"])) == (len(made), len(made), 1)
        seen += [p["id"] for p in body["proposals"]]
    assert seen == made
    past = client.get(f"/api/v1/match-rounds/{round_.id}?per_page=1&page={len(made) + 1}", headers=op).get_json()
    assert past["proposals"] == [] and past["proposals_total"] == len(made)
    for bad in ("per_page=0", "per_page=1001", "page=0", "page=x"):
        r = client.get(f"/api/v1/match-rounds/{round_.id}?{bad}", headers=op)
        assert r.status_code == 422 and r.get_json()["error"]["field"] == bad.split("=")[0], bad
    # the page: ROUND_PAGE_SIZE rows and a pager
    monkeypatch.setattr(rounds, "ROUND_PAGE_SIZE", 1)
    login(client, market["operator"])
    first = client.get(f"/match/rounds/{round_.id}").get_data(as_text=True)
    assert f'id="proposal-{made[0]}"' in first and f'id="proposal-{made[1]}"' not in first
    assert 'rel="next"' in first
    second = client.get(f"/match/rounds/{round_.id}?page=2").get_data(as_text=True)
    assert f'id="proposal-{made[1]}"' in second and f'id="proposal-{made[0]}"' not in second
    assert client.get(f"/match/rounds/{round_.id}?page=abc").status_code == 400


def test_the_proposals_list_comes_a_page_at_a_time(market, client, db, monkeypatch):
    # it stopped at the 500 newest: older proposals could not be reached
    round_ = run_round(market["operator"])
    made = sorted(p.id for p in round_.proposals)[::-1]  # newest first
    op = api_token(client, market["operator"])
    whole = client.get("/api/v1/proposals", headers=op).get_json()
    assert [p["id"] for p in whole["items"]] == made
    assert (whole["total"], whole["page"], whole["per_page"], whole["pages"]) == (len(made), 1, 500, 1)
    seen = []
    for page in range(1, len(made) + 1):
        body = client.get(f"/api/v1/proposals?per_page=1&page={page}", headers=op).get_json()
        assert (body["total"], body["pages"], len(body["items"])) == (len(made), len(made), 1)
        seen += [p["id"] for p in body["items"]]
    assert seen == made
    producer = api_token(client, market["p1"])  # a party counts only its own
    mine = client.get("/api/v1/proposals?per_page=1", headers=producer).get_json()
    own = [p for p in round_.proposals if p.producer_org_id == market["p1"].organisation_id]
    assert mine["total"] == len(own) and all(p["id"] in {x.id for x in own} for p in mine["items"])
    for bad in ("per_page=0", "per_page=1001", "page=0"):
        assert client.get(f"/api/v1/proposals?{bad}", headers=op).status_code == 422, bad
    monkeypatch.setattr(proposals, "PAGE_SIZE", 1)
    login(client, market["operator"])
    first = client.get("/match/proposals/").get_data(as_text=True)
    assert f'id="proposal-{made[0]}"' in first and f'id="proposal-{made[1]}"' not in first and 'rel="next"' in first
    second = client.get("/match/proposals/?page=2").get_data(as_text=True)
    assert f'id="proposal-{made[1]}"' in second and f'id="proposal-{made[0]}"' not in second


def test_api_round_errors(market, client):
    consumer = api_token(client, market["c1"])
    r = client.post("/api/v1/match-rounds", json={}, headers=consumer)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = client.post("/api/v1/match-rounds", json={"demand_listing_ids": ["x"]}, headers=consumer)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "demand_listing_ids"
    assert client.get("/api/v1/proposals?status=bogus", headers=consumer).status_code == 422
    assert client.get("/api/v1/match-rounds/99999999999", headers=consumer).status_code == 404
