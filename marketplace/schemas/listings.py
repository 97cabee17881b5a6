"""Supply and demand listings: what may be posted or changed, the browse filters, and what a reader sees.

Whether the site is the poster's, the material and grade exist, the quality parameters belong to the
material and the period makes sense are domain rules: services/listings.py checks them."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field, WithJsonSchema

from ..models.listing import USES, ListingStatus
from .common import (
    BLANK,
    EXACT,
    LINE,
    TEXT,
    WHOLE,
    Day,
    DecimalText,
    Id,
    Input,
    IsoDate,
    Moment,
    MoneyText,
    Output,
    Refusal,
    decimal_field,
    partial,
    quantized,
)

MAX_TONNES = 5_000_000
MAX_HAUL_KM = 2000
PRICE_MIN, PRICE_MAX = Decimal("-10000"), Decimal("100000")
QUALITY_MIN, QUALITY_MAX = Decimal("-1000000"), Decimal("1000000")
NOTES_MAX = 2000
CODE_MAX = 40

Tonnes = Annotated[int, Field(ge=1, le=MAX_TONNES), WHOLE]
HaulKm = Annotated[int, Field(ge=1, le=MAX_HAUL_KM), WHOLE]
Price = Annotated[Decimal, decimal_field(PRICE_MIN, PRICE_MAX, 2), EXACT, quantized(2)]
#: A quality figure: -1,000,000 to 1,000,000 with at most four decimals.
QualityValue = Annotated[Decimal, decimal_field(QUALITY_MIN, QUALITY_MAX, 4), EXACT, quantized(4)]
Notes = Annotated[str, Field(max_length=NOTES_MAX), TEXT]
#: Seasonal profile (issue #14): whole tonnes in each calendar month, January first; the yard or silo.
MonthTonnes = Annotated[int, Field(ge=0, le=MAX_TONNES), WHOLE]
MonthlyTonnes = Annotated[
    Annotated[list[MonthTonnes], Field(min_length=12, max_length=12)] | None,
    Refusal(_l("Give 12 whole, non-negative tonnes, January to December."),
            kinds=("too_short", "too_long", "list_type")),
    Field(description="12 whole tonnes, January to December: what the listing makes available (supply) or can "
                      "use (demand) in each month of its period; null: spread evenly")]
StorageTonnes = Annotated[Annotated[int, Field(ge=0, le=MAX_TONNES), WHOLE] | None, BLANK]
HOLDING_MAX = Decimal("1000")
Holding = Annotated[Annotated[Decimal, decimal_field(0, HOLDING_MAX, 2), EXACT, quantized(2)] | None, BLANK,
                    Field(description="yuan per tonne and month of keeping stock in the yard or silo")]
Site = Annotated[Id, Refusal(_l("Choose one of your sites.")), Field(description="one of the caller's own sites")]
MaterialCode = Annotated[str, Field(max_length=CODE_MAX, description="a material code, see GET /materials"),
                         Refusal(_l("Unknown material."))]
Grade = Annotated[Annotated[str, Field(max_length=CODE_MAX)] | None, BLANK]
Use = Annotated[Literal[USES], Refusal(_l("Unknown use.")),  # type: ignore[valid-type]
                Field(description="what the waste is used for")]
NewStatus = Annotated[Literal["draft", "open"], Refusal(_l("A new listing is either a draft or open."))]
OwnerStatus = Annotated[Literal["draft", "open", "withdrawn"], Refusal(_l("Unknown status."))]
_QUALITY_IN = {"type": ["string", "number"], "description": "-1000000 to 1000000, at most four decimals"}
#: {parameter: value}; the parameters are the material's (checked by the service with QualityValue).
Quality = Annotated[dict[str, Any] | None, Refusal(_l("Give quality as {parameter: value}.")),
                    WithJsonSchema({"type": ["object", "null"], "additionalProperties": _QUALITY_IN})]
QualityLimits = Annotated[
    dict[str, Any] | None, Refusal(_l("Give quality limits as {parameter: {\"min\": x, \"max\": y}}.")),
    WithJsonSchema({"type": ["object", "null"], "additionalProperties": {
        "type": "object", "properties": {"min": _QUALITY_IN, "max": _QUALITY_IN}, "additionalProperties": False}})]


#: Other materials a demand accepts besides `material` (one tonnage, served by any mix of them).
AlsoMaterials = Annotated[
    list[Annotated[str, Field(max_length=CODE_MAX)]] | None, Field(
        max_length=8, description="other material codes accepted as well, one tonnage served by any mix of "
                                  "them; such a need takes no min_grade and no quality_limits"),
    Refusal(_l("Give the other accepted materials as a list of material codes."))]


class SupplyListingCreate(Input):
    """A producer offers waste."""

    status: NewStatus = "open"
    site_id: Site
    material: MaterialCode
    tonnes: Tonnes
    period_start: IsoDate
    period_end: IsoDate
    max_haul_km: HaulKm
    price_yuan_per_t: Price
    grade: Grade = None
    quality: Quality = None
    notes: Notes = ""
    storage_capacity_t: StorageTonnes = Field(None, description="the yard's or silo's capacity, whole tonnes")
    storage_stock_t: StorageTonnes = Field(None, description="its stock now, at most the capacity")
    holding_yuan_per_t_month: Holding = None
    monthly_tonnes: MonthlyTonnes = None


class DemandListingCreate(Input):
    """A utiliser needs waste."""

    status: NewStatus = "open"
    site_id: Site
    material: MaterialCode
    tonnes: Tonnes
    period_start: IsoDate
    period_end: IsoDate
    max_haul_km: HaulKm
    max_delivered_price_yuan_per_t: Annotated[Price | None, BLANK] = None
    min_grade: Grade = None
    quality_limits: QualityLimits = None
    use: Annotated[Use | None, BLANK] = None
    also_materials: AlsoMaterials = None
    notes: Notes = ""
    storage_capacity_t: StorageTonnes = Field(None, description="the yard's or silo's capacity, whole tonnes")
    storage_stock_t: StorageTonnes = Field(None, description="its stock now, at most the capacity")
    holding_yuan_per_t_month: Holding = None
    monthly_tonnes: MonthlyTonnes = None


class SupplyListingUpdate(partial(SupplyListingCreate, "SupplyListingChange")):  # type: ignore[misc]
    """A change names only what changes; it may also move the status."""

    status: OwnerStatus | None = None


class DemandListingUpdate(partial(DemandListingCreate, "DemandListingChange")):  # type: ignore[misc]
    """A change names only what changes; it may also move the status."""

    status: OwnerStatus | None = None


CREATE: dict[str, type[Input]] = {"supply": SupplyListingCreate, "demand": DemandListingCreate}
UPDATE: dict[str, type[Input]] = {"supply": SupplyListingUpdate, "demand": DemandListingUpdate}

SORTS = ("newest", "price", "-price", "tonnes", "-tonnes", "distance")


class ListingQuery(Input):
    """The browse filters (the browse page's and the API's query string); empty means not given."""

    model_config = ConfigDict(extra="ignore")  # other query parameters (a page's own) are not filters

    material: Annotated[MaterialCode | None, BLANK] = None
    grade: Grade = Field(None, description="needs material")
    city: Annotated[Annotated[str, Field(max_length=40), LINE] | None, BLANK] = None
    county: Annotated[Annotated[str, Field(max_length=40), LINE] | None, BLANK] = None
    min_tonnes: Annotated[Annotated[int, Field(ge=0, le=MAX_TONNES), WHOLE] | None, BLANK] = None
    min_price: Annotated[Price | None, BLANK] = None
    max_price: Annotated[Price | None, BLANK] = None
    near_site_id: Annotated[Id | None, BLANK] = Field(None, description="one of the caller's sites: adds distance_km")
    within_km: Annotated[HaulKm | None, BLANK] = None
    mine: Annotated[Annotated[str, Field(max_length=10), LINE] | None, BLANK] = Field(
        None, description="1: only the caller's own")
    status: Annotated[Annotated[ListingStatus, Refusal(_l("Unknown status."))] | None, BLANK] = None
    q: Annotated[Annotated[str, Field(max_length=100), LINE] | None, BLANK] = Field(
        None, description="a listing's number, or words of the notes the caller may read")
    sort: Annotated[Annotated[Literal[SORTS], Refusal(_l("Unknown sort order."))] | None, BLANK] = None  # type: ignore[valid-type]
    page: Annotated[Annotated[int, Field(ge=1, le=100_000), WHOLE] | None, BLANK] = None
    per_page: Annotated[Annotated[int, Field(ge=1, le=100), WHOLE] | None, BLANK] = None


class QualityBounds(Output):
    min: str | None = None
    max: str | None = None


class ListingOut(Output):
    """A listing as a reader sees it: the poster's identity, exact site and notes only for the poster, staff
    and organisations with an agreed deal."""

    id: int
    side: str
    status: ListingStatus
    material: str
    tonnes: int = Field(ge=1)
    tonnes_promised: int = Field(ge=0)
    tonnes_remaining: int = Field(ge=0)
    period_start: Day
    period_end: Day
    max_haul_km: int = Field(ge=1)
    city: str
    county: str
    created_at: Moment
    updated_at: Moment
    distance_km: float | None = Field(None, description="from near_site_id, when given: to 0.1 km where the "
                                                        "reader may see the site, else to 5 km")
    site_id: int | None = Field(None, description="only for the owner, regulators, the operator and "
                                                  "organisations with an agreed deal")
    site_name: str | None = None
    lat: DecimalText | None = None
    lon: DecimalText | None = None
    organisation: str | None = Field(None, description="as site_id")
    notes: str | None = Field(None, description="as site_id")
    monthly_tonnes: list[int] | None = Field(None, description="12 whole tonnes, January to December")
    storage_capacity_t: int | None = None
    storage_stock_t: int | None = None
    holding_yuan_per_t_month: MoneyText | None = None


class SupplyListingOut(ListingOut):
    side: Literal["supply"]
    grade: str | None
    quality: dict[str, str]
    price_yuan_per_t: MoneyText
    has_certificate: bool


class DemandListingOut(ListingOut):
    side: Literal["demand"]
    min_grade: str | None
    quality_limits: dict[str, QualityBounds]
    max_delivered_price_yuan_per_t: MoneyText | None
    use: Literal[USES]  # type: ignore[valid-type]
    also_materials: list[str] = Field(description="other material codes accepted as well")


class Page(Output):
    total: int
    page: int
    per_page: int
    pages: int


class SupplyListingPage(Page):
    items: list[SupplyListingOut]


class DemandListingPage(Page):
    items: list[DemandListingOut]


OUT: dict[str, type[ListingOut]] = {"supply": SupplyListingOut, "demand": DemandListingOut}
PAGE: dict[str, type[Page]] = {"supply": SupplyListingPage, "demand": DemandListingPage}
