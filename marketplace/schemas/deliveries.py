"""Shipments (weighbridge tickets) under an agreement, their confirmation, and the utilisation figures."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field

from .common import Blankable, DecimalText, Input, Moment, Money, Output, Refusal, Text, WholeNumber

MAX_GROSS_KG = 100_000  # no road vehicle weighs more; a larger figure is a typing error
GROUPS = ("region", "city", "park", "material", "organisation", "month")

Kg = WholeNumber(1, MAX_GROSS_KG)


class ShipmentCreate(Input):
    """A weighbridge ticket from the producer (its weighbridge system)."""

    ticket_no: Annotated[Text(40, multi_line=False), Field(min_length=1)]
    truck_plate: Annotated[Text(12, multi_line=False), Field(description="like 宁A12345")]
    dispatched_at: Annotated[str, Field(max_length=40, description="ISO date-time; without a zone, China "
                                                                   "Standard Time")]
    gross_kg: Kg
    tare_kg: Kg
    moisture_pct: Blankable(Money(Decimal(0), Decimal(100))) = None


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
    year: Blankable(WholeNumber(2000, 2100)) = Field(None, description="default: this year")
    group_by: Blankable(Annotated[Literal[GROUPS], Refusal(  # type: ignore[valid-type]
        _l("Group by one of: %(groups)s.", groups=", ".join(GROUPS)))]) = None


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
