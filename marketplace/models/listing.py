"""Supply and demand listings: what producers offer and what utilisers need, for a period.

Field names follow the optimiser's contract (matching/): `tonnes`, `price_yuan_per_t`, `max_haul_km`,
`quality`; `min_grade`, `max_delivered_price_yuan_per_t`, `quality_limits`, so that a listing becomes a
matching record without translation."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..extensions import db
from .organisation import utcnow, value_enum


class ListingStatus(str, enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    PARTLY_MATCHED = "partly_matched"
    FULLY_MATCHED = "fully_matched"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


#: What utilisers do with the waste; the subsidy scheme's exclusions name some of these.
USES = ("cement", "concrete", "bricks_blocks", "plasterboard", "road_base", "mine_backfill", "gangue_power",
        "other")

#: Statuses in which a listing takes part in the market (browse, matching).
LIVE_STATUSES = (ListingStatus.OPEN, ListingStatus.PARTLY_MATCHED)


def _listing_checks() -> tuple:
    """The same rules on both sides of the market (each table needs its own constraint objects)."""
    return (
        CheckConstraint("tonnes > 0", name="tonnes_positive"),
        CheckConstraint("tonnes_promised >= 0 AND tonnes_promised <= tonnes", name="promised_within_tonnes"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("max_haul_km > 0", name="haul_positive"),
    )


def _listing_indexes(table: str, price: str) -> tuple[Index, ...]:
    """Indexes for the browse page's filters and sorts (each sort ends on the id, as the queries do)."""
    return (
        Index(f"ix_{table}_site_id", "site_id"),
        Index(f"ix_{table}_material_status", "material_id", "status"),
        Index(f"ix_{table}_price_id", price, "id"),
        Index(f"ix_{table}_tonnes_id", "tonnes", "id"),
    )


class ListingMixin:
    """Columns and behaviour shared by both sides of the market."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[ListingStatus] = mapped_column(value_enum(ListingStatus, "listing_status"),
                                                  default=ListingStatus.DRAFT, index=True)
    #: Whole tonnes for the period; `tonnes_promised` of them are already in agreements (never more).
    tonnes: Mapped[int] = mapped_column(Integer)
    tonnes_promised: Mapped[int] = mapped_column(Integer, default=0)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    max_haul_km: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @declared_attr
    def organisation_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organisation.id"), index=True)

    @declared_attr
    def site_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("site.id"))

    @declared_attr
    def material_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("material.id"), index=True)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("user.id"))

    @declared_attr
    def organisation(cls):
        return relationship("Organisation")

    @declared_attr
    def site(cls):
        return relationship("Site")

    @declared_attr
    def material(cls):
        return relationship("Material")

    @property
    def tonnes_remaining(self) -> int:
        return self.tonnes - (self.tonnes_promised or 0)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class SupplyListing(ListingMixin, db.Model):
    __tablename__ = "supply_listing"
    __table_args__ = _listing_checks() + _listing_indexes("supply_listing", "price_yuan_per_t")
    side = "supply"

    grade: Mapped[str | None] = mapped_column(String(20))
    #: {parameter code: measured value}; values are decimal strings, exact as entered.
    quality: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Ex-works price, yuan per tonne; negative when the producer pays to be rid of the waste.
    price_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    certificate_name: Mapped[str | None] = mapped_column(String(200))
    certificate_path: Mapped[str | None] = mapped_column(String(100))
    certificate_type: Mapped[str | None] = mapped_column(String(50))

    def __repr__(self) -> str:
        return f"<SupplyListing {self.id} {self.status.value} {self.tonnes} t>"


class DemandListing(ListingMixin, db.Model):
    __tablename__ = "demand_listing"
    __table_args__ = _listing_checks() + _listing_indexes("demand_listing", "max_delivered_price_yuan_per_t")
    side = "demand"

    min_grade: Mapped[str | None] = mapped_column(String(20))
    #: {parameter code: {"min": value, "max": value}} with either bound optional; decimal strings.
    quality_limits: Mapped[dict] = mapped_column(JSON, default=dict)
    max_delivered_price_yuan_per_t: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: What the utiliser does with the waste (USES); some uses earn no subsidy (mine backfill, ...).
    use: Mapped[str] = mapped_column(String(30), default="other", server_default="other")

    def __repr__(self) -> str:
        return f"<DemandListing {self.id} {self.status.value} {self.tonnes} t>"


class ListingEvent(db.Model):
    """The history of a listing: every creation, change and status move, with what changed."""

    __tablename__ = "listing_event"
    __table_args__ = (
        CheckConstraint("(supply_listing_id IS NULL) <> (demand_listing_id IS NULL)", name="one_listing"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supply_listing_id: Mapped[int | None] = mapped_column(ForeignKey("supply_listing.id"), index=True)
    demand_listing_id: Mapped[int | None] = mapped_column(ForeignKey("demand_listing.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(30))
    #: {field: [old, new]} for changes; the whole record for a creation.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<ListingEvent {self.action} at {self.at}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… of user {self.user_id}>"
