"""Subsidies for new utilisation: the scheme as data (versioned), baselines, claims with their audit trail,
and loan-interest subsidies for demonstration projects."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .organisation import value_enum

if TYPE_CHECKING:
    from .delivery import LedgerEntry
    from .organisation import Organisation, User

class SchemeMode(enum.StrEnum):
    #: the band's rate applies to the whole increment
    WHOLE = "whole"
    #: each tier of the increment at its own band's rate
    TIERED = "tiered"


class BaselineStatus(enum.StrEnum):
    """A baseline's review by a regulator."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class LoanStatus(enum.StrEnum):
    """A loan project's review by a regulator."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class ClaimStatus(enum.StrEnum):
    """draft -> submitted -> approved -> paid, or rejected."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


class RecoveryStatus(enum.StrEnum):
    OPEN = "open"
    SETTLED = "settled"


class Settlement(enum.StrEnum):
    #: set against a later approved claim's payment
    OFFSET = "offset"
    #: the enterprise paid it back
    REPAID = "repaid"


TONNES = Numeric(14, 3)
YUAN = Numeric(16, 2)


class SubsidyScheme(Model):
    """One version of the rules. Bands: [{"from_t": "0", "rate": "10"}, ...], lower bounds inclusive.
    Exclusions: {"own_waste": true, "uses": ["gangue_power", "mine_backfill"]}."""

    __tablename__ = "subsidy_scheme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_year: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    bands: Mapped[list] = mapped_column(JSON)
    mode: Mapped[SchemeMode] = mapped_column(value_enum(SchemeMode, "mode", length=10))
    cap_yuan: Mapped[Decimal] = mapped_column(YUAN)
    exclusions: Mapped[dict] = mapped_column(JSON)
    loan_min_yuan: Mapped[Decimal] = mapped_column(YUAN)
    loan_benchmark_rate_pct: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<SubsidyScheme v{self.version}>"


class Baseline(Model):
    """A utiliser's utilisation in the base year (it predates the platform), with evidence."""

    __tablename__ = "baseline"
    __table_args__ = (CheckConstraint("tonnes >= 0", name="tonnes_nonneg"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    tonnes: Mapped[Decimal] = mapped_column(TONNES)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[BaselineStatus] = mapped_column(value_enum(BaselineStatus, "status"),
                                                   default=BaselineStatus.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship("Organisation")

    def __repr__(self) -> str:
        return f"<Baseline {self.organisation_id} {self.year} {self.status}>"


class SubsidyClaim(Model):
    """A claim for an enterprise and year. The year's subsidy is computed once, over the year's whole eligible
    increment and capped for the year; a later claim for the same year is a top-up: `amount_yuan` is
    `year_total_yuan - previously_approved_yuan`. `eligible_kg` is what this claim adds; `increment_tonnes`
    and `rate_yuan_per_t` are the year's."""

    __tablename__ = "subsidy_claim"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[ClaimStatus] = mapped_column(value_enum(ClaimStatus, "status"), default=ClaimStatus.DRAFT,
                                                index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("subsidy_scheme.id"))
    baseline_id: Mapped[int] = mapped_column(ForeignKey("baseline.id"))
    eligible_kg: Mapped[int] = mapped_column(Integer)
    excluded_kg: Mapped[int] = mapped_column(Integer, default=0)
    baseline_tonnes: Mapped[Decimal] = mapped_column(TONNES)
    increment_tonnes: Mapped[Decimal] = mapped_column(TONNES)
    rate_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    amount_yuan: Mapped[Decimal] = mapped_column(YUAN)
    capped: Mapped[bool] = mapped_column(default=False)
    #: the year's eligible kilograms over every claim of the year, this one included
    year_eligible_kg: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: the scheme applied once to the year's whole increment, capped for the year
    year_total_yuan: Mapped[Decimal] = mapped_column(YUAN, default=0, server_default="0")
    #: approved (or paid) for the year before this claim, net of recoveries
    previously_approved_yuan: Mapped[Decimal] = mapped_column(YUAN, default=0, server_default="0")
    #: a ledger entry this claim counted was reversed after it was submitted
    affected: Mapped[bool] = mapped_column(default=False, server_default=false())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the signed ledger checkpoint that covered the claim's entries when it was prepared (then approved)
    ledger_checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_checkpoint.id"))

    organisation: Mapped[Organisation] = relationship("Organisation")
    scheme: Mapped[SubsidyScheme] = relationship("SubsidyScheme")
    baseline: Mapped[Baseline] = relationship("Baseline")
    events: Mapped[list[ClaimEvent]] = relationship(order_by="ClaimEvent.id")

    def __repr__(self) -> str:
        return f"<SubsidyClaim {self.id} {self.year} {self.status}>"


class ClaimEntry(Model):
    """A ledger entry counted by a claim. Unique: no entry is ever counted by two claims."""

    __tablename__ = "claim_entry"
    __table_args__ = (UniqueConstraint("ledger_entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("subsidy_claim.id"), index=True)
    ledger_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))

    ledger_entry: Mapped[LedgerEntry] = relationship("LedgerEntry")


class ClaimEvent(Model):
    """The audit trail of a claim: who prepared, submitted, approved, rejected or paid it, and when."""

    __tablename__ = "claim_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("subsidy_claim.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship("User")


class Recovery(Model):
    """Money to claw back: a ledger reversal lowered what a year should have paid below what was approved.
    Open until a regulator settles it, offset against a later payment or repaid."""

    __tablename__ = "subsidy_recovery"
    __table_args__ = (CheckConstraint("amount_yuan > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    #: the approved or paid claim that counted the reversed entry
    claim_id: Mapped[int] = mapped_column(ForeignKey("subsidy_claim.id"), index=True)
    reversal_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    approved_before_yuan: Mapped[Decimal] = mapped_column(YUAN)
    should_have_yuan: Mapped[Decimal] = mapped_column(YUAN)
    amount_yuan: Mapped[Decimal] = mapped_column(YUAN)
    status: Mapped[RecoveryStatus] = mapped_column(value_enum(RecoveryStatus, "status"),
                                                   default=RecoveryStatus.OPEN, index=True)
    settlement: Mapped[Settlement | None] = mapped_column(value_enum(Settlement, "settlement"))
    offset_claim_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_claim.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship("Organisation")
    claim: Mapped[SubsidyClaim] = relationship("SubsidyClaim", foreign_keys=[claim_id])
    settled_by: Mapped[User | None] = relationship("User", foreign_keys=[settled_by_id])

    def __repr__(self) -> str:
        return f"<Recovery {self.id} {self.year} {self.amount_yuan} {self.status}>"


class LoanProject(Model):
    """A utilisation demonstration project with a loan; its interest subsidy at the benchmark rate."""

    __tablename__ = "loan_project"
    __table_args__ = (CheckConstraint("loan_yuan > 0", name="loan_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    loan_yuan: Mapped[Decimal] = mapped_column(YUAN)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("subsidy_scheme.id"))
    benchmark_rate_pct: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    subsidy_yuan: Mapped[Decimal] = mapped_column(YUAN)
    status: Mapped[LoanStatus] = mapped_column(value_enum(LoanStatus, "status"), default=LoanStatus.SUBMITTED)
    reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship("Organisation")
