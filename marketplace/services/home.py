"""The home page of each role: what waits for the user (a to-do list), and this year's figures of the user's
firm or, for staff, of the region. Every list is a count and its first few rows; every figure comes from the
summary tables (generation records grouped by month, the ledger's monthly totals), never from the ledger's
entries: a constant number of statements, whatever the size of the market."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from .. import policy
from ..clock import today_cst, utcnow
from ..extensions import db
from ..models import (
    Agreement,
    Baseline,
    BaselineStatus,
    ClaimStatus,
    DemandListing,
    GenerationRecord,
    LedgerMonthTotal,
    MatchRound,
    Organisation,
    Proposal,
    ProposalStatus,
    RoundStatus,
    Shipment,
    ShipmentStatus,
    Site,
    SubsidyClaim,
    SupplyListing,
    User,
    VerificationStatus,
)
from ..models.listing import live
from . import dashboard, deliveries

#: Rows shown under each heading of the to-do list (the count says how many there are).
FIRST = 5
#: A listing whose period ends within this many days is "about to expire".
EXPIRY_DAYS = 7
#: Receipts looked at for flags: those dispatched within this many days, the latest RECENT_SHIPMENTS of them.
FLAG_DAYS = 30
RECENT_SHIPMENTS = 200
#: Failed rounds of the last this many days.
FAILED_ROUND_DAYS = 7


@dataclass
class Todo:
    """One heading of the to-do list: how many things wait, and the first of them."""
    key: str
    count: int
    items: list[Any] = field(default_factory=list)


def _count(stmt: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def todo(user: User) -> list[Todo]:
    """What waits for the user's organisation, heading by heading (only the headings of its role)."""
    org = user.organisation
    lists: list[Todo] = []
    if not org.is_staff:
        lists.append(_awaiting(org.id))
        if org.is_consumer:
            lists.append(_tickets(org.id))
        lists.append(_flagged(org.id))
        lists.append(_expiring(org.id))
    if policy.may_review_subsidies(user):
        lists.append(_listed("baselines", select(Baseline).options(joinedload(Baseline.organisation))
                             .where(Baseline.status == BaselineStatus.PENDING).order_by(Baseline.id)))
        lists.append(_listed("claims", select(SubsidyClaim).options(joinedload(SubsidyClaim.organisation))
                             .where(SubsidyClaim.status == ClaimStatus.SUBMITTED).order_by(SubsidyClaim.id)))
    if org.is_operator:
        lists.append(_listed("verify", select(Organisation)
                             .where(Organisation.verification == VerificationStatus.PENDING)
                             .order_by(Organisation.created_at, Organisation.id)))
    failed = select(MatchRound).where(MatchRound.status == RoundStatus.FAILED,
                                      MatchRound.created_at >= utcnow() - timedelta(days=FAILED_ROUND_DAYS))
    if not org.is_operator:
        failed = failed.where(MatchRound.organisation_id == org.id)
    lists.append(_listed("failed_rounds", failed.order_by(MatchRound.id.desc())))
    return lists


def _listed(key: str, stmt: Any) -> Todo:
    return Todo(key, _count(stmt), list(db.session.scalars(stmt.limit(FIRST)).unique()))


def _awaiting(org_id: int) -> Todo:
    """Pending proposals on which the organisation has not decided, the soonest to expire first."""
    waiting = or_(and_(Proposal.producer_org_id == org_id, Proposal.producer_decision.is_(None)),
                  and_(Proposal.consumer_org_id == org_id, Proposal.consumer_decision.is_(None)))
    stmt = (select(Proposal).options(joinedload(Proposal.supply_listing).joinedload(SupplyListing.material))
            .where(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at >= utcnow(), waiting)
            .order_by(Proposal.expires_at, Proposal.id))
    return _listed("proposals", stmt)


def _tickets(org_id: int) -> Todo:
    """Trucks weighed out to the utiliser that it has not yet confirmed, the oldest first."""
    stmt = (select(Shipment).join(Agreement, Shipment.agreement_id == Agreement.id)
            .options(joinedload(Shipment.agreement).joinedload(Agreement.material))
            .where(Agreement.consumer_org_id == org_id, Shipment.status == ShipmentStatus.DISPATCHED)
            .order_by(Shipment.dispatched_at, Shipment.id))
    return _listed("tickets", stmt)


def _flagged(org_id: int) -> Todo:
    """Recent tickets of the organisation's agreements (either side) that carry a flag (deliveries' rules)."""
    recent = list(db.session.scalars(
        select(Shipment).join(Agreement, Shipment.agreement_id == Agreement.id)
        .options(joinedload(Shipment.agreement))
        .where(or_(Agreement.producer_org_id == org_id, Agreement.consumer_org_id == org_id),
               Shipment.dispatched_at >= utcnow() - timedelta(days=FLAG_DAYS))
        .order_by(Shipment.dispatched_at.desc(), Shipment.id.desc()).limit(RECENT_SHIPMENTS)))
    flags = deliveries.shipment_flags(recent) if recent else {}
    flagged = [(s, flags[s.id]) for s in recent if flags.get(s.id)]
    return Todo("flagged", len(flagged), flagged[:FIRST])


