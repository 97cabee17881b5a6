"""The regulator's seasonal desk (issue #14): for one year, month by month, what was generated and utilised
(declared and delivered), what the agreed plan still delivers, the projected annual utilisation rate with and
without the plan, and the stock in producers' yards and listings' yards and silos."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ..clock import today_cst
from ..extensions import db
from ..models import Agreement, GenerationRecord, MatchRound, ProposalMonth, RoundStatus, SupplyListing
from ..models.listing import DemandListing, live
from . import calendar, deliveries
from .dashboard import TARGET_RATE

__all__ = ["TARGET_RATE", "figures", "planned_by_month"]


def planned_by_month(first: date, last: date) -> dict[date, int]:
    """Tonnes the agreements plan to deliver in each month from `first` to `last` (first days): a seasonal
    agreement by its schedule, any other its tonnes spread evenly over its period's months."""
    months = calendar.months_between(first, last)
    out = dict.fromkeys(months, 0)
    scheduled = db.session.execute(
        select(ProposalMonth.month, func.sum(ProposalMonth.tonnes))
        .join(Agreement, Agreement.proposal_id == ProposalMonth.proposal_id)
        .where(ProposalMonth.month >= months[0], ProposalMonth.month <= months[-1])
        .group_by(ProposalMonth.month)).all()
    for month, tonnes in scheduled:
        out[month] += int(tonnes or 0)
    with_schedule = select(ProposalMonth.proposal_id).distinct()
    plain = db.session.execute(
        select(Agreement.tonnes, Agreement.period_start, Agreement.period_end)
        .where(Agreement.proposal_id.not_in(with_schedule), Agreement.period_end >= months[0],
               Agreement.period_start <= calendar.month_end(months[-1]))).all()
    for tonnes, start, end in plain:
        for month, t in zip(months, calendar.tonnes_by_month(None, tonnes, start, end, months), strict=True):
            out[month] += t
    return out


def _stock_by_month(year: int) -> list[float | None]:
    """Producers' declared closing stock, summed per month (None for a month nobody declared)."""
    rows: dict[date, Any] = dict(db.session.execute(
        select(GenerationRecord.month, func.sum(GenerationRecord.stock_closing))
        .where(GenerationRecord.month >= date(year, 1, 1), GenerationRecord.month < date(year + 1, 1, 1),
               GenerationRecord.stock_closing.is_not(None))
        .group_by(GenerationRecord.month)).all())
    return [None if rows.get(date(year, m, 1)) is None else float(rows[date(year, m, 1)]) for m in range(1, 13)]


def _silos() -> dict[str, int]:
    """The yards and silos of live listings: capacity and stock now, supply and demand side."""
    out = {}
    for side, model in (("supply", SupplyListing), ("demand", DemandListing)):
        capacity, stock = db.session.execute(
            select(func.coalesce(func.sum(model.storage_capacity_t), 0),
                   func.coalesce(func.sum(model.storage_stock_t), 0))
            .where(live(model), model.storage_capacity_t.is_not(None))).one()
        out[f"{side}_capacity_t"], out[f"{side}_stock_t"] = int(capacity or 0), int(stock or 0)
    return out


def planned_stock(year: int) -> tuple[list[float | None] | None, int | None]:
    """The stock in yards and silos at each month's end of the year as the latest seasonal round planned it
    (None where its horizon does not reach), and that round's id; (None, None) without a seasonal round."""
    for round_ in db.session.scalars(select(MatchRound).where(MatchRound.status == RoundStatus.DONE)
                                     .order_by(MatchRound.id.desc()).limit(50)):
        seasonal = (round_.stats or {}).get("seasonal")
        if not seasonal:
            continue
        by_period = {p: s + d for p, s, d in zip(seasonal["periods"], seasonal["stock_t"]["supply"],
                                                 seasonal["stock_t"]["demand"], strict=True)}
        months = [f"{year}-{m:02d}" for m in range(1, 13)]
        if not set(months) & set(by_period):
            continue
        return [None if m not in by_period else float(by_period[m]) for m in months], round_.id
    return None, None


