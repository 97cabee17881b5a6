"""The calendar of the market (issue #14): the staggered-production windows (错峰生产) regulators publish, and
the delivery schedule by month of a seasonal round's proposals (and so of the agreements made from them)."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .listing import Use
from .organisation import value_enum

if TYPE_CHECKING:
    from .matching import Proposal
    from .organisation import User


class ProductionWindow(Model):
    """A staggered-production window: the lines of one industry (a demand listing's `use`) in one city stop
    from `starts_on` to `ends_on`, both days included. `year` is the year the window is published for (a
    winter window of year Y runs from 15 November Y into March Y+1)."""

    __tablename__ = "production_window"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="window_order"),
        Index("ix_production_window_year_city", "year", "city"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    city: Mapped[str] = mapped_column(String(40))
    use: Mapped[Use] = mapped_column(value_enum(Use, "use", length=30))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    updated_by: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return f"<ProductionWindow {self.city} {self.use.value} {self.starts_on}..{self.ends_on}>"


class ProposalMonth(Model):
    """The tonnes a seasonal proposal delivers in one month (CST). A child table, not a JSON column: the
    acceptance sums the months already promised per listing in SQL (never a month's tonnes twice), the
    agreement page joins them to the month's delivery tickets, and the regulator's desk adds them up per
    month, all as plain aggregates; the unique key keeps one row per proposal and month."""

    __tablename__ = "proposal_month"
    __table_args__ = (
        UniqueConstraint("proposal_id", "month", name="uq_proposal_month_proposal_month"),
        CheckConstraint("tonnes > 0", name="tonnes_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    #: The first day of the month.
    month: Mapped[date] = mapped_column(Date, index=True)
    tonnes: Mapped[int] = mapped_column(Integer)

    proposal: Mapped[Proposal] = relationship("Proposal", back_populates="schedule")

    def __repr__(self) -> str:
        return f"<ProposalMonth {self.proposal_id} {self.month:%Y-%m} {self.tonnes} t>"
