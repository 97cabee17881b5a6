"""Seasonal rounds (issue #14) through the HTTP client and the API, as each role: a round over a horizon of
months, proposals with their schedule by month, the acceptance that never promises a month's tonnes twice, and
an agreement's planned against delivered tonnes by month (tickets count in their CST month)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from marketplace.models import Agreement, MatchRound, Proposal, ProposalMonth, ProposalStatus, RoundStatus
from marketplace.services import listings, proposals
from tests.web.conftest import csrf_token, login, post_form, token_request

API = "/api/v1"
#: Winter-heavy fly ash (the heating season), and a cement kiln stopped 15 Nov - 31 Mar (the seeded calendar).
ASH = [1200, 1100, 900, 600, 500, 400, 400, 500, 600, 800, 1000, 1200]


def post(client, url, data, page="/match/rounds/"):
    client.get("/lang/en")
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


@pytest.fixture
def market(make_user, make_site, db):
    """A power plant's supply with a yard, and a cement works' need that follows the calendar (no silo)."""
    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    plant = make_site(producer.organisation, name="电厂灰库", lat="38.0575", lon="106.6914", county="Lingwu",
                      park="Ningdong")
    kiln = make_site(consumer.organisation, name="水泥厂", lat="38.094", lon="106.335", county="Lingwu")
    supply = listings.create_listing(producer, "supply", {
        "site_id": plant.id, "material": "fly_ash", "grade": "I", "tonnes": sum(ASH), "period_start": "2027-01-01",
        "period_end": "2027-12-31", "price_yuan_per_t": "10", "max_haul_km": 300, "monthly_tonnes": ASH,
        "storage_capacity_t": 4000, "storage_stock_t": 0, "holding_yuan_per_t_month": "0.50"})
    demand = listings.create_listing(consumer, "demand", {
        "site_id": kiln.id, "material": "fly_ash", "tonnes": 9000, "period_start": "2027-01-01",
        "period_end": "2027-12-31", "max_haul_km": 300, "use": "cement", "max_delivered_price_yuan_per_t": "80"})
    db.session.commit()
    return {"producer": producer, "consumer": consumer, "supply": supply, "demand": demand}


def operator_runs(client, make_user, **fields):
    login(client, make_user(kind="operator"))
    return post(client, "/seasonal/rounds", {"horizon_start": "2027-01", "horizon_months": "12", **fields})


def test_the_operator_plans_a_year_and_the_yard_carries_winter_ash_to_the_spring_kilns(client, make_user, market, db):
    r = operator_runs(client, make_user)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    round_ = db.session.scalar(select(MatchRound))
    assert round_.status == RoundStatus.DONE, (round_.error, round_.error_detail)
    periods = round_.parameters["seasonal"]["periods"]
    assert periods[0] == "2027-01" and len(periods) == 12
    proposal = db.session.scalar(select(Proposal))
    months = {m.month: m.tonnes for m in proposal.schedule}
    assert proposal.tonnes == sum(months.values()) == round_.tonnes_matched
    stopped = {date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1), date(2027, 12, 1)}
    assert not stopped & set(months)  # nothing delivered to a cold kiln
    use = market["demand"].monthly_tonnes
    without_yard = sum(min(a, u) for a, u in zip(ASH, use, strict=True))
    assert round_.tonnes_matched > without_yard  # the yard's stock from the winter reaches the kiln in spring
    stock = round_.stats["seasonal"]["stock_t"]["supply"]
    assert stock[2] > 0 and max(stock) <= 4000  # stock at the end of March, never above the yard
    page = client.get(f"/match/rounds/{round_.id}").get_data(as_text=True)
    assert 'id="round-seasons"' in page and f'id="schedule-{proposal.id}"' in page and "2027-04" in page


def test_the_api_runs_a_seasonal_round_and_shows_each_schedule(client, make_user, market, db):
    operator = make_user(kind="operator")
    token = client.post(f"{API}/auth/token", json=token_request(operator)).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post(f"{API}/match-rounds/seasonal", json={"horizon_start": "2027-01", "horizon_months": 12},
                    headers=headers)
    assert r.status_code == 202, r.get_json()
    body = client.get(f"{API}/match-rounds/{r.get_json()['id']}", headers=headers).get_json()
    assert body["status"] == "done"
    schedule = body["proposals"][0]["schedule"]
    assert sum(m["tonnes"] for m in schedule) == body["proposals"][0]["tonnes"]
    assert all(m["month"] not in ("2027-01", "2027-02", "2027-03", "2027-12") for m in schedule)


@pytest.mark.parametrize("body,field", [
    ({"horizon_start": "2027-13"}, "horizon_start"),
    ({"horizon_start": "27-01"}, "horizon_start"),
    ({"horizon_start": "0000-01"}, "horizon_start"),  # was a 500: year 0
    ({"horizon_start": "2027-01", "x-unknown": 42}, "x-unknown"),
    ({"horizon_start": None}, "horizon_start"),
    ({"horizon_start": "2027-01", "horizon_months": 0}, "horizon_months"),
    ({"horizon_start": "2027-01", "horizon_months": 25}, "horizon_months"),
    ({"horizon_start": "2027-01", "horizon_months": "twelve"}, "horizon_months"),
    ({"horizon_start": "2027-01", "supply_listing_ids": "1"}, "supply_listing_ids"),
])
def test_a_bad_horizon_is_422_and_starts_nothing(client, make_user, db, body, field):
    operator = make_user(kind="operator")
    token = client.post(f"{API}/auth/token", json=token_request(operator)).get_json()["token"]
    r = client.post(f"{API}/match-rounds/seasonal", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["field"] == field
    assert db.session.scalar(select(func.count(MatchRound.id))) == 0


@pytest.mark.parametrize("months", ["0", "abc", "99"])
def test_a_bad_horizon_on_the_form_is_an_error_and_starts_nothing(client, make_user, db, months):
    r = operator_runs(client, make_user, horizon_months=months)
    assert r.status_code == 302
    assert db.session.scalar(select(func.count(MatchRound.id))) == 0
    assert "flash-error" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_firm_plans_for_its_own_listing_but_not_for_another_s(client, market, make_user, db):
    login(client, market["consumer"])
    r = post(client, "/seasonal/rounds", {"horizon_start": "2027-01", "horizon_months": "12",
                                          "demand_listing_id": str(market["demand"].id)},
             page=f"/listings/demand/{market['demand'].id}")
    assert r.status_code == 302
    round_ = db.session.scalar(select(MatchRound))
    assert round_.scope == "demand" and round_.status == RoundStatus.DONE
    stranger = client.application.test_client()
    login(stranger, make_user(kind="consumer"))
    r = post(stranger, "/seasonal/rounds", {"horizon_start": "2027-01", "horizon_months": "12",
                                            "demand_listing_id": str(market["demand"].id)}, page="/listings/mine")
    assert r.status_code in (302, 403)
    assert db.session.scalar(select(func.count(MatchRound.id))) == 1


def test_a_seasonal_round_without_csrf_is_refused(client, make_user, db):
    login(client, make_user(kind="operator"))
    r = client.post("/seasonal/rounds", data={"horizon_start": "2027-01", "horizon_months": "12"})
    assert r.status_code in (302, 400)
    assert db.session.scalar(select(func.count(MatchRound.id))) == 0


# --- never a month's tonnes twice ----------------------------------------------------------------------------

@pytest.fixture
def april_only(make_user, make_site, db):
    """A supply that has 500 t in April 2027 and nothing else, with plenty of tonnes in all; a need for more."""
    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    plant = make_site(producer.organisation, lat="38.0575", lon="106.6914", county="Lingwu")
    works = make_site(consumer.organisation, lat="38.094", lon="106.335", county="Lingwu")
    april = [0, 0, 0, 500, 0, 0, 0, 0, 0, 0, 0, 0]
    supply = listings.create_listing(producer, "supply", {
        "site_id": plant.id, "material": "fly_ash", "grade": "I", "tonnes": 100_000, "period_start": "2027-01-01",
        "period_end": "2027-12-31", "price_yuan_per_t": "10", "max_haul_km": 300, "monthly_tonnes": april})
    listings.create_listing(consumer, "demand", {
        "site_id": works.id, "material": "fly_ash", "tonnes": 100_000, "period_start": "2027-01-01",
        "period_end": "2027-12-31", "max_haul_km": 300, "use": "concrete", "monthly_tonnes": [2000] * 12})
    db.session.commit()
    return producer, consumer, supply


def test_two_proposals_for_the_same_month_s_tonnes_are_never_both_promised(client, make_user, april_only, db):
    producer, consumer, supply = april_only
    operator_runs(client, make_user)
    # a second round before anyone decided: April's 500 t are proposed again
    operator_runs(client.application.test_client(), make_user)
    first, second = db.session.scalars(select(Proposal).order_by(Proposal.id)).all()
    assert [(m.month, m.tonnes) for m in first.schedule] == [(date(2027, 4, 1), 500)]
    assert [(m.month, m.tonnes) for m in second.schedule] == [(date(2027, 4, 1), 500)]
    for proposal in (first, second):
        for party in (producer, consumer):
            c = client.application.test_client()
            login(c, party)
            r = post_form(c, f"/match/proposals/{proposal.id}/decide", {"decision": "accept"})
            assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, first.id).status == ProposalStatus.AGREED
    assert db.session.get(Proposal, second.id).status == ProposalStatus.LAPSED  # April is promised already
    assert db.session.scalar(select(func.count(Agreement.id))) == 1
    promised = db.session.scalar(
        select(func.sum(ProposalMonth.tonnes)).join(Agreement, Agreement.proposal_id == ProposalMonth.proposal_id)
        .where(Agreement.supply_listing_id == supply.id))
    assert promised == 500
    assert listings.get_listing("supply", supply.id).tonnes_promised == 500  # the lapsed one released its tonnes


# --- an agreement's months -------------------------------------------------------------------------------

def test_the_agreement_shows_planned_against_delivered_by_cst_month(client, make_user, make_site, db):
    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    plant = make_site(producer.organisation, lat="38.0575", lon="106.6914", county="Lingwu")
    works = make_site(consumer.organisation, lat="38.094", lon="106.335", county="Lingwu")
    listings.create_listing(producer, "supply", {
        "site_id": plant.id, "material": "fly_ash", "grade": "I", "tonnes": 600, "period_start": "2026-11-01",
        "period_end": "2027-03-31", "price_yuan_per_t": "10", "max_haul_km": 300,
        "monthly_tonnes": [0] * 10 + [300, 300]})
    listings.create_listing(consumer, "demand", {
        "site_id": works.id, "material": "fly_ash", "tonnes": 600, "period_start": "2026-11-01",
        "period_end": "2027-03-31", "max_haul_km": 300, "use": "concrete",
        "monthly_tonnes": [300, 300, 300] + [0] * 7 + [300, 300]})
    db.session.commit()
    operator_runs(client, make_user, horizon_start="2026-11", horizon_months="2")
    proposal = db.session.scalar(select(Proposal))
    assert {m.month: m.tonnes for m in proposal.schedule} == {date(2026, 11, 1): 300, date(2026, 12, 1): 300}
    proposals.decide(producer, proposal.id, "accept")
    proposals.decide(consumer, proposal.id, "accept")
    agreement = db.session.get(Proposal, proposal.id).agreement
    agreement.created_at = datetime(2026, 11, 1, tzinfo=UTC)
    db.session.commit()
    c = client.application.test_client()
    login(c, producer)
    # 23:00 on 30 November in Ningxia, and 00:30 on 1 December (16:30 UTC on 30 November): two months
    for ticket, at in (("T-1", "2026-11-30T23:00:00+08:00"), ("T-2", "2026-11-30T16:30:00Z")):
        r = post(c, f"/deliveries/agreements/{agreement.id}/shipments",
                 {"ticket_no": ticket, "truck_plate": "宁A12345", "dispatched_at": at, "gross_kg": "45000",
                  "tare_kg": "15000"}, page=f"/match/agreements/{agreement.id}")
        assert r.status_code in (302, 200), r.get_data(as_text=True)[:500]
    for viewer in (producer, consumer, make_user(kind="regulator")):
        v = client.application.test_client()
        login(v, viewer)
        page = v.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
        assert 'id="agreement-schedule"' in page
        november = page.split('id="month-2026-11"')[1].split("</tr>")[0]
        december = page.split('id="month-2026-12"')[1].split("</tr>")[0]
        assert "300" in november and "30.000" in november and "-270.000" in november
        assert "30.000" in december
    outsider = client.application.test_client()
    login(outsider, make_user(kind="consumer"))
    assert outsider.get(f"/match/agreements/{agreement.id}").status_code == 404
    # confirmed, then struck out of the ledger: the schedule counts what the ledger counts, as the progress does
    from marketplace.models import LedgerEntry, Shipment
    from marketplace.services import corrections, deliveries

    first = db.session.scalar(select(Shipment).where(Shipment.ticket_no == "T-1"))
    deliveries.confirm_shipment(consumer, first.id, 30_000)
    db.session.commit()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.ticket_no == "T-1"))
    corrections.reverse_entry(make_user(kind="regulator"), entry.id, "称重记录有误")
    db.session.commit()
    page = c.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    november = page.split('id="month-2026-11"')[1].split("</tr>")[0]
    assert "-300.000" in november and "30.000" not in november.replace("-300.000", "")


def test_a_yard_s_winter_stock_may_be_promised_for_the_spring_but_never_twice(client, make_user, market, db):
    """The plan ships in April what the yard kept from the winter: accepting it must count the months before the
    first delivery (the yard's stock), and a second round's copy of the same tonnes must still lapse."""
    operator_runs(client, make_user)
    operator_runs(client.application.test_client(), make_user)
    first, second = db.session.scalars(select(Proposal).order_by(Proposal.id)).all()
    assert first.tonnes > sum(min(a, u) for a, u in zip(ASH, market["demand"].monthly_tonnes, strict=True))
    for proposal in (first, second):
        for party in (market["producer"], market["consumer"]):
            c = client.application.test_client()
            login(c, party)
            post_form(c, f"/match/proposals/{proposal.id}/decide", {"decision": "accept"})
    db.session.expire_all()
    assert db.session.get(Proposal, first.id).status == ProposalStatus.AGREED
    assert db.session.get(Proposal, second.id).status == ProposalStatus.LAPSED
