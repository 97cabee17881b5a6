"""Building blocks for tests that need an agreement: listings, a private round, both acceptances."""
from datetime import timedelta

from marketplace.clock import today_cst, utcnow
from marketplace.extensions import db
from marketplace.services import listings, proposals, rounds


def make_agreement(make_user, make_site, tonnes=100, material="fly_ash", producer=None, consumer=None,
                   producer_site=None, consumer_site=None):
    """An agreement for `tonnes` between a new (or given) producer and consumer ~40 km apart."""
    producer = producer or make_user(kind="producer")
    consumer = consumer or make_user(kind="consumer")
    producer_site = producer_site or make_site(producer.organisation, lat="38.0575", lon="106.6914",
                                               county="Lingwu", park="Ningdong")
    consumer_site = consumer_site or make_site(consumer.organisation, lat="38.094", lon="106.335", county="Lingwu")
    grade = "I" if material == "fly_ash" else None
    today = today_cst()  # listings' periods are days in Ningxia; read at the call (the suite may cross midnight)
    supply = listings.create_listing(producer, "supply", {
        "site_id": producer_site.id, "material": material, "grade": grade, "tonnes": tonnes,
        "period_start": today - timedelta(days=1), "period_end": today + timedelta(days=90),
        "price_yuan_per_t": "10", "max_haul_km": 300})
    demand = listings.create_listing(consumer, "demand", {
        "site_id": consumer_site.id, "material": material, "tonnes": tonnes, "period_start": today - timedelta(days=1),
        "period_end": today + timedelta(days=90), "max_haul_km": 300})
    round_ = rounds.start_round(consumer, demand_listing_ids=[demand.id])
    db.session.commit()  # the queue runs the round once the request for it has committed
    proposal = next(p for p in round_.proposals if p.supply_listing_id == supply.id)
    proposals.decide(producer, proposal.id, "accept")
    proposals.decide(consumer, proposal.id, "accept")
    # agreed two days ago, so that tickets of the last hours are not dated before it
    proposal.agreement.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    return proposal.agreement, producer, consumer
