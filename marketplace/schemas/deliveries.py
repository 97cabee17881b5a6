"""Shipments (weighbridge tickets) under an agreement, their confirmation, and the utilisation figures."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field

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

Kg = Annotated[int, Field(ge=1, le=MAX_GROSS_KG), WHOLE]


class ShipmentCreate(Input):
    """A weighbridge ticket from the producer (its weighbridge system)."""

    ticket_no: Annotated[Annotated[str, Field(max_length=40), LINE], Field(min_length=1)]
    truck_plate: Annotated[Annotated[str, Field(max_length=12), LINE], Field(description="like 宁A12345")]
    dispatched_at: Annotated[str, Field(max_length=40, description="ISO date-time; without a zone, China "
                                                                   "Standard Time")]
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
    utilisation_rate: str | None
    platform_share: str | None


class UtilisationOut(Output):
    year: int
    group_by: str
    items: list[UtilisationRow]
