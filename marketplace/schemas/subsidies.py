"""The subsidy scheme, baselines and claims."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field

from .common import (
    BLANK,
    EXACT,
    TEXT,
    WHOLE,
    Day,
    Id,
    Input,
    IsoDate,
    Moment,
    MoneyText,
    Output,
    Refusal,
    TonnesText,
    decimal_field,
    quantized,
)

Year = Annotated[int, Field(ge=2000, le=2100), WHOLE]
#: A band of the scheme: from this many tonnes of increment (to the kilogram) ...
BandFrom = Annotated[Decimal, decimal_field(Decimal(0), Decimal(10**9), 3), EXACT, quantized(3)]
#: ... this many yuan per tonne.
BandRate = Annotated[Decimal, decimal_field(Decimal(0), Decimal(10000), 2), EXACT, quantized(2)]
Reason = Annotated[str, Field(max_length=2000), TEXT]
Decision = Annotated[Literal["approve", "reject"], Refusal(_l("Decide approve or reject."), always=True)]


class SchemeQuery(Input):
    year: Annotated[Year | None, BLANK] = Field(None, description="default: today")


class BandOut(Output):
    from_t: str
    rate_yuan_per_t: str


class SchemeOut(Output):
    version: int
    name: str
    base_year: int
    effective_from: Day
    effective_to: Day | None
    bands: list[BandOut]
    mode: str
    cap_yuan: MoneyText
    exclusions: dict[str, Any]
    loan_min_yuan: MoneyText
    loan_benchmark_rate_pct: str


class BaselineDeclaration(Input):
    """A utiliser declares its base-year utilisation with evidence."""

    year: Year
    tonnes: Annotated[Decimal, decimal_field(Decimal(0), Decimal(100_000_000), 3), EXACT, quantized(3)]
    evidence: Annotated[str, Field(max_length=5000), TEXT]


class Review(Input):
    decision: Decision
    reason: Reason = ""


class BaselineOut(Output):
    id: int
    organisation_id: int
    year: int
    tonnes: TonnesText
    evidence: str
    status: Literal["pending", "approved", "rejected"]
    reason: str | None


class ClaimRequest(Input):
    year: Year


class ClaimEventOut(Output):
    action: str
    at: Moment
    user_id: int | None


class ClaimOut(Output):
    id: int
    organisation_id: int
    year: int
    status: Literal["draft", "submitted", "approved", "rejected", "paid"]
    eligible_tonnes: TonnesText
    excluded_tonnes: TonnesText
    baseline_tonnes: TonnesText
    increment_tonnes: TonnesText
    rate_yuan_per_t: MoneyText
    amount_yuan: MoneyText
    capped: bool
    scheme_version: int
    reason: str | None
    year_eligible_tonnes: TonnesText
    year_total_yuan: MoneyText = Field(description="the scheme applied once to the year's whole increment, "
                                                   "capped for the year")
    previously_approved_yuan: MoneyText = Field(description="approved for the year before this claim, net of "
                                                            "recoveries; amount_yuan is the top-up")
    affected: bool = Field(description="a ledger entry it counted was reversed after submission")
    ledger_entry_ids: list[int] | None = None
    ledger_checkpoint_id: int | None = Field(None, description="the verified checkpoint covering its entries")
    events: list[ClaimEventOut] | None = None


class RecoveryOut(Output):
    id: int
    organisation_id: int
    year: int
    claim_id: int | None
    reversal_entry_id: int | None
    approved_before_yuan: MoneyText
    should_have_yuan: MoneyText
    amount_yuan: MoneyText
    status: str
    settlement: str | None
    offset_claim_id: int | None
    note: str | None


class LoanApplication(Input):
    """An enterprise applies for the loan-interest subsidy of a demonstration project."""

    name: Annotated[Annotated[str, Field(max_length=200), TEXT], Field(min_length=1)]
    year: Year
    loan_yuan: Annotated[Decimal, decimal_field(Decimal("0.01"), Decimal(10**12), 2), EXACT, quantized(2)]


class Settlement(Input):
    """How a recovery was settled."""

    settlement: Annotated[Literal["offset", "repaid"], Refusal(_l("Choose offset or repaid."), always=True)]
    offset_claim_id: Annotated[Id | None, BLANK] = None
    note: Annotated[str, Field(max_length=2000), TEXT] = ""


#: A scheme has at most this many bands.
MAX_BANDS = 20


class SchemeVersion(Input):
    """A regulator's new version of the subsidy scheme. Bands are rows [{"from_t", "rate"}, ...] (the scheme
    form) or text ("0:10, 50000:20"); excluded uses a list of codes or text ("mine_backfill, gangue_power"); the
    service reads and checks both."""

    name: Annotated[Annotated[str, Field(max_length=200), TEXT], Field(min_length=1)]
    base_year: Year
    effective_from: IsoDate
    effective_to: Annotated[IsoDate | None, BLANK] = None
    bands: Annotated[str, Field(max_length=500)] | Annotated[list[dict[str, Any]], Field(max_length=MAX_BANDS)]
    mode: Annotated[Literal["whole", "tiered"], Refusal(_l("Choose whole-increment or tier-by-tier."), always=True)]
    cap_yuan: Annotated[Decimal, decimal_field(Decimal(0), Decimal(10**12), 2), EXACT, quantized(2)]
    exclude_own_waste: bool = True
    excluded_uses: Annotated[str, Field(max_length=200)] | list[str] | None = None
    loan_min_yuan: Annotated[Decimal, decimal_field(Decimal(0), Decimal(10**12), 2), EXACT, quantized(2)]
    loan_benchmark_rate_pct: Annotated[Decimal, decimal_field(Decimal(0), Decimal(100), 3), EXACT, quantized(3)]
