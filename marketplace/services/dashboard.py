"""The regulator's dashboard: the year's utilisation tables, the overall rate against the target, and the
series its charts draw (the page and its exports show the same figures)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import SupplyListing, User
from ..models.listing import ListingStatus, live, status_is
from . import deliveries, subsidies

TARGET_RATE = Decimal("0.73")  # the Action Plan's target for general industrial solid waste


def tables(viewer: User, year: int) -> dict[str, list[dict]]:
    """Every table of the dashboard as rows of plain values (the page and the exports show the same)."""
    tables = {group: deliveries.utilisation(year, group) for group in ("city", "region", "park", "material", "month")}
    # supplies offered during the year (live now, or expired unmatched), not every live listing of all time
    unmatched = db.session.scalars(
        select(SupplyListing).where(or_(live(SupplyListing), status_is(SupplyListing, ListingStatus.EXPIRED)),
                                    SupplyListing.tonnes > SupplyListing.tonnes_promised,
                                    SupplyListing.period_start <= date(year, 12, 31),
                                    SupplyListing.period_end >= date(year, 1, 1))
        .order_by((SupplyListing.tonnes - SupplyListing.tonnes_promised).desc()).limit(15)
        .options(joinedload(SupplyListing.organisation), joinedload(SupplyListing.material),
                 joinedload(SupplyListing.site)))
    tables["unmatched"] = [{"listing": s.id, "organisation": s.organisation.name, "material": s.material.code,
                            "grade": s.grade or "", "county": s.site.county, "tonnes_remaining": s.tonnes_remaining,
                            "price_yuan_per_t": f"{s.price_yuan_per_t:.2f}", "period_end": s.period_end.isoformat()}
                           for s in unmatched]
    totals = subsidies.claim_totals(year)
    tables["subsidies"] = [{"measure": key, "yuan": f"{value:.2f}"} for key, value in totals.items()]
    tables["claims"] = [{**subsidies.claim_out(c).dump(), "organisation": c.organisation.name}
                        for c in subsidies.claims_for(viewer, year=year)]
    tables["recoveries"] = [{**subsidies.recovery_out(r).dump(), "organisation": r.organisation.name}
                            for r in subsidies.recoveries_for(viewer, year)]
    return tables


def overall(rows: list[dict]) -> dict:
    generated = sum(Decimal(r["generated_t"]) for r in rows)
    used = generated - sum(Decimal(r["stored_t"]) + Decimal(r.get("disposed_t", 0)) for r in rows)
    platform = sum(Decimal(r["utilised_platform_t"]) for r in rows)
    return {"generated": generated, "used": used, "platform": platform,
            "rate": (used / generated).quantize(Decimal("0.0001")) if generated else None}


def charts(tables: dict[str, list[dict]], today: date | None = None) -> dict[str, Any]:
    """The series the charts draw. `partial` is the index of the month still running (today's, China Standard
    Time), which the chart marks as "so far" rather than plotting it as a drop; None when every month is over."""
    months, cities = tables["month"], tables["city"]
    current = f"{today:%Y-%m}" if today else ""
    labels = [r["group"] for r in months]
    return {
        "partial": labels.index(current) if current in labels else None,
        "months": [r["group"] for r in months],
        "generated": [float(r["generated_t"]) for r in months],
        "used": [float(Decimal(r["generated_t"]) - Decimal(r["stored_t"]) - Decimal(r.get("disposed_t", 0)))
                 for r in months],
        "platform": [float(r["utilised_platform_t"]) for r in months],
        "cities": [r["group"] for r in cities],
        "city_rates": [float(r["utilisation_rate"] or 0) * 100 for r in cities],
    }


def totals(rows: list[dict]) -> dict:
    """The totals row of a utilisation table: sums of its tonnes, and the rates of those sums (not their mean)."""
    def total(key: str) -> Decimal:
        return sum((Decimal(r.get(key) or 0) for r in rows), Decimal(0))

    out: dict[str, Decimal | None] = {key: total(key) for key in ("generated_t", "used_in_house_t",
                                                                  "utilised_platform_t", "stored_t", "disposed_t")}
    generated, platform = total("generated_t"), total("utilised_platform_t")
    used = generated - total("stored_t") - total("disposed_t")
    out["utilisation_rate"] = (used / generated).quantize(Decimal("0.0001")) if generated else None
    out["platform_share"] = (platform / generated).quantize(Decimal("0.0001")) if generated else None
    return out
