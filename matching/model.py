"""Typed instance classes and their JSON form.

``Instance.from_json`` validates everything a solver relies on and raises
:class:`InstanceError` with a one-line message naming the record and field,
e.g. ``supplies[3] (id S4): field 'lat': 91.0 is out of range -90..90``.

The format is strict: a field the optimiser does not know is refused by name
(a misspelt cap would otherwise be silently dropped), and every number has a
bound (:data:`BOUNDS`) chosen so that no total the solvers form can overflow
int64.  ``null`` is the same as leaving a field out ("no cap", "no limit").
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

from .catalogue import MATERIALS
from .money import scaled_int, to_decimal

Id = Union[str, int]  # noqa: UP007 - a runtime alias, also used in isinstance-free annotations

DEFAULT_CO2_KG_PER_T_KM = 0.1  # heavy diesel truck, kg CO2 per tonne-km
DEFAULT_RAIL_CO2_KG_PER_T_KM = 0.03  # electric/diesel freight rail mix
DEFAULT_PAYLOAD_T = 32  # a heavy tipper/tanker truck in China (49 t gross)

#: field -> (minimum, maximum), inclusive.  With these, a per-tonne cost is at
#: most ~1.1e8 fen (handling 1e4 + 100 yuan/t/km x 10,000 km, plus a 1e5 price)
#: and one side's tonnes at most 1e10, so every total is below 1.2e18 < 2**63.
BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    "tonnes": (Decimal(0), Decimal(10**9)),
    "lat": (Decimal(-90), Decimal(90)),
    "lon": (Decimal(-180), Decimal(180)),
    "price_yuan_per_t": (Decimal(-100_000), Decimal(100_000)),
    "max_delivered_price_yuan_per_t": (Decimal(-100_000), Decimal(1_000_000)),
    "max_haul_km": (Decimal(0), Decimal(10_000)),
    "quality": (Decimal(-10**9), Decimal(10**9)),
    "road_yuan_per_t_km": (Decimal(0), Decimal(100)),
    "rail_yuan_per_t_km": (Decimal(0), Decimal(100)),
    "handling_yuan_per_t": (Decimal(0), Decimal(10_000)),
    "rail_fixed_yuan_per_t": (Decimal(0), Decimal(10_000)),
    "circuity": (Decimal(1), Decimal(10)),
    "co2_kg_per_t_km": (Decimal(0), Decimal(10)),
    "rail_co2_kg_per_t_km": (Decimal(0), Decimal(10)),
    "value_yuan_per_t": (Decimal(0), Decimal(100_000)),
    "payload_t": (Decimal(1), Decimal(1_000_000)),
    "min_train_t": (Decimal(0), Decimal(1_000_000)),
    "capacity_t": (Decimal(0), Decimal(10**9)),
    "initial_t": (Decimal(0), Decimal(10**9)),
    "holding_yuan_per_t_period": (Decimal(0), Decimal(1_000)),
}
#: most tonnes on one side of an instance (sum over its records)
MAX_TOTAL_TONNES = 10**10
#: most records on one side
MAX_RECORDS = 2_000_000
#: most periods of a seasonal instance (ten years of weeks); with holding <= 1,000 yuan/t per
#: period a tonne's path costs at most 1.1e8 (transport) + 1e7 (price) + 2 x 520 x 1e5 fen of
#: holding = 2.24e8 fen, times <= 2e10 units (supplies plus demands' initial stocks) < 4.5e18
MAX_PERIODS = 520
#: a period label: 1..40 characters
MAX_LABEL_CHARS = 40
#: longest string id, quality key; most quality keys per record
MAX_ID_CHARS = 200
MAX_KEYS = 100
#: integer ids are kept exact in JSON (doubles) and in int64
MAX_INT_ID = 2**53 - 1

SUPPLY_FIELDS = frozenset({"id", "material", "grade", "tonnes", "lat", "lon", "price_yuan_per_t",
                           "max_haul_km", "quality", "rail", "tonnes_by_period", "storage"})
DEMAND_FIELDS = frozenset({"id", "material", "materials", "min_grade", "tonnes", "lat", "lon",
                           "max_delivered_price_yuan_per_t", "max_haul_km", "quality_limits", "rail",
                           "tonnes_by_period", "storage"})
STORAGE_FIELDS = frozenset({"capacity_t", "initial_t", "holding_yuan_per_t_period"})
TARIFF_FIELDS = frozenset({"road_yuan_per_t_km", "handling_yuan_per_t", "circuity",
                           "rail_fixed_yuan_per_t", "rail_yuan_per_t_km", "co2_kg_per_t_km",
                           "rail_co2_kg_per_t_km", "value_yuan_per_t", "payload_t", "min_train_t"})
INSTANCE_FIELDS = frozenset({"supplies", "demands", "tariff", "periods"})


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
class Storage:
    """A yard (at a supply) or silo (at a demand): stock carried from one period to the next.

    ``capacity_t``: most stock at the end of any period; ``initial_t``: stock
    at the start of the first period (<= capacity); holding cost per tonne of
    end-of-period stock, per period.
    """

    capacity_t: int
    initial_t: int = 0
    holding_yuan_per_t_period: Decimal = Decimal(0)

    @property
    def holding_fen(self) -> int:
        return scaled_int(self.holding_yuan_per_t_period, 2)


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
    #: seasonal instances only: tonnes made available in each period (``tonnes`` is their sum)
    tonnes_by_period: tuple[int, ...] | None = None
    storage: Storage | None = None

    @property
    def price_fen(self) -> int:
        return scaled_int(self.price_yuan_per_t, 2)

    @property
    def haul_dkm(self) -> int:
        """Longest allowed haul in whole 0.1 km (floor: a limit never grows)."""
        return math.floor(self.max_haul_km.scaleb(1))


@dataclass(frozen=True)
class Demand:
    """Open demand at one site for one material, or for any of several (``materials``).

    ``material`` is the first accepted material; ``materials`` lists all of
    them (filled from ``material`` when not given).  A multi-material demand
    has one tonnage, served by any mix of its materials.
    """

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
    materials: tuple[str, ...] = ()
    #: seasonal instances only: tonnes the demand can use in each period (0 = stopped; ``tonnes`` is
    #: their sum)
    tonnes_by_period: tuple[int, ...] | None = None
    storage: Storage | None = None

    def __post_init__(self) -> None:
        if not self.materials:
            object.__setattr__(self, "materials", (self.material,))

    def accepts(self, material: str) -> bool:
        return material in self.materials

    @property
    def max_delivered_fen(self) -> int | None:
        p = self.max_delivered_price_yuan_per_t
        return None if p is None else scaled_int(p, 2)

    @property
    def haul_dkm(self) -> int:
        return math.floor(self.max_haul_km.scaleb(1))


@dataclass(frozen=True)
class Tariff:
    """Transport tariff.  Rates are Decimal yuan with at most 6 decimals.

    ``value_yuan_per_t`` (material -> yuan) is what one tonne moved is worth to
    the ``net_value`` objective (missing materials: the catalogue's avoided
    environmental tax); ``payload_t`` (material -> t) is one truckload
    (default 32 t); ``min_train_t`` is the least a rail pairing may carry
    (0 = no minimum).
    """

    road_yuan_per_t_km: Decimal
    handling_yuan_per_t: Decimal
    circuity: float
    rail_fixed_yuan_per_t: Decimal | None = None
    rail_yuan_per_t_km: Decimal | None = None
    co2_kg_per_t_km: float = DEFAULT_CO2_KG_PER_T_KM
    rail_co2_kg_per_t_km: float = DEFAULT_RAIL_CO2_KG_PER_T_KM
    value_yuan_per_t: Mapping[str, Decimal] = field(default_factory=dict)
    payload_t: Mapping[str, int] = field(default_factory=dict)
    min_train_t: int = 0

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

    def payload(self, material: str) -> int:
        """One truckload of ``material`` in tonnes."""
        return self.payload_t.get(material, DEFAULT_PAYLOAD_T)

    def value_fen(self, material: str) -> int:
        """What one tonne of ``material`` moved is worth, in fen (``net_value``)."""
        from .catalogue import ENV_TAX_YUAN_PER_T
        v = self.value_yuan_per_t.get(material, ENV_TAX_YUAN_PER_T[material])
        return scaled_int(v, 2)


@dataclass(frozen=True)
class Instance:
    """Open supplies and demands plus the tariff."""

    supplies: tuple[Supply, ...]
    demands: tuple[Demand, ...]
    tariff: Tariff
    #: period labels of a seasonal (multi-period) instance; () = one period, today's instance
    periods: tuple[str, ...] = ()

    @property
    def seasonal(self) -> bool:
        """Several periods (or one named period) with profiles and storage."""
        return bool(self.periods)

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

    def __init__(self, where: str, data: Any, known: frozenset[str] | None = None):
        if not isinstance(data, dict):
            raise InstanceError(f"{where}: expected an object, got {_tname(data)}")
        self.where = where
        self.data = data
        if known is not None:
            unknown = sorted(str(k) for k in data if k not in known)
            if unknown:
                raise InstanceError(f"{where}: unknown field {_short(unknown[0])}"
                                    f" (known: {', '.join(sorted(known))})")

    def fail(self, name: str, msg: str) -> InstanceError:
        return InstanceError(f"{self.where}: field '{name}': {msg}")

    def get(self, name: str, required: bool = True) -> Any:
        if name not in self.data or self.data[name] is None:
            if required:
                raise InstanceError(f"{self.where}: field '{name}' is missing")
            return None
        return self.data[name]

    def number(self, name: str, required: bool = True, bound: str | None = None) -> float | None:
        v = self.get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(name, f"expected a number, got {_tname(v)} {_short(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise self.fail(name, f"{v} is not a finite number")
        _range(self, name, v, bound or name)
        return float(v)

    def decimal(self, name: str, required: bool = True, places: int = 2,
                bound: str | None = None) -> Decimal | None:
        v = self.get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise self.fail(name, f"expected a number, got {_tname(v)} {_short(v)}")
        if isinstance(v, str) and len(v) > 40:
            raise self.fail(name, f"{_short(v)} is not a number")
        try:
            d = to_decimal(v)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.fail(name, str(exc)) from None
        _range(self, name, d, bound or name)
        try:
            scaled_int(d, places)
        except (ValueError, ArithmeticError):
            raise self.fail(name, f"{_short(v)} has more than {places} decimal places") from None
        return d

    def whole(self, name: str, required: bool = True, bound: str = "tonnes") -> int | None:
        v = self.get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(name, f"expected a whole number, got {_tname(v)} {_short(v)}")
        if isinstance(v, float) and not (math.isfinite(v) and v.is_integer()):
            raise self.fail(name, f"{_short(v)} is not a whole number")
        if v < 0:
            raise self.fail(name, f"{_short(v)} is negative")
        _range(self, name, v, bound)
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

    def mapping(self, name: str) -> dict[str, Any]:
        v = self.get(name, required=False)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise self.fail(name, f"expected an object, got {_tname(v)}")
        if len(v) > MAX_KEYS:
            raise self.fail(name, f"has {len(v)} keys, at most {MAX_KEYS}")
        for k in v:
            if not k or len(k) > MAX_ID_CHARS:
                raise self.fail(name, f"key {_short(k)} must have 1 to {MAX_ID_CHARS} characters")
        return v


def _tname(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "integer", float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _short(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**30:
        return f"{'-' if v < 0 else ''}an integer of {len(str(abs(v)))} digits"
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _range(rec: _Rec, name: str, v: float | int | Decimal, bound: str) -> None:
    lo, hi = BOUNDS[bound]
    value = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
    if value < lo or value > hi:
        raise rec.fail(name, f"{_short(v)} is out of range {lo}..{hi}")


def _parse_id(rec: _Rec) -> Id:
    v = rec.get("id")
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise rec.fail("id", f"expected a string or integer, got {_tname(v)} {_short(v)}")
    if isinstance(v, str) and not v.strip():
        raise rec.fail("id", "is empty")
    if isinstance(v, str) and len(v) > MAX_ID_CHARS:
        raise rec.fail("id", f"is longer than {MAX_ID_CHARS} characters")
    if isinstance(v, int) and abs(v) > MAX_INT_ID:
        raise rec.fail("id", f"{_short(v)} is out of range -{MAX_INT_ID}..{MAX_INT_ID}")
    return v


def _check_material(rec: _Rec, name: str, m: Any) -> str:
    if not isinstance(m, str):
        raise rec.fail(name, f"expected a string, got {_tname(m)} {_short(m)}")
    if m not in MATERIALS:
        raise rec.fail(name, f"unknown material {_short(m)}")
    return m


def _material(rec: _Rec) -> str:
    return _check_material(rec, "material", rec.get("material"))


def _grade(rec: _Rec, name: str, material: str) -> str | None:
    g = rec.text(name, required=False)
    if g is None:
        return None
    grades = MATERIALS[material]
    if g not in grades:
        have = ", ".join(grades) if grades else "none"
        raise rec.fail(name, f"{material} has no grade {_short(g)} (grades: {have})")
    return g


def _where(kind: str, i: int, data: Any) -> str:
    where = f"{kind}[{i}]"
    if isinstance(data, dict):
        v = data.get("id")
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            where += f" (id {_short(v) if isinstance(v, int) else v[:MAX_ID_CHARS]})"
    return where


def _parse_periods(rec: _Rec) -> tuple[str, ...] | None:
    v = rec.get("periods", required=False)
    if v is None:
        return None
    if not isinstance(v, list) or not v:
        raise rec.fail("periods", f"expected a non-empty array of labels, got {_tname(v)}")
    if len(v) > MAX_PERIODS:
        raise rec.fail("periods", f"has {len(v)} periods, at most {MAX_PERIODS}")
    seen: set[str] = set()
    for k, label in enumerate(v):
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_CHARS:
            raise rec.fail("periods", f"element {k}: expected a label of 1 to {MAX_LABEL_CHARS} characters,"
                                      f" got {_tname(label)} {_short(label)}")
        if label in seen:
            raise rec.fail("periods", f"element {k}: label {_short(label)} appears twice")
        seen.add(label)
    return tuple(v)


def _profile(rec: _Rec, periods: tuple[str, ...] | None) -> tuple[int, tuple[int, ...] | None, Storage | None]:
    """(tonnes, tonnes_by_period, storage) of a record; a plain ``tonnes`` on a seasonal instance is
    the same in every period."""
    has_flat = rec.get("tonnes", required=False) is not None
    has_prof = rec.get("tonnes_by_period", required=False) is not None
    if periods is None:
        for name in ("tonnes_by_period", "storage"):
            if rec.get(name, required=False) is not None:
                raise rec.fail(name, "needs the instance's 'periods' (a seasonal instance)")
        return rec.whole("tonnes"), None, None  # type: ignore[return-value]
    if has_flat == has_prof:
        raise InstanceError(f"{rec.where}: give exactly one of the fields 'tonnes' and 'tonnes_by_period'")
    if has_flat:
        flat = rec.whole("tonnes")
        assert flat is not None
        prof = (flat,) * len(periods)
    else:
        v = rec.get("tonnes_by_period")
        if not isinstance(v, list):
            raise rec.fail("tonnes_by_period", f"expected an array of whole tonnes, got {_tname(v)}")
        if len(v) != len(periods):
            raise rec.fail("tonnes_by_period", f"has {len(v)} values, the instance has {len(periods)} periods")
        lo, hi = BOUNDS["tonnes"]
        out = []
        for k, x in enumerate(v):
            at = f"element {k} ({periods[k]})"
            if isinstance(x, bool) or not isinstance(x, (int, float)) or \
                    (isinstance(x, float) and not (math.isfinite(x) and x.is_integer())):
                raise rec.fail("tonnes_by_period", f"{at}: expected a whole number, got {_tname(x)} {_short(x)}")
            if x < 0:
                raise rec.fail("tonnes_by_period", f"{at}: {_short(x)} is negative")
            if x > hi:
                raise rec.fail("tonnes_by_period", f"{at}: {_short(x)} is out of range {lo}..{hi}")
            out.append(int(x))
        prof = tuple(out)
    return sum(prof), prof, _storage(rec)


def _storage(rec: _Rec) -> Storage | None:
    raw = rec.get("storage", required=False)
    if raw is None:
        return None
    srec = _Rec(f"{rec.where}: storage", raw, STORAGE_FIELDS)
    cap = srec.whole("capacity_t", bound="capacity_t")
    initial = srec.whole("initial_t", required=False, bound="initial_t") or 0
    assert cap is not None
    if initial > cap:
        raise srec.fail("initial_t", f"{initial} exceeds capacity_t {cap}")
    holding = srec.decimal("holding_yuan_per_t_period", required=False)
    return Storage(cap, initial, Decimal(0) if holding is None else holding)


def _parse_supply(i: int, data: Any, periods: tuple[str, ...] | None = None) -> Supply:
    rec = _Rec(_where("supplies", i, data), data, SUPPLY_FIELDS)
    sid = _parse_id(rec)
    material = _material(rec)
    quality_raw = rec.mapping("quality")
    qrec = _Rec(f"{rec.where}: quality", quality_raw)
    quality = {str(k): qrec.number(k, bound="quality") for k in quality_raw}
    tonnes, prof, storage = _profile(rec, periods)
    return Supply(
        id=sid,
        material=material,
        grade=_grade(rec, "grade", material),
        tonnes=tonnes,
        lat=rec.number("lat"),  # type: ignore[arg-type]
        lon=rec.number("lon"),  # type: ignore[arg-type]
        price_yuan_per_t=rec.decimal("price_yuan_per_t"),  # type: ignore[arg-type]
        max_haul_km=rec.decimal("max_haul_km", places=6),  # type: ignore[arg-type]
        quality=quality,  # type: ignore[arg-type]
        rail=rec.flag("rail"),
        tonnes_by_period=prof,
        storage=storage,
    )


def _demand_materials(rec: _Rec) -> tuple[str, ...]:
    one = rec.get("material", required=False)
    many = rec.get("materials", required=False)
    if (one is None) == (many is None):
        raise InstanceError(f"{rec.where}: give exactly one of the fields 'material' and 'materials'")
    if one is not None:
        return (_check_material(rec, "material", one),)
    if not isinstance(many, list) or not many:
        raise rec.fail("materials", f"expected a non-empty array of material codes, got {_tname(many)}")
    if len(many) > len(MATERIALS):
        raise rec.fail("materials", f"lists {len(many)} materials, there are {len(MATERIALS)}")
    out = tuple(_check_material(rec, "materials", m) for m in many)
    if len(set(out)) != len(out):
        raise rec.fail("materials", "lists a material twice")
    return out


def _parse_demand(i: int, data: Any, periods: tuple[str, ...] | None = None) -> Demand:
    rec = _Rec(_where("demands", i, data), data, DEMAND_FIELDS)
    did = _parse_id(rec)
    materials = _demand_materials(rec)
    min_grade = None
    if rec.get("min_grade", required=False) is not None:
        if len(materials) > 1:
            raise rec.fail("min_grade", "applies to one material; this demand accepts several")
        min_grade = _grade(rec, "min_grade", materials[0])
    limits_raw = rec.mapping("quality_limits")
    limits: dict[str, QualityLimit] = {}
    for key, bounds in limits_raw.items():
        brec = _Rec(f"{rec.where}: quality_limits '{key}'", bounds, frozenset({"min", "max"}))
        lo = brec.number("min", required=False, bound="quality")
        hi = brec.number("max", required=False, bound="quality")
        if lo is not None and hi is not None and lo > hi:
            raise brec.fail("min", f"{lo} exceeds max {hi}")
        limits[str(key)] = QualityLimit(lo, hi)
    tonnes, prof, storage = _profile(rec, periods)
    return Demand(
        id=did,
        material=materials[0],
        materials=materials,
        min_grade=min_grade,
        tonnes=tonnes,
        lat=rec.number("lat"),  # type: ignore[arg-type]
        lon=rec.number("lon"),  # type: ignore[arg-type]
        max_delivered_price_yuan_per_t=rec.decimal("max_delivered_price_yuan_per_t", required=False),
        max_haul_km=rec.decimal("max_haul_km", places=6),  # type: ignore[arg-type]
        quality_limits=limits,
        rail=rec.flag("rail"),
        tonnes_by_period=prof,
        storage=storage,
    )


def _per_material(rec: _Rec, name: str, whole: bool) -> dict[str, Any]:
    raw = rec.mapping(name)
    mrec = _Rec(f"tariff: {name}", raw)
    out: dict[str, Any] = {}
    for m in raw:
        _check_material(mrec, m, m)
        out[m] = mrec.whole(m, bound=name) if whole else mrec.decimal(m, bound=name)
    return out


def _parse_tariff(data: Any) -> Tariff:
    rec = _Rec("tariff", data, TARIFF_FIELDS)
    fixed = rec.decimal("rail_fixed_yuan_per_t", required=False, places=7)
    rate = rec.decimal("rail_yuan_per_t_km", required=False, places=6)
    if (fixed is None) != (rate is None):
        missing = "rail_yuan_per_t_km" if rate is None else "rail_fixed_yuan_per_t"
        raise InstanceError(f"tariff: field '{missing}' is missing (rail needs both rail fields)")
    co2 = rec.number("co2_kg_per_t_km", required=False)
    rail_co2 = rec.number("rail_co2_kg_per_t_km", required=False)
    circuity = rec.number("circuity")
    assert circuity is not None
    return Tariff(
        road_yuan_per_t_km=rec.decimal("road_yuan_per_t_km", places=6),  # type: ignore[arg-type]
        handling_yuan_per_t=rec.decimal("handling_yuan_per_t", places=7),  # type: ignore[arg-type]
        circuity=circuity,
        rail_fixed_yuan_per_t=fixed,
        rail_yuan_per_t_km=rate,
        co2_kg_per_t_km=DEFAULT_CO2_KG_PER_T_KM if co2 is None else co2,
        rail_co2_kg_per_t_km=DEFAULT_RAIL_CO2_KG_PER_T_KM if rail_co2 is None else rail_co2,
        value_yuan_per_t=_per_material(rec, "value_yuan_per_t", whole=False),
        payload_t=_per_material(rec, "payload_t", whole=True),
        min_train_t=rec.whole("min_train_t", required=False, bound="min_train_t") or 0,
    )


def _check_unique(kind: str, records: tuple[Any, ...]) -> None:
    # ids are compared by their string form: the CLI names them as text
    # ("--exclude S1:D2"), so 7 and "7" would be ambiguous.
    seen: dict[str, int] = {}
    for i, r in enumerate(records):
        key = str(r.id)
        if key in seen:
            raise InstanceError(
                f"{kind}[{i}] (id {r.id}): field 'id': duplicate id {_short(r.id)} "
                f"(also {kind}[{seen[key]}])")
        seen[key] = i


def parse_instance(data: Any) -> Instance:
    """Validate the JSON form and build an :class:`Instance`."""
    rec = _Rec("instance", data, INSTANCE_FIELDS)
    lists = {}
    for key in ("supplies", "demands"):
        v = rec.get(key)
        if not isinstance(v, list):
            raise rec.fail(key, f"expected an array, got {_tname(v)}")
        if len(v) > MAX_RECORDS:
            raise rec.fail(key, f"has {len(v)} records, at most {MAX_RECORDS}")
        lists[key] = v
    periods = _parse_periods(rec)
    supplies = tuple(_parse_supply(i, s, periods) for i, s in enumerate(lists["supplies"]))
    demands = tuple(_parse_demand(i, d, periods) for i, d in enumerate(lists["demands"]))
    side: tuple[Supply, ...] | tuple[Demand, ...]
    for key, side in (("supplies", supplies), ("demands", demands)):
        # over the horizon, initial stocks included: every flow the solvers form stays below this
        total = sum(r.tonnes + (r.storage.initial_t if r.storage else 0) for r in side)
        if total > MAX_TOTAL_TONNES:
            raise rec.fail(key, f"total {total} t exceeds the maximum {MAX_TOTAL_TONNES} t")
    _check_unique("supplies", supplies)
    _check_unique("demands", demands)
    return Instance(supplies, demands, _parse_tariff(rec.get("tariff")), periods or ())


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
        r.update(_tonnes_json(s))
        r.update(lat=s.lat, lon=s.lon,
                 price_yuan_per_t=_num(s.price_yuan_per_t), max_haul_km=_num(s.max_haul_km))
        if s.quality:
            r["quality"] = dict(s.quality)
        if s.rail:
            r["rail"] = True
        sup.append(r)
    dem = []
    for d in inst.demands:
        r = {"id": d.id}
        if len(d.materials) > 1:
            r["materials"] = list(d.materials)
        else:
            r["material"] = d.material
        if d.min_grade is not None:
            r["min_grade"] = d.min_grade
        r.update(_tonnes_json(d))
        r.update(lat=d.lat, lon=d.lon)
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
    if t.value_yuan_per_t:
        tar["value_yuan_per_t"] = {k: _num(v) for k, v in t.value_yuan_per_t.items()}
    if t.payload_t:
        tar["payload_t"] = dict(t.payload_t)
    if t.min_train_t:
        tar["min_train_t"] = t.min_train_t
    out: dict[str, Any] = {"supplies": sup, "demands": dem, "tariff": tar}
    if inst.periods:
        out["periods"] = list(inst.periods)
    return out


def _tonnes_json(r: Supply | Demand) -> dict[str, Any]:
    if r.tonnes_by_period is None:
        return {"tonnes": r.tonnes}
    out: dict[str, Any] = {"tonnes_by_period": list(r.tonnes_by_period)}
    if r.storage is not None:
        out["storage"] = {"capacity_t": r.storage.capacity_t, "initial_t": r.storage.initial_t,
                          "holding_yuan_per_t_period": _num(r.storage.holding_yuan_per_t_period)}
    return out
