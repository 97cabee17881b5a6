"""Seasonal rounds in the market (issue #14): listings' monthly profiles and yards/silos into the optimiser's
seasonal instance, the plan's months back into proposals' schedules, the acceptance rule that never promises
a month's tonnes twice, and an agreement's planned against delivered tonnes by month.

The optimiser's side (periods, tonnes_by_period, storage, the time-expanded min-cost flow) is matching/seasonal.py;
this module only translates, in the JSON format of matching/README.md."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from matching import Instance, Plan, SolveOptions, solve

from ..clock import to_cst
from ..extensions import db
from ..models import Agreement, DemandListing, LedgerEntry, Proposal, ProposalMonth, Shipment, SupplyListing
from ..models.listing import AnyListing
from . import calendar


def horizon(start_month: str, months: int) -> list[date]:
    """The first days of `months` months from `start_month` ("YYYY-MM", as SeasonalRoundRequest checked it)."""
    first = date(int(start_month[:4]), int(start_month[5:7]), 1)
    return [calendar.add_months(first, k) for k in range(months)]


def label(month: date) -> str:
    return f"{month:%Y-%m}"


def _capped(profile: list[int], total: int) -> list[int]:
    """The profile, scaled down (largest remainders) when it offers more than `total` over the horizon."""
    if sum(profile) <= total:
        return profile
    return calendar.spread(max(0, total), [Decimal(t) for t in profile])


def _storage(listing: AnyListing, initial: int) -> dict[str, Any] | None:
    if not listing.storage_capacity_t:
        return None
    return {"capacity_t": listing.storage_capacity_t, "initial_t": min(initial, listing.storage_capacity_t),
            "holding_yuan_per_t_period": str(listing.holding_yuan_per_t_month or Decimal("0.00"))}


def add_seasons(instance: dict[str, Any], months: Sequence[date], s_by: dict[Any, SupplyListing],
                d_by: dict[Any, DemandListing]) -> dict[str, Any]:
    """Make a round's instance seasonal: `periods` (YYYY-MM), and for every record `tonnes_by_period` instead of
    `tonnes` (its monthly profile within its period; never more in all than the `tonnes` the round may offer)
    and its yard or silo as `storage`. A supply's yard stock counts among the tonnes it offers."""
    for node in instance["supplies"]:
        s = s_by[node["id"]]
        total = node.pop("tonnes")
        initial = min(s.storage_stock_t or 0, total) if s.storage_capacity_t else 0
        node["tonnes_by_period"] = _capped(
            calendar.tonnes_by_month(s.monthly_tonnes, s.tonnes, s.period_start, s.period_end, list(months)),
            total - initial)
        storage = _storage(s, initial)
        if storage is not None:
            node["storage"] = storage
    for node in instance["demands"]:
        d = d_by[node["id"]]
        total = node.pop("tonnes")
        node["tonnes_by_period"] = _capped(
            calendar.tonnes_by_month(d.monthly_tonnes, d.tonnes, d.period_start, d.period_end, list(months)), total)
        storage = _storage(d, d.storage_stock_t or 0)
        if storage is not None:
            node["storage"] = storage
    return {**instance, "periods": [label(m) for m in months]}


def compare_without_storage(instance: dict[str, Any], options: SolveOptions, plan: Plan) -> Plan:
    """A seasonal plan, with what the same round would move without any yard or silo in its stats
    ("tonnes_without_storage"): the difference that storage makes, shown on the round page."""
    if any("storage" in node for node in (*instance["supplies"], *instance["demands"])):
        bare = {**instance, "supplies": [{k: v for k, v in n.items() if k != "storage"} for n in instance["supplies"]],
                "demands": [{k: v for k, v in n.items() if k != "storage"} for n in instance["demands"]]}
        plan.stats = {**plan.stats, "tonnes_without_storage": solve(Instance.from_json(bare), options).tonnes_matched}
    return plan


