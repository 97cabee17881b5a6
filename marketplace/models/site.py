"""Sites: a plant, yard or works of an organisation, at a WGS-84 position."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Numeric, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model

if TYPE_CHECKING:
    from .organisation import Organisation


class Site(Model):
    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
        CheckConstraint("lon >= -180 AND lon <= 180", name="lon_range"),
        # distance filters prefilter on a bounding box of the coordinates; browse filters by city and county
        Index("ix_site_lat_lon", "lat", "lon"),
        Index("ix_site_city", "city"),
        Index("ix_site_county", "county"),
        # a firm has at most one default site (the one its listing and generation forms pre-select)
        Index("uq_site_default_per_organisation", "organisation_id", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Six decimals of a degree is about 0.1 m: exact enough, and exact in the database.
    lat: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    lon: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    city: Mapped[str] = mapped_column(String(50), default="")
    county: Mapped[str] = mapped_column(String(50), default="")
    industrial_park: Mapped[str] = mapped_column(String(200), default="")
    rail_siding: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the firm's default site: pre-selected on its listing and generation forms (an active site; at most one)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="sites")

    def __repr__(self) -> str:
        return f"<Site {self.id} {self.name!r}>"
