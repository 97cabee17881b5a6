"""The freight tariff: the operator publishes versions; every round records the version it priced with."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import policy
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models import TariffVersion, User
from ..schemas.common import validate
from ..schemas.tariff import FIGURES, PER_MATERIAL, TariffOut, TariffVersionIn
from . import audit


def tariff_in_force() -> TariffVersion:
    # version 1 comes with the migrations: there is always one
    return db.session.scalars(select(TariffVersion).order_by(TariffVersion.version.desc()).limit(1)).one()


#: The figures a tariff version holds (schemas/tariff.py says what each may be); and those given per material.
TARIFF_FIELDS = FIGURES
MATERIAL_FIELDS = PER_MATERIAL


def set_tariff(actor: User, data: dict) -> TariffVersion:
    """The operator publishes a new tariff version; rounds record the version they used."""
    if not policy.may_edit_tariff(actor):
        raise PermissionDenied(_l("Only the operator edits the tariff."))
    values = validate(TariffVersionIn, data).model_dump()
    values["min_train_t"] = values["min_train_t"] or 0
    # stored as JSON: a value as its exact decimal text, a payload as whole tonnes; by code, sorted
    values["value_yuan_per_t"] = {code: str(v) for code, v in sorted(values["value_yuan_per_t"].items())}
    values["payload_t"] = dict(sorted(values["payload_t"].items()))
    if (values["rail_fixed_yuan_per_t"] is None) != (values["rail_yuan_per_t_km"] is None):
        raise ValidationError(_l("Rail needs both its fixed charge and its rate per tonne-km, or neither."),
                              field="rail_yuan_per_t_km")
    current = tariff_in_force()
    tariff = TariffVersion(version=(current.version + 1) if current else 1, created_by_id=actor.id, **values)
    db.session.add(tariff)
    db.session.flush()
    audit.record(actor, "tariff.version", tariff, {"version": tariff.version, **values})
    return tariff


def tariff_json(t: TariffVersion) -> dict:
    out = {"road_yuan_per_t_km": str(t.road_yuan_per_t_km), "handling_yuan_per_t": str(t.handling_yuan_per_t),
           "circuity": float(t.circuity), "co2_kg_per_t_km": float(t.co2_kg_per_t_km),
           "rail_co2_kg_per_t_km": float(t.rail_co2_kg_per_t_km)}
    if t.rail_fixed_yuan_per_t is not None and t.rail_yuan_per_t_km is not None:
        out.update(rail_fixed_yuan_per_t=str(t.rail_fixed_yuan_per_t), rail_yuan_per_t_km=str(t.rail_yuan_per_t_km))
    # the optimiser's per-material figures, only when set (its strict format: no cap = left out)
    if t.value_yuan_per_t:
        out["value_yuan_per_t"] = {code: str(v) for code, v in t.value_yuan_per_t.items()}
    if t.payload_t:
        out["payload_t"] = {code: int(v) for code, v in t.payload_t.items()}
    if t.min_train_t:
        out["min_train_t"] = t.min_train_t
    return out


def tariff_out(t: TariffVersion) -> TariffOut:
    return TariffOut(version=t.version, road_yuan_per_t_km=t.road_yuan_per_t_km,
                     handling_yuan_per_t=t.handling_yuan_per_t, circuity=t.circuity,
                     rail_fixed_yuan_per_t=t.rail_fixed_yuan_per_t, rail_yuan_per_t_km=t.rail_yuan_per_t_km,
                     co2_kg_per_t_km=t.co2_kg_per_t_km, rail_co2_kg_per_t_km=t.rail_co2_kg_per_t_km,
                     proposal_lifetime_hours=t.proposal_lifetime_hours,
                     value_yuan_per_t={code: Decimal(v) for code, v in (t.value_yuan_per_t or {}).items()},
                     payload_t={code: int(v) for code, v in (t.payload_t or {}).items()},
                     min_train_t=t.min_train_t, note=t.note, created_at=t.created_at)
