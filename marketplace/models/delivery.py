"""Shipments against agreements (one weighbridge ticket per truck) and the utilisation ledger."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .organisation import value_enum

if TYPE_CHECKING:
    from .matching import Agreement


class ShipmentStatus(enum.StrEnum):
    #: weighed out at the producer; the utiliser has not yet confirmed its own net weight
    DISPATCHED = "dispatched"
    #: the utiliser confirmed (once, never twice); the ledger counts it
    CONFIRMED = "confirmed"


class LedgerKind(enum.StrEnum):
    UTILISATION = "utilisation"
    #: a correction: it cancels an earlier entry, with a reason
    REVERSAL = "reversal"


class Shipment(Model):
    """A truck's weighbridge ticket (过磅单) at the producer, and the utiliser's receipt of it."""

    __tablename__ = "shipment"
    __table_args__ = (
        UniqueConstraint("producer_org_id", "ticket_no", name="uq_shipment_producer_ticket"),
        CheckConstraint("gross_kg > tare_kg AND tare_kg > 0", name="weights_order"),
        CheckConstraint("net_kg = gross_kg - tare_kg", name="net_is_gross_minus_tare"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    ticket_no: Mapped[str] = mapped_column(String(40))
    truck_plate: Mapped[str] = mapped_column(String(12), index=True)
    dispatched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    gross_kg: Mapped[int] = mapped_column(Integer)
    tare_kg: Mapped[int] = mapped_column(Integer)
    net_kg: Mapped[int] = mapped_column(Integer)
    moisture_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: "dispatched" until the utiliser confirms its own net weight, then "confirmed" (once, never twice)
    status: Mapped[ShipmentStatus] = mapped_column(value_enum(ShipmentStatus, "status"),
                                                   default=ShipmentStatus.DISPATCHED, index=True)
    received_net_kg: Mapped[int | None] = mapped_column(Integer)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agreement: Mapped[Agreement] = relationship("Agreement")

    @property
    def counted_kg(self) -> int | None:
        """What the ledger counts: the smaller of the two net weights (never more than either party saw)."""
        if self.received_net_kg is None:
            return None
        return min(self.net_kg, self.received_net_kg)

    def __repr__(self) -> str:
        return f"<Shipment {self.ticket_no} {self.net_kg} kg {self.status}>"


class LedgerHead(Model):
    """One row: the last entry's sequence number and hash. Appending moves it by a conditional update,
    so two confirmations at once can never fork the chain."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class LedgerEntry(Model):
    """An append-only record of utilised tonnes, chained by SHA-256 over every column but `hash` (see
    services/ledger.py). Never updated or deleted (on PostgreSQL a trigger refuses both): a correction is a
    new entry that reverses an earlier one, with a reason."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # the ledger page's filters, each newest first (by seq); ticket numbers by prefix (LIKE 'x%')
        Index("ix_ledger_entry_material_seq", "material", "seq"),
        Index("ix_ledger_entry_ticket_no", "ticket_no", postgresql_ops={"ticket_no": "varchar_pattern_ops"}),
        Index("ix_ledger_entry_dispatched_at", "dispatched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[LedgerKind] = mapped_column(value_enum(LedgerKind, "kind"))
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    material: Mapped[str] = mapped_column(String(40))
    #: kilograms, negative in a reversal
    net_kg: Mapped[int] = mapped_column(Integer)
    ticket_no: Mapped[str] = mapped_column(String(40))
    dispatched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the canonical form the hash was computed over (services/ledger.py FORMAT_VERSION)
    format_version: Mapped[int] = mapped_column(SmallInteger, server_default="2")

    shipment: Mapped[Shipment] = relationship("Shipment")

    @property
    def tonnes(self) -> Decimal:
        return Decimal(self.net_kg) / 1000

    def __repr__(self) -> str:
        return f"<LedgerEntry #{self.seq} {self.kind} {self.net_kg} kg>"


class LedgerCheckpoint(Model):
    """The platform's signed statement that the ledger's first `seq` entries have the Merkle tree head `root`
    (RFC 9162), at `time`. Anyone who keeps a copy can later prove that entries were changed or removed."""

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    #: hex SHA-256 Merkle tree head over entries 1..seq
    root: Mapped[str] = mapped_column(String(64))
    #: the UTC time exactly as signed, e.g. 2026-12-01T03:00:00.000000Z
    time: Mapped[str] = mapped_column(String(32))
    #: base64 Ed25519 signature over the canonical JSON {"root", "seq", "time"}
    signature: Mapped[str] = mapped_column(String(100))
    #: hex SHA-256 of the raw public key, so a reader knows which key signed
    key_id: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    def __repr__(self) -> str:
        return f"<LedgerCheckpoint {self.id} seq={self.seq}>"


class LedgerCheck(Model):
    """A verification of the whole chain asked for on the ledger page, run by the job worker (it reads every
    entry: tens of seconds at a million entries, longer than a web request may take). Running while
    `finished_at` is empty."""

    __tablename__ = "ledger_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool | None] = mapped_column(Boolean)
    entries: Mapped[int | None] = mapped_column(BigInteger)
    first_bad_seq: Mapped[int | None] = mapped_column(BigInteger)
    problem: Mapped[str] = mapped_column(Text, default="")
