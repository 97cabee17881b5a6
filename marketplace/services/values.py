"""The character and date limits every input shares, ids, and decimals as people write them. Parsing input
into exact values is the schemas' (marketplace/schemas): every door into the system validates through them."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l

from ..errors import ValidationError

Row = TypeVar("Row")
When = TypeVar("When", bound=date)  # a date or a datetime

#: Characters no one-line text the platform stores may contain: C0 controls, DEL, lone surrogates, and the
#: Unicode line breaks (NEL, line and paragraph separators) that e-mail headers and splitlines() break on.
CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")
#: The same, less tab, CR and LF: allowed in multi-line text (form text areas, JSON strings).
CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")

MAX_ID = 2**31 - 1


def get_row(model: type[Row], ident: int, options: Sequence[Any] = ()) -> Row | None:
    """The row with this id, or None; an id beyond the id column's range (a URL can carry any number) is
    simply not found instead of overflowing the database driver. `options`: loader options (joinedload)."""
    from ..extensions import db

    return db.session.get(model, ident, options=options) if 0 < ident <= MAX_ID else None


#: Dates anyone enters on this platform lie in these years (year 1 or 9999 overflow date arithmetic and
#: time-zone conversion).
MIN_YEAR, MAX_YEAR = 2000, 2100


def in_range(moment: When, field: str) -> When:
    """A date or datetime, refused unless its year lies in MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValidationError(_l("Enter a date between %(lo)d and %(hi)d.", lo=MIN_YEAR, hi=MAX_YEAR),
                              field=field)
    return moment


def plain(number: Decimal) -> str:
    """A decimal as people write it: 6.7600 -> '6.76', 100 -> '100' (never '1E+2')."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
