"""No tonne promised twice, under concurrent acceptances at PostgreSQL (SQLite serialises all writers, so
this proves nothing there and is skipped)."""
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.clock import today_cst
from marketplace.models import Agreement, MatchRound, Proposal, ProposalStatus, SupplyListing
from marketplace.services import ledger, proposals, rounds, tariff
from marketplace.services import listings as listing_service

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent transactions")


def offer(user, site, tonnes):
    return listing_service.create_listing(user, "supply", {
        "site_id": site.id, "material": "fly_ash", "grade": "I", "tonnes": tonnes, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=30), "price_yuan_per_t": "10", "max_haul_km": 300})


def need(user, site, tonnes):
    return listing_service.create_listing(user, "demand", {
        "site_id": site.id, "material": "fly_ash", "tonnes": tonnes, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=30), "max_haul_km": 300})


def proposal(db, round_, supply, demand, tonnes):
    p = Proposal(round_id=round_.id, supply_listing_id=supply.id, demand_listing_id=demand.id,
                 producer_org_id=supply.organisation_id, consumer_org_id=demand.organisation_id, tonnes=tonnes,
                 distance_km=Decimal("50.0"), mode="road", price_yuan_per_t=Decimal("10"),
                 transport_cost_yuan_per_t=Decimal("33"), delivered_price_yuan_per_t=Decimal("43"),
                 env_tax_avoided_yuan=Decimal(25 * tonnes), co2_kg=Decimal("500"), status=ProposalStatus.PENDING,
                 expires_at=datetime.now(UTC) + timedelta(days=1))
    db.session.add(p)
    return p


def fire_together(app, calls):
    """Run each (user_id, proposal_id, decision) in its own thread, transaction and session, all at once."""
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def worker(user_id, proposal_id, decision):
        from marketplace.extensions import db as _db
        from marketplace.models import User

        with app.app_context():
            user = _db.session.get(User, user_id)
            _ = user.organisation  # load before the race
            barrier.wait()
            try:
                proposals.decide(user, proposal_id, decision)
                _db.session.commit()
                outcomes.append("ok")
            except Exception as e:  # a Conflict is an expected loser
                _db.session.rollback()
                outcomes.append(type(e).__name__)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_both_parties_accepting_at_the_same_moment_make_exactly_one_agreement(app, db, make_user, make_site):
    producer, consumer, operator = make_user(kind="producer"), make_user(kind="consumer"), make_user(kind="operator")
    supply = offer(producer, make_site(producer.organisation), 100)
    demand = need(consumer, make_site(consumer.organisation), 100)
    round_ = MatchRound(started_by_id=operator.id, organisation_id=operator.organisation_id, scope="market",
                        tariff_version_id=tariff.tariff_in_force().id, solver_status="OPTIMAL", parameters={}, stats={})
    db.session.add(round_)
    db.session.flush()
    p = proposal(db, round_, supply, demand, 100)
    db.session.commit()
    outcomes = fire_together(app, [(producer.id, p.id, "accept"), (consumer.id, p.id, "accept")])
    assert outcomes == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).status == ProposalStatus.AGREED
    assert db.session.scalar(select(func.count(Agreement.id))) == 1
    assert db.session.get(SupplyListing, supply.id).tonnes_promised == 100


def test_concurrent_acceptances_of_overlapping_proposals_never_overpromise(app, db, make_user, make_site):
    """Eight proposals, from rounds that overlapped, each for all 100 t of one supply: eight producers'
    and consumers' acceptances fired at once. Exactly one agreement; 100 t promised, never more."""
    producer, operator = make_user(kind="producer"), make_user(kind="operator")
    supply = offer(producer, make_site(producer.organisation), 100)
    round_ = MatchRound(started_by_id=operator.id, organisation_id=operator.organisation_id, scope="market",
                        tariff_version_id=tariff.tariff_in_force().id, solver_status="OPTIMAL", parameters={}, stats={})
    db.session.add(round_)
    db.session.flush()
    consumers, made = [], []
    for _ in range(8):
        consumer = make_user(kind="consumer")
        demand = need(consumer, make_site(consumer.organisation), 100)
        made.append(proposal(db, round_, supply, demand, 100))
        consumers.append(consumer)
    db.session.commit()
    # the producer has accepted them all already; now every consumer accepts at the same moment
    for p in made:
        proposals.decide(producer, p.id, "accept")
    db.session.commit()
    outcomes = fire_together(app, [(c.id, p.id, "accept") for c, p in zip(consumers, made, strict=True)])
    assert outcomes == ["ok"] * 8  # deciding succeeds; the losers' proposals lapse
    db.session.expire_all()
    statuses = sorted(db.session.get(Proposal, p.id).status.value for p in made)
    assert statuses == ["agreed"] + ["lapsed"] * 7
    assert db.session.scalar(select(func.count(Agreement.id))) == 1
    listing = db.session.get(SupplyListing, supply.id)
    assert listing.tonnes_promised == 100 and listing.status.value == "fully_matched"


