"""The money path of issue 11: the year's subsidy computed once (top-ups at band edges and at the cap),
clawbacks after a ledger reversal and their settlement, the dashboard by year, the partner's listing after a
deal, base-year and future-year refusals, and subsidy forms that keep what was typed."""
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.models import AuditEntry, Baseline, LedgerEntry, ListingStatus, Recovery, SubsidyClaim, SupplyListing
from marketplace.services import corrections, deliveries, ledger, listing_files, subsidies
from marketplace.services.generation import CST
from tests.web.conftest import login, post_form, token_request
from tests.web.deals import make_agreement

YEAR = datetime.now(CST).year
_tickets = iter(range(1, 10**6))


def token(client, user):
    r = client.post("/api/v1/auth/token", json=token_request(user))
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def put_on_ledger(db, deal, tonnes: str):
    """One ticket whose confirmed entry carries `tonnes` (a year's worth of trains in one entry, so that the
    band edges of 50,000 t and more are reachable without a million tickets)."""
    agreement, producer, consumer = deal
    when = (datetime.now(CST) - timedelta(minutes=1)).isoformat()
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": f"Y{next(_tickets)}", "truck_plate": "宁A12345", "dispatched_at": when,
        "gross_kg": 15_001, "tare_kg": 15_000})
    entry = ledger.append_entry("utilisation", shipment, agreement, int(Decimal(tonnes) * 1000), utcnow(),
                                    consumer)
    shipment.status, shipment.received_net_kg = "confirmed", 1
    db.session.commit()
    return entry


def deliver(db, deal, kgs):
    agreement, producer, consumer = deal
    for kg in kgs:
        s = deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"T{next(_tickets)}", "truck_plate": "宁A12345",
            "dispatched_at": (datetime.now(CST) - timedelta(minutes=5)).isoformat(),
            "gross_kg": 15_000 + kg, "tare_kg": 15_000})
        deliveries.confirm_shipment(consumer, s.id, kg)
    db.session.commit()


def approved_baseline(db, user, tonnes):
    db.session.add(Baseline(organisation_id=user.organisation_id, year=subsidies.scheme_in_force(YEAR).base_year,
                            tonnes=Decimal(tonnes), evidence="2018 统计年报", status="approved"))
    db.session.commit()


@pytest.fixture
def deal(make_user, make_site, db):
    return make_agreement(make_user, make_site, tonnes=5000)


def claim_approve_pay(client, c, r, pay=True) -> dict:
    resp = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c)
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert client.post(f"/api/v1/subsidy-claims/{claim['id']}/submit", headers=c).status_code == 200
    done = client.post(f"/api/v1/subsidy-claims/{claim['id']}/review", json={"decision": "approve"}, headers=r)
    assert done.get_json()["status"] == "approved"
    if pay:
        subsidies.mark_paid(r_user(r), claim["id"])
        db.session.commit()
    return claim


_regulators = {}


def r_user(headers):
    return _regulators[headers["Authorization"]]


@pytest.fixture
def parties(deal, client, make_user):
    _, _producer, consumer = deal
    regulator = make_user(kind="regulator")
    c, r = token(client, consumer), token(client, regulator)
    _regulators[r["Authorization"]] = regulator
    return c, r, regulator


# --- the year's subsidy, once ----------------------------------------------------------------------------

def test_a_later_claim_is_a_top_up_over_the_year_and_subtracts_the_baseline_once(deal, parties, client, db):
    """The demo path's defect in small: 90 t then 25 t against a 10 t baseline is 105 t of increment for the
    year (1,050 yuan), not 80 t + 15 t (800 + 150)."""
    c, r, _ = parties
    approved_baseline(db, deal[2], "10")
    deliver(db, deal, [30_000, 30_000, 30_000])
    first = claim_approve_pay(client, c, r)
    assert (first["amount_yuan"], first["year_total_yuan"], first["previously_approved_yuan"]) == (
        "800.00", "800.00", "0.00")
    deliver(db, deal, [25_000])
    second = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c).get_json()
    assert second["eligible_tonnes"] == "25.000"  # what this claim adds
    assert (second["increment_tonnes"], second["year_total_yuan"], second["previously_approved_yuan"],
            second["amount_yuan"]) == ("105.000", "1050.00", "800.00", "250.00")
    assert second["scheme_version"] == 1


