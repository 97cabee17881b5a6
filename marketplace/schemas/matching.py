"""Matching rounds, the proposals they make and the agreements concluded from them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field, StrictBool

from ..models.matching import Objective, ProposalStatus
from .common import (
    BLANK,
    WHOLE,
    Day,
    Id,
    Input,
    IsoDate,
    Moment,
    MoneyText,
    Output,
    Refusal,
)

MAX_IDS = 10_000
ListingIds = Annotated[list[Id], Field(max_length=MAX_IDS), Refusal(_l("Give a list of listing ids."))]


class RoundRequest(Input):
    """The operator or a regulator rounds over the market (narrowed by listing ids and a period); a utiliser
    for one of its demand listings; a producer for one supply listing."""

    supply_listing_ids: ListingIds | None = None
    demand_listing_ids: ListingIds | None = None
    period_start: Annotated[IsoDate | None, BLANK] = None
    period_end: Annotated[IsoDate | None, BLANK] = None
    #: the optimiser's options, named as in matching.options.SolveOptions
    objective: Annotated[Annotated[Objective, Refusal(_l("Choose one of the objectives."))] | None, BLANK,
                         Field(description="max_tonnes (default): most tonnes, then least transport cost; "
                                           "net_value: most value net of transport, no tonne at a loss; "
                                           "delivered_cost: most tonnes, then least price + transport")] = None
    truckloads: Annotated[StrictBool, Field(description="pairings in whole truckloads (the tariff's payload of "
                                                        "the material, default 32 t)")] = False
    min_shipment_t: Annotated[Annotated[int, Field(ge=0, le=100_000), WHOLE] | None, BLANK] = None
    max_partners: Annotated[Annotated[int, Field(ge=1, le=1000), WHOLE] | None, BLANK,
                            Field(description="at most this many supplies per demand")] = None
    max_partners_per_supply: Annotated[Annotated[int, Field(ge=1, le=1000), WHOLE] | None, BLANK,
                                       Field(description="at most this many demands per supply")] = None
    #: also run the cheapest-first comparison (slower than the solve itself on a large market)
    compare_greedy: StrictBool = False


class RoundQuery(Input):
    """The page of a round's proposals; empty means the first page of 500."""

    page: Annotated[Annotated[int, Field(ge=1, le=100_000), WHOLE] | None, BLANK] = None
    per_page: Annotated[Annotated[int, Field(ge=1, le=1000), WHOLE] | None, BLANK] = None


class ProposalQuery(Input):
    """The proposals' filter and page; empty means all statuses, the first page of the 500 newest."""

    status: Annotated[Annotated[ProposalStatus, Refusal(_l("Unknown status."))] | None, BLANK] = None
    page: Annotated[Annotated[int, Field(ge=1, le=100_000), WHOLE] | None, BLANK] = None
    per_page: Annotated[Annotated[int, Field(ge=1, le=1000), WHOLE] | None, BLANK] = None


class ProposalOut(Output):
    id: int
    round_id: int
    status: ProposalStatus
    supply_listing_id: int
    demand_listing_id: int
    tonnes: int = Field(ge=1)
    distance_km: float
    mode: Literal["road", "rail"]
    price_yuan_per_t: MoneyText
    transport_cost_yuan_per_t: MoneyText
    delivered_price_yuan_per_t: MoneyText
    env_tax_avoided_yuan: MoneyText
    co2_kg: float
    producer_decision: str | None
    consumer_decision: str | None
    expires_at: Moment
    agreement_id: int | None
    schedule: list[MonthTonnes] | None = Field(None, description="a seasonal round's delivery schedule by month")


class MonthTonnes(Output):
    month: str = Field(description="YYYY-MM (China Standard Time)")
    tonnes: int = Field(ge=1)


class ProposalList(Output):
    items: list[ProposalOut] = Field(description="newest first")
    total: int
    page: int
    per_page: int
    pages: int


class CurveSegment(Output):
    """What the tonnes from `tonnes_from` to `tonnes_to` cost at least (without lot rules), in all and per tonne."""

    tonnes_from: int
    tonnes_to: int
    cost_yuan: str
    cost_yuan_per_t: str


class RoundError(Output):
    code: str
    message: str


class RoundOut(Output):
    """A round and where it is: queued, building, solving, writing, then done, failed or cancelled; its results
    and proposals once it is done."""

    id: int
    status: Literal["queued", "building", "solving", "writing", "done", "failed", "cancelled"]
    status_label: str
    finished: bool
    cancel_requested: bool
    error: RoundError | None
    queued_at: str | None
    building_at: str | None
    solving_at: str | None
    writing_at: str | None
    finished_at: str | None
    scope: Literal["market", "demand", "supply"]
    created_at: Moment
    period_start: Day | None
    period_end: Day | None
    parameters: dict[str, Any]
    objective: Objective
    truckloads: bool
    min_shipment_t: int
    max_partners: int | None
    max_partners_per_supply: int | None
    tariff_version: int
    solver_status: str
    stats: dict[str, Any]
    tonnes_matched: int
    transport_cost_yuan: MoneyText
    env_tax_avoided_yuan: MoneyText
    delivered_cost_yuan: MoneyText | None = Field(description="ex-works price + transport of the tonnes matched")
    value_yuan: MoneyText | None = Field(description="the tonnes matched at the tariff's value per tonne")
    net_value_yuan: MoneyText | None = Field(description="value_yuan - transport_cost_yuan")
    marginal_cost_curve: list[CurveSegment] = Field(
        description="the least cost of the last tonnes: segments up to 50, 80, 90, 95 and 100 % of the tonnes; "
                    "worked out once the proposals are out: empty while stats.curve is \"pending\"")
    co2_kg: float
    baseline: dict[str, Any] | None
    proposals: list[ProposalOut] = Field(description="one page of them once the round is done (?page=, ?per_page=)")
    proposals_total: int = Field(description="how many proposals of the round the caller sees")
    page: int
    per_page: int
    pages: int


class AgreementOut(Output):
    id: int
    proposal_id: int
    supply_listing_id: int
    demand_listing_id: int
    producer: str
    consumer: str
    material: str
    tonnes: int
    price_yuan_per_t: MoneyText
    transport_cost_yuan_per_t: MoneyText
    delivered_price_yuan_per_t: MoneyText
    distance_km: float
    mode: str
    period_start: Day
    period_end: Day
    created_at: Moment


class AgreementList(Output):
    items: list[AgreementOut]
