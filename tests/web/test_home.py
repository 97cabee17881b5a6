"""The home page of each role lists what waits for the user, each item linking to where it is done, shows this
year's figures from the summary tables with a chart fed by a JSON block, says so when nothing waits, and sends
as many statements for a busy firm as for a quiet one."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import today_cst, utcnow
from marketplace.models import (
    Baseline,
    BaselineStatus,
    ClaimStatus,
    GenerationRecord,
    MatchRound,
    Organisation,
    Proposal,
    ProposalStatus,
    RoundStatus,
    Shipment,
    ShipmentStatus,
    SubsidyClaim,
    User,
    VerificationStatus,
)
from tests.web.conftest import login
from tests.web.deals import make_agreement
from tests.web.test_scale import add_listings, statements

DEMO_PASSWORD = "demo-pass-2026"


def demo_user(db, email):
    return db.session.scalar(select(User).where(User.email == email))


def section(html: str, key: str) -> str:
    """The to-do block `key` of the home page ("" when absent)."""
    match = re.search(rf'<div class="card todo" id="todo-{key}">(.*?)</div>', html, re.S)
    return match.group(1) if match else ""


def chart_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="home-chart-data">(.*?)</script>', html,
                                re.S).group(1))


# --- each role's list ------------------------------------------------------------------------------------

def test_a_producers_home_lists_its_proposals_and_ending_listings(demo, db, client):
    producer = demo_user(db, "producer@example.com")
    org_id = producer.organisation_id
    waiting = db.session.scalars(select(Proposal).where(
        Proposal.producer_org_id == org_id, Proposal.status == ProposalStatus.PENDING,
        Proposal.expires_at >= utcnow(), Proposal.producer_decision.is_(None))).all()
    login(client, producer, DEMO_PASSWORD)
    html = client.get("/").get_data(as_text=True)
    if waiting:
        block = section(html, "proposals")
        assert f'<span class="count todo-count">{len(waiting)}</span>' in block
        assert f"#proposal-{min(waiting, key=lambda p: (p.expires_at, p.id)).id}" in block
    else:
        assert section(html, "proposals") == ""
    assert "todo-tickets" not in html  # a producer confirms no tickets
    data = chart_data(html)
    assert set(data["series"]) == {"generated", "delivered"} and len(data["months"]) == today_cst().month


def test_a_producers_home_shows_a_listing_about_to_expire_and_not_a_later_one(db, client, make_user, make_site):
    producer = make_user(kind="producer")
    site = make_site(producer.organisation)
    soon, later = add_listings(db, producer.organisation, [site], 2)
    soon.period_end = today_cst() + timedelta(days=3)
    db.session.commit()
    login(client, producer)
    block = section(client.get("/").get_data(as_text=True), "expiring")
    assert f"/listings/supply/{soon.id}" in block and f"/listings/supply/{later.id}" not in block
    assert '<span class="count todo-count">1</span>' in block


def test_a_utilisers_home_lists_tickets_to_confirm_and_flagged_receipts(db, client, make_user, make_site):
    agreement, producer, consumer = make_agreement(make_user, make_site)
    at = utcnow() - timedelta(hours=2)
    db.session.add_all([
        Shipment(agreement_id=agreement.id, producer_org_id=producer.organisation_id, ticket_no="W-1",
                 truck_plate="宁A12345", dispatched_at=at, gross_kg=40_000, tare_kg=15_000, net_kg=25_000,
                 status=ShipmentStatus.DISPATCHED),
        Shipment(agreement_id=agreement.id, producer_org_id=producer.organisation_id, ticket_no="W-2",
                 truck_plate="宁A54321", dispatched_at=at - timedelta(days=1), gross_kg=40_000, tare_kg=15_000,
                 net_kg=25_000, received_net_kg=20_000, confirmed_at=at, status=ShipmentStatus.CONFIRMED)])
    db.session.commit()
    w1, w2 = (db.session.scalar(select(Shipment.id).where(Shipment.ticket_no == t)) for t in ("W-1", "W-2"))
    login(client, consumer)
    html = client.get("/").get_data(as_text=True)
    tickets = section(html, "tickets")
    assert f"/match/agreements/{agreement.id}#shipment-{w1}" in tickets and "W-2" not in tickets
    flagged = section(html, "flagged")
    assert f"#shipment-{w2}" in flagged and "W-1" not in flagged
    assert "receipt_difference" not in flagged  # the flag by its words
    assert "todo-empty" not in html
    # the producer sees the flagged receipt too, and no ticket to confirm
    other = client.application.test_client()
    login(other, producer)
    producer_html = other.get("/").get_data(as_text=True)
    assert f"#shipment-{w2}" in section(producer_html, "flagged") and "todo-tickets" not in producer_html


def test_a_regulators_home_lists_baselines_and_claims_to_review(demo, db, client):
    regulator = demo_user(db, "regulator@example.com")
    baselines = db.session.scalars(select(Baseline.id).where(Baseline.status == BaselineStatus.PENDING)).all()
    claim = db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.status == ClaimStatus.DRAFT).limit(1)) \
        or db.session.scalar(select(SubsidyClaim).limit(1))
    claim.status = ClaimStatus.SUBMITTED
    db.session.commit()
    submitted = db.session.scalars(select(SubsidyClaim.id).where(SubsidyClaim.status == ClaimStatus.SUBMITTED)).all()
    login(client, regulator, DEMO_PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert baselines, "the demo leaves baselines to review"
    assert f'<span class="count todo-count">{len(baselines)}</span>' in section(html, "baselines")
    assert f"#baseline-{min(baselines)}" in section(html, "baselines")
    assert f"/subsidies/claims/{claim.id}" in section(html, "claims")
    assert f'<span class="count todo-count">{len(submitted)}</span>' in section(html, "claims")
    assert "todo-verify" not in html and "todo-proposals" not in html
    data = chart_data(html)
    assert set(data["series"]) == {"generated", "used", "platform"}
    # the target stands beside a rate; early on 1 January nothing of the year is declared yet, so neither is shown
    declared = db.session.scalar(select(func.count()).select_from(GenerationRecord)
                                 .where(GenerationRecord.month >= date(today_cst().year, 1, 1)))
    assert data["target"] == (73.0 if declared else None)
    assert ('id="kpi-rate"' in html) == bool(declared)


def test_the_operators_home_lists_firms_to_verify_and_failed_rounds(demo, db, client, make_org):
    operator = demo_user(db, "admin@example.com")
    waiting = make_org(kind="consumer", verified=False, name="待审核水泥厂")
    round_ = db.session.scalar(select(MatchRound).limit(1))
    failed = MatchRound(started_by_id=operator.id, organisation_id=operator.organisation_id, scope=round_.scope,
                        parameters={}, tariff_version_id=round_.tariff_version_id, status=RoundStatus.FAILED,
                        error="solver_failed", created_at=utcnow() - timedelta(hours=1))
    old = MatchRound(started_by_id=operator.id, organisation_id=operator.organisation_id, scope=round_.scope,
                     parameters={}, tariff_version_id=round_.tariff_version_id, status=RoundStatus.FAILED,
                     error="solver_failed", created_at=utcnow() - timedelta(days=30))
    db.session.add_all([failed, old])
    db.session.commit()
    pending = db.session.scalar(select(Organisation.id).where(
        Organisation.verification == VerificationStatus.PENDING).order_by(Organisation.created_at, Organisation.id))
    login(client, operator, DEMO_PASSWORD)
    html = client.get("/").get_data(as_text=True)
    verify = section(html, "verify")
    assert f"/admin/organisations/{pending}" in verify
    assert waiting.name in verify or "See all" in verify or "/admin/organisations?status=pending" in verify
    rounds = section(html, "failed_rounds")
    assert f"/match/rounds/{failed.id}" in rounds and f"/match/rounds/{old.id}" not in rounds


def test_a_new_firm_is_told_that_nothing_waits(client, logged_in):
    client, _user = logged_in(kind="consumer")
    html = client.get("/").get_data(as_text=True)
    assert 'id="todo-empty"' in html
    assert 'class="card todo"' not in html
    assert chart_data(html)["series"] == {"received": [0.0] * today_cst().month}


def test_a_staff_home_with_nothing_to_review_is_empty_too(client, logged_in):
    client, _user = logged_in(kind="regulator")
    html = client.get("/").get_data(as_text=True)
    assert 'id="todo-empty"' in html


def test_the_chart_comes_as_json_with_no_inline_script(client, logged_in):
    client, _user = logged_in(kind="producer")
    response = client.get("/")
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all('type="application/json"' in attrs or (not body.strip() and "src=" in attrs)
               for attrs, body in scripts)
    assert "/static/js/home.js" in html and "/static/vendor/echarts/echarts.min.js" in html


def test_the_figures_are_the_firms_own_from_the_summaries(db, client, make_user, make_site):
    """A producer's delivered tonnes and a utiliser's received tonnes this year: the ledger's monthly totals."""
    from marketplace.services import deliveries

    agreement, producer, consumer = make_agreement(make_user, make_site)
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "F-1", "truck_plate": "宁A12345", "dispatched_at": utcnow() - timedelta(hours=1),
        "gross_kg": 40_000, "tare_kg": 15_000})
    deliveries.confirm_shipment(consumer, shipment.id, 25_000)
    db.session.commit()
    login(client, consumer)
    data = chart_data(client.get("/").get_data(as_text=True))
    assert sum(data["series"]["received"]) == 25.0
    other = client.application.test_client()
    login(other, producer)
    data = chart_data(other.get("/").get_data(as_text=True))
    assert sum(data["series"]["delivered"]) == 25.0
    outsider = client.application.test_client()
    login(outsider, make_user(kind="consumer"))
    assert sum(chart_data(outsider.get("/").get_data(as_text=True))["series"]["received"]) == 0