def fire(app, jobs):
    """Run each job(db) in its own thread, app context and transaction, all released at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes = []

    def worker(job):
        from marketplace.extensions import db as _db

        with app.app_context():
            barrier.wait()
            try:
                job(_db)
                _db.session.commit()
                outcomes.append("ok")
            except Exception as e:
                _db.session.rollback()
                outcomes.append(type(e).__name__)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


def test_concurrent_confirmations_of_one_shipment_make_one_entry(app, db, make_user, make_site):
    from marketplace.models import LedgerEntry, User
    from marketplace.services import deliveries
    from tests.web.deals import make_agreement

    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "C1", "truck_plate": "宁A12345", "dispatched_at": datetime.now(UTC).isoformat(),
        "gross_kg": 40000, "tare_kg": 15000})
    db.session.commit()
    consumer_id, shipment_id = consumer.id, shipment.id  # plain ints: the threads must not touch this session

    def confirm(_db):
        deliveries.confirm_shipment(_db.session.get(User, consumer_id), shipment_id, 25000)

    assert fire(app, [confirm] * 6) == ["Conflict"] * 5 + ["ok"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
    assert ledger.verify_ledger().ok


def test_concurrent_confirmations_of_different_shipments_keep_one_chain(app, db, make_user, make_site):
    from marketplace.models import LedgerEntry, User
    from marketplace.services import deliveries
    from tests.web.deals import make_agreement

    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=200)
    ids = []
    for n in range(6):
        ids.append(deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"K{n}", "truck_plate": "宁A12345",
            "dispatched_at": (datetime.now(UTC) - timedelta(hours=n + 1)).isoformat(),
            "gross_kg": 40000, "tare_kg": 15000}).id)
    db.session.commit()
    consumer_id = consumer.id  # a plain int: the threads must not touch this session

    def confirm(shipment_id):
        return lambda _db: deliveries.confirm_shipment(_db.session.get(User, consumer_id), shipment_id, 25000)

    assert fire(app, [confirm(i) for i in ids]) == ["ok"] * 6
    db.session.expire_all()
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 6
    check = ledger.verify_ledger()
    assert check.ok and check.entries == 6


def test_concurrent_acceptances_of_one_firms_find_matches_never_hold_beyond_its_cap(app, db, make_user, make_site,
                                                                                     monkeypatch):
    """Two Find matches rounds of one utiliser each propose its whole allowance; accepting one proposal of
    each at the same moment would hold twice the cap: the organisation's lock lets exactly one through."""
    monkeypatch.setitem(app.config, "RESERVATION_SHARE_CAP", "0.5")
    monkeypatch.setitem(app.config, "RESERVATION_FLOOR_T", 0)
    producers = [make_user(kind="producer") for _ in range(2)]
    for p in producers:
        offer(p, make_site(p.organisation), 1000)
    consumer = make_user(kind="consumer")
    demand = need(consumer, make_site(consumer.organisation), 5000)
    db.session.commit()
    picked = []
    for _ in range(2):
        round_ = rounds.start_round(consumer, demand_listing_ids=[demand.id])
        db.session.commit()
        assert sum(p.tonnes for p in round_.proposals) == 1000  # half of the 2,000 t free
        picked.append(max(round_.proposals, key=lambda p: p.tonnes))
    assert all(p.tonnes > 500 for p in picked)
    read_held = proposals.held_by

    def slow_held_by(*args):  # widen the window between reading the holds and accepting
        held = read_held(*args)
        time.sleep(0.5)
        return held

    monkeypatch.setattr(proposals, "held_by", slow_held_by)
    outcomes = fire_together(app, [(consumer.id, p.id, "accept") for p in picked])
    assert sorted(outcomes) == ["Conflict", "ok"]
    db.session.expire_all()
    assert proposals.held_by(consumer.organisation_id, demand.material_id, "consumer") <= 1000