# (tonnes added by each claim, expected year total after it, expected top-up); baseline 10 t, Ningxia 2020
# bands 0:10, 50 kt:20, 100 kt:25, 200 kt:30, whole increment, cap 6,000,000 yuan
STEPS = [("40010", "400000.00", "400000.00"),       # 40 kt at 10
         ("20000", "1200000.00", "800000.00"),      # 60 kt: crosses 50 kt, the whole year at 20
         ("49999", "2749975.00", "1549975.00"),     # 109,999 t: crosses 100 kt, the whole year at 25
         ("100001", "6000000.00", "3250025.00"),    # 210 kt at 30 = 6.3 M, capped for the year
         ]


def test_top_ups_at_the_band_edges_and_the_cap_never_depend_on_the_split(deal, parties, client, db):
    c, r, _regulator = parties
    approved_baseline(db, deal[2], "10")
    paid = Decimal(0)
    for added, total, top_up in STEPS:
        put_on_ledger(db, deal, added)
        claim = claim_approve_pay(client, c, r)
        assert (claim["year_total_yuan"], claim["amount_yuan"]) == (total, top_up), claim
        assert Decimal(claim["previously_approved_yuan"]) == paid
        paid += Decimal(claim["amount_yuan"])
    assert paid == Decimal("6000000.00")  # split four ways, the year still never passes the cap
    # one claim over the same tonnes gives the same year total
    assert subsidies.compute_amount(Decimal("210000"), subsidies.scheme_in_force(YEAR).bands, "whole",
                                    Decimal("6000000")).amount_yuan == paid
    put_on_ledger(db, deal, "5000")
    resp = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c)
    assert resp.status_code == 422 and "6,000,000.00" in resp.get_json()["error"]["message"]


def test_the_claim_page_says_it_is_a_top_up(deal, parties, client, db):
    c, r, _ = parties
    approved_baseline(db, deal[2], "10")
    deliver(db, deal, [30_000])
    claim_approve_pay(client, c, r)
    deliver(db, deal, [10_000])
    second = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c).get_json()
    login(client, deal[2])
    page = client.get(f"/subsidies/claims/{second['id']}").get_data(as_text=True)
    assert 'id="claim-top-up"' in page and "200.00" in page and "300.00" in page


# --- clawbacks -------------------------------------------------------------------------------------------

