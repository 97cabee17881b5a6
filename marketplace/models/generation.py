"""Monthly declarations of waste generated at a producer's site."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, Numeric, UniqueConstraint
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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    #: The first day of the month declared.
    month: Mapped[date] = mapped_column(Date)
    tonnes_generated: Mapped[Decimal] = mapped_column(TONNES)
    tonnes_used_in_house: Mapped[Decimal] = mapped_column(TONNES, default=Decimal(0))
    tonnes_stored: Mapped[Decimal] = mapped_column(TONNES, default=Decimal(0))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    site: Mapped[Site] = relationship()
    material: Mapped[Material] = relationship()

    def __repr__(self) -> str:
        return f"<GenerationRecord site={self.site_id} {self.month:%Y-%m}>"
