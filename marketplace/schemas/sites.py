"""Sites (where waste arises or is used) and the monthly generation a producer declares for each."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BeforeValidator, Field

from .common import Blankable, Input, Refusal, Text, exact_decimal

SIX_PLACES = Decimal("0.000001")
#: One site declaring more than this of one material in one month is a typing error, not a plant.
MAX_MONTHLY_TONNES = Decimal("1000000")


def Coordinate(limit: int) -> Any:
    """Degrees within ±limit, kept to six places (about 0.1 m)."""
    return Annotated[Decimal, Field(ge=-limit, le=limit), BeforeValidator(exact_decimal),
                     AfterValidator(lambda d: d.quantize(SIX_PLACES)),
                     Refusal(_l("Must be between %(lo)d and %(hi)d degrees.", lo=-limit, hi=limit),
                             kinds=("greater_than_equal", "less_than_equal"))]


class SiteIn(Input):
    """A site of the caller's organisation; the county and park are checked against the gazetteer."""

    name: Annotated[Text(200, multi_line=False), Field(min_length=1),
                    Refusal(_l("The site needs a name."), kinds=("missing", "string_too_short", "too_short"))]
    lat: Coordinate(90)
    lon: Coordinate(180)
    county: Blankable(Text(40, multi_line=False)) = None
    industrial_park: Blankable(Text(60, multi_line=False)) = None


#: Tonnes declared for one month: to the kilogram, 0 to 1,000,000.
MonthlyTonnes = Annotated[
    Decimal, Field(ge=0, le=MAX_MONTHLY_TONNES, decimal_places=3), BeforeValidator(exact_decimal),
    AfterValidator(lambda d: d.quantize(Decimal("0.001"))),
    Refusal(_l("Enter a number of tonnes."), kinds=("number", "missing")),
    Refusal(_l("Tonnes cannot be negative."), kinds=("greater_than_equal",)),
    Refusal(_l("At most %(max)s t.", max=f"{MAX_MONTHLY_TONNES:,}"), kinds=("less_than_equal",)),
    Refusal(_l("Give tonnes to the kilogram (three decimals) at most."), kinds=("decimal_max_places",))]


class GenerationFigures(Input):
    """One site's generation of one material in one month (the month checked by the service: YYYY-MM, not
    in the future)."""

    month: Annotated[str, Field(max_length=7, description="YYYY-MM"),
                     Refusal(_l("Enter a month as YYYY-MM."), always=True)]
    tonnes_generated: MonthlyTonnes
    tonnes_used_in_house: MonthlyTonnes
    tonnes_stored: MonthlyTonnes
