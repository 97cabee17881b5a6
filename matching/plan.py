"""Plan classes (the optimiser's answer) and their JSON form.

Money is Decimal yuan in Python and a two-decimal string in JSON, always
derived from integer fen; distances are Decimal km with one decimal.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from .catalogue import ENV_TAX_YUAN_PER_T
from .model import Id, Instance
from .money import dkm_to_km, fen_to_yuan, scaled_int, to_decimal, yuan_str
from .options import SolveOptions

STATUSES = ("OPTIMAL", "FEASIBLE", "HEURISTIC", "UNKNOWN")
_REQUIRED: Any = object()


@dataclass(frozen=True)
class Pairing:
    """``tonnes`` shipped from ``supply`` to ``demand``."""

    supply: Id
    demand: Id
    material: str
    tonnes: int
    distance_km: Decimal
    mode: str  # "road" or "rail"
    transport_cost_yuan_per_t: Decimal
    delivered_price_yuan_per_t: Decimal
    transport_cost_yuan: Decimal
    env_tax_avoided_yuan: Decimal
    co2_kg: float
    #: label of the period the tonnes move in (seasonal plans only)
    period: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.period is None else {"period": self.period}
        return out | {
            "supply": self.supply,
            "demand": self.demand,
            "material": self.material,
            "tonnes": self.tonnes,
            "distance_km": float(self.distance_km),
            "mode": self.mode,
            "transport_cost_yuan_per_t": yuan_str(self.transport_cost_yuan_per_t),
            "delivered_price_yuan_per_t": yuan_str(self.delivered_price_yuan_per_t),
            "transport_cost_yuan": yuan_str(self.transport_cost_yuan),
            "env_tax_avoided_yuan": yuan_str(self.env_tax_avoided_yuan),
            "co2_kg": self.co2_kg,
        }

    @classmethod
    def from_json(cls, d: Any) -> Pairing:
        """A pairing from plan JSON; ValueError (one line) if malformed."""
        r = _Fields("pairing", d)
        return cls(
            supply=r.ident("supply"), demand=r.ident("demand"),
            material=r.text("material", default=""), tonnes=r.whole("tonnes"),
            distance_km=r.money("distance_km"), mode=r.text("mode"),
            transport_cost_yuan_per_t=r.money("transport_cost_yuan_per_t"),
            delivered_price_yuan_per_t=r.money("delivered_price_yuan_per_t"),
            transport_cost_yuan=r.money("transport_cost_yuan", "0"),
            env_tax_avoided_yuan=r.money("env_tax_avoided_yuan", "0"),
            co2_kg=r.real("co2_kg", 0.0),
            period=None if r.data.get("period") is None else r.text("period"),
        )


@dataclass(frozen=True)
class StockLevel:
    """Stock of a yard (``side`` "supply") or silo ("demand") at the end of one period."""

    side: str
    listing: Id
    period: str
    end_stock_t: int

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "listing": self.listing, "period": self.period,
                "end_stock_t": self.end_stock_t}

    @classmethod
    def from_json(cls, d: Any) -> StockLevel:
        r = _Fields("storage", d)
        side = r.text("side")
        if side not in ("supply", "demand"):
            raise ValueError("storage: field 'side' must be 'supply' or 'demand'")
        return cls(side, r.ident("listing"), r.text("period"), r.whole("end_stock_t"))


class _Fields:
    """Typed reads from one JSON object of a plan, raising ValueError."""

    def __init__(self, where: str, data: Any):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object")
        self.where, self.data = where, data

    def _get(self, name: str, default: Any) -> Any:
        v = self.data.get(name, default)
        if v is _REQUIRED:
            raise ValueError(f"{self.where}: field {name!r} is missing")
        return v

    def ident(self, name: str) -> Id:
        v = self._get(name, _REQUIRED)
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ValueError(f"{self.where}: field {name!r} must be a string or integer")
        return v

    def text(self, name: str, default: Any = None) -> str:
        v = self._get(name, _REQUIRED if default is None else default)
        if not isinstance(v, str):
            raise ValueError(f"{self.where}: field {name!r} must be a string")
        return v

    def whole(self, name: str) -> int:
        v = self._get(name, _REQUIRED)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{self.where}: field {name!r} must be a whole number")
        return v

    def money(self, name: str, default: Any = _REQUIRED) -> Decimal:
        v = self._get(name, default)
        if isinstance(v, bool) or not isinstance(v, (str, int, float)) or \
                (isinstance(v, str) and len(v) > 40):
            raise ValueError(f"{self.where}: field {name!r} must be a number or numeric string")
        try:
            return to_decimal(v)
        except (TypeError, ValueError, ArithmeticError):
            raise ValueError(f"{self.where}: field {name!r} is not a finite number") from None

    def real(self, name: str, default: float) -> float:
        v = self._get(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or abs(v) > 1e300:
            raise ValueError(f"{self.where}: field {name!r} must be a finite number")
        return float(v)

    def items(self, name: str, key: str) -> list[tuple[Id, int]]:
        v = self._get(name, [])
        if not isinstance(v, list):
            raise ValueError(f"{self.where}: field {name!r} must be an array")
        out = []
        for k, u in enumerate(v):
            f = _Fields(f"{name}[{k}]", u)
            out.append((f.ident(key), f.whole("tonnes")))
        return out


@dataclass(frozen=True)
class Baseline:
    """The greedy cheapest-first plan's totals, and what the optimiser saves.

    saving_yuan = greedy cost - optimal cost (negative when the optimiser
    spends more because it moves more tonnes: see extra_tonnes).
    """

    method: str
    tonnes_matched: int
    transport_cost_yuan: Decimal
    saving_yuan: Decimal
    extra_tonnes: int

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "tonnes_matched": self.tonnes_matched,
                "transport_cost_yuan": yuan_str(self.transport_cost_yuan),
                "saving_yuan": yuan_str(self.saving_yuan), "extra_tonnes": self.extra_tonnes}


@dataclass
class Plan:
    """A proposed set of pairings with totals, leftovers and solver statistics."""

    status: str
    tonnes_matched: int
    transport_cost_yuan: Decimal
    env_tax_avoided_yuan: Decimal
    co2_kg: float
    pairings: list[Pairing]
    unmatched_supplies: list[tuple[Id, int]]
    unmatched_demands: list[tuple[Id, int]]
    baseline: Baseline | None = None
    options: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    objective: str = "max_tonnes"
    delivered_cost_yuan: Decimal | None = None
    value_yuan: Decimal | None = None
    marginal_cost_curve: list[dict[str, Any]] = field(default_factory=list)
    #: seasonal plans only (None / [] otherwise): the period labels, every yard's and silo's stock
    #: at the end of every period, the holding cost of that stock, transport + holding
    periods: list[str] | None = None
    storage: list[StockLevel] = field(default_factory=list)
    holding_cost_yuan: Decimal | None = None
    total_cost_yuan: Decimal | None = None
    #: with ``marginal_curve=False``: computes the curve later, from the solve's own arcs (a market round
    #: offers its proposals first); not part of the plan's JSON
    deferred_curve: Callable[[], list[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)

    @property
    def transport_cost_fen(self) -> int:
        return scaled_int(self.transport_cost_yuan, 2)

    @property
    def net_value_yuan(self) -> Decimal | None:
        """Value of the tonnes moved minus their transport cost."""
        return None if self.value_yuan is None else self.value_yuan - self.transport_cost_yuan

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objective": self.objective,
            "tonnes_matched": self.tonnes_matched,
            "transport_cost_yuan": yuan_str(self.transport_cost_yuan),
            "delivered_cost_yuan": _opt_yuan(self.delivered_cost_yuan),
            "value_yuan": _opt_yuan(self.value_yuan),
            "net_value_yuan": _opt_yuan(self.net_value_yuan),
            "marginal_cost_curve": self.marginal_cost_curve,
            "env_tax_avoided_yuan": yuan_str(self.env_tax_avoided_yuan),
            "co2_kg": self.co2_kg,
            "pairings": [p.to_json() for p in self.pairings],
            "unmatched_supplies": [{"supply": i, "tonnes": t} for i, t in self.unmatched_supplies],
            "unmatched_demands": [{"demand": i, "tonnes": t} for i, t in self.unmatched_demands],
            "baseline": None if self.baseline is None else self.baseline.to_json(),
            "options": self.options,
            "stats": self.stats,
        } | ({} if self.periods is None else {
            "periods": list(self.periods),
            "storage": [x.to_json() for x in self.storage],
            "holding_cost_yuan": _opt_yuan(self.holding_cost_yuan),
            "total_cost_yuan": _opt_yuan(self.total_cost_yuan),
        })

    @classmethod
    def from_json(cls, d: Any) -> Plan:
        """A plan from its JSON form; ValueError (one line) if malformed."""
        r = _Fields("plan", d)
        pairings = r._get("pairings", _REQUIRED)
        if not isinstance(pairings, list):
            raise ValueError("plan: field 'pairings' must be an array")
        b = r._get("baseline", None)
        baseline = None
        if b is not None:
            f = _Fields("baseline", b)
            baseline = Baseline(f.text("method"), f.whole("tonnes_matched"),
                                f.money("transport_cost_yuan"), f.money("saving_yuan"),
                                f.whole("extra_tonnes"))
        curve = r._get("marginal_cost_curve", None) or []
        if not isinstance(curve, list):
            raise ValueError("plan: field 'marginal_cost_curve' must be an array")
        options = r._get("options", None) or {}
        stats = r._get("stats", None) or {}
        if not isinstance(options, dict) or not isinstance(stats, dict):
            raise ValueError("plan: fields 'options' and 'stats' must be objects")
        periods = r._get("periods", None)
        if periods is not None and (not isinstance(periods, list)
                                    or not all(isinstance(x, str) for x in periods)):
            raise ValueError("plan: field 'periods' must be an array of labels")
        stock = r._get("storage", None) or []
        if not isinstance(stock, list):
            raise ValueError("plan: field 'storage' must be an array")
        return cls(
            periods=periods,
            storage=[StockLevel.from_json(x) for x in stock],
            holding_cost_yuan=None if r.data.get("holding_cost_yuan") is None
            else r.money("holding_cost_yuan"),
            total_cost_yuan=None if r.data.get("total_cost_yuan") is None else r.money("total_cost_yuan"),
            status=r.text("status"),
            tonnes_matched=r.whole("tonnes_matched"),
            transport_cost_yuan=r.money("transport_cost_yuan"),
            env_tax_avoided_yuan=r.money("env_tax_avoided_yuan", "0"),
            co2_kg=r.real("co2_kg", 0.0),
            pairings=[Pairing.from_json(p) for p in pairings],
            unmatched_supplies=r.items("unmatched_supplies", "supply"),
            unmatched_demands=r.items("unmatched_demands", "demand"),
            baseline=baseline,
            options=options,
            stats=stats,
            objective=r.text("objective", default="max_tonnes"),
            delivered_cost_yuan=None if r.data.get("delivered_cost_yuan") is None
            else r.money("delivered_cost_yuan"),
            value_yuan=None if r.data.get("value_yuan") is None else r.money("value_yuan"),
            marginal_cost_curve=curve,
        )


def _opt_yuan(v: Decimal | None) -> str | None:
    return None if v is None else yuan_str(v)


def co2_factors(instance: Instance, options: SolveOptions) -> tuple[float, float]:
    """(road, rail) kg CO2 per tonne-km: options override the tariff."""
    t = instance.tariff
    road = t.co2_kg_per_t_km if options.co2_kg_per_t_km is None else options.co2_kg_per_t_km
    rail = t.rail_co2_kg_per_t_km if options.rail_co2_kg_per_t_km is None \
        else options.rail_co2_kg_per_t_km
    return road, rail


def co2_kg(tonnes: int, dkm: int, factor: float) -> float:
    """Transport CO2 of one pairing, kg, rounded to 1 g."""
    return round(tonnes * dkm * factor / 10.0, 3)


def assemble_plan(instance: Instance, arcs: Any, flow: np.ndarray, status: str,
                  options: SolveOptions, stats: dict[str, Any], period: np.ndarray | None = None) -> Plan:
    """Turn per-arc tonnes into a :class:`Plan` (totals in integer fen).

    ``period`` (seasonal plans): the period index of each arc; the pairings
    then carry the period's label and are ordered by supply, demand, period."""
    used = np.flatnonzero(flow > 0)
    si = arcs.si[used]
    di = arcs.di[used]
    tons = flow[used].astype(np.int64)
    fen = arcs.fen[used]
    dkm = arcs.dkm[used]
    rail = arcs.rail[used]
    per = None if period is None else period[used]
    order = np.lexsort((di, si)) if per is None else np.lexsort((per, di, si))
    sup, dem = instance.supplies, instance.demands
    road_f, rail_f = co2_factors(instance, options)

    pairings: list[Pairing] = []
    tax_fen_total = delivered_total = value_total = 0
    co2_total = 0.0
    for k in order.tolist():  # one iteration per *used* pairing, not per arc
        s = sup[int(si[k])]
        d = dem[int(di[k])]
        t = int(tons[k])
        f = int(fen[k])
        tax_fen = t * scaled_int(ENV_TAX_YUAN_PER_T[s.material], 2)
        co2 = co2_kg(t, int(dkm[k]), rail_f if rail[k] else road_f)
        tax_fen_total += tax_fen
        delivered_total += t * (s.price_fen + f)
        value_total += t * instance.tariff.value_fen(s.material)
        co2_total += co2
        pairings.append(Pairing(
            supply=s.id, demand=d.id, material=s.material, tonnes=t,
            distance_km=dkm_to_km(int(dkm[k])), mode="rail" if rail[k] else "road",
            transport_cost_yuan_per_t=fen_to_yuan(f),
            delivered_price_yuan_per_t=fen_to_yuan(s.price_fen + f),
            transport_cost_yuan=fen_to_yuan(t * f),
            env_tax_avoided_yuan=fen_to_yuan(tax_fen),
            co2_kg=co2,
            period=None if per is None else instance.periods[int(per[k])],
        ))
    shipped_s = np.bincount(si, weights=tons, minlength=len(sup)).astype(np.int64)
    shipped_d = np.bincount(di, weights=tons, minlength=len(dem)).astype(np.int64)
    left_s = [(s.id, s.tonnes - int(x)) for s, x in zip(sup, shipped_s.tolist(), strict=True) if s.tonnes > x]
    left_d = [(d.id, d.tonnes - int(x)) for d, x in zip(dem, shipped_d.tolist(), strict=True) if d.tonnes > x]
    total_fen = int(np.dot(tons, fen)) if tons.size else 0
    return Plan(
        status=status,
        tonnes_matched=int(tons.sum()),
        transport_cost_yuan=fen_to_yuan(total_fen),
        env_tax_avoided_yuan=fen_to_yuan(tax_fen_total),
        co2_kg=round(co2_total, 3),
        pairings=pairings,
        unmatched_supplies=left_s,
        unmatched_demands=left_d,
        options=options.to_json(),
        stats=stats,
        objective=options.objective,
        delivered_cost_yuan=fen_to_yuan(delivered_total),
        value_yuan=fen_to_yuan(value_total),
    )


