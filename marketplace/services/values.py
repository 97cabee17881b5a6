"""Parsing user input into exact values, with errors that name the field. Shared by forms, the API and
bulk imports, so that every door into the system applies the same rules."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from flask_babel import lazy_gettext as _l

from ..errors import ValidationError

Row = TypeVar("Row")
When = TypeVar("When", bound=date)  # a date or a datetime

#: Characters no text the platform stores may contain: C0 controls, DEL, lone surrogates.
CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
#: The same, less tab, CR and LF: allowed in multi-line text (form text areas, JSON strings).
CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _scalar_text(value: object, field: str) -> str:
    if isinstance(value, (bool, dict, list)) or value is None:
        raise ValidationError(_l("Enter a number."), field=field)
    return str(value).strip()


def parse_int(value: object, field: str, minimum: int, maximum: int) -> int:
    """A whole number within [minimum, maximum] ("120", 120 and 120.0 are fine; 120.5 is not)."""
    text = _scalar_text(value, field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_l("Enter a whole number."), field=field) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValidationError(_l("Enter a whole number."), field=field)
    if not minimum <= number <= maximum:
        raise ValidationError(_l("Must be between %(lo)s and %(hi)s.", lo=f"{minimum:,}", hi=f"{maximum:,}"),
                              field=field)
    return int(number)


def parse_decimal(value: object, field: str, places: int, minimum: Decimal, maximum: Decimal) -> Decimal:
    """An exact decimal with at most `places` decimals, within [minimum, maximum]."""
    text = _scalar_text(value, field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_l("Enter a number."), field=field) from None
    if not number.is_finite():
        raise ValidationError(_l("Enter a number."), field=field)
    if not minimum <= number <= maximum:  # first: quantize() fails on numbers like 1e999
        raise ValidationError(_l("Must be between %(lo)s and %(hi)s.", lo=f"{minimum:,}", hi=f"{maximum:,}"),
                              field=field)
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum):
        raise ValidationError(_l("At most %(n)d decimals.", n=places), field=field)
    return number.quantize(quantum)


MAX_ID = 2**31 - 1


def parse_id(value: object, field: str, message: str) -> int:
    """A database id given as an integer or a string of ASCII digits, within the id column's range."""
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise ValidationError(message, field=field)
    return int(text)


def get_row(model: type[Row], ident: int) -> Row | None:
    """The row with this id, or None; an id beyond the id column's range (a URL can carry any number) is
    simply not found instead of overflowing the database driver."""
    from ..extensions import db

    return db.session.get(model, ident) if 0 < ident <= MAX_ID else None


def parse_date(value: object, field: str) -> date:
    """An ISO date, YYYY-MM-DD."""
    if isinstance(value, date):
        return in_range(value, field)
    if not isinstance(value, str):
        raise ValidationError(_l("Enter a date as YYYY-MM-DD."), field=field)
    try:
        return in_range(date.fromisoformat(value.strip()), field)
    except ValueError:
        raise ValidationError(_l("Enter a date as YYYY-MM-DD."), field=field) from None


#: Dates anyone enters on this platform lie in these years (year 1 or 9999 overflow date arithmetic and
#: time-zone conversion).
MIN_YEAR, MAX_YEAR = 2000, 2100


def in_range(moment: When, field: str) -> When:
    """A date or datetime, refused unless its year lies in MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValidationError(_l("Enter a date between %(lo)d and %(hi)d.", lo=MIN_YEAR, hi=MAX_YEAR),
                              field=field)
    return moment


def parse_text(value: object, field: str, maximum: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(_l("Enter text."), field=field)

    if CONTROL_IN_TEXT.search(value):  # NUL and lone surrogates: PostgreSQL and UTF-8 refuse to store them
        raise ValidationError(_l("This field contains characters that are not allowed."), field=field)
    value = value.strip()
    if len(value) > maximum:
        raise ValidationError(_l("At most %(max)d characters.", max=maximum), field=field)
    return value


def plain(number: Decimal) -> str:
    """A decimal as people write it: 6.7600 -> '6.76', 100 -> '100' (never '1E+2')."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
