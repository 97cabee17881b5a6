"""Exact optimiser for cost-minimising transport pairings of industrial solid waste.

Pure Python on OR-Tools and numpy; never imports Flask or ``marketplace``.

Example::

    from matching import Instance, SolveOptions, solve, validate
    inst = Instance.from_json(data)
    plan = solve(inst, SolveOptions(min_shipment_t=30, time_limit_s=10))
    assert validate(inst, plan) == []
"""
from .arcs import ArcSet, build_arcs
from .catalogue import ENV_TAX_YUAN_PER_T, MATERIALS, grade_meets
from .generate import generate_instance, generate_seasonal
from .greedy import greedy
from .model import Demand, Instance, InstanceError, QualityLimit, Storage, Supply, Tariff
from .options import SolveOptions
from .plan import Baseline, Pairing, Plan, StockLevel
from .seasonal import SeasonalError
from .solver import SolverError, solve
from .validation import PlanError, check, pair_terms, validate

__all__ = [
    "ENV_TAX_YUAN_PER_T",
    "MATERIALS",
    "ArcSet",
    "Baseline",
    "Demand",
    "Instance",
    "InstanceError",
    "Pairing",
    "Plan",
    "PlanError",
    "QualityLimit",
    "SeasonalError",
    "SolveOptions",
    "SolverError",
    "StockLevel",
    "Storage",
    "Supply",
    "Tariff",
    "build_arcs",
    "check",
    "generate_instance",
    "generate_seasonal",
    "grade_meets",
    "greedy",
    "pair_terms",
    "solve",
    "validate",
]
