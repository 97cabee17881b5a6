"""The materials catalogue: general industrial solid waste traded on the exchange."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model


def in_language(name_zh: str, name_en: str, locale: str | None) -> str:
    """A catalogue name (kept in both languages) in the page's: English for an English locale, else Chinese."""
    return name_en if (locale or "").startswith("en") else name_zh


class Material(Model):
    __tablename__ = "material"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    standard: Mapped[str | None] = mapped_column(String(100))
    #: Environmental protection tax a producer avoids per tonne utilised instead of stored.
    env_tax_yuan_per_t: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    #: Category code of general industrial solid waste (GB/T 39198-2020 / MEE 2021 ledger guide, e.g. SW02).
    waste_code: Mapped[str | None] = mapped_column(String(20))

    grades: Mapped[list[MaterialGrade]] = relationship(
        back_populates="material", order_by="MaterialGrade.rank"
    )
    parameters: Mapped[list[MaterialParameter]] = relationship(
        back_populates="material", order_by="MaterialParameter.position"
    )

    def name(self, locale: str | None) -> str:
        return in_language(self.name_zh, self.name_en, locale)

    @property
    def grade_codes(self) -> list[str]:
        """Grades best first."""
        return [g.code for g in self.grades]

    def __repr__(self) -> str:
        return f"<Material {self.code}>"


class MaterialGrade(Model):
    """A grade of a material; rank 1 is the best."""

    __tablename__ = "material_grade"
    __table_args__ = (
        UniqueConstraint("material_id", "code"),
        UniqueConstraint("material_id", "rank", name="uq_material_grade_material_rank"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    code: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)

    material: Mapped[Material] = relationship(back_populates="grades")

    def __repr__(self) -> str:
        return f"<MaterialGrade {self.code} #{self.rank}>"


class MaterialParameter(Model):
    """A quality parameter measured in trade (e.g. loss on ignition, %)."""

    __tablename__ = "material_parameter"
    __table_args__ = (UniqueConstraint("material_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    code: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)

    material: Mapped[Material] = relationship(back_populates="parameters")

    def name(self, locale: str | None) -> str:
        return in_language(self.name_zh, self.name_en, locale)

    def __repr__(self) -> str:
        return f"<MaterialParameter {self.code} [{self.unit}]>"
