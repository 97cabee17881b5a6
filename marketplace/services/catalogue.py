"""Reading the materials catalogue.

The catalogue (materials, their grades and quality parameters) is reference data: the migrations seed and
change it, no request does. So a process reads it once, on first use, into a frozen snapshot that all its
requests share: it was four statements and about a hundred ORM objects on every page that names a material
(issue #17). A deployment migrates before it starts the web processes (`make serve`, the Docker image), so
their snapshot is current for their whole life.

A process that writes catalogue rows itself (a test, a shell) is not misled: a flush that writes one drops
the snapshot and marks the session, which then reads the catalogue afresh, and keeps no snapshot, until its
transaction ends (committed or rolled back), when the snapshot is dropped again."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session, selectinload

from ..extensions import db
from ..models import Material, MaterialGrade, MaterialParameter
from ..models.catalogue import in_language

_CHANGED = "catalogue_changed"  # the session's info key: it flushed catalogue rows in this transaction


@dataclass(frozen=True)
class Grade:
    code: str
    rank: int


@dataclass(frozen=True)
class Parameter:
    code: str
    name_zh: str
    name_en: str
    unit: str
    position: int

    def name(self, locale: str | None) -> str:
        return in_language(self.name_zh, self.name_en, locale)


@dataclass(frozen=True)
class CatalogueMaterial:
    """A material as the catalogue has it, with its grades (best first) and parameters (in order)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    standard: str | None
    env_tax_yuan_per_t: Decimal
    waste_code: str | None
    grades: tuple[Grade, ...]
    parameters: tuple[Parameter, ...]

    def name(self, locale: str | None) -> str:
        return in_language(self.name_zh, self.name_en, locale)

    @property
    def grade_codes(self) -> list[str]:
        """Grades best first."""
        return [g.code for g in self.grades]


def _read() -> tuple[CatalogueMaterial, ...]:
    rows = db.session.scalars(select(Material).options(selectinload(Material.grades),
                                                       selectinload(Material.parameters)).order_by(Material.id))
    return tuple(CatalogueMaterial(
        id=m.id, code=m.code, name_zh=m.name_zh, name_en=m.name_en, standard=m.standard,
        env_tax_yuan_per_t=m.env_tax_yuan_per_t, waste_code=m.waste_code,
        grades=tuple(Grade(g.code, g.rank) for g in m.grades),
        parameters=tuple(Parameter(p.code, p.name_zh, p.name_en, p.unit, p.position) for p in m.parameters))
        for m in rows)


def materials() -> tuple[CatalogueMaterial, ...]:
    """Every material with its grades and parameters, in catalogue order (the process's snapshot)."""
    if db.session.info.get(_CHANGED):  # this transaction wrote the catalogue: read what it sees
        return _read()
    store = current_app.extensions.setdefault("catalogue", {})
    snapshot = store.get("materials")
    if snapshot is None:  # two threads may both read it: the first to store it wins, both are the same
        snapshot = store.setdefault("materials", _read())
    return snapshot


def names() -> dict[str, tuple[str, str]]:
    """Material code -> (Chinese name, English name), from the snapshot."""
    return {m.code: (m.name_zh, m.name_en) for m in materials()}


def forget() -> None:
    """Drop this app's snapshot: the next reader takes a new one."""
    if has_app_context():
        current_app.extensions.get("catalogue", {}).pop("materials", None)


def material_by_code(code: str) -> Material | None:
    return db.session.scalar(select(Material).where(Material.code == code))


def _wrote(_mapper: Any, _connection: Any, row: Any) -> None:
    """A catalogue row was inserted, updated or deleted by a flush: mark its session, drop the snapshot."""
    session = object_session(row)
    if session is not None:
        session.info[_CHANGED] = True
    forget()


for _cls in (Material, MaterialGrade, MaterialParameter):  # mapper events: no other flush pays for this
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_cls, _name, _wrote)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _ended(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        forget()
