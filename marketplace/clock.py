"""One clock for the whole platform: instants are stored in UTC and shown to people in China Standard Time.

Every "now", every conversion between UTC and CST, and every rendering of a time for a person goes
through this module, so that no page, export or API answer can mix the two zones."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

#: China Standard Time (UTC+8, no daylight saving): the zone of every date and time a person sees.
CST = timezone(timedelta(hours=8), "CST")
#: The label printed beside a time shown to people.
CST_LABEL = "UTC+8"
#: The IANA name of the same zone, for Babel (config BABEL_DEFAULT_TIMEZONE).
CST_ZONE_NAME = "Asia/Shanghai"


def utcnow() -> datetime:
    """Now, aware, in UTC: the only value ever stored."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware, in UTC (SQLite hands back naive UTC datetimes; PostgreSQL aware ones in its own zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_cst(moment: datetime) -> datetime:
    """A stored instant as people in Ningxia read it."""
    return as_utc(moment).astimezone(CST)


def today_cst() -> date:
    """Today's date in China Standard Time (a day in Ningxia starts at 16:00 UTC)."""
    return datetime.now(CST).date()


def cst_year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants at which a calendar year in China Standard Time starts and ends."""
    return (datetime(year, 1, 1, tzinfo=CST).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=CST).astimezone(UTC))


def cst_day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC instants of a range of whole days in China Standard Time: from `since` at midnight CST to the
    end of `until` (exclusive); an open end is None. For filters by date ("dispatched from ... to ...")."""
    def start(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=CST).astimezone(UTC)

    return (start(since) if since else None, start(until) + timedelta(days=1) if until else None)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with its offset, in CST, for the API and files meant for machines."""
    return None if moment is None else to_cst(moment).isoformat()


def cst_input(moment: datetime | None) -> str:
    """A stored instant as the value of an <input type="datetime-local">, which has no zone: CST."""
    return "" if moment is None else to_cst(moment).strftime("%Y-%m-%dT%H:%M")


def cst_label(column: str) -> str:
    """A file's column header for times, saying their zone ("dispatched_at (UTC+8)")."""
    return f"{column} ({CST_LABEL})"


def format_cst(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored instant for a person: CST, labelled (""2026-12-01 11:40 UTC+8"")."""
    return "" if moment is None else f"{to_cst(moment).strftime(fmt)} {CST_LABEL}"