def month_of(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


# --- acceptance: never a month's tonnes twice ------------------------------------------------------------

def _promised_by_month(listing: AnyListing) -> dict[date, int]:
    """What the listing's agreements already promise, by month of their schedules."""
    on = Agreement.supply_listing_id if isinstance(listing, SupplyListing) else Agreement.demand_listing_id
    rows = db.session.execute(
        select(ProposalMonth.month, func.sum(ProposalMonth.tonnes))
        .join(Agreement, Agreement.proposal_id == ProposalMonth.proposal_id)
        .where(on == listing.id).group_by(ProposalMonth.month)).all()
    return {month: int(t or 0) for month, t in rows}


def _fits(listing: AnyListing, promised: dict[date, int], adding: dict[date, int]) -> bool:
    """Whether the listing can still deliver (or take) `adding` on top of `promised`, month by month: without a
    yard or silo each month within its own profile; with one, cumulatively (stock carried forward), a supply
    never shipping more by the end of a month than its stock plus what it made until then, a demand never taking
    more than it used until then plus its silo's free room."""
    first = min([*promised, *adding])
    if listing.storage_capacity_t:  # stock carried forward: what was made (or used) since the period began counts
        first = min(first, calendar.month_start(listing.period_start))
    months = calendar.months_between(first, max([*promised, *adding]))
    wanted = [promised.get(m, 0) + adding.get(m, 0) for m in months]
    profile = calendar.tonnes_by_month(listing.monthly_tonnes, listing.tonnes, listing.period_start,
                                       listing.period_end, months)
    if not listing.storage_capacity_t:
        return all(w <= p for w, p in zip(wanted, profile, strict=True))
    stock = listing.storage_stock_t or 0
    room = stock if isinstance(listing, SupplyListing) else listing.storage_capacity_t - stock
    total_wanted = total_profile = 0
    for w, p in zip(wanted, profile, strict=True):
        total_wanted, total_profile = total_wanted + w, total_profile + p
        if total_wanted > total_profile + room:
            return False
    return True


def months_free(proposal: Proposal) -> bool:
    """Whether both listings can still promise this proposal's schedule (True for a proposal without one).
    Called by the acceptance after it took the tonnes from both listings in conditional UPDATEs, so the listings'
    rows are locked by this transaction and no other acceptance can slip a month in between."""
    adding = {m.month: m.tonnes for m in proposal.schedule}
    if not adding:
        return True
    for listing in (db.session.get_one(SupplyListing, proposal.supply_listing_id),
                    db.session.get_one(DemandListing, proposal.demand_listing_id)):
        if not _fits(listing, _promised_by_month(listing), adding):
            return False
    return True


# --- an agreement's months -------------------------------------------------------------------------------

def schedule_of(agreement: Agreement, shipments: Iterable[Shipment]) -> list[dict[str, Any]]:
    """Planned against delivered tonnes by month (CST month of each ticket's dispatch): what the ledger counts
    (net of reversals), plus the dispatched net weight of tickets not yet confirmed. Empty for an agreement
    without a schedule."""
    planned = {m.month: m.tonnes for m in agreement.proposal.schedule}
    if not planned:
        return []
    delivered: dict[date, int] = defaultdict(int)
    for when, kg in db.session.execute(select(LedgerEntry.dispatched_at, LedgerEntry.net_kg)
                                       .where(LedgerEntry.agreement_id == agreement.id)):
        delivered[to_cst(when).date().replace(day=1)] += kg  # reversals are entries too: they take it back
    for s in shipments:
        if s.counted_kg is None:  # on its way: its dispatched net weight until the ledger counts it
            delivered[to_cst(s.dispatched_at).date().replace(day=1)] += s.net_kg
    months = calendar.months_between(min([*planned, *delivered]), max([*planned, *delivered]))
    return [{"month": label(m), "planned_t": planned.get(m, 0),
             "delivered_t": (Decimal(delivered.get(m, 0)) / 1000).quantize(Decimal("0.001"))} for m in months]

