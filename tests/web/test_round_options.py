"""Issue #16 in the market: the tariff's value of a tonne, truck payload and minimum train load per material; a
round's objective, truckloads and partner caps on both sides (form, API, stored, passed to the optimiser); the
plan's marginal cost curve on the round page and in the API."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.clock import today_cst
from marketplace.models import DemandListing, MatchRound, Objective, Proposal, SupplyListing, TariffVersion, User
from marketplace.services import listings as listing_service
from marketplace.services import rounds, tariff
from matching import Instance
from tests.web.conftest import login, post_form, token_request


def bearer(client, user) -> dict:
    r = client.post("/api/v1/auth/token", json=token_request(user))
    assert r.status_code == 201, r.get_data(as_text=True)
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture
def market(make_user, make_site, db):
    """Fly ash from two producers, slag from a third, two cement works; an operator and a regulator."""
    period = {"period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)}
    p1, p2, p3 = (make_user(kind="producer") for _ in range(3))
    c1, c2 = make_user(kind="consumer"), make_user(kind="consumer")
    out = {"p1": p1, "p2": p2, "p3": p3, "c1": c1, "c2": c2}
    for name, user, lat, lon, material, tonnes in (("s1", p1, "38.0575", "106.6914", "fly_ash", 650),
                                                   ("s2", p2, "38.3000", "106.4000", "fly_ash", 500),
                                                   ("s3", p3, "38.2000", "106.3000", "gbf_slag", 400)):
        site = make_site(user.organisation, lat=lat, lon=lon)
        out[name] = listing_service.create_listing(user, "supply", {
            "site_id": site.id, "material": material, "tonnes": tonnes, "price_yuan_per_t": "20.00",
            "max_haul_km": 250, **period})
    for name, user, lat, lon, tonnes in (("d1", c1, "38.094", "106.335", 700), ("d2", c2, "38.40", "106.50", 400)):
        site = make_site(user.organisation, lat=lat, lon=lon)
        out[name] = listing_service.create_listing(user, "demand", {
            "site_id": site.id, "material": "fly_ash", "tonnes": tonnes, "max_haul_km": 250, **period})
    out["operator"] = make_user(kind="operator")
    out["regulator"] = make_user(kind="regulator")
    db.session.commit()
    return out


# --- the tariff's per-material figures ------------------------------------------------------------------------

def test_version_one_seeds_a_value_and_a_payload_for_every_material(db):
    v1 = db.session.scalars(select(TariffVersion).where(TariffVersion.version == 1)).one()
    assert v1.value_yuan_per_t["fly_ash"] == "35.00" and v1.value_yuan_per_t["coal_gangue"] == "15.00"
    assert set(v1.payload_t.values()) == {32} and len(v1.payload_t) == 9
    # the optimiser reads the instance's tariff as the tariff says
    instance = Instance.from_json({"supplies": [], "demands": [], "tariff": tariff.tariff_json(v1)})
    assert instance.tariff.value_yuan_per_t["fly_ash"] == Decimal("35.00")
    assert instance.tariff.payload_t["gbf_slag"] == 32


def _tariff_body(**changes):
    body = {"road_yuan_per_t_km": "0.5", "handling_yuan_per_t": "8", "circuity": "1.3",
            "rail_fixed_yuan_per_t": "10", "rail_yuan_per_t_km": "0.05", "co2_kg_per_t_km": "0.1",
            "rail_co2_kg_per_t_km": "0.03", "proposal_lifetime_hours": 72,
            "value_yuan_per_t": {"fly_ash": "60.50"}, "payload_t": {"fly_ash": 30}, "min_train_t": 1500}
    body.update(changes)
    return body


def test_the_operator_publishes_values_payloads_and_a_train_minimum_through_the_api(market, client, db):
    headers = bearer(client, market["operator"])
    r = client.post("/api/v1/tariff", json=_tariff_body(), headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["version"] == 2 and body["value_yuan_per_t"] == {"fly_ash": "60.50"}
    assert body["payload_t"] == {"fly_ash": 30} and body["min_train_t"] == 1500
    assert client.get("/api/v1/tariff", headers=headers).get_json()["version"] == 2
    # the next round's instance carries them, and only them
    instance, _, _ = rounds.build_instance([], [], tariff.tariff_in_force())
    assert instance["tariff"]["value_yuan_per_t"] == {"fly_ash": "60.50"}
    assert instance["tariff"]["payload_t"] == {"fly_ash": 30} and instance["tariff"]["min_train_t"] == 1500
    assert Instance.from_json(instance).tariff.min_train_t == 1500


@pytest.mark.parametrize("change, field", [
    ({"value_yuan_per_t": {"unobtainium": "10"}}, "value_yuan_per_t"),
    ({"value_yuan_per_t": {"fly_ash": "-1"}}, "value_yuan_per_t"),
    ({"value_yuan_per_t": {"fly_ash": "100000.01"}}, "value_yuan_per_t"),
    ({"value_yuan_per_t": {"fly_ash": "1.234"}}, "value_yuan_per_t"),
    ({"value_yuan_per_t": {"fly_ash": "NaN"}}, "value_yuan_per_t"),
    ({"value_yuan_per_t": ["fly_ash", 10]}, "value_yuan_per_t"),
    ({"payload_t": {"fly_ash": 0}}, "payload_t"),
    ({"payload_t": {"fly_ash": 32.5}}, "payload_t"),
    ({"payload_t": {"fly_ash": 1e30}}, "payload_t"),
    ({"min_train_t": -5}, "min_train_t"),
    ({"min_train_t": 1e19}, "min_train_t"),
    ({"min_trian_t": 5}, "min_trian_t"),
])
def test_bad_tariff_figures_are_a_422_naming_the_field(market, client, db, change, field):
    r = client.post("/api/v1/tariff", json=_tariff_body(**change), headers=bearer(client, market["operator"]))
    assert r.status_code == 422, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "invalid" and error["field"].startswith(field) and error["message"]
    assert tariff.tariff_in_force().version == 1


@pytest.mark.parametrize("who", ["regulator", "p1", "c1"])
def test_only_the_operator_publishes_a_tariff_and_firms_do_not_read_it(market, client, who):
    headers = bearer(client, market[who])
    assert client.post("/api/v1/tariff", json=_tariff_body(), headers=headers).status_code == 403
    assert client.get("/api/v1/tariff", headers=headers).status_code == (200 if who == "regulator" else 403)


def _tariff_form(client) -> dict:
    page = client.get("/match/tariff").get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"', page))
    fields.pop("csrf_token", None)
    return fields


def test_the_tariff_form_shows_and_takes_each_materials_value_and_payload(market, client, db):
    login(client, market["operator"])
    fields = _tariff_form(client)
    assert fields["value_yuan_per_t__fly_ash"] == "35.00" and fields["payload_t__gbf_slag"] == "32"
    fields.update({"value_yuan_per_t__fly_ash": "48.5", "payload_t__fly_ash": "31", "value_yuan_per_t__gbf_slag": "",
                   "min_train_t": "2000"})
    r = post_form(client, "/match/tariff", fields, page="/match/tariff")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    now = tariff.tariff_in_force()
    assert now.version == 2 and now.min_train_t == 2000
    assert now.value_yuan_per_t["fly_ash"] == "48.50" and "gbf_slag" not in now.value_yuan_per_t
    assert now.payload_t["fly_ash"] == 31


@pytest.mark.parametrize("name, value", [("value_yuan_per_t__fly_ash", "abc"), ("value_yuan_per_t__fly_ash", "-3"),
                                         ("payload_t__steel_slag", "0"), ("payload_t__steel_slag", "2.5"),
                                         ("min_train_t", "-1")])
def test_a_bad_tariff_figure_is_a_form_error_on_its_input_keeping_what_was_typed(market, client, db, name, value):
    login(client, market["operator"])
    fields = {**_tariff_form(client), name: value, "note": "typed by hand"}
    r = post_form(client, "/match/tariff", fields, page="/match/tariff")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    field_html = re.search(rf'<(?:div|td) class="field[^"]*has-error[^"]*">\s*(?:<label[^>]*>[^<]*</label>\s*)?'
                           rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"', page)
    assert field_html, page[page.find(name) - 300:page.find(name) + 500]
    assert 'value="typed by hand"' in page
    assert tariff.tariff_in_force().version == 1


# --- a round's options --------------------------------------------------------------------------------------

def test_a_round_through_the_api_stores_its_options_and_passes_them_to_the_optimiser(market, client, db):
    headers = bearer(client, market["operator"])
    r = client.post("/api/v1/match-rounds", headers=headers, json={
        "objective": "delivered_cost", "truckloads": True, "max_partners": 1, "max_partners_per_supply": 1})
    assert r.status_code == 202, r.get_data(as_text=True)
    queued = r.get_json()
    assert queued["objective"] == "delivered_cost" and queued["truckloads"] is True
    assert queued["max_partners"] == 1 and queued["max_partners_per_supply"] == 1
    body = client.get(f"/api/v1/match-rounds/{queued['id']}", headers=headers).get_json()
    assert body["status"] == "done", body
    assert body["stats"]["solver"] == "cp_sat" and body["stats"]["objective"] == "delivered_cost"
    tonnes = [p["tonnes"] for p in body["proposals"]]
    assert tonnes and all(t % 32 == 0 for t in tonnes)
    # each supply and each demand has at most one partner
    assert len({p["supply_listing_id"] for p in body["proposals"]}) == len(tonnes)
    assert len({p["demand_listing_id"] for p in body["proposals"]}) == len(tonnes)
    assert Decimal(body["delivered_cost_yuan"]) == sum(
        Decimal(p["delivered_price_yuan_per_t"]) * p["tonnes"] for p in body["proposals"])


def test_the_partner_cap_per_supply_is_kept(market, client, db):
    headers = bearer(client, market["operator"])
    plain = client.post("/api/v1/match-rounds", headers=headers, json={}).get_json()
    plain = client.get(f"/api/v1/match-rounds/{plain['id']}", headers=headers).get_json()
    per_supply = {}
    for p in plain["proposals"]:
        per_supply.setdefault(p["supply_listing_id"], set()).add(p["demand_listing_id"])
    assert max(len(d) for d in per_supply.values()) >= 2  # without the cap, one supply feeds both works
    for p in db.session.scalars(select(Proposal)):  # free the tonnes again
        p.status = "declined"
    db.session.commit()
    capped = client.post("/api/v1/match-rounds", headers=headers, json={"max_partners_per_supply": 1}).get_json()
    capped = client.get(f"/api/v1/match-rounds/{capped['id']}", headers=headers).get_json()
    assert capped["status"] == "done" and capped["proposals"]
    per_supply = {}
    for p in capped["proposals"]:
        per_supply.setdefault(p["supply_listing_id"], set()).add(p["demand_listing_id"])
    assert max(len(d) for d in per_supply.values()) == 1


@pytest.mark.parametrize("body, field", [
    ({"objective": "most_tonnes"}, "objective"), ({"objective": 3}, "objective"),
    ({"truckloads": "yes"}, "truckloads"), ({"truckloads": 1}, "truckloads"),
    ({"max_partners_per_supply": 0}, "max_partners_per_supply"),
    ({"max_partners_per_supply": 1.5}, "max_partners_per_supply"),
    ({"max_partners_per_supply": 10**20}, "max_partners_per_supply"),
    ({"max_partners_per_demand": 2}, "max_partners_per_demand"),
])
def test_bad_round_options_are_a_422_naming_the_field(market, client, db, body, field):
    r = client.post("/api/v1/match-rounds", json=body, headers=bearer(client, market["operator"]))
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["field"] == field
    assert db.session.scalar(select(MatchRound.id)) is None


def test_the_round_form_refuses_a_bad_option_on_its_field_and_keeps_what_was_typed(market, client, db):
    login(client, market["operator"])
    r = post_form(client, "/match/rounds/new", {"objective": "cheapest", "max_partners_per_supply": "2",
                                                "min_shipment_t": "64", "truckloads": "y"}, page="/match/rounds/")
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'has-error">\s*<label for="objective"', page)
    assert re.search(r'name="max_partners_per_supply"[^>]*value="2"', page)
    assert re.search(r'name="min_shipment_t"[^>]*value="64"', page)
    assert re.search(r'<input checked[^>]*name="truckloads"|name="truckloads"[^>]*checked', page)
    r = post_form(client, "/match/rounds/new", {"objective": "net_value", "max_partners_per_supply": "0"},
                  page="/match/rounds/")
    assert r.status_code == 422 and re.search(r'has-error">\s*<label for="max_partners_per_supply"',
                                              r.get_data(as_text=True))
    assert db.session.scalar(select(MatchRound.id)) is None


def test_a_firm_runs_a_round_with_options_for_its_own_listing_only(market, client, db):
    login(client, market["c1"])
    own, other = market["d1"], market["d2"]
    page = client.get(f"/match/rounds/new?demand_listing_id={own.id}")
    assert page.status_code == 200 and 'name="objective"' in page.get_data(as_text=True)
    assert client.get(f"/match/rounds/new?demand_listing_id={other.id}").status_code == 404
    assert client.get("/match/rounds/new").status_code == 403
    assert client.get("/match/rounds/new?demand_listing_id=1e9").status_code == 404
    form_page = f"/match/rounds/new?demand_listing_id={own.id}"
    r = post_form(client, "/match/rounds/new", {"demand_listing_id": own.id, "objective": "net_value",
                                                "truckloads": "y"}, page=form_page)
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    round_ = db.session.scalars(select(MatchRound)).one()
    assert round_.scope == "demand" and round_.objective == Objective.NET_VALUE and round_.truckloads
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-objective="net_value"' in detail and 'id="round-lots"' in detail


def test_the_round_page_and_the_api_give_the_marginal_cost_curve(market, client, db):
    login(client, market["operator"])
    r = post_form(client, "/match/rounds/new", {"objective": "max_tonnes"}, page="/match/rounds/")
    assert r.status_code == 302
    round_ = db.session.scalars(select(MatchRound)).one()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="curve-data">(.*?)</script>', page, re.S)
    assert block and 'id="curve-chart"' in page and "js/round_curve.js" in page and "echarts.min.js" in page
    data = json.loads(block.group(1))
    segments = data["segments"]
    assert segments[-1]["tonnes_to"] == round_.tonnes_matched > 0
    assert [s["tonnes_from"] for s in segments[1:]] == [s["tonnes_to"] for s in segments[:-1]]
    # costs per tonne rise (the least-cost curve is convex) and add up to the plan's own cost (a plain plan)
    per_t = [Decimal(s["cost_yuan_per_t"]) for s in segments]
    assert per_t == sorted(per_t)
    assert sum(Decimal(s["cost_yuan"]) for s in segments) == round_.transport_cost_yuan
    assert data["text"]["x"] and data["text"]["y"]  # axis titles with their units
    api = client.get(f"/api/v1/match-rounds/{round_.id}", headers=bearer(client, market["operator"])).get_json()
    assert api["marginal_cost_curve"] == segments


def test_a_proposal_partner_sees_the_round_but_a_stranger_does_not(market, client, db):
    round_ = rounds.start_round(market["operator"], objective="net_value")
    db.session.commit()
    party = db.session.scalars(select(Proposal)).first()
    assert party is not None
    producer = db.session.get(SupplyListing, party.supply_listing_id).organisation.users[0]
    login(client, producer)
    assert client.get(f"/match/rounds/{round_.id}").status_code == 200
    stranger: User = market["p3"]  # slag: nothing proposed to it
    c = client.application.test_client()
    login(c, stranger)
    assert c.get(f"/match/rounds/{round_.id}").status_code == 404


# --- on the demo market ---------------------------------------------------------------------------------------

def _operator(db) -> User:
    return db.session.scalars(select(User).where(User.email == "admin@example.com")).one()


def test_the_marketplaces_round_with_truckloads_on_the_demo_market(demo, db):
    round_ = rounds.start_round(_operator(db), truckloads=True, run_now=True)
    db.session.commit()
    assert round_.status == "done" and round_.truckloads and round_.tonnes_matched > 0
    payload = tariff.tariff_in_force().payload_t
    offered = list(db.session.scalars(select(Proposal).where(Proposal.round_id == round_.id)))
    assert offered and sum(p.tonnes for p in offered) == round_.tonnes_matched
    for p in offered:
        assert p.tonnes % payload.get(p.supply_listing.material.code, 32) == 0, (p, p.supply_listing.material.code)
    assert round_.stats["solver"] == "cp_sat" and round_.marginal_cost_curve


def test_a_net_value_round_on_the_demo_market_moves_no_tonne_at_a_loss(demo, db):
    operator = _operator(db)
    plain = rounds.start_round(operator, run_now=True)
    db.session.commit()
    for p in db.session.scalars(select(Proposal).where(Proposal.round_id == plain.id)):
        p.status = "declined"  # free the tonnes for the second round
    db.session.commit()
    net = rounds.start_round(operator, objective="net_value", run_now=True)
    db.session.commit()
    values = tariff.tariff_in_force().value_yuan_per_t
    offered = list(db.session.scalars(select(Proposal).where(Proposal.round_id == net.id)))
    assert net.objective == Objective.NET_VALUE and offered
    for p in offered:
        value = Decimal(values[p.supply_listing.material.code])
        assert p.transport_cost_yuan_per_t < value, (p, p.transport_cost_yuan_per_t, value)
    assert net.value_yuan == sum(Decimal(values[p.supply_listing.material.code]) * p.tonnes for p in offered)
    # the max_tonnes round moved tonnes at a loss that the net_value round leaves alone
    lossy = [p for p in db.session.scalars(select(Proposal).where(Proposal.round_id == plain.id))
             if p.transport_cost_yuan_per_t >= Decimal(values[p.supply_listing.material.code])]
    assert lossy and net.tonnes_matched < plain.tonnes_matched
    assert net.value_yuan - net.transport_cost_yuan > plain.value_yuan - plain.transport_cost_yuan


# --- multi-material demands ---------------------------------------------------------------------------------

def _demand_body(site_id, **changes):
    body = {"site_id": site_id, "material": "fly_ash", "also_materials": ["gbf_slag"], "tonnes": 900,
            "period_start": today_cst().isoformat(), "period_end": (today_cst() + timedelta(days=30)).isoformat(),
            "max_haul_km": 250}
    body.update(changes)
    return body


@pytest.fixture
def cement(market, make_user, make_site, db):
    """A third cement works, near the slag, that takes fly ash or slag."""
    user = make_user(kind="consumer")
    site = make_site(user.organisation, lat="38.21", lon="106.31")
    db.session.commit()
    return user, site


def test_a_demand_accepting_fly_ash_or_slag_is_paired_with_both(market, cement, client, db):
    user, site = cement
    headers = bearer(client, user)
    r = client.post("/api/v1/demand-listings", json=_demand_body(site.id), headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)
    demand = r.get_json()
    assert demand["material"] == "fly_ash" and demand["also_materials"] == ["gbf_slag"]
    # the optimiser gets one demand for any mix of the two
    listing = db.session.get(DemandListing, demand["id"])
    instance, _, _ = rounds.build_instance([], [listing], tariff.tariff_in_force())
    assert instance["demands"][0]["materials"] == ["fly_ash", "gbf_slag"] and "material" not in instance["demands"][0]
    assert Instance.from_json(instance).demands[0].materials == ("fly_ash", "gbf_slag")
    # its own round finds the slag as well as fly ash
    queued = client.post("/api/v1/match-rounds", json={"demand_listing_ids": [demand["id"]]}, headers=headers)
    assert queued.status_code == 202, queued.get_data(as_text=True)
    done = client.get(f"/api/v1/match-rounds/{queued.get_json()['id']}", headers=headers).get_json()
    assert done["status"] == "done", done
    supplies = {p["supply_listing_id"] for p in done["proposals"]}
    assert market["s3"].id in supplies and supplies & {market["s1"].id, market["s2"].id}
    assert sum(p["tonnes"] for p in done["proposals"]) == 900


def test_a_slag_producers_own_round_finds_the_need_that_also_takes_slag(market, cement, client, db):
    user, site = cement
    demand = listing_service.create_listing(user, "demand", {**_demand_body(site.id), "period_start": today_cst(),
                                                             "period_end": today_cst() + timedelta(days=30)})
    db.session.commit()
    round_ = rounds.start_round(market["p3"], supply_listing_ids=[market["s3"].id])
    db.session.commit()
    offered = list(db.session.scalars(select(Proposal).where(Proposal.round_id == round_.id)))
    assert {p.demand_listing_id for p in offered} == {demand.id} and sum(p.tonnes for p in offered) == 400
    # and browsing needs for slag lists it
    login(client, market["p3"])
    r = client.get("/api/v1/demand-listings?material=gbf_slag", headers=bearer(client, market["p3"]))
    assert [d["id"] for d in r.get_json()["items"]] == [demand.id]


@pytest.mark.parametrize("changes, field", [
    ({"also_materials": ["unobtainium"]}, "also_materials"),
    ({"also_materials": "gbf_slag"}, "also_materials"),
    ({"also_materials": [{"code": "gbf_slag"}]}, "also_materials"),
    ({"also_materials": ["gbf_slag"] * 9}, "also_materials"),
    ({"also_materials": ["x" * 41]}, "also_materials"),
    ({"min_grade": "II"}, "also_materials"),
    ({"quality_limits": {"loi": {"max": "8"}}}, "also_materials"),
])
def test_bad_accepted_materials_are_a_422_naming_the_field(market, cement, client, db, changes, field):
    user, site = cement
    r = client.post("/api/v1/demand-listings", json=_demand_body(site.id, **changes), headers=bearer(client, user))
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["field"] == field
    assert db.session.scalar(select(DemandListing.id).where(DemandListing.organisation_id
                                                             == user.organisation_id)) is None


def test_the_same_material_or_a_repeat_is_left_out_and_a_change_is_in_the_history(market, cement, client, db):
    user, site = cement
    headers = bearer(client, user)
    body = _demand_body(site.id, also_materials=["fly_ash", "steel_slag", "gbf_slag", "steel_slag"])
    demand = client.post("/api/v1/demand-listings", json=body, headers=headers).get_json()
    assert demand["also_materials"] == ["gbf_slag", "steel_slag"]
    r = client.patch(f"/api/v1/demand-listings/{demand['id']}", json={"also_materials": []}, headers=headers)
    assert r.status_code == 200 and r.get_json()["also_materials"] == []
    listing = db.session.get(DemandListing, demand["id"])
    event = listing_service.history(listing)[-1]
    assert event.changes["also_materials"] == [["gbf_slag", "steel_slag"], []]
    # a grade is allowed again once the need takes one material
    assert client.patch(f"/api/v1/demand-listings/{demand['id']}", json={"min_grade": "II"},
                        headers=headers).status_code == 200


def test_the_demand_form_takes_other_materials_and_refuses_them_with_a_grade_keeping_the_choice(cement, client, db):
    user, site = cement
    login(client, user)
    data = {"site_id": str(site.id), "material": "fly_ash", "grade": "", "tonnes": "800",
            "period_start": today_cst().isoformat(), "period_end": (today_cst() + timedelta(days=60)).isoformat(),
            "price": "", "max_haul_km": "150", "use": "cement", "also_materials": ["gbf_slag", "steel_slag"],
            "publish": "Publish"}
    r = post_form(client, "/listings/demand/new", data, page="/listings/demand/new")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    mine = select(DemandListing).where(DemandListing.organisation_id == user.organisation_id)
    listing = db.session.scalars(mine).one()
    assert [m.code for m in listing.also_materials] == ["gbf_slag", "steel_slag"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="also-materials"' in page
    r = post_form(client, "/listings/demand/new", {**data, "grade": "II"}, page="/listings/demand/new")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and re.search(r'has-error">\s*<label for="also_materials"', page)
    assert re.search(r'<option selected value="gbf_slag">|<option[^>]*value="gbf_slag"[^>]*selected', page)
    assert len(db.session.scalars(mine).all()) == 1


def test_an_imported_need_takes_other_materials_from_one_cell_as_exported(cement, db):
    from marketplace.services import listing_files

    user, site = cement
    columns = listing_files.template_columns("demand", [])
    assert "also_materials" in columns
    end = (today_cst() + timedelta(days=30)).isoformat()
    data = ("site_id,material,tonnes,period_start,period_end,max_haul_km,also_materials\n"
            f"{site.id},fly_ash,500,{today_cst().isoformat()},{end},150,\"gbf_slag, steel_slag\"\n"
            f"{site.id},fly_ash,600,{today_cst().isoformat()},{end},150,\n").encode()
    made = listing_files.import_listings(user, "demand", "needs.csv", data)
    assert [[m.code for m in d.also_materials] for d in made] == [["gbf_slag", "steel_slag"], []]
    row = listing_files.flatten(listing_service.listing_out(made[0], user).dump())
    assert row["also_materials"] == "gbf_slag, steel_slag"
    db.session.rollback()
