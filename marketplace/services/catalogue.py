"""Reading the materials catalogue."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Material


def materials() -> list[Material]:
    """Every material with its grades and parameters, in catalogue order."""
    return list(db.session.scalars(
        select(Material).options(selectinload(Material.grades), selectinload(Material.parameters))
        .order_by(Material.id)
    ))


def material_by_code(code: str) -> Material | None:
    return db.session.scalar(select(Material).where(Material.code == code))
