"""Typed instance classes and their JSON form.

``Instance.from_json`` validates everything a solver relies on and raises
:class:`InstanceError` with a one-line message naming the record and field,
e.g. ``supplies[3] (id S4): field 'lat': 91.0 is out of range -90..90``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .catalogue import MATERIALS
from .money import scaled_int, to_decimal

Id = str | int

DEFAULT_CO2_KG_PER_T_KM = 0.1  # heavy diesel truck, kg CO2 per tonne-km
DEFAULT_RAIL_CO2_KG_PER_T_KM = 0.03  # electric/diesel freight rail mix


class InstanceError(ValueError):
    """Malformed instance; ``str(err)`` is a single line naming record and field."""


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityLimit:
    """Inclusive bounds on one quality parameter; either may be None."""

    min: float | None = None
    max: float | None = None

    def admits(self, value: float | None) -> bool:
        """A missing value never passes a limit."""
        if value is None:
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


@dataclass(frozen=True)
class Supply:
    """Open supply of one material at one site (ex-works price, whole tonnes)."""

    id: Id
    material: str
    tonnes: int
    lat: float
    lon: float
    price_yuan_per_t: Decimal
    max_haul_km: Decimal
    grade: str | None = None
    quality: Mapping[str, float] = field(default_factory=dict)
    rail: bool = False

    @property
    def price_fen(self) -> int:
        return scaled_int(self.price_yuan_per_t, 2)

    @property
    def haul_dkm(self) -> int:
        """Longest allowed haul in whole 0.1 km (floor: a limit never grows)."""
        return math.floor(self.max_haul_km.scaleb(1))


@dataclass(frozen=True)
class Demand:
    """Open demand for one material at one site."""

    id: Id
    material: str
    tonnes: int
    lat: float
    lon: float
    max_haul_km: Decimal
    min_grade: str | None = None
    max_delivered_price_yuan_per_t: Decimal | None = None
    quality_limits: Mapping[str, QualityLimit] = field(default_factory=dict)
    rail: bool = False

    @property
    def max_delivered_fen(self) -> int | None:
        p = self.max_delivered_price_yuan_per_t
        return None if p is None else scaled_int(p, 2)

    @property
    def haul_dkm(self) -> int:
        return math.floor(self.max_haul_km.scaleb(1))


@dataclass(frozen=True)
class Tariff:
    """Transport tariff.  Rates are Decimal yuan with at most 6 decimals."""

    road_yuan_per_t_km: Decimal
    handling_yuan_per_t: Decimal
    circuity: float
    rail_fixed_yuan_per_t: Decimal | None = None
    rail_yuan_per_t_km: Decimal | None = None
    co2_kg_per_t_km: float = DEFAULT_CO2_KG_PER_T_KM
    rail_co2_kg_per_t_km: float = DEFAULT_RAIL_CO2_KG_PER_T_KM

    @property
    def has_rail(self) -> bool:
        return self.rail_fixed_yuan_per_t is not None and self.rail_yuan_per_t_km is not None

    # integer forms: cost in 1e-7 yuan/t = fixed_e7 + rate_micro * distance_dkm
    @property
    def road_micro(self) -> int:
        return scaled_int(self.road_yuan_per_t_km, 6)

    @property
    def handling_e7(self) -> int:
        return scaled_int(self.handling_yuan_per_t, 7)

    @property
    def rail_micro(self) -> int:
        assert self.rail_yuan_per_t_km is not None
        return scaled_int(self.rail_yuan_per_t_km, 6)

    @property
    def rail_fixed_e7(self) -> int:
        assert self.rail_fixed_yuan_per_t is not None
        return scaled_int(self.rail_fixed_yuan_per_t, 7)


@dataclass(frozen=True)
class Instance:
    """Open supplies and demands plus the tariff."""

    supplies: tuple[Supply, ...]
    demands: tuple[Demand, ...]
    tariff: Tariff

    @classmethod
    def from_json(cls, data: Any) -> Instance:
        """Parse and validate the JSON form (a dict as from ``json.load``)."""
        return parse_instance(data)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (money as numbers with the original decimals)."""
        return instance_to_json(self)


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------


