"""Monthly declarations of waste generated at a producer's site."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model

if TYPE_CHECKING:
    from .catalogue import Material
    from .site import Site

TONNES = Numeric(14, 3)  # to the kilogram


class GenerationRecord(Model):
    __tablename__ = "generation_record"
    __table_args__ = (
        UniqueConstraint("site_id", "material_id", "month", name="uq_generation_record_site_material_month"),
        CheckConstraint("tonnes_generated >= 0", name="generated_nonneg"),
        CheckConstraint("tonnes_used_in_house >= 0", name="in_house_nonneg"),
        CheckConstraint("tonnes_stored >= 0", name="stored_nonneg"),
        CheckConstraint("tonnes_disposed >= 0", name="disposed_nonneg"),
        CheckConstraint("tonnes_transferred_other >= 0", name="transferred_other_nonneg"),
        CheckConstraint("stock_opening IS NULL OR stock_opening >= 0", name="opening_nonneg"),
        CheckConstraint("stock_closing IS NULL OR stock_closing >= 0", name="closing_nonneg"),
        # the declarations page's filters: material and year (month range)
        Index("ix_generation_record_material_id_month", "material_id", "month"),
        Index("ix_generation_record_month", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    #: The first day of the month declared.
    month: Mapped[date] = mapped_column(Date)
    tonnes_generated: Mapped[Decimal] = mapped_column(TONNES)
    tonnes_used_in_house: Mapped[Decimal] = mapped_column(TONNES, default=Decimal(0))
    tonnes_stored: Mapped[Decimal] = mapped_column(TONNES, default=Decimal(0))
    # What the platform does not hold, for the solid-waste ledger (台账): disposal (landfill, incineration),
    # transfers to units outside the platform, and the storage stock counted at the month's start and end.
    tonnes_disposed: Mapped[Decimal] = mapped_column(TONNES, default=Decimal(0), server_default="0")
    tonnes_transferred_other: Mapped[Decimal] = mapped_column(TONNES, default=Decimal(0), server_default="0")
    #: the receiving units of `tonnes_transferred_other` (name, credit code, use), as the producer states them
    other_receivers: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: None: the previous month's closing stock (or nothing declared)
    stock_opening: Mapped[Decimal | None] = mapped_column(TONNES)
    stock_closing: Mapped[Decimal | None] = mapped_column(TONNES)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    site: Mapped[Site] = relationship()
    material: Mapped[Material] = relationship()

    def __repr__(self) -> str:
        return f"<GenerationRecord site={self.site_id} {self.month:%Y-%m}>"


@event.listens_for(GenerationRecord, "before_delete")
def _declarations_are_kept(mapper: Any, connection: Any, target: GenerationRecord) -> None:
    """The solid-waste ledger (台账) is kept five years (MEE 公告2021年第82号) and its exports cite these rows:
    a declaration is corrected (the audit log keeps what it replaced), never deleted."""
    raise ValueError(f"generation records are never deleted: {target!r}")
