"""The freight tariff: the operator publishes versions; every round records the version it priced with."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import policy
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models import TariffVersion, User
from . import audit
from .values import parse_decimal, parse_int, parse_text


def tariff_in_force() -> TariffVersion:
    # version 1 comes with the migrations: there is always one
    return db.session.scalars(select(TariffVersion).order_by(TariffVersion.version.desc()).limit(1)).one()


TARIFF_FIELDS = {
    # field: (decimal places, minimum, maximum, required)
    "road_yuan_per_t_km": (4, Decimal("0.0001"), Decimal("100"), True),
    "handling_yuan_per_t": (2, Decimal("0"), Decimal("1000"), True),
    "circuity": (3, Decimal("1"), Decimal("3"), True),
    "rail_fixed_yuan_per_t": (2, Decimal("0"), Decimal("1000"), False),
    "rail_yuan_per_t_km": (4, Decimal("0"), Decimal("100"), False),
    "co2_kg_per_t_km": (4, Decimal("0"), Decimal("10"), True),
    "rail_co2_kg_per_t_km": (4, Decimal("0"), Decimal("10"), True),
}


def set_tariff(actor: User, data: dict) -> TariffVersion:
    """The operator publishes a new tariff version; rounds record the version they used."""
    if not policy.may_edit_tariff(actor):
        raise PermissionDenied(_l("Only the operator edits the tariff."))
    values: dict = {}
    for name, (places, low, high, required) in TARIFF_FIELDS.items():
        raw = data.get(name)
        if raw in (None, ""):
            if required:
                raise ValidationError(_l("This field is required."), field=name)
            values[name] = None
            continue
        values[name] = parse_decimal(raw, name, places, low, high)
    if (values["rail_fixed_yuan_per_t"] is None) != (values["rail_yuan_per_t_km"] is None):
        raise ValidationError(_l("Rail needs both its fixed charge and its rate per tonne-km, or neither."),
                              field="rail_yuan_per_t_km")
    values["proposal_lifetime_hours"] = parse_int(data.get("proposal_lifetime_hours"), "proposal_lifetime_hours",
                                                  1, 24 * 60)
    values["note"] = parse_text(data.get("note"), "note", 500)
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
    return out
