"""Solve options shared by the solver, the greedy baseline and the validator."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .model import Id

OBJECTIVES = ("max_tonnes", "net_value", "delivered_cost")
MAX_TIME_LIMIT_S = 86_400.0
MAX_WORKERS = 256


def _whole(name: str, v: Any, lo: int, hi: int, none_ok: bool = False) -> None:
    if v is None and none_ok:
        return
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")


def _real(name: str, v: Any, lo: float, hi: float, lo_open: bool = False) -> None:
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) \
        and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if lo_open else '>='} {lo:g} "
                         f"and <= {hi:g}, got {v!r}")


@dataclass(frozen=True)
class SolveOptions:
    """Options beyond plain min-cost flow.

    objective
        ``max_tonnes`` (default): most tonnes, then least transport cost.
        ``net_value``: most (value - transport cost), each tonne worth the
        tariff's ``value_yuan_per_t`` of its material; a pairing that costs
        more per tonne than the tonne is worth is never used.
        ``delivered_cost``: most tonnes, then least delivered cost
        (ex-works price + transport), what the buyers pay.
    min_shipment_t
        Every pairing ships either nothing or at least this many tonnes (a
        contract minimum lot).  0 or 1 means no minimum.
    truckloads
        Every pairing ships whole truckloads (the tariff's ``payload_t`` of
        its material, default 32 t).
    max_partners
        At most this many distinct supplies per demand (None = unlimited).
    max_partners_per_supply
        At most this many distinct demands per supply (None = unlimited).
    exclude
        (supply_id, demand_id) pairs that must not be paired.  Ids are matched
        by their string form, so ``("S1", "D2")`` and ``(7, 3)`` both work.
    time_limit_s
        Wall-clock limit for CP-SAT (always set; plain flow ignores it).
    co2_kg_per_t_km / rail_co2_kg_per_t_km
        Override the tariff's CO2 factors (None = keep the tariff's).
    baseline
        Also run the greedy cheapest-first baseline and report the saving.
    workers
        CP-SAT search workers per part (0 = 1; more run interleaved on one
        thread, which keeps the search deterministic).
    processes
        Parallel processes for independent parts (0 = one per core).
    marginal_curve
        Compute the plan's marginal cost curve (four or five extra min-cost
        flows over the plan's arcs; see :func:`matching.plan.marginal_cost_curve`).
    """

    min_shipment_t: int = 0
    max_partners: int | None = None
    exclude: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    time_limit_s: float = 30.0
    co2_kg_per_t_km: float | None = None
    rail_co2_kg_per_t_km: float | None = None
    baseline: bool = True
    workers: int = 0
    objective: str = "max_tonnes"
    truckloads: bool = False
    max_partners_per_supply: int | None = None
    processes: int = 0
    marginal_curve: bool = True

    def __post_init__(self) -> None:
        _whole("min_shipment_t", self.min_shipment_t, 0, 10**9)
        _whole("max_partners", self.max_partners, 1, 10**6, none_ok=True)
        _whole("max_partners_per_supply", self.max_partners_per_supply, 1, 10**6, none_ok=True)
        _whole("workers", self.workers, 0, MAX_WORKERS)
        _whole("processes", self.processes, 0, MAX_WORKERS)
        _real("time_limit_s", self.time_limit_s, 0, MAX_TIME_LIMIT_S, lo_open=True)
        for name in ("co2_kg_per_t_km", "rail_co2_kg_per_t_km"):
            v = getattr(self, name)
            if v is not None:
                _real(name, v, 0, 10)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        for name in ("baseline", "truckloads", "marginal_curve"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        # normalise exclusions to string pairs (hashable, JSON-able)
        try:
            pairs = frozenset((str(s), str(d)) for s, d in self.exclude)
        except (TypeError, ValueError):
            raise ValueError("exclude must be a list of [supply_id, demand_id] pairs") from None
        object.__setattr__(self, "exclude", pairs)

    @classmethod
    def make(cls, exclude: Iterable[tuple[Id, Id]] = (), **kw: Any) -> SolveOptions:
        """Convenience constructor taking any iterable of exclusion pairs."""
        return cls(exclude=frozenset((str(s), str(d)) for s, d in exclude), **kw)

    @property
    def lot_rules(self) -> bool:
        """Options that min-cost flow cannot express (CP-SAT needed when arcs exist)."""
        return self.min_shipment_t > 1 or self.truckloads or self.max_partners is not None \
            or self.max_partners_per_supply is not None

    @property
    def needs_cp_sat(self) -> bool:
        """Flow cannot express a minimum lot, truckloads or a partner cap.

        (A tariff's minimum train load also needs CP-SAT when rail arcs exist;
        the solver checks that.)"""
        return self.lot_rules

    @property
    def min_tonnes(self) -> int:
        """Smallest tonnage a used pairing may carry (truckloads aside)."""
        return max(1, self.min_shipment_t)

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "min_shipment_t": self.min_shipment_t,
            "truckloads": self.truckloads,
            "max_partners": self.max_partners,
            "max_partners_per_supply": self.max_partners_per_supply,
            "exclude": sorted([s, d] for s, d in self.exclude),
            "time_limit_s": self.time_limit_s,
            "co2_kg_per_t_km": self.co2_kg_per_t_km,
            "rail_co2_kg_per_t_km": self.rail_co2_kg_per_t_km,
        }

    @classmethod
    def from_json(cls, data: Any) -> SolveOptions:
        """Options as recorded in a plan; ValueError (one line) if malformed."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise ValueError("options must be an object")
        unknown = sorted(set(data) - set(cls().to_json()))
        if unknown:
            raise ValueError(f"options: unknown field {unknown[0]!r}")
        exclude = data.get("exclude") or []
        if not isinstance(exclude, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, (str, int)) for x in p)
                for p in exclude):
            raise ValueError("options: exclude must be a list of [supply_id, demand_id] pairs")
        limit = data.get("time_limit_s")
        return cls(
            objective=data.get("objective") or "max_tonnes",
            min_shipment_t=data.get("min_shipment_t") or 0,
            truckloads=bool(data.get("truckloads") or False),
            max_partners=data.get("max_partners"),
            max_partners_per_supply=data.get("max_partners_per_supply"),
            exclude=frozenset((str(s), str(d)) for s, d in exclude),
            time_limit_s=30.0 if limit is None else limit,
            co2_kg_per_t_km=data.get("co2_kg_per_t_km"),
            rail_co2_kg_per_t_km=data.get("rail_co2_kg_per_t_km"),
        )