#: tonne levels of the marginal cost curve, as fractions of the plan's tonnes
CURVE_LEVELS = (0.5, 0.8, 0.9, 0.95, 1.0)


def marginal_cost_curve(arcs: Any, s_t: np.ndarray, d_t: np.ndarray, tonnes: int,
                        least_cost: Callable[[Any, np.ndarray, np.ndarray, np.ndarray, int], np.ndarray],
                        top_fen: int | None = None) -> list[dict[str, Any]]:
    """What the last tonnes cost: segments of the least-cost curve of the flow relaxation.

    ``C(t)`` is the least transport cost of moving exactly ``t`` tonnes over
    the plan's arcs without lot rules (one min-cost flow per level).  For the
    levels ``t_k`` = 50, 80, 90, 95 and 100 % of the plan's tonnes, each
    segment reports ``cost_yuan`` = C(t_k) - C(t_k-1) and ``cost_yuan_per_t`` =
    that divided by the tonnes of the segment (the marginal cost per tonne of
    those tonnes, half up to the fen).  C is convex, so the figures rise.
    ``top_fen``: C(tonnes) when already known (the plain plan's own cost).
    """
    if tonnes <= 0:
        return []
    levels = sorted({max(1, round(tonnes * f)) for f in CURVE_LEVELS})
    out: list[dict[str, Any]] = []
    prev_t = prev_c = 0
    for t in levels:
        if t == tonnes and top_fen is not None:
            c = top_fen
        else:
            c = int(np.dot(least_cost(arcs, s_t, d_t, arcs.fen, t), arcs.fen))
        dt, dc = t - prev_t, c - prev_c
        per_t = (2 * dc + dt) // (2 * dt)  # half up, exact integers
        out.append({"tonnes_from": prev_t, "tonnes_to": t, "cost_yuan": yuan_str(dc),
                    "cost_yuan_per_t": yuan_str(per_t)})
        prev_t, prev_c = t, c
    return out
