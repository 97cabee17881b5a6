"""The papers' inputs: a utiliser's product lines and their monthly figures, and a CO2 certificate request."""
from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field

from .common import LINE, Id, Input, Refusal
from .sites import MonthlyTonnes
from .subsidies import Year


class ProductLineIn(Input):
    name: Annotated[Annotated[str, Field(max_length=200), LINE], Field(min_length=1),
                    Refusal(_l("This field is required."), kinds=("missing", "string_too_short", "too_short"))]
    vat_code: Annotated[str, Field(max_length=40)]


class ProductionMonthIn(Input):
    """Raw materials in, listed waste used and output of one product line in one month (tonnes)."""

    line_id: Id
    month: Annotated[str, Field(max_length=7, description="YYYY-MM"),
                     Refusal(_l("Enter a month as YYYY-MM."), kinds=("string_type",))]
    raw_input_t: MonthlyTonnes
    waste_input_t: MonthlyTonnes
    output_t: MonthlyTonnes


class Co2Request(Input):
    scope: Annotated[Literal["agreement", "year"], Refusal(_l("Choose an agreement or a whole year."))]
    year: Year
    agreement_id: Id | None = None
