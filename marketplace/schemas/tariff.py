"""The transport tariff the operator publishes (a new version each time); rounds record the version used."""
from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from .common import Blankable, Input, Money, Text, WholeNumber


class TariffVersionIn(Input):
    """Rates per tonne and tonne-km, the circuity of roads, CO2 factors and how long proposals live."""

    road_yuan_per_t_km: Money(Decimal("0.0001"), Decimal(100), 4)
    handling_yuan_per_t: Money(Decimal(0), Decimal(1000), 2)
    circuity: Money(Decimal(1), Decimal(3), 3) = Field(description="road distance / straight line")
    rail_fixed_yuan_per_t: Blankable(Money(Decimal(0), Decimal(1000), 2)) = None
    rail_yuan_per_t_km: Blankable(Money(Decimal(0), Decimal(100), 4)) = None
    co2_kg_per_t_km: Money(Decimal(0), Decimal(10), 4)
    rail_co2_kg_per_t_km: Money(Decimal(0), Decimal(10), 4)
    proposal_lifetime_hours: WholeNumber(1, 24 * 60)
    note: Text(500) = ""


#: The tariff's figures (a version stores each of them).
FIGURES = ("road_yuan_per_t_km", "handling_yuan_per_t", "circuity", "rail_fixed_yuan_per_t", "rail_yuan_per_t_km",
           "co2_kg_per_t_km", "rail_co2_kg_per_t_km")