def test_a_reversal_after_payment_asks_for_confirmation_records_a_recovery_and_its_settlement(
        deal, parties, client, db):
    c, r, regulator = parties
    approved_baseline(db, deal[2], "10")
    deliver(db, deal, [30_000, 30_000, 30_000])
    claim = claim_approve_pay(client, c, r)  # 80 t x 10 = 800.00 paid
    entry = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).first()
    login(client, regulator)
    confirm = client.get(f"/deliveries/ledger/{entry.id}/reverse")
    assert confirm.status_code == 200
    assert f"/subsidies/claims/{claim['id']}" in confirm.get_data(as_text=True)  # names the claim it touches
    # no reason: refused, nothing reversed
    resp = post_form(client, f"/deliveries/ledger/{entry.id}/reverse", {"reason": ""},
                     page=f"/deliveries/ledger/{entry.id}/reverse")
    assert resp.status_code == 422
    assert db.session.scalar(select(LedgerEntry).where(LedgerEntry.reverses_id == entry.id)) is None
    resp = post_form(client, f"/deliveries/ledger/{entry.id}/reverse", {"reason": "磅单重复"},
                     page=f"/deliveries/ledger/{entry.id}/reverse")
    assert resp.status_code == 302
    db.session.expire_all()
    paid = db.session.get(SubsidyClaim, claim["id"])
    assert paid.affected and paid.status == "paid"
    recovery = db.session.scalar(select(Recovery))
    # the year should have paid (60 - 10) t x 10 = 500.00: 300.00 comes back
    assert (recovery.amount_yuan, recovery.should_have_yuan, recovery.status) == (
        Decimal("300.00"), Decimal("500.00"), "open")
    ledger = client.get("/deliveries/ledger").get_data(as_text=True)
    assert f"/deliveries/ledger/{entry.id}/reverse" not in ledger  # a reversed row offers no Reverse
    assert client.get(f"/deliveries/ledger/{entry.id}/reverse").status_code == 409
    # the regulator tracks it until it is settled
    assert f'id="recovery-{recovery.id}"' in client.get("/subsidies/").get_data(as_text=True)
    dashboard = client.get(f"/subsidies/dashboard?year={YEAR}").get_data(as_text=True)
    assert 'id="kpi-recovered"' in dashboard and "300.00" in dashboard and "500.00" in dashboard
    resp = post_form(client, f"/subsidies/recoveries/{recovery.id}/settle", {"settlement": "repaid", "note": ""},
                     page="/subsidies/")
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).status == "open"  # repaid needs a note (how, which transfer)
    resp = post_form(client, f"/subsidies/recoveries/{recovery.id}/settle",
                     {"settlement": "repaid", "note": "银行回单 2026-118"}, page="/subsidies/")
    assert resp.status_code == 302
    db.session.expire_all()
    settled = db.session.get(Recovery, recovery.id)
    assert (settled.status, settled.settlement, settled.settled_by_id) == ("settled", "repaid", regulator.id)
    assert settled.settled_at is not None
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "recovery.settle"))
    assert audit.target_id == recovery.id and audit.actor_id == regulator.id
    # and the API shows the claim as affected
    detail = client.get(f"/api/v1/subsidy-claims/{claim['id']}", headers=r).get_json()
    assert detail["affected"] is True


def test_a_recovery_can_be_offset_against_the_next_payment_and_only_a_regulator_settles(
        deal, parties, client, db, make_user):
    c, r, regulator = parties
    approved_baseline(db, deal[2], "10")
    deliver(db, deal, [30_000, 30_000])
    claim_approve_pay(client, c, r)  # 50 t -> 500.00
    entry = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).first()
    corrections.reverse_entry(make_user(kind="operator"), entry.id, "重复磅单")
    db.session.commit()
    recovery = db.session.scalar(select(Recovery))
    assert recovery.amount_yuan == Decimal("300.00")  # (30 - 10) x 10 = 200.00 should have been paid
    deliver(db, deal, [40_000])  # 70 t - 10 -> 600.00 for the year; approved net of the recovery: 200.00
    top_up = claim_approve_pay(client, c, r, pay=False)
    assert (top_up["previously_approved_yuan"], top_up["amount_yuan"]) == ("200.00", "400.00")
    consumer_client = client.application.test_client()
    login(consumer_client, deal[2])
    resp = post_form(consumer_client, f"/subsidies/recoveries/{recovery.id}/settle",
                     {"settlement": "offset", "offset_claim_id": str(top_up["id"]), "note": ""}, page="/subsidies/")
    assert resp.status_code in (403, 404)
    regulator_client = client.application.test_client()
    login(regulator_client, regulator)
    resp = post_form(regulator_client, f"/subsidies/recoveries/{recovery.id}/settle",
                     {"settlement": "offset", "offset_claim_id": "424242", "note": "抵扣下一笔"}, page="/subsidies/")
    assert resp.status_code == 422  # no such claim: refused, and the form keeps what was typed
    assert 'value="424242"' in resp.get_data(as_text=True) and "抵扣下一笔" in resp.get_data(as_text=True)
    with pytest.raises(subsidies.ValidationError):  # an offset names the claim it is offset against
        subsidies.settle_recovery(regulator, recovery.id, "offset", None, "")
    db.session.rollback()
    # not against a claim under review: it may still be rejected or computed again, and the recovery
    # would read settled while nothing was collected
    deliver(db, deal, [5_000])
    under_review = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c).get_json()
    assert client.post(f"/api/v1/subsidy-claims/{under_review['id']}/submit", headers=c).status_code == 200
    with pytest.raises(subsidies.ValidationError):
        subsidies.settle_recovery(regulator, recovery.id, "offset", under_review["id"], "")
    db.session.rollback()
    subsidies.settle_recovery(regulator, recovery.id, "offset", top_up["id"], "")
    db.session.commit()
    assert db.session.get(Recovery, recovery.id).offset_claim_id == top_up["id"]


