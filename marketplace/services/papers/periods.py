"""Reporting periods: a month (2026-11), a quarter (2026-Q4), a half-year (2026-H2) or a year (2026)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l

from ...clock import CST, as_utc
from ...errors import ValidationError

_FORMS = re.compile(r"(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])|H(?P<half>[12])))?")


@dataclass(frozen=True)
class Period:
    label: str
    #: the first day, and the day after the last (China Standard Time calendar days)
    start: date
    end: date

    @property
    def months(self) -> list[date]:
        """The first day of every month in the period."""
        out, month = [], self.start
        while month < self.end:
            out.append(month)
            month = next_month(month)
        return out

    @property
    def bounds_utc(self) -> tuple[datetime, datetime]:
        """The period as UTC instants, [start, end): what ledger times are compared with."""
        return (as_utc(datetime.combine(self.start, time(), tzinfo=CST)),
                as_utc(datetime.combine(self.end, time(), tzinfo=CST)))

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def parse_period(value: str | None, kinds: tuple[str, ...] = ("month", "quarter", "half", "year")) -> Period:
    """'2026-11', '2026-Q4', '2026-H2' or '2026' (only the `kinds` given); a clear error otherwise."""
    match = _FORMS.fullmatch((value or "").strip())
    kind = None
    if match:
        kind = ("month" if match["month"] else "quarter" if match["quarter"] else "half" if match["half"]
                else "year")
    if not match or kind not in kinds or not 2000 <= int(match["year"]) <= 2100 or (
            match["month"] and not 1 <= int(match["month"]) <= 12):
        raise ValidationError(_l("Give a period as %(forms)s.", forms=", ".join(
            {"month": "2026-11", "quarter": "2026-Q4", "half": "2026-H2", "year": "2026"}[k] for k in kinds)),
            field="period")
    year = int(match["year"])
    if kind == "month":
        first = date(year, int(match["month"]), 1)
        return Period(f"{year}-{int(match['month']):02d}", first, next_month(first))
    if kind == "quarter":
        q = int(match["quarter"])
        return Period(f"{year}-Q{q}", date(year, 3 * q - 2, 1),
                      date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1))
    if kind == "half":
        h = int(match["half"])
        return Period(f"{year}-H{h}", date(year, 1, 1) if h == 1 else date(year, 7, 1),
                      date(year, 7, 1) if h == 1 else date(year + 1, 1, 1))
    return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1))
