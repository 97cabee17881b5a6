"""The production calendar (issue #14): staggered-production windows (错峰生产) that regulators publish by year,
city and industry, and the monthly profiles that follow from them and from producers' declarations."""
from __future__ import annotations

import calendar as _cal
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import policy
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..gazetteer import CITIES
from ..models import GenerationRecord, ProductionWindow, User
from ..models.listing import Use
from ..schemas.common import validate
from ..schemas.seasonal import WindowIn
from . import audit
from .values import get_row

#: What the migration 0015_seasonal seeds: the winter window, 15 November to 31 March (136 days), for cement
#: and clinker lines in every Ningxia city, for the winters starting in these years.
SEEDED_YEARS = (2025, 2026, 2027)
SEEDED_NOTE = "冬季错峰生产 (winter staggered production)"
#: The uses whose demand listings take the calendar by default (cement and clinker lines).
CALENDAR_USES = (Use.CEMENT,)


def seeded_rows() -> list[dict[str, Any]]:
    """The migration's windows as rows (the tests put them back after each test)."""
    return [{"year": y, "city": c, "use": Use.CEMENT.value, "starts_on": date(y, 11, 15), "ends_on": date(y + 1, 3, 31),
             "note": SEEDED_NOTE} for y in SEEDED_YEARS for c in CITIES]


# --- the regulator's page ------------------------------------------------------------------------------

def windows(year: int | None = None) -> list[ProductionWindow]:
    query = select(ProductionWindow).order_by(ProductionWindow.year.desc(), ProductionWindow.city,
                                              ProductionWindow.use, ProductionWindow.starts_on)
    if year is not None:
        query = query.where(ProductionWindow.year == year)
    return list(db.session.scalars(query))


def get_window(window_id: int) -> ProductionWindow:
    window = get_row(ProductionWindow, window_id)
    if window is None:
        raise NotFound(_l("No such window."))
    return window


def _require_publisher(actor: User) -> None:
    if not policy.may_publish_calendar(actor):
        raise PermissionDenied(_l("Only regulators publish the production calendar."))


def save_window(actor: User, data: dict[str, Any], window_id: int | None = None) -> ProductionWindow:
    """Publish a new window, or correct one (`window_id`); the audit log keeps what it replaced."""
    _require_publisher(actor)
    fields = validate(WindowIn, data)
    if not fields.year <= fields.starts_on.year <= fields.year + 1:
        raise ValidationError(_l("The window starts in its year (or, for a winter window, the next)."),
                              field="starts_on")
    if fields.ends_on < fields.starts_on:
        raise ValidationError(_l("The window ends before it starts."), field="ends_on")
    if (fields.ends_on - fields.starts_on).days > 365:
        raise ValidationError(_l("A window lasts at most a year."), field="ends_on")
    values = fields.model_dump()
    if window_id is None:
        window = ProductionWindow(**values, updated_by_id=actor.id)
        db.session.add(window)
        db.session.flush()
        audit.record(actor, "calendar.window", window, {"after": _figures(window)})
    else:
        window = get_window(window_id)
        before = _figures(window)
        for key, value in values.items():
            setattr(window, key, value)
        window.updated_by_id = actor.id
        db.session.flush()
        audit.record(actor, "calendar.window", window, {"before": before, "after": _figures(window)})
    return window


def delete_window(actor: User, window_id: int) -> None:
    """Withdraw a window published by mistake (listings already posted keep their profiles)."""
    _require_publisher(actor)
    window = get_window(window_id)
    audit.record(actor, "calendar.window", window, {"before": _figures(window), "after": None})
    db.session.delete(window)
    db.session.flush()


def _figures(w: ProductionWindow) -> dict[str, Any]:
    return {"year": w.year, "city": w.city, "use": str(w.use), "starts_on": w.starts_on.isoformat(),
            "ends_on": w.ends_on.isoformat(), "note": w.note}


# --- months --------------------------------------------------------------------------------------------

def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return month.replace(day=_cal.monthrange(month.year, month.month)[1])


def months_between(start: date, end: date) -> list[date]:
    """The first days of the months from `start`'s to `end`'s, both included."""
    out, month = [], month_start(start)
    while month <= end:
        out.append(month)
        month = add_months(month, 1)
    return out