def test_a_reversal_of_a_submitted_claims_entry_recomputes_it(deal, parties, client, db, make_user):
    c, r, _ = parties
    approved_baseline(db, deal[2], "10")
    deliver(db, deal, [30_000, 30_000])
    claim = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c).get_json()
    client.post(f"/api/v1/subsidy-claims/{claim['id']}/submit", headers=c)
    entry = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).first()
    corrections.reverse_entry(make_user(kind="operator"), entry.id, "重复磅单")
    db.session.commit()
    after = client.get(f"/api/v1/subsidy-claims/{claim['id']}", headers=r).get_json()
    assert after["affected"] is True and after["amount_yuan"] == "200.00" and after["status"] == "submitted"
    assert db.session.scalar(select(Recovery)) is None  # nothing was paid: nothing to claw back


# --- the dashboard by year -------------------------------------------------------------------------------

def test_dashboard_subsidy_figures_and_claims_follow_the_year(deal, parties, client, db):
    c, r, regulator = parties
    approved_baseline(db, deal[2], "10")
    deliver(db, deal, [30_000])
    claim_approve_pay(client, c, r)  # 200.00 paid for this year
    login(client, regulator)
    this = client.get(f"/subsidies/dashboard/subsidies.csv?codes=1&year={YEAR}").get_data(as_text=True)
    other = client.get(f"/subsidies/dashboard/subsidies.csv?codes=1&year={YEAR - 1}").get_data(as_text=True)
    assert "paid,200.00" in this and "paid,0.00" in other
    assert "200.00" not in other
    claims_other = client.get(f"/subsidies/dashboard/claims.csv?codes=1&year={YEAR - 1}").get_data(as_text=True)
    assert len(claims_other.strip().splitlines()) <= 1  # header only: the claim is for this year
    page = client.get(f"/subsidies/dashboard?year={YEAR - 1}").get_data(as_text=True)
    assert 'id="kpi-paid"' in page and "/subsidies/claims/" not in page


def test_dashboard_unmatched_supplies_are_those_offered_in_the_year(make_user, make_site, logged_in, db):
    from marketplace.services import listings

    producer = make_user(kind="producer")
    site = make_site(producer.organisation)
    today = datetime.now(CST).date()
    listing = listings.create_listing(producer, "supply", {
        "site_id": site.id, "material": "fly_ash", "grade": "I", "tonnes": 777, "period_start": today,
        "period_end": today + timedelta(days=30), "price_yuan_per_t": "10", "max_haul_km": 300})
    db.session.commit()
    client, _ = logged_in(kind="regulator")
    earlier = client.get(f"/subsidies/dashboard/unmatched.csv?codes=1&year={today.year - 3}").get_data(as_text=True)
    assert f"\n{listing.id}," in client.get(f"/subsidies/dashboard/unmatched.csv?codes=1&year={today.year}").get_data(
        as_text=True)
    assert f"\n{listing.id}," not in earlier  # a live listing of today was not on offer three years ago


# --- the partner's listing after the deal ----------------------------------------------------------------

