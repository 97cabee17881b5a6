"""Matching rounds, their proposals, and the agreements two parties make from them; the tariff the
optimiser prices transport with, versioned."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    and_,
    event,
    false,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..clock import utcnow
from ..extensions import Model
from .listing import Use
from .organisation import value_enum

if TYPE_CHECKING:
    from .catalogue import Material
    from .listing import DemandListing, SupplyListing
    from .organisation import Organisation, User
    from .seasonal import ProposalMonth


class TariffVersion(Model):
    """Road and rail freight, handling, circuity and CO2 factors; the newest version is in force."""

    __tablename__ = "tariff_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    road_yuan_per_t_km: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    handling_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    circuity: Mapped[Decimal] = mapped_column(Numeric(5, 3))
    rail_fixed_yuan_per_t: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    rail_yuan_per_t_km: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    co2_kg_per_t_km: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    rail_co2_kg_per_t_km: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    proposal_lifetime_hours: Mapped[int] = mapped_column(Integer)
    #: {material code: decimal text}: what one tonne moved is worth to a `net_value` round (the optimiser
    #: values a material left out at its avoided environmental tax).
    value_yuan_per_t: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    #: {material code: whole tonnes}: one truckload, for rounds in whole truckloads (left out: 32 t).
    payload_t: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    #: The least a rail pairing carries (0: no minimum); below it the pair goes by road.
    min_train_t: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    created_by: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return f"<TariffVersion v{self.version}>"


class RoundScope(enum.StrEnum):
    #: the whole market, started by the operator or a regulator
    MARKET = "market"
    #: a private round for one demand listing (the consumer's *Find matches*)
    DEMAND = "demand"
    #: a private round for one supply listing
    SUPPLY = "supply"


class Objective(enum.StrEnum):
    """What a round optimises (matching.options.OBJECTIVES)."""

    #: the most tonnes, then the least transport cost (policy rounds)
    MAX_TONNES = "max_tonnes"
    #: the most value of the tonnes moved minus their transport cost: no tonne moves at a loss
    NET_VALUE = "net_value"
    #: the most tonnes, then the least delivered cost (ex-works price + transport), what buyers pay
    DELIVERED_COST = "delivered_cost"


class TransportMode(enum.StrEnum):
    ROAD = "road"
    RAIL = "rail"


class Decision(enum.StrEnum):
    """One party's answer to a proposal (None until it answers)."""

    ACCEPTED = "accepted"
    DECLINED = "declined"


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    AGREED = "agreed"
    DECLINED = "declined"
    EXPIRED = "expired"
    #: Both accepted, but a listing no longer had the tonnes (another deal came first).
    LAPSED = "lapsed"
    #: Its listing was withdrawn or changed before both parties accepted.
    WITHDRAWN = "withdrawn"


class RoundStatus(enum.StrEnum):
    """Where a round is: waiting for a worker, one of its three phases, or finished one way or another."""
    QUEUED = "queued"
    BUILDING = "building"
    SOLVING = "solving"
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: A worker is on it: a cancel request stops it at the next phase boundary.
RUNNING_ROUND = (RoundStatus.BUILDING, RoundStatus.SOLVING, RoundStatus.WRITING)
#: Nothing more happens to it.
FINISHED_ROUND = (RoundStatus.DONE, RoundStatus.FAILED, RoundStatus.CANCELLED)


class MatchRound(Model):
    """A matching round: asked for by a request, built, solved and written by a background job."""

    __tablename__ = "match_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    scope: Mapped[RoundScope] = mapped_column(value_enum(RoundScope, "scope"))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    #: What the round was asked: listing ids, options; and what went in: supplies and demands counted.
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The optimiser's options asked for (the minimum shipment and the cap per demand are in `parameters`).
    objective: Mapped[Objective] = mapped_column(value_enum(Objective, "objective"), default=Objective.MAX_TONNES,
                                                 server_default="max_tonnes")
    truckloads: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    max_partners_per_supply: Mapped[int | None] = mapped_column(Integer)
    tariff_version_id: Mapped[int] = mapped_column(ForeignKey("tariff_version.id"))
    solver_status: Mapped[str] = mapped_column(String(20), default="")
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    baseline: Mapped[dict | None] = mapped_column(JSON)
    tonnes_matched: Mapped[int] = mapped_column(Integer, default=0)
    #: How many proposals the round wrote (they are never deleted): the rounds list shows it without counting
    proposal_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    transport_cost_yuan: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))
    env_tax_avoided_yuan: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))
    co2_kg: Mapped[Decimal] = mapped_column(Numeric(16, 3), default=Decimal(0))
    #: What the buyers pay (ex-works price + transport) and what the tonnes moved are worth (the tariff's
    #: values), as the plan reports them.
    delivered_cost_yuan: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    value_yuan: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    #: The plan's marginal cost curve: [{tonnes_from, tonnes_to, cost_yuan, cost_yuan_per_t}] (matching/README.md).
    marginal_cost_curve: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[RoundStatus] = mapped_column(value_enum(RoundStatus, "round_status"),
                                                default=RoundStatus.QUEUED, server_default="done", index=True)
    #: Why a round failed: a code for machines (services/rounds.py ROUND_ERRORS gives people its words).
    error: Mapped[str | None] = mapped_column(String(40))
    #: The technical detail of a failure (the optimiser's own message), for the operator.
    error_detail: Mapped[str | None] = mapped_column(String(500))
    #: The queue's task id, to revoke a round still queued.
    job_id: Mapped[str | None] = mapped_column(String(64))
    #: Someone asked to cancel a running round: it stops at the next phase boundary.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    building_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solving_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    writing_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    started_by: Mapped[User] = relationship("User")
    tariff: Mapped[TariffVersion] = relationship("TariffVersion")
    proposals: Mapped[list[Proposal]] = relationship(back_populates="round", order_by="Proposal.id")

    def __repr__(self) -> str:
        return f"<MatchRound {self.id} {self.scope} {self.status.value} {self.tonnes_matched} t>"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_ROUND


