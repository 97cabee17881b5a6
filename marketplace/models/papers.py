"""Reference data the papers (issue #15) compute with, versioned like the subsidy scheme: factors with their
source (environmental protection tax rates, the CO2 method) and the VAT refund catalogue's rows."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model


class ReferenceFactor(Model):
    """One value of a published rule, e.g. `env_tax.fly_ash` = 25 yuan/t or `co2.clinker` = 0.808 t/t.
    A change is a new version of the key; a paper uses the newest version in force on its period's last day."""

    __tablename__ = "reference_factor"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_reference_factor_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)

    def __repr__(self) -> str:
        return f"<ReferenceFactor {self.key} v{self.version} {self.value} {self.unit}>"


class VatCatalogueRow(Model):
    """A row of the resource comprehensive utilisation VAT catalogue: a product made from listed wastes with at
    least `min_waste_pct` % of its raw materials from them earns a refund of `refund_pct` % of its VAT."""

    __tablename__ = "vat_catalogue_row"
    __table_args__ = (UniqueConstraint("version", "code", name="uq_vat_catalogue_row_version_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    product_zh: Mapped[str] = mapped_column(String(300))
    product_en: Mapped[str] = mapped_column(String(300))
    #: material codes of the catalogue whose tonnes count as the listed waste, comma-separated
    materials: Mapped[str] = mapped_column(String(300))
    min_waste_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    refund_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    condition: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(300))
    effective_from: Mapped[date] = mapped_column(Date)

    def product(self, locale: str | None) -> str:
        return self.product_en if (locale or "").startswith("en") else self.product_zh

    def __repr__(self) -> str:
        return f"<VatCatalogueRow v{self.version} {self.code} >={self.min_waste_pct}%>"


class ProductLine(Model):
    """A utiliser's product line under a row of the VAT catalogue (e.g. its 42.5 cement), for its tax evidence."""

    __tablename__ = "product_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: VatCatalogueRow.code
    vat_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    months: Mapped[list[ProductionMonth]] = relationship(back_populates="line", order_by="ProductionMonth.month")

    def __repr__(self) -> str:
        return f"<ProductLine {self.id} {self.vat_code}>"


class ProductionMonth(Model):
    """A product line's month as the utiliser declares it: all raw materials in, the listed waste it says it used,
    and the output. The platform proves the waste from its ledger receipts, never from this figure alone."""

    __tablename__ = "production_month"
    __table_args__ = (
        UniqueConstraint("line_id", "month", name="uq_production_month_line_month"),
        CheckConstraint("raw_input_t > 0", name="raw_input_positive"),
        CheckConstraint("waste_input_t >= 0 AND waste_input_t <= raw_input_t", name="waste_within_input"),
        CheckConstraint("output_t >= 0", name="output_nonneg"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("product_line.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    raw_input_t: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    waste_input_t: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    output_t: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    line: Mapped[ProductLine] = relationship(back_populates="months")


class Co2Certificate(Model):
    """Avoided CO2 of an agreement (or of an organisation's year), issued once with the figures, the ledger
    entries it counts and the signed checkpoint covering them. `token` is the public, unguessable id."""

    __tablename__ = "co2_certificate"
    __table_args__ = (CheckConstraint("agreement_id IS NOT NULL OR organisation_id IS NOT NULL", name="scope_set"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    #: "agreement" or "year"
    scope: Mapped[str] = mapped_column(String(10))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    material: Mapped[str] = mapped_column(String(200))
    tonnes: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    avoided_t: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    transport_t: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    net_t: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    #: the method and its factors with their sources, as used
    method: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the ledger entries counted (seq list) and SHA-256 over their chain hashes in seq order
    entry_seqs: Mapped[list[int]] = mapped_column(JSON)
    entries_digest: Mapped[str] = mapped_column(String(64))
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoint.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    checkpoint = relationship("LedgerCheckpoint")

    def __repr__(self) -> str:
        return f"<Co2Certificate {self.id} {self.scope} {self.year} {self.net_t} t>"


class Co2CertifiedEntry(Model):
    """Each ledger entry a CO2 certificate counts, once: the primary key makes "a delivery's CO2 is certified
    once" a rule of the database (two certificates issued at the same moment cannot both count an entry)."""

    __tablename__ = "co2_certified_entry"

    entry_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("co2_certificate.id"), index=True)