def test_the_partners_listing_stays_visible_after_full_take_up(make_user, make_site, client, db):
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    supply = agreement.supply_listing_id
    assert agreement.tonnes == 100  # the agreement took every tonne: the listing is no longer live
    pdf = b"%PDF-1.4\n% lab report\n"
    listing_files.attach_certificate(producer, supply, "lab.pdf", pdf,
                                     Path(client.application.instance_path) / "uploads" / "certificates")
    db.session.commit()
    login(client, consumer)
    resp = client.get(f"/listings/supply/{supply}")
    assert resp.status_code == 200
    certificate = client.get(f"/listings/supply/{supply}/certificate")
    assert certificate.status_code == 200 and certificate.data == pdf
    listing = db.session.get(SupplyListing, supply)
    for status in (ListingStatus.WITHDRAWN, ListingStatus.EXPIRED):  # whatever became of it since
        listing.status = status
        db.session.commit()
        assert client.get(f"/listings/supply/{supply}").status_code == 200
    api = token(client, consumer)
    assert client.get(f"/api/v1/supply-listings/{supply}", headers=api).status_code == 200
    seller = client.application.test_client()
    login(seller, producer)
    assert seller.get(f"/listings/demand/{agreement.demand_listing_id}").status_code == 200
    stranger = make_user(kind="consumer")
    outsider = client.application.test_client()
    login(outsider, stranger)
    assert outsider.get(f"/listings/supply/{supply}").status_code == 404  # expired: hidden to a third party
    assert outsider.get(f"/listings/supply/{supply}/certificate").status_code == 404
    assert client.get(f"/api/v1/supply-listings/{supply}", headers=token(client, stranger)).status_code == 404


# --- refusals and forms that keep what was typed ---------------------------------------------------------

def test_a_baseline_only_for_the_base_year(client, make_user):
    c = token(client, make_user(kind="consumer"))
    resp = client.post("/api/v1/baselines", json={"year": 2019, "tonnes": "10", "evidence": "x"}, headers=c)
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "year"
    assert "2018" in resp.get_json()["error"]["message"]
    assert client.post("/api/v1/baselines", json={"year": 2018, "tonnes": "10", "evidence": "x"},
                       headers=c).status_code == 201


def test_a_claim_for_a_future_year_is_refused_clearly(deal, client, db):
    approved_baseline(db, deal[2], "10")
    resp = client.post("/api/v1/subsidy-claims", json={"year": YEAR + 1}, headers=token(client, deal[2]))
    assert resp.status_code == 422
    message = resp.get_json()["error"]["message"]
    assert str(YEAR + 1) in message and "increment" not in message


@pytest.mark.parametrize("url,data,field", [
    ("/subsidies/baselines", {"year": "2019", "tonnes": "1234.5", "evidence": "统计年报 第七页"}, "year"),
    ("/subsidies/claims", {"year": str(YEAR + 3)}, "year"),
    ("/subsidies/loans", {"name": "粉煤灰制砖示范线", "year": str(YEAR), "loan_yuan": "12345"}, "loan_yuan"),
])
def test_subsidy_forms_keep_what_was_typed(logged_in, db, url, data, field):
    client, _user = logged_in(kind="consumer")
    resp = post_form(client, url, data, page="/subsidies/")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for value in data.values():
        assert value in html
    assert 'has-error' in html


def test_regulator_actions_are_audit_logged(deal, parties, client, db, make_user):
    c, r, regulator = parties
    resp = client.post("/api/v1/baselines", json={"year": 2018, "tonnes": "10", "evidence": "x"}, headers=c)
    client.post(f"/api/v1/baselines/{resp.get_json()['id']}/review", json={"decision": "approve"}, headers=r)
    deliver(db, deal, [30_000])
    claim_approve_pay(client, c, r)
    project = subsidies.submit_loan_project(deal[2], "示范线", YEAR, "5000000")
    db.session.commit()
    subsidies.review_loan_project(regulator, project.id, "approve")
    subsidies.set_scheme(regulator, {"name": "2027", "base_year": "2024", "effective_from": "2027-01-01",
                                     "bands": "0:12", "mode": "whole", "cap_yuan": "5000000",
                                     "loan_min_yuan": "5000000", "loan_benchmark_rate_pct": "3.45"})
    db.session.commit()
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == regulator.id)))
    assert {"baseline.review", "claim.review", "claim.pay", "loan.review", "scheme.version"} <= actions
