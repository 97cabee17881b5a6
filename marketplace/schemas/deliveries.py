"""Shipments (weighbridge tickets) under an agreement, their confirmation, and the utilisation figures."""
from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ..clock import CST, as_utc
from ..services.values import MAX_YEAR, MIN_YEAR
from .common import (
    BLANK,
    EXACT,
    LINE,
    WHOLE,
    DecimalText,
    Input,
    Moment,
    Output,
    Refusal,
    decimal_field,
    quantized,
)

MAX_GROSS_KG = 100_000  # no road vehicle weighs more; a larger figure is a typing error
GROUPS = ("region", "city", "park", "material", "organisation", "month")

def _moment(value: Any) -> Any:
    """An ISO date-time (a trailing Z is UTC); without a zone it is China Standard Time, as on the weighbridge.
    In UTC, as stored."""
    if value is None or value == "":
        raise PydanticCustomError("blank", "This field is required.")
    if isinstance(value, str) and len(value) <= 40:
        with suppress(ValueError):
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise PydanticCustomError("moment", "Enter a date and time as YYYY-MM-DDTHH:MM.")
    if not MIN_YEAR <= value.year <= MAX_YEAR:  # before converting: year 1 or 9999 overflows the conversion
        raise PydanticCustomError("date_range", "Enter a date between 2000 and 2100.")
    return as_utc(value if value.tzinfo is not None else value.replace(tzinfo=CST))


#: A moment typed at a weighbridge: ISO 8601, China Standard Time unless it says otherwise.
CstMoment = Annotated[datetime, BeforeValidator(_moment),
                      Refusal(_l("Enter a date and time as YYYY-MM-DDTHH:MM."), kinds=("moment",)),
                      WithJsonSchema({"type": "string", "maxLength": 40,
                                      "description": "ISO date-time; without a zone, China Standard Time"})]

Kg = Annotated[int, Field(ge=1, le=MAX_GROSS_KG), WHOLE]


class ShipmentCreate(Input):
    """A weighbridge ticket from the producer (its weighbridge system)."""

    ticket_no: Annotated[Annotated[str, Field(max_length=40), LINE], Field(min_length=1)]
    truck_plate: Annotated[Annotated[str, Field(max_length=12), LINE], Field(description="like 宁A12345")]
    dispatched_at: CstMoment
    gross_kg: Kg
    tare_kg: Kg
    moisture_pct: Annotated[Annotated[Decimal, decimal_field(0, 100, 2), EXACT, quantized(2)] | None, BLANK] = None


class ShipmentConfirmation(Input):
    """The utiliser's own net weight."""

    received_net_kg: Kg


class ShipmentOut(Output):
    id: int
    agreement_id: int
    ticket_no: str
    truck_plate: str
    dispatched_at: Moment
    gross_kg: int
    tare_kg: int
    net_kg: int
    moisture_pct: DecimalText | None
    status: Literal["dispatched", "confirmed"]
    received_net_kg: int | None
    confirmed_at: Moment | None
    flags: list[str] = Field(description="anomalies: over_payload, plate_too_fast, receipt_difference, "
                                         "producer_over_declared")


class ShipmentList(Output):
    items: list[ShipmentOut]


class UtilisationQuery(Input):
    year: Annotated[Annotated[int, Field(ge=2000, le=2100), WHOLE] | None, BLANK] = Field(
        None, description="default: this year")
    group_by: Annotated[Annotated[Literal[GROUPS], Refusal(  # type: ignore[valid-type]
        _l("Group by one of: %(groups)s.", groups=", ".join(GROUPS)))] | None, BLANK] = None


class UtilisationRow(Output):
    group: str
    generated_t: str
    used_in_house_t: str
    utilised_platform_t: str
    stored_t: str
    disposed_t: str
    utilisation_rate: str | None
    platform_share: str | None


class UtilisationOut(Output):
    year: int
    group_by: str
    items: list[UtilisationRow]
