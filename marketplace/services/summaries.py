"""Summary tables, kept up to date in the transaction of the row they sum (never recomputed per request)."""
from __future__ import annotations

from sqlalchemy import select

from ..clock import to_cst
from ..extensions import db
from ..models import Agreement, DemandListing, LedgerEntry, LedgerMonthTotal, SupplyListing


def add_ledger_entry(entry: LedgerEntry, agreement: Agreement) -> None:
    """Add an appended entry's kilograms to its month, sites, producer and material. Called by
    ledger.append_entry while it holds the ledger head's lock, so two appends never race on one total."""
    month = to_cst(entry.dispatched_at).date().replace(day=1)
    site_id = db.session.scalar(select(SupplyListing.site_id).where(SupplyListing.id == agreement.supply_listing_id))
    consumer_site_id = db.session.scalar(select(DemandListing.site_id)
                                         .where(DemandListing.id == agreement.demand_listing_id))
    key = dict(month=month, site_id=site_id, consumer_site_id=consumer_site_id,
               producer_org_id=entry.producer_org_id, material=entry.material)
    total = db.session.scalar(select(LedgerMonthTotal).filter_by(**key).with_for_update())
    if total is None:
        db.session.add(LedgerMonthTotal(**key, net_kg=entry.net_kg))
    else:
        total.net_kg += entry.net_kg
    db.session.flush()
