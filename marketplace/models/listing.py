"""Supply and demand listings: what producers offer and what utilisers need, for a period.

Field names follow the optimiser's contract (matching/): `tonnes`, `price_yuan_per_t`, `max_haul_km`,
`quality`; `min_grade`, `max_delivered_price_yuan_per_t`, `quality_limits`, so that a listing becomes a
matching record without translation."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    and_,
    event,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from ..clock import today_cst
from ..extensions import Model
from .organisation import utcnow, value_enum

if TYPE_CHECKING:
    from .catalogue import Material
    from .organisation import Organisation, User
    from .site import Site


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTLY_MATCHED = "partly_matched"
    FULLY_MATCHED = "fully_matched"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class Use(enum.StrEnum):
    """What utilisers do with the waste; the subsidy scheme's exclusions name some of these."""

    CEMENT = "cement"
    CONCRETE = "concrete"
    BRICKS_BLOCKS = "bricks_blocks"
    PLASTERBOARD = "plasterboard"
    ROAD_BASE = "road_base"
    MINE_BACKFILL = "mine_backfill"
    GANGUE_POWER = "gangue_power"
    OTHER = "other"


#: The uses' stored values, in the order forms offer them.
USES = tuple(use.value for use in Use)

#: Statuses in which a listing takes part in the market (browse, matching).
LIVE_STATUSES = (ListingStatus.OPEN, ListingStatus.PARTLY_MATCHED)
#: Statuses that the end of the listing's period turns into "expired".
EXPIRING_STATUSES = (ListingStatus.DRAFT, *LIVE_STATUSES)


# --- expiry is a condition of every read, never a write of a read ---------------------------------------
# A listing whose period has ended (China Standard Time) *is* expired, whether or not the scheduled job
# (marketplace/jobs.py) has stored it yet: queries filter with `live()` / `status_is()`, and a loaded
# listing shows its effective status (`_effective_status`, without marking the row changed). So every page
# and the API answer the same before and after the job has run, and a GET never writes.

def live(model: Any) -> ColumnElement[bool]:
    """SQL: the listing takes part in the market today (a live status and a period not yet ended)."""
    condition: ColumnElement[bool] = and_(model.status.in_(LIVE_STATUSES), model.period_end >= today_cst())
    return condition


def status_is(model: Any, status: ListingStatus) -> ColumnElement[bool]:
    """SQL: the listing's effective status is `status` (see above)."""
    if status == ListingStatus.EXPIRED:
        return or_(model.status == ListingStatus.EXPIRED,
                   and_(model.status.in_(EXPIRING_STATUSES), model.period_end < today_cst()))
    if status in EXPIRING_STATUSES:
        return and_(model.status == status, model.period_end >= today_cst())
    return model.status == status


def effective_status(status: ListingStatus, period_end: date) -> ListingStatus:
    return ListingStatus.EXPIRED if status in EXPIRING_STATUSES and period_end < today_cst() else status