def _expiring(org_id: int) -> Todo:
    """The organisation's live listings whose period ends within EXPIRY_DAYS, both sides, soonest first."""
    until = today_cst() + timedelta(days=EXPIRY_DAYS)
    items: list[Any] = []
    count = 0
    for model in (SupplyListing, DemandListing):
        stmt = (select(model).options(joinedload(model.material))
                .where(model.organisation_id == org_id, live(model), model.period_end <= until)
                .order_by(model.period_end, model.id))
        count += _count(stmt)
        items += db.session.scalars(stmt.limit(FIRST)).unique()
    items.sort(key=lambda listing: (listing.period_end, listing.side, listing.id))
    return Todo("expiring", count, items[:FIRST])


# --- this year's figures -------------------------------------------------------------------------------

@dataclass
class Figures:
    """The year's tonnes, month by month (1..12) and in total; `rate` is (generated - stored - disposed) /
    generated, as the dashboard counts it, beside the target."""
    year: int
    months: list[int]
    series: dict[str, list[Decimal]]
    totals: dict[str, Decimal]
    rate: Decimal | None = None
    target: Decimal = dashboard.TARGET_RATE


def _by_month(rows: Any) -> dict[int, Decimal]:
    return {month.month: Decimal(int(kg or 0)) / 1000 for month, kg in rows}


def figures(user: User, year: int | None = None) -> Figures:
    """This year's figures (China Standard Time) for the user's firm, or the region's for staff."""
    today = today_cst()
    year = year or today.year
    last = today.month if year == today.year else 12
    months = list(range(1, last + 1))
    since, until = date(year, 1, 1), date(year + 1, 1, 1)
    org = user.organisation
    series: dict[str, list[Decimal]] = {}
    rate = None
    if org.is_staff:
        rows = {int(r["group"][-2:]): r for r in deliveries.utilisation(year, "month")}
        zero = {"generated_t": "0", "stored_t": "0", "disposed_t": "0", "utilised_platform_t": "0"}
        series["generated"] = [Decimal(rows.get(m, zero)["generated_t"]) for m in months]
        series["used"] = [Decimal(rows.get(m, zero)["generated_t"]) - Decimal(rows.get(m, zero)["stored_t"])
                          - Decimal(rows.get(m, zero).get("disposed_t", "0")) for m in months]
        series["platform"] = [Decimal(rows.get(m, zero)["utilised_platform_t"]) for m in months]
        rate = dashboard.overall(list(rows.values()))["rate"]
    else:
        if org.is_producer:
            milli = lambda column: func.sum(func.round(column * 1000))  # noqa: E731 (exact kilograms, as deliveries)
            generated = db.session.execute(
                select(GenerationRecord.month, milli(GenerationRecord.tonnes_generated),
                       milli(GenerationRecord.tonnes_stored), milli(GenerationRecord.tonnes_disposed))
                .join(Site, GenerationRecord.site_id == Site.id)
                .where(Site.organisation_id == org.id, GenerationRecord.month >= since, GenerationRecord.month < until)
                .group_by(GenerationRecord.month)).all()
            gen = _by_month((m, g) for m, g, _, _ in generated)
            kept = _by_month((m, int(s or 0) + int(d or 0)) for m, _, s, d in generated)
            delivered = _by_month(db.session.execute(
                select(LedgerMonthTotal.month, func.sum(LedgerMonthTotal.net_kg))
                .where(LedgerMonthTotal.producer_org_id == org.id, LedgerMonthTotal.month >= since,
                       LedgerMonthTotal.month < until).group_by(LedgerMonthTotal.month)).all())
            series["generated"] = [gen.get(m, Decimal(0)) for m in months]
            series["delivered"] = [delivered.get(m, Decimal(0)) for m in months]
            total_generated = sum(gen.values(), Decimal(0))
            if total_generated:
                used = total_generated - sum(kept.values(), Decimal(0))
                rate = (used / total_generated).quantize(Decimal("0.0001"))
        if org.is_consumer:
            received = _by_month(db.session.execute(
                select(LedgerMonthTotal.month, func.sum(LedgerMonthTotal.net_kg))
                .join(Site, LedgerMonthTotal.consumer_site_id == Site.id)
                .where(Site.organisation_id == org.id, LedgerMonthTotal.month >= since,
                       LedgerMonthTotal.month < until).group_by(LedgerMonthTotal.month)).all())
            series["received"] = [received.get(m, Decimal(0)) for m in months]
    totals = {key: sum(values, Decimal(0)) for key, values in series.items()}
    return Figures(year, months, series, totals, rate)