class _Rec:
    """Reads fields of one JSON record, producing one-line errors."""

    def __init__(self, where: str, data: Any):
        if not isinstance(data, dict):
            raise InstanceError(f"{where}: expected an object, got {_tname(data)}")
        self.where = where
        self.data = data

    def fail(self, name: str, msg: str) -> InstanceError:
        return InstanceError(f"{self.where}: field '{name}': {msg}")

    def get(self, name: str, required: bool = True) -> Any:
        if name not in self.data or self.data[name] is None:
            if required:
                raise InstanceError(f"{self.where}: field '{name}' is missing")
            return None
        return self.data[name]

    def number(self, name: str, required: bool = True, lo: float | None = None,
               hi: float | None = None) -> float | None:
        v = self.get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(name, f"expected a number, got {_tname(v)} {_short(v)}")
        if not math.isfinite(v):
            raise self.fail(name, f"{v} is not a finite number")
        _range(self, name, v, lo, hi)
        return float(v)

    def decimal(self, name: str, required: bool = True, places: int = 2,
                lo: float | None = None) -> Decimal | None:
        v = self.get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float, str, Decimal)):
            raise self.fail(name, f"expected a number, got {_tname(v)} {_short(v)}")
        try:
            d = to_decimal(v)
        except (TypeError, ValueError) as exc:
            raise self.fail(name, str(exc)) from None
        _range(self, name, d, lo, None)
        try:
            scaled_int(d, places)
        except ValueError:
            raise self.fail(name, f"{v} has more than {places} decimal places") from None
        return d

    def whole(self, name: str) -> int:
        v = self.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(name, f"expected whole tonnes, got {_tname(v)} {_short(v)}")
        if isinstance(v, float) and not (math.isfinite(v) and v.is_integer()):
            raise self.fail(name, f"{v} is not a whole number of tonnes")
        if v < 0:
            raise self.fail(name, f"{v} is negative")
        return int(v)

    def text(self, name: str, required: bool = True) -> str | None:
        v = self.get(name, required)
        if v is None:
            return None
        if not isinstance(v, str):
            raise self.fail(name, f"expected a string, got {_tname(v)} {_short(v)}")
        return v

    def flag(self, name: str) -> bool:
        v = self.get(name, required=False)
        if v is None:
            return False
        if not isinstance(v, bool):
            raise self.fail(name, f"expected true or false, got {_tname(v)} {_short(v)}")
        return v