def figures(year: int, today: date | None = None) -> dict[str, Any]:
    """Every figure and series of the desk (the page's table and its charts' JSON show the same)."""
    today = today or today_cst()
    months = [date(year, m, 1) for m in range(1, 13)]
    actual = {r["group"]: r for r in deliveries.utilisation(year, "month")}
    previous = {r["group"][5:]: r for r in deliveries.utilisation(year - 1, "month")}
    planned = planned_by_month(months[0], months[-1])
    rows: list[dict[str, Any]] = []
    declared_generated = declared_used = declared_platform = Decimal(0)
    for month in months:
        key = f"{month:%Y-%m}"
        row = actual.get(key)
        generated = Decimal(row["generated_t"]) if row else Decimal(0)
        used = generated - Decimal(row["stored_t"]) - Decimal(row["disposed_t"]) if row else Decimal(0)
        platform = Decimal(row["utilised_platform_t"]) if row else Decimal(0)
        if row and generated:
            declared_generated += generated
            declared_used += used
            declared_platform += platform
        rows.append({"month": key, "declared": bool(row and generated), "generated_t": generated, "used_t": used,
                     "platform_t": platform, "planned_t": Decimal(planned[month])})
    # Months not yet declared: generation as in the same month last year (else this year's declared average),
    # utilised off the platform at the declared rate, and (with the plan) plus what the plan delivers then.
    declared = [r for r in rows if r["declared"]]
    average = declared_generated / len(declared) if declared else Decimal(0)
    off_rate = (declared_used - declared_platform) / declared_generated if declared_generated else Decimal(0)
    off_rate = max(Decimal(0), min(Decimal(1), off_rate))
    totals = {"generated": Decimal(0), "without": Decimal(0), "with": Decimal(0)}
    for r in rows:
        if r["declared"]:
            generated, without, with_plan = r["generated_t"], r["used_t"], r["used_t"]
            r["projected"] = False
        else:
            last = previous.get(r["month"][5:])
            generated = Decimal(last["generated_t"]) if last and Decimal(last["generated_t"]) else average
            without = generated * off_rate
            with_plan = min(generated, without + r["planned_t"])
            r["projected"] = True
        r["projected_generated_t"], r["without_plan_t"], r["with_plan_t"] = generated, without, with_plan
        totals["generated"] += generated
        totals["without"] += without
        totals["with"] += with_plan

    def rate(used: Decimal) -> Decimal | None:
        return (used / totals["generated"]).quantize(Decimal("0.0001")) if totals["generated"] else None

    stock = _stock_by_month(year)
    stock_planned, stock_round = planned_stock(year)
    charts = {
        "months": [r["month"] for r in rows],
        "generated": [float(r["projected_generated_t"]) for r in rows],
        "actual_used": [float(r["used_t"]) if r["declared"] else None for r in rows],
        "actual_platform": [float(r["platform_t"]) for r in rows],
        "planned": [float(r["planned_t"]) for r in rows],
        "with_plan": [float(r["with_plan_t"]) for r in rows],
        "without_plan": [float(r["without_plan_t"]) for r in rows],
        "stock_declared": stock,
        "stock_planned": stock_planned,
        "rate_with": float(rate(totals["with"]) or 0) * 100, "rate_without": float(rate(totals["without"]) or 0) * 100,
        "target": float(TARGET_RATE) * 100,
    }
    return {"rows": rows, "rate_with_plan": rate(totals["with"]), "rate_without_plan": rate(totals["without"]),
            "generated_t": totals["generated"], "silos": _silos(), "charts": charts,
            "today_month": f"{today:%Y-%m}", "planned_total_t": sum(planned.values()), "stock_round": stock_round}
