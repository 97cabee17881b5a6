"""Solve options shared by the solver, the greedy baseline and the validator."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .model import Id


@dataclass(frozen=True)
class SolveOptions:
    """Options beyond plain min-cost flow.

    min_shipment_t
        Every pairing ships either nothing or at least this many tonnes (a
        truckload, a contract minimum).  0 or 1 means no minimum.
    max_partners
        At most this many distinct supplies per demand (None = unlimited).
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
        CP-SAT search workers (0 = one per core).
    """

    min_shipment_t: int = 0
    max_partners: int | None = None
    exclude: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    time_limit_s: float = 30.0
    co2_kg_per_t_km: float | None = None
    rail_co2_kg_per_t_km: float | None = None
    baseline: bool = True
    workers: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.min_shipment_t, bool) or not isinstance(self.min_shipment_t, int) \
                or self.min_shipment_t < 0:
            raise ValueError("min_shipment_t must be a whole number >= 0")
        if self.max_partners is not None and (
                isinstance(self.max_partners, bool) or not isinstance(self.max_partners, int)
                or self.max_partners < 1):
            raise ValueError("max_partners must be a whole number >= 1")
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be positive")
        for name in ("co2_kg_per_t_km", "rail_co2_kg_per_t_km"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ValueError(f"{name} must be >= 0")
        # normalise exclusions to string pairs (hashable, JSON-able)
        object.__setattr__(self, "exclude", frozenset(
            (str(s), str(d)) for s, d in self.exclude))

    @classmethod
    def make(cls, exclude: Iterable[tuple[Id, Id]] = (), **kw: Any) -> SolveOptions:
        """Convenience constructor taking any iterable of exclusion pairs."""
        return cls(exclude=frozenset((str(s), str(d)) for s, d in exclude), **kw)

    @property
    def needs_cp_sat(self) -> bool:
        """Flow cannot express a minimum shipment > 1 or a partner cap."""
        return self.min_shipment_t > 1 or self.max_partners is not None

    @property
    def min_tonnes(self) -> int:
        """Smallest tonnage a used pairing may carry."""
        return max(1, self.min_shipment_t)

    def to_json(self) -> dict[str, Any]:
        return {
            "min_shipment_t": self.min_shipment_t,
            "max_partners": self.max_partners,
            "exclude": sorted([s, d] for s, d in self.exclude),
            "time_limit_s": self.time_limit_s,
            "co2_kg_per_t_km": self.co2_kg_per_t_km,
            "rail_co2_kg_per_t_km": self.rail_co2_kg_per_t_km,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SolveOptions:
        if not data:
            return cls()
        return cls(
            min_shipment_t=int(data.get("min_shipment_t") or 0),
            max_partners=data.get("max_partners"),
            exclude=frozenset((str(s), str(d)) for s, d in data.get("exclude") or ()),
            time_limit_s=float(data.get("time_limit_s") or 30.0),
            co2_kg_per_t_km=data.get("co2_kg_per_t_km"),
            rail_co2_kg_per_t_km=data.get("rail_co2_kg_per_t_km"),
        )