# --- a constant number of statements -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_the_home_page_sends_as_many_statements_for_a_busy_firm_as_for_a_quiet_one(db, client, make_user,
                                                                                  make_site, kind):
    agreement, producer, consumer = make_agreement(make_user, make_site)
    user = producer if kind == "producer" else consumer
    site = make_site(user.organisation, name="second")

    def busy(n: int) -> None:
        listings = add_listings(db, user.organisation, [site], n, "supply" if kind == "producer" else "demand")
        for listing in listings:
            listing.period_end = today_cst() + timedelta(days=2)
        at = utcnow() - timedelta(hours=3)
        db.session.add_all([Shipment(agreement_id=agreement.id, producer_org_id=producer.organisation_id,
                                     ticket_no=f"S-{n}-{i}", truck_plate=f"宁A{n:02d}{i:03d}", dispatched_at=at,
                                     gross_kg=40_000, tare_kg=15_000, net_kg=25_000, received_net_kg=1_000,
                                     confirmed_at=at, status=ShipmentStatus.CONFIRMED if i % 2
                                     else ShipmentStatus.DISPATCHED) for i in range(n)])
        db.session.commit()

    login(client, user)
    busy(2)
    with statements(db) as few:
        assert client.get("/").status_code == 200
    busy(20)
    with statements(db) as many:
        assert client.get("/").status_code == 200
    assert len(many) == len(few), "the home page's statements grow with the rows it lists"


@pytest.mark.parametrize("email", ["regulator@example.com", "admin@example.com"])
def test_a_staff_home_reads_no_ledger_entry(demo, db, client, email):
    """The region's figures come from the summaries: no statement reads ledger_entry."""
    login(client, demo_user(db, email), DEMO_PASSWORD)
    with statements(db) as sent:
        assert client.get("/").status_code == 200
    assert not [s for s in sent if "ledger_entry" in s]


def test_the_current_month_is_marked_as_not_over(client, logged_in):
    client, _user = logged_in(kind="producer")
    client.get("/lang/en")
    months = chart_data(client.get("/").get_data(as_text=True))["months"]
    assert len(months) == today_cst().month
    assert months[-1].endswith("(so far)") and not any("(so far)" in m for m in months[:-1])
