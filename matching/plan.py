"""Plan classes (the optimiser's answer) and their JSON form.

Money is Decimal yuan in Python and a two-decimal string in JSON, always
derived from integer fen; distances are Decimal km with one decimal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from .catalogue import ENV_TAX_YUAN_PER_T
from .model import Id, Instance
from .money import dkm_to_km, fen_to_yuan, scaled_int, to_decimal, yuan_str
from .options import SolveOptions

STATUSES = ("OPTIMAL", "FEASIBLE", "HEURISTIC", "UNKNOWN")


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

    def to_json(self) -> dict[str, Any]:
        return {
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
    def from_json(cls, d: dict[str, Any]) -> Pairing:
        return cls(
            supply=d["supply"], demand=d["demand"], material=d.get("material", ""),
            tonnes=d["tonnes"], distance_km=to_decimal(d["distance_km"]), mode=d["mode"],
            transport_cost_yuan_per_t=to_decimal(d["transport_cost_yuan_per_t"]),
            delivered_price_yuan_per_t=to_decimal(d["delivered_price_yuan_per_t"]),
            transport_cost_yuan=to_decimal(d.get("transport_cost_yuan", "0")),
            env_tax_avoided_yuan=to_decimal(d.get("env_tax_avoided_yuan", "0")),
            co2_kg=float(d.get("co2_kg", 0.0)),
        )


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

    @property
    def transport_cost_fen(self) -> int:
        return scaled_int(self.transport_cost_yuan, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tonnes_matched": self.tonnes_matched,
            "transport_cost_yuan": yuan_str(self.transport_cost_yuan),
            "env_tax_avoided_yuan": yuan_str(self.env_tax_avoided_yuan),
            "co2_kg": self.co2_kg,
            "pairings": [p.to_json() for p in self.pairings],
            "unmatched_supplies": [{"supply": i, "tonnes": t} for i, t in self.unmatched_supplies],
            "unmatched_demands": [{"demand": i, "tonnes": t} for i, t in self.unmatched_demands],
            "baseline": None if self.baseline is None else self.baseline.to_json(),
            "options": self.options,
            "stats": self.stats,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Plan:
        b = d.get("baseline")
        return cls(
            status=d["status"],
            tonnes_matched=d["tonnes_matched"],
            transport_cost_yuan=to_decimal(d["transport_cost_yuan"]),
            env_tax_avoided_yuan=to_decimal(d.get("env_tax_avoided_yuan", "0")),
            co2_kg=float(d.get("co2_kg", 0.0)),
            pairings=[Pairing.from_json(p) for p in d["pairings"]],
            unmatched_supplies=[(u["supply"], u["tonnes"]) for u in d.get("unmatched_supplies", [])],
            unmatched_demands=[(u["demand"], u["tonnes"]) for u in d.get("unmatched_demands", [])],
            baseline=None if b is None else Baseline(
                b["method"], b["tonnes_matched"], to_decimal(b["transport_cost_yuan"]),
                to_decimal(b["saving_yuan"]), b["extra_tonnes"]),
            options=d.get("options") or {},
            stats=d.get("stats") or {},
        )


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
                  options: SolveOptions, stats: dict[str, Any]) -> Plan:
    """Turn per-arc tonnes into a :class:`Plan` (totals in integer fen)."""
    used = np.flatnonzero(flow > 0)
    si = arcs.si[used]
    di = arcs.di[used]
    tons = flow[used].astype(np.int64)
    fen = arcs.fen[used]
    dkm = arcs.dkm[used]
    rail = arcs.rail[used]
    order = np.lexsort((di, si))
    sup, dem = instance.supplies, instance.demands
    road_f, rail_f = co2_factors(instance, options)

    pairings: list[Pairing] = []
    tax_fen_total = 0
    co2_total = 0.0
    for k in order.tolist():  # one iteration per *used* pairing, not per arc
        s = sup[int(si[k])]
        d = dem[int(di[k])]
        t = int(tons[k])
        f = int(fen[k])
        tax_fen = t * scaled_int(ENV_TAX_YUAN_PER_T[s.material], 2)
        co2 = co2_kg(t, int(dkm[k]), rail_f if rail[k] else road_f)
        tax_fen_total += tax_fen
        co2_total += co2
        pairings.append(Pairing(
            supply=s.id, demand=d.id, material=s.material, tonnes=t,
            distance_km=dkm_to_km(int(dkm[k])), mode="rail" if rail[k] else "road",
            transport_cost_yuan_per_t=fen_to_yuan(f),
            delivered_price_yuan_per_t=fen_to_yuan(s.price_fen + f),
            transport_cost_yuan=fen_to_yuan(t * f),
            env_tax_avoided_yuan=fen_to_yuan(tax_fen),
            co2_kg=co2,
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
    )