class Proposal(Model):
    """One pairing of a round, offered to its producer and its consumer."""

    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint("tonnes > 0", name="tonnes_positive"),
        # a round's proposals a page at a time (its page, the API) and its largest (its map): a market round
        # makes tens of thousands, among all the rounds' others
        Index("ix_proposal_round_id_id", "round_id", "id"),
        Index("ix_proposal_round_id_tonnes", "round_id", "tonnes"),
        # the proposals awaiting an organisation's decision (every page's menu counts them)
        Index("ix_proposal_producer_org_id_status", "producer_org_id", "status"),
        Index("ix_proposal_consumer_org_id_status", "consumer_org_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("match_round.id"))
    supply_listing_id: Mapped[int] = mapped_column(ForeignKey("supply_listing.id"), index=True)
    demand_listing_id: Mapped[int] = mapped_column(ForeignKey("demand_listing.id"), index=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    tonnes: Mapped[int] = mapped_column(Integer)
    distance_km: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    mode: Mapped[TransportMode] = mapped_column(value_enum(TransportMode, "mode", length=10))
    price_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    transport_cost_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    delivered_price_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    env_tax_avoided_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    co2_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    status: Mapped[ProposalStatus] = mapped_column(value_enum(ProposalStatus, "proposal_status"),
                                                   default=ProposalStatus.PENDING, index=True)
    producer_decision: Mapped[Decision | None] = mapped_column(value_enum(Decision, "producer_decision", length=10))
    producer_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    producer_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consumer_decision: Mapped[Decision | None] = mapped_column(value_enum(Decision, "consumer_decision", length=10))
    consumer_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    consumer_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    round: Mapped[MatchRound] = relationship(back_populates="proposals")
    supply_listing: Mapped[SupplyListing] = relationship("SupplyListing")
    demand_listing: Mapped[DemandListing] = relationship("DemandListing")
    agreement: Mapped[Agreement | None] = relationship(back_populates="proposal", uselist=False)
    #: A seasonal round's delivery schedule by month (empty for a single-period round).
    schedule: Mapped[list[ProposalMonth]] = relationship(back_populates="proposal", order_by="ProposalMonth.month",
                                                         lazy="selectin")

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.status.value} {self.tonnes} t>"


def proposal_status_is(status: ProposalStatus) -> ColumnElement[bool]:
    """SQL: the proposal's effective status is `status`: a pending proposal past its lifetime is expired,
    whether or not the scheduled job (marketplace/jobs.py) has stored it yet."""
    now = clock.utcnow()
    if status == ProposalStatus.EXPIRED:
        return or_(Proposal.status == ProposalStatus.EXPIRED,
                   and_(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at < now))
    if status == ProposalStatus.PENDING:
        return and_(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at >= now)
    return Proposal.status == status


def _effective_status(target: Proposal, *args: Any) -> None:
    """On load and refresh: a pending proposal past its lifetime shows as expired; the row is not marked
    changed (a read never writes)."""
    state = target.__dict__
    if state.get("status") is ProposalStatus.PENDING and state.get("expires_at") is not None \
            and clock.as_utc(state["expires_at"]) < clock.utcnow():
        set_committed_value(target, "status", ProposalStatus.EXPIRED)


event.listen(Proposal, "load", _effective_status)
event.listen(Proposal, "refresh", _effective_status)


class Agreement(Model):
    """A deal both parties accepted: the tonnes are taken from both listings, the parties see each other."""

    __tablename__ = "agreement"
    __table_args__ = (UniqueConstraint("proposal_id"), CheckConstraint("tonnes > 0", name="tonnes_positive"),
                      CheckConstraint("shipped_kg >= 0 AND shipped_kg <= tonnes * 1000", name="shipped_within"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"))
    supply_listing_id: Mapped[int] = mapped_column(ForeignKey("supply_listing.id"), index=True)
    demand_listing_id: Mapped[int] = mapped_column(ForeignKey("demand_listing.id"), index=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    tonnes: Mapped[int] = mapped_column(Integer)
    price_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    transport_cost_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    delivered_price_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    distance_km: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    mode: Mapped[TransportMode] = mapped_column(value_enum(TransportMode, "mode", length=10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    #: What the utiliser does with the waste, from its demand listing (the subsidy's exclusions need it).
    use: Mapped[Use] = mapped_column(value_enum(Use, "use", length=30), default=Use.OTHER, server_default="other")
    #: Net kilograms on the weighbridge tickets so far; never above the agreed tonnes.
    shipped_kg: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="agreement")
    supply_listing: Mapped[SupplyListing] = relationship("SupplyListing")
    demand_listing: Mapped[DemandListing] = relationship("DemandListing")
    producer: Mapped[Organisation] = relationship("Organisation", foreign_keys=[producer_org_id])
    consumer: Mapped[Organisation] = relationship("Organisation", foreign_keys=[consumer_org_id])
    material: Mapped[Material] = relationship("Material")

    def __repr__(self) -> str:
        return f"<Agreement {self.id} {self.tonnes} t>"
