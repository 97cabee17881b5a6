"""The production calendar's windows and a seasonal round's horizon (issue #14)."""
from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field

from ..gazetteer import CITIES
from ..models.listing import USES
from .common import LINE, TEXT, WHOLE, Input, IsoDate, Refusal
from .matching import ListingIds

City = Annotated[Literal[tuple(CITIES)], Refusal(_l("Unknown city."))]  # type: ignore[valid-type]
WindowUse = Annotated[Literal[USES], Refusal(_l("Unknown use."))]  # type: ignore[valid-type]


class WindowIn(Input):
    """A staggered-production window: the lines of an industry in a city stop between two days (both included)."""

    year: Annotated[int, Field(ge=2000, le=2100), WHOLE]
    city: City  # type: ignore[valid-type]
    use: WindowUse
    starts_on: IsoDate
    ends_on: IsoDate
    note: Annotated[str, Field(max_length=200), TEXT] = ""


#: A month as YYYY-MM, in 2000-2099.
Month = Annotated[str, Field(pattern=r"^20\d\d-(0[1-9]|1[0-2])$"), LINE,
                  Refusal(_l("Enter a month as YYYY-MM."), kinds=("string_pattern_mismatch",))]


class SeasonalRoundRequest(Input):
    """A round over a horizon of months: the operator or a regulator over the market (narrowed by listing ids); a
    utiliser for one of its demand listings; a producer for one supply listing."""

    horizon_start: Month = Field(description="the first month planned, YYYY-MM")
    horizon_months: Annotated[int, Field(ge=1, le=24), WHOLE] = Field(12, description="how many months, 1 to 24")
    supply_listing_ids: ListingIds | None = None
    demand_listing_ids: ListingIds | None = None
