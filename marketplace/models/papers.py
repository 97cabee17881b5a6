"""Reference data the papers (issue #15) compute with, versioned like the subsidy scheme: factors with their
source (environmental protection tax rates, the CO2 method) and the VAT refund catalogue's rows."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ReferenceFactor(db.Model):
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


class VatCatalogueRow(db.Model):
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