def stopped_days(city: str, use: str, first: date, last: date) -> dict[date, int]:
    """Per month between `first` and `last`: the days on which the city's `use` lines are stopped (windows that
    overlap count once)."""
    months = months_between(first, last)
    if not months:
        return {}
    rows = db.session.execute(select(ProductionWindow.starts_on, ProductionWindow.ends_on).where(
        ProductionWindow.city == city, ProductionWindow.use == use,
        ProductionWindow.ends_on >= months[0], ProductionWindow.starts_on <= month_end(months[-1]))).all()
    days: set[date] = set()
    for start, end in rows:
        day = max(start, months[0])
        while day <= min(end, month_end(months[-1])):
            days.add(day)
            day += timedelta(days=1)
    out = dict.fromkeys(months, 0)
    for day in days:
        out[month_start(day)] += 1
    return out


def _calendar_months(start: date, end: date) -> dict[int, date]:
    """Calendar month number (1-12) -> the first month of that number within the period (at most 12)."""
    out: dict[int, date] = {}
    for month in months_between(start, end):
        out.setdefault(month.month, month)
    return out


def spread(total: int, weights: list[Decimal]) -> list[int]:
    """`total` whole tonnes in proportion to `weights` (largest remainders get the odd tonnes): the sum is exact."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [Decimal(total) * w / whole for w in weights]
    floors = [int(s.to_integral_value(ROUND_FLOOR)) for s in shares]
    left = total - sum(floors)
    for i in sorted(range(len(weights)), key=lambda i: (-(shares[i] - floors[i]), i))[:left]:
        floors[i] += 1
    return floors


def demand_profile(city: str, use: str, tonnes: int, start: date, end: date) -> list[int] | None:
    """The default profile of a cement or clinker demand: its tonnes over the months of its period, each month
    in proportion to the days its lines run (a fully stopped month gets 0, a partly stopped one pro rata by
    days). None for other uses or where no window touches the period (then it spreads evenly)."""
    if use not in CALENDAR_USES:
        return None
    months = _calendar_months(start, end)
    if not months:
        return None
    stops = stopped_days(city, use, min(months.values()), max(months.values()))
    if not any(stops.values()):
        return None
    weights = []
    for number in range(1, 13):
        month = months.get(number)
        if month is None:
            weights.append(Decimal(0))
            continue
        days = month_end(month).day
        weights.append(Decimal(days - stops.get(month, 0)) / days)
    return spread(tonnes, weights)


def supply_profile(site_id: int, material_id: int, tonnes: int, start: date, end: date) -> list[int] | None:
    """The default profile of a supply: its tonnes over the months of its period in proportion to what the
    producer declared it generated and did not use in-house at this site in the same calendar month (the latest
    year declared; a month never declared weighs as the declared months' average). None when nothing is
    declared."""
    rows = db.session.execute(select(GenerationRecord.month, GenerationRecord.tonnes_generated,
                                     GenerationRecord.tonnes_used_in_house).where(
        GenerationRecord.site_id == site_id, GenerationRecord.material_id == material_id)).all()
    latest: dict[int, tuple[date, Decimal]] = {}
    for month, generated, in_house in rows:
        if month.month not in latest or latest[month.month][0] < month:
            latest[month.month] = (month, max(Decimal(0), generated - in_house))
    if not latest or not any(v for _m, v in latest.values()):
        return None
    average = sum((v for _m, v in latest.values()), Decimal(0)) / len(latest)
    months = _calendar_months(start, end)
    weights = [(latest[n][1] if n in latest else average) if n in months else Decimal(0) for n in range(1, 13)]
    return spread(tonnes, weights)


def tonnes_by_month(monthly: list[int] | None, tonnes: int, start: date, end: date, months: list[date]) -> list[int]:
    """What a listing offers (or can use) in each of `months`: its profile where the month lies in its period
    (0 outside), or its tonnes spread evenly over its period's months when it has no profile."""
    in_period = [month_start(start) <= m <= end for m in months]
    if monthly is not None:
        return [monthly[m.month - 1] if inside else 0 for m, inside in zip(months, in_period, strict=True)]
    period = months_between(start, end)
    per_month = spread(tonnes, [Decimal(1)] * len(period)) if period else []
    by = dict(zip(period, per_month, strict=True))
    return [by.get(m, 0) if inside else 0 for m, inside in zip(months, in_period, strict=True)]
