"""The transport tariff the operator publishes (a new version each time); rounds record the version used."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from matching.catalogue import MATERIALS

from .common import (
    BLANK,
    EXACT,
    TEXT,
    WHOLE,
    DecimalText,
    Input,
    Moment,
    MoneyText,
    Output,
    Refusal,
    decimal_field,
    quantized,
)

PerTonneKm = Annotated[Decimal, decimal_field(Decimal("0.0001"), 100, 4), EXACT, quantized(4)]
RailPerTonneKm = Annotated[Decimal, decimal_field(0, 100, 4), EXACT, quantized(4)]
Co2PerTonneKm = Annotated[Decimal, decimal_field(0, 10, 4), EXACT, quantized(4)]


def _catalogue_code(code: str) -> str:
    if code not in MATERIALS:
        raise PydanticCustomError("unknown_material", "Not a material of the catalogue.")
    return code


#: A material's code in the catalogue (the optimiser's catalogue is the database's: test_schema checks it).
MaterialCode = Annotated[str, AfterValidator(_catalogue_code)]
#: Bounds of the optimiser's strict format (matching/README.md), narrowed to what makes sense here.
MAX_VALUE_YUAN_PER_T = 100_000
MAX_PAYLOAD_T = 1_000
MAX_TRAIN_T = 1_000_000
ValuePerTonne = Annotated[Decimal, decimal_field(0, MAX_VALUE_YUAN_PER_T, 2), EXACT, quantized(2)]
Payload = Annotated[int, Field(ge=1, le=MAX_PAYLOAD_T), WHOLE]


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
    value_yuan_per_t: Annotated[
        dict[MaterialCode, ValuePerTonne],
        Field(description="material code -> what one tonne moved is worth to a net_value round (yuan, "
                          "0-100,000, 2 decimals); a material left out is worth its avoided environmental tax"),
        Refusal(_l("Give each catalogue material's value in yuan per tonne, from 0 to 100,000, at most 2 decimals."),
                always=True)] = Field(default_factory=dict)
    payload_t: Annotated[
        dict[MaterialCode, Payload],
        Field(description="material code -> one truckload in whole tonnes (1-1,000); left out: 32 t"),
        Refusal(_l("Give each catalogue material's truck payload in whole tonnes, from 1 to 1,000."),
                always=True)] = Field(default_factory=dict)
    min_train_t: Annotated[Annotated[int, Field(ge=0, le=MAX_TRAIN_T), WHOLE] | None, BLANK,
                           Field(description="the least a rail pairing carries (0 or empty: no minimum)")] = 0
    note: Annotated[str, Field(max_length=500), TEXT] = ""


#: The tariff's figures (a version stores each of them).
FIGURES = ("road_yuan_per_t_km", "handling_yuan_per_t", "circuity", "rail_fixed_yuan_per_t", "rail_yuan_per_t_km",
           "co2_kg_per_t_km", "rail_co2_kg_per_t_km", "min_train_t")
#: The figures given per material ({material code: figure}).
PER_MATERIAL = ("value_yuan_per_t", "payload_t")


class TariffOut(Output):
    """The tariff in force (or one version of it)."""

    version: int
    road_yuan_per_t_km: DecimalText
    handling_yuan_per_t: DecimalText
    circuity: DecimalText
    rail_fixed_yuan_per_t: DecimalText | None
    rail_yuan_per_t_km: DecimalText | None
    co2_kg_per_t_km: DecimalText
    rail_co2_kg_per_t_km: DecimalText
    proposal_lifetime_hours: int
    value_yuan_per_t: dict[str, MoneyText]
    payload_t: dict[str, int]
    min_train_t: int
    note: str
    created_at: Moment
