"""The transport tariff the operator publishes (a new version each time); rounds record the version used."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from .common import BLANK, EXACT, TEXT, WHOLE, Input, decimal_field, quantized

PerTonneKm = Annotated[Decimal, decimal_field(Decimal("0.0001"), 100, 4), EXACT, quantized(4)]
RailPerTonneKm = Annotated[Decimal, decimal_field(0, 100, 4), EXACT, quantized(4)]
Co2PerTonneKm = Annotated[Decimal, decimal_field(0, 10, 4), EXACT, quantized(4)]


class TariffVersionIn(Input):
    """Rates per tonne and tonne-km, the circuity of roads, CO2 factors and how long proposals live."""

    road_yuan_per_t_km: PerTonneKm
    handling_yuan_per_t: Annotated[Decimal, decimal_field(0, 1000, 2), EXACT, quantized(2)]
    circuity: Annotated[Decimal, decimal_field(1, 3, 3), EXACT, quantized(3),
                        Field(description="road distance / straight line")]
    rail_fixed_yuan_per_t: Annotated[Annotated[Decimal, decimal_field(0, 1000, 2), EXACT, quantized(2)] | None,
                                     BLANK] = None
    rail_yuan_per_t_km: Annotated[RailPerTonneKm | None, BLANK] = None
    co2_kg_per_t_km: Co2PerTonneKm
    rail_co2_kg_per_t_km: Co2PerTonneKm
    proposal_lifetime_hours: Annotated[int, Field(ge=1, le=24 * 60), WHOLE]
    note: Annotated[str, Field(max_length=500), TEXT] = ""


#: The tariff's figures (a version stores each of them).
FIGURES = ("road_yuan_per_t_km", "handling_yuan_per_t", "circuity", "rail_fixed_yuan_per_t", "rail_yuan_per_t_km",
           "co2_kg_per_t_km", "rail_co2_kg_per_t_km")