def _listing_checks() -> tuple:
    """The same rules on both sides of the market (each table needs its own constraint objects)."""
    return (
        CheckConstraint("tonnes > 0", name="tonnes_positive"),
        CheckConstraint("tonnes_promised >= 0 AND tonnes_promised <= tonnes", name="promised_within_tonnes"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("max_haul_km > 0", name="haul_positive"),
        # the yard or silo (issue #14): stock within capacity, nothing negative
        CheckConstraint("storage_capacity_t IS NULL OR storage_capacity_t > 0", name="storage_capacity_positive"),
        CheckConstraint("storage_stock_t IS NULL OR (storage_stock_t >= 0 AND storage_capacity_t IS NOT NULL "
                        "AND storage_stock_t <= storage_capacity_t)", name="storage_stock_within"),
        CheckConstraint("holding_yuan_per_t_month IS NULL OR holding_yuan_per_t_month >= 0",
                        name="holding_nonneg"),
    )


def _listing_indexes(table: str, price: str) -> tuple[Index, ...]:
    """Indexes for the browse page's filters and sorts (each sort ends on the id, as the queries do)."""
    return (
        Index(f"ix_{table}_site_id", "site_id"),
        # live listings (status and period end): every browse page counts them from the index alone
        Index(f"ix_{table}_status_period_end", "status", "period_end"),
        Index(f"ix_{table}_material_status", "material_id", "status"),
        Index(f"ix_{table}_price_id", price, "id"),
        Index(f"ix_{table}_tonnes_id", "tonnes", "id"),
        # the tonnes still free: the dashboard's largest unmatched supplies, the "at least N t" filter
        Index(f"ix_{table}_remaining", text("(tonnes - tonnes_promised)")),
    )


class ListingMixin:
    """Columns and behaviour shared by both sides of the market."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[ListingStatus] = mapped_column(value_enum(ListingStatus, "listing_status"),
                                                  default=ListingStatus.DRAFT)
    #: Whole tonnes for the period; `tonnes_promised` of them are already in agreements (never more).
    tonnes: Mapped[int] = mapped_column(Integer)
    tonnes_promised: Mapped[int] = mapped_column(Integer, default=0)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    max_haul_km: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Whole tonnes per calendar month, January first (12 values): what the listing makes available (supply)
    #: or can use (demand; 0 in a stopped month) in each month of its period; None: spread evenly.
    monthly_tonnes: Mapped[list[int] | None] = mapped_column(JSON)
    #: The yard or silo the listing draws from (supply) or fills (demand): capacity, stock now, holding cost.
    storage_capacity_t: Mapped[int | None] = mapped_column(Integer)
    storage_stock_t: Mapped[int | None] = mapped_column(Integer)
    holding_yuan_per_t_month: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
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
    def organisation(cls) -> Mapped[Organisation]:
        return relationship("Organisation")

    @declared_attr
    def site(cls) -> Mapped[Site]:
        return relationship("Site")

    @declared_attr
    def material(cls) -> Mapped[Material]:
        return relationship("Material")

    @property
    def tonnes_remaining(self) -> int:
        return self.tonnes - (self.tonnes_promised or 0)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class SupplyListing(ListingMixin, Model):
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


#: The other materials a demand accepts besides its own (a cement works taking fly ash or slag): one tonnage,
#: served by any mix of them.
demand_listing_material = Table(
    "demand_listing_material", Model.metadata,
    Column("demand_listing_id", ForeignKey("demand_listing.id", ondelete="CASCADE"), primary_key=True),
    Column("material_id", ForeignKey("material.id"), primary_key=True),
)


class DemandListing(ListingMixin, Model):
    __tablename__ = "demand_listing"
    __table_args__ = _listing_checks() + _listing_indexes("demand_listing", "max_delivered_price_yuan_per_t")
    side = "demand"

    min_grade: Mapped[str | None] = mapped_column(String(20))
    #: {parameter code: {"min": value, "max": value}} with either bound optional; decimal strings.
    quality_limits: Mapped[dict] = mapped_column(JSON, default=dict)
    max_delivered_price_yuan_per_t: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: What the utiliser does with the waste (USES); some uses earn no subsidy (mine backfill, ...).
    use: Mapped[Use] = mapped_column(value_enum(Use, "use", length=30), default=Use.OTHER, server_default="other")
    #: Alternatives to `material`, accepted as well (never `material` itself); ordered by code.
    also_materials: Mapped[list[Material]] = relationship("Material", secondary=demand_listing_material,
                                                          order_by="Material.code")

    @property
    def materials(self) -> list[Material]:
        """Every material the demand accepts, its own first."""
        return [self.material, *self.also_materials]

    def __repr__(self) -> str:
        return f"<DemandListing {self.id} {self.status.value} {self.tonnes} t>"


def _effective_status(target: Any, *args: Any) -> None:
    """On load and refresh: an ended period shows as expired; the row is not marked changed (no UPDATE)."""
    state = target.__dict__
    if "status" in state and "period_end" in state:
        shown = effective_status(state["status"], state["period_end"])
        if shown is not state["status"]:
            set_committed_value(target, "status", shown)


for _model in (SupplyListing, DemandListing):
    event.listen(_model, "load", _effective_status)
    event.listen(_model, "refresh", _effective_status)


#: A listing of either side, and either side's model class.
AnyListing: TypeAlias = SupplyListing | DemandListing
ListingModel: TypeAlias = type[SupplyListing] | type[DemandListing]


class ListingEvent(Model):
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

    user: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return f"<ListingEvent {self.action} at {self.at}>"


class ApiToken(Model):
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

    user: Mapped[User] = relationship("User")

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… of user {self.user_id}>"