def _tname(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "integer", float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _range(rec: _Rec, name: str, v: Any, lo: Any, hi: Any) -> None:
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if hi is None:
            raise rec.fail(name, f"{v} is below the minimum {lo}")
        raise rec.fail(name, f"{v} is out of range {lo}..{hi}")


def _parse_id(rec: _Rec) -> Id:
    v = rec.get("id")
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise rec.fail("id", f"expected a string or integer, got {_tname(v)} {_short(v)}")
    if isinstance(v, str) and not v.strip():
        raise rec.fail("id", "is empty")
    return v


def _material(rec: _Rec) -> str:
    m = rec.text("material")
    assert m is not None
    if m not in MATERIALS:
        raise rec.fail("material", f"unknown material {m!r}")
    return m


def _grade(rec: _Rec, name: str, material: str) -> str | None:
    g = rec.text(name, required=False)
    if g is None:
        return None
    grades = MATERIALS[material]
    if g not in grades:
        have = ", ".join(grades) if grades else "none"
        raise rec.fail(name, f"{material} has no grade {g!r} (grades: {have})")
    return g


def _parse_supply(i: int, data: Any) -> Supply:
    where = f"supplies[{i}]"
    if isinstance(data, dict) and isinstance(data.get("id"), (str, int)):
        where += f" (id {data['id']})"
    rec = _Rec(where, data)
    sid = _parse_id(rec)
    material = _material(rec)
    quality_raw = rec.get("quality", required=False)
    quality: dict[str, float] = {}
    if quality_raw is not None:
        if not isinstance(quality_raw, dict):
            raise rec.fail("quality", f"expected an object, got {_tname(quality_raw)}")
        qrec = _Rec(where, quality_raw)
        for key in quality_raw:
            v = qrec.number(key)
            quality[str(key)] = v  # type: ignore[assignment]
    return Supply(
        id=sid,
        material=material,
        grade=_grade(rec, "grade", material),
        tonnes=rec.whole("tonnes"),
        lat=rec.number("lat", lo=-90, hi=90),  # type: ignore[arg-type]
        lon=rec.number("lon", lo=-180, hi=180),  # type: ignore[arg-type]
        price_yuan_per_t=rec.decimal("price_yuan_per_t"),  # type: ignore[arg-type]
        max_haul_km=rec.decimal("max_haul_km", places=6, lo=0),  # type: ignore[arg-type]
        quality=quality,
        rail=rec.flag("rail"),
    )


def _parse_demand(i: int, data: Any) -> Demand:
    where = f"demands[{i}]"
    if isinstance(data, dict) and isinstance(data.get("id"), (str, int)):
        where += f" (id {data['id']})"
    rec = _Rec(where, data)
    did = _parse_id(rec)
    material = _material(rec)
    limits_raw = rec.get("quality_limits", required=False)
    limits: dict[str, QualityLimit] = {}
    if limits_raw is not None:
        if not isinstance(limits_raw, dict):
            raise rec.fail("quality_limits", f"expected an object, got {_tname(limits_raw)}")
        for key, bounds in limits_raw.items():
            brec = _Rec(f"{where}: quality_limits '{key}'", bounds)
            lo = brec.number("min", required=False)
            hi = brec.number("max", required=False)
            if lo is not None and hi is not None and lo > hi:
                raise brec.fail("min", f"{lo} exceeds max {hi}")
            limits[str(key)] = QualityLimit(lo, hi)
    return Demand(
        id=did,
        material=material,
        min_grade=_grade(rec, "min_grade", material),
        tonnes=rec.whole("tonnes"),
        lat=rec.number("lat", lo=-90, hi=90),  # type: ignore[arg-type]
        lon=rec.number("lon", lo=-180, hi=180),  # type: ignore[arg-type]
        max_delivered_price_yuan_per_t=rec.decimal("max_delivered_price_yuan_per_t", required=False),
        max_haul_km=rec.decimal("max_haul_km", places=6, lo=0),  # type: ignore[arg-type]
        quality_limits=limits,
        rail=rec.flag("rail"),
    )


def _parse_tariff(data: Any) -> Tariff:
    rec = _Rec("tariff", data)
    fixed = rec.decimal("rail_fixed_yuan_per_t", required=False, places=7, lo=0)
    rate = rec.decimal("rail_yuan_per_t_km", required=False, places=6, lo=0)
    if (fixed is None) != (rate is None):
        missing = "rail_yuan_per_t_km" if rate is None else "rail_fixed_yuan_per_t"
        raise InstanceError(f"tariff: field '{missing}' is missing (rail needs both rail fields)")
    co2 = rec.number("co2_kg_per_t_km", required=False, lo=0)
    rail_co2 = rec.number("rail_co2_kg_per_t_km", required=False, lo=0)
    circuity = rec.number("circuity", lo=0)
    assert circuity is not None
    if circuity <= 0:
        raise rec.fail("circuity", f"{circuity} must be positive")
    return Tariff(
        road_yuan_per_t_km=rec.decimal("road_yuan_per_t_km", places=6, lo=0),  # type: ignore[arg-type]
        handling_yuan_per_t=rec.decimal("handling_yuan_per_t", places=7, lo=0),  # type: ignore[arg-type]
        circuity=circuity,
        rail_fixed_yuan_per_t=fixed,
        rail_yuan_per_t_km=rate,
        co2_kg_per_t_km=DEFAULT_CO2_KG_PER_T_KM if co2 is None else co2,
        rail_co2_kg_per_t_km=DEFAULT_RAIL_CO2_KG_PER_T_KM if rail_co2 is None else rail_co2,
    )


def _check_unique(kind: str, records: tuple[Any, ...]) -> None:
    # ids are compared by their string form: the CLI names them as text
    # ("--exclude S1:D2"), so 7 and "7" would be ambiguous.
    seen: dict[str, int] = {}
    for i, r in enumerate(records):
        key = str(r.id)
        if key in seen:
            raise InstanceError(
                f"{kind}[{i}] (id {r.id}): field 'id': duplicate id {r.id!r} "
                f"(also {kind}[{seen[key]}])")
        seen[key] = i


def parse_instance(data: Any) -> Instance:
    """Validate the JSON form and build an :class:`Instance`."""
    rec = _Rec("instance", data)
    lists = {}
    for key in ("supplies", "demands"):
        v = rec.get(key)
        if not isinstance(v, list):
            raise rec.fail(key, f"expected an array, got {_tname(v)}")
        lists[key] = v
    supplies = tuple(_parse_supply(i, s) for i, s in enumerate(lists["supplies"]))
    demands = tuple(_parse_demand(i, d) for i, d in enumerate(lists["demands"]))
    _check_unique("supplies", supplies)
    _check_unique("demands", demands)
    return Instance(supplies, demands, _parse_tariff(rec.get("tariff")))


# ---------------------------------------------------------------------------
# serialising
# ---------------------------------------------------------------------------


def _num(d: Decimal) -> int | float:
    """Decimal -> JSON number keeping its decimals (exact for <=15 digits)."""
    return int(d) if d == d.to_integral_value() else float(d)


def instance_to_json(inst: Instance) -> dict[str, Any]:
    sup = []
    for s in inst.supplies:
        r: dict[str, Any] = {"id": s.id, "material": s.material}
        if s.grade is not None:
            r["grade"] = s.grade
        r.update(tonnes=s.tonnes, lat=s.lat, lon=s.lon,
                 price_yuan_per_t=_num(s.price_yuan_per_t), max_haul_km=_num(s.max_haul_km))
        if s.quality:
            r["quality"] = dict(s.quality)
        if s.rail:
            r["rail"] = True
        sup.append(r)
    dem = []
    for d in inst.demands:
        r = {"id": d.id, "material": d.material}
        if d.min_grade is not None:
            r["min_grade"] = d.min_grade
        r.update(tonnes=d.tonnes, lat=d.lat, lon=d.lon)
        if d.max_delivered_price_yuan_per_t is not None:
            r["max_delivered_price_yuan_per_t"] = _num(d.max_delivered_price_yuan_per_t)
        r["max_haul_km"] = _num(d.max_haul_km)
        if d.quality_limits:
            r["quality_limits"] = {
                k: {b: v for b, v in (("min", q.min), ("max", q.max)) if v is not None}
                for k, q in d.quality_limits.items()}
        if d.rail:
            r["rail"] = True
        dem.append(r)
    t = inst.tariff
    tar: dict[str, Any] = {
        "road_yuan_per_t_km": _num(t.road_yuan_per_t_km),
        "handling_yuan_per_t": _num(t.handling_yuan_per_t),
        "circuity": t.circuity,
    }
    if t.has_rail:
        tar["rail_fixed_yuan_per_t"] = _num(t.rail_fixed_yuan_per_t)  # type: ignore[arg-type]
        tar["rail_yuan_per_t_km"] = _num(t.rail_yuan_per_t_km)  # type: ignore[arg-type]
    tar["co2_kg_per_t_km"] = t.co2_kg_per_t_km
    tar["rail_co2_kg_per_t_km"] = t.rail_co2_kg_per_t_km
    return {"supplies": sup, "demands": dem, "tariff": tar}
