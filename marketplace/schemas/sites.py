"""Sites (where waste arises or is used) and the monthly generation a producer declares for each."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BeforeValidator, Field

from ..services.values import MAX_YEAR, MIN_YEAR
from .common import BLANK, EXACT, LINE, WHOLE, Id, Input, Refusal

SIX_PLACES = Decimal("0.000001")
#: One site declaring more than this of one material in one month is a typing error, not a plant.
MAX_MONTHLY_TONNES = Decimal("1000000")
#: A yard holds years of waste: its stock may exceed a month's limit (Ningdong's yards held tens of Mt).
MAX_STOCK = Decimal("100000000")


def _degrees(limit: int) -> Refusal:
    return Refusal(_l("Must be between %(lo)d and %(hi)d degrees.", lo=-limit, hi=limit),
                   kinds=("greater_than_equal", "less_than_equal"))


#: Degrees, kept to six places (about 0.1 m).
Latitude = Annotated[Decimal, Field(ge=-90, le=90), EXACT, AfterValidator(lambda d: d.quantize(SIX_PLACES)),
                     _degrees(90)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180), EXACT, AfterValidator(lambda d: d.quantize(SIX_PLACES)),
                      _degrees(180)]


class SiteIn(Input):
    """A site of the caller's organisation; the county and park are checked against the gazetteer."""

    name: Annotated[Annotated[str, Field(max_length=200), LINE], Field(min_length=1),
                    Refusal(_l("The site needs a name."), kinds=("missing", "string_too_short", "too_short"))]
    lat: Latitude
    lon: Longitude
    county: Annotated[Annotated[str, Field(max_length=40), LINE] | None, BLANK] = None
    industrial_park: Annotated[Annotated[str, Field(max_length=60), LINE] | None, BLANK] = None


#: Tonnes declared for one month: to the kilogram, 0 to 1,000,000.
MonthlyTonnes = Annotated[
    Decimal, Field(ge=0, le=MAX_MONTHLY_TONNES, decimal_places=3), EXACT,
    AfterValidator(lambda d: d.quantize(Decimal("0.001"))),
    Refusal(_l("Enter a number of tonnes."), kinds=("number", "missing")),
    Refusal(_l("Tonnes cannot be negative."), kinds=("greater_than_equal",)),
    Refusal(_l("At most %(max)s t.", max=f"{MAX_MONTHLY_TONNES:,}"), kinds=("less_than_equal",)),
    Refusal(_l("Give tonnes to the kilogram (three decimals) at most."), kinds=("decimal_max_places",))]


#: A yard's stock at a month's start or end: to the kilogram, 0 to 100,000,000.
StockTonnes = Annotated[
    Decimal, Field(ge=0, le=MAX_STOCK, decimal_places=3), EXACT,
    AfterValidator(lambda d: d.quantize(Decimal("0.001"))),
    Refusal(_l("Enter a number of tonnes."), kinds=("number", "missing")),
    Refusal(_l("Tonnes cannot be negative."), kinds=("greater_than_equal",)),
    Refusal(_l("At most %(max)s t.", max=f"{MAX_STOCK:,}"), kinds=("less_than_equal",)),
    Refusal(_l("Give tonnes to the kilogram (three decimals) at most."), kinds=("decimal_max_places",))]

#: An empty form field is 0 t.
BLANK_IS_ZERO = BeforeValidator(lambda v: "0" if v is None or (isinstance(v, str) and not v.strip()) else v)


class GenerationFigures(Input):
    """One site's generation of one material in one month (the month checked by the service: YYYY-MM, not
    in the future)."""

    month: Annotated[str, Field(max_length=7, description="YYYY-MM"),
                     Refusal(_l("Enter a month as YYYY-MM."), kinds=("string_type",))]
    tonnes_generated: MonthlyTonnes
    tonnes_used_in_house: MonthlyTonnes
    tonnes_stored: MonthlyTonnes
    # For the solid-waste ledger (台账): what the platform cannot know.
    tonnes_disposed: Annotated[MonthlyTonnes, BLANK_IS_ZERO] = Decimal(0)
    tonnes_transferred_other: Annotated[MonthlyTonnes, BLANK_IS_ZERO] = Decimal(0)
    other_receivers: Annotated[str, Field(max_length=500), LINE] = ""
    stock_opening: Annotated[StockTonnes | None, BLANK] = None
    stock_closing: Annotated[StockTonnes | None, BLANK] = None


class GenerationQuery(Input):
    """The declarations page's filters (its query string); empty means not given."""

    year: Annotated[Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR), WHOLE] | None, BLANK] = Field(
        None, description="months of this year")
    site: Annotated[Id | None, BLANK] = Field(None, description="one of the producer's sites")
    material: Annotated[Annotated[str, Field(max_length=40), LINE] | None, BLANK] = Field(
        None, description="a material code")
