"""Agreements: a proposal both parties accepted becomes an agreement that takes its tonnes from both
listings in conditional UPDATEs, so that no tonne is ever promised twice."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import joinedload

from .. import policy
from ..errors import NotFound
from ..extensions import db, rowcount
from ..models import (
    Agreement,
    DemandListing,
    LedgerEntry,
    ListingStatus,
    NotificationKind,
    Proposal,
    ProposalStatus,
    SupplyListing,
    User,
)
from ..models.listing import ListingModel, live
from ..schemas.matching import AgreementOut
from . import seasons
from .notifications import notify
from .values import get_row


def _promise(model: ListingModel, listing_id: int, tonnes: int) -> bool:
    """Take `tonnes` from a live listing if it still has them, in one conditional UPDATE."""
    result = db.session.execute(
        update(model).where(model.id == listing_id, live(model),
                            model.tonnes - model.tonnes_promised >= tonnes)
        .values(tonnes_promised=model.tonnes_promised + tonnes,
                status=case((model.tonnes_promised + tonnes == model.tonnes, ListingStatus.FULLY_MATCHED.value),
                            else_=ListingStatus.PARTLY_MATCHED.value))
        .execution_options(synchronize_session=False))
    return rowcount(result) == 1


def _release(model: ListingModel, listing_id: int, tonnes: int) -> None:
    db.session.execute(
        update(model).where(model.id == listing_id)
        .values(tonnes_promised=model.tonnes_promised - tonnes,
                status=case((model.tonnes_promised - tonnes == 0, ListingStatus.OPEN.value),
                            else_=ListingStatus.PARTLY_MATCHED.value))
        .execution_options(synchronize_session=False))


def conclude(proposal: Proposal) -> None:
    # Claim the proposal first: exactly one transaction turns it into an agreement.
    claimed = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == ProposalStatus.PENDING)
        .values(status=ProposalStatus.AGREED).execution_options(synchronize_session=False))
    if rowcount(claimed) != 1:
        db.session.expire(proposal)
        return
    tonnes = proposal.tonnes
    supply_ok = _promise(SupplyListing, proposal.supply_listing_id, tonnes)
    demand_ok = supply_ok and _promise(DemandListing, proposal.demand_listing_id, tonnes)
    if demand_ok and not seasons.months_free(proposal):  # a seasonal schedule: no month's tonnes twice
        _release(DemandListing, proposal.demand_listing_id, tonnes)
        demand_ok = False
    if not demand_ok:
        if supply_ok:
            _release(SupplyListing, proposal.supply_listing_id, tonnes)
        db.session.execute(update(Proposal).where(Proposal.id == proposal.id)
                           .values(status=ProposalStatus.LAPSED).execution_options(synchronize_session=False))
        db.session.expire(proposal)
        return
    supply = db.session.get_one(SupplyListing, proposal.supply_listing_id)
    demand = db.session.get_one(DemandListing, proposal.demand_listing_id)
    db.session.expire(supply)
    db.session.expire(demand)
    agreement = Agreement(
        proposal_id=proposal.id, supply_listing_id=supply.id, demand_listing_id=demand.id,
        producer_org_id=proposal.producer_org_id, consumer_org_id=proposal.consumer_org_id,
        material_id=supply.material_id, tonnes=tonnes, price_yuan_per_t=proposal.price_yuan_per_t,
        transport_cost_yuan_per_t=proposal.transport_cost_yuan_per_t,
        delivered_price_yuan_per_t=proposal.delivered_price_yuan_per_t, distance_km=proposal.distance_km,
        mode=proposal.mode, use=demand.use, period_start=max(supply.period_start, demand.period_start),
        period_end=min(supply.period_end, demand.period_end))
    db.session.add(agreement)
    db.session.flush()
    db.session.expire(proposal)
    notify(NotificationKind.AGREEMENT_CONCLUDED, agreement, {agreement.producer_org_id, agreement.consumer_org_id},
           {"agreement": agreement.id, "tonnes": tonnes, "material": supply.material.code})


def agreements_for(viewer: User, limit: int = 500) -> list[Agreement]:
    query = select(Agreement).options(joinedload(Agreement.producer), joinedload(Agreement.consumer),
                                      joinedload(Agreement.material))
    if not viewer.organisation.is_staff:
        org_id = viewer.organisation_id
        query = query.where(or_(Agreement.producer_org_id == org_id, Agreement.consumer_org_id == org_id))
    return list(db.session.scalars(query.order_by(Agreement.id.desc()).limit(limit)).unique())


def get_agreement(viewer: User, agreement_id: int) -> Agreement:
    agreement = get_row(Agreement, agreement_id)
    if agreement is None or not policy.sees_agreement(viewer, agreement):
        raise NotFound(_l("No such agreement."))
    return agreement


def agreement_out(a: Agreement) -> AgreementOut:
    return AgreementOut(id=a.id, proposal_id=a.proposal_id, supply_listing_id=a.supply_listing_id,
                        demand_listing_id=a.demand_listing_id, producer=a.producer.name, consumer=a.consumer.name,
                        material=a.material.code, tonnes=a.tonnes, price_yuan_per_t=a.price_yuan_per_t,
                        transport_cost_yuan_per_t=a.transport_cost_yuan_per_t,
                        delivered_price_yuan_per_t=a.delivered_price_yuan_per_t, distance_km=float(a.distance_km),
                        mode=a.mode, period_start=a.period_start, period_end=a.period_end, created_at=a.created_at)


@dataclass(frozen=True)
class Progress:
    """Deliveries against the agreed tonnes, in kilograms: on tickets (shipped), in the ledger (confirmed
    receipts net of reversals), and what the agreement still allows."""

    agreed_kg: int
    shipped_kg: int
    confirmed_kg: int

    @property
    def remaining_kg(self) -> int:
        return max(self.agreed_kg - self.shipped_kg, 0)

    def share(self, kg: int) -> float:
        """A part of the agreed tonnes, 0..1 (a <progress> element's value)."""
        return min(max(kg / self.agreed_kg, 0.0), 1.0) if self.agreed_kg else 0.0


def progress(agreement: Agreement) -> Progress:
    confirmed = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.net_kg), 0))
                                  .where(LedgerEntry.agreement_id == agreement.id)) or 0
    return Progress(agreed_kg=agreement.tonnes * 1000, shipped_kg=agreement.shipped_kg, confirmed_kg=int(confirmed))
