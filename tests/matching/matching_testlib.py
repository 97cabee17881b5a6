"""Builders and independent reference solvers for the matching tests."""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from matching import Instance
from matching.validation import PairTerms, pair_terms

KM_PER_DEG = 6371.009 * np.pi / 180  # 111.195 km per degree of latitude


def sup(id: Any, lat: float = 38.0, lon: float = 106.0, material: str = "fly_ash",
        tonnes: int = 100, price: float = 10, haul: float = 300, **kw: Any) -> dict[str, Any]:
    return {"id": id, "material": material, "tonnes": tonnes, "lat": lat, "lon": lon,
            "price_yuan_per_t": price, "max_haul_km": haul, **kw}


def dem(id: Any, lat: float = 38.0, lon: float = 106.0, material: str = "fly_ash",
        tonnes: int = 100, haul: float = 300, **kw: Any) -> dict[str, Any]:
    return {"id": id, "material": material, "tonnes": tonnes, "lat": lat, "lon": lon,
            "max_haul_km": haul, **kw}


def tariff(**kw: Any) -> dict[str, Any]:
    t = {"road_yuan_per_t_km": 0.5, "handling_yuan_per_t": 8, "circuity": 1.0}
    t.update(kw)
    return t


def inst(supplies: list, demands: list, **tkw: Any) -> Instance:
    return Instance.from_json({"supplies": supplies, "demands": demands, "tariff": tariff(**tkw)})


def north(km: float, lat0: float = 38.0) -> float:
    """Latitude ``km`` north of ``lat0`` on the same meridian."""
    return lat0 + km / KM_PER_DEG


def shipped(plan: Any) -> dict[tuple[str, str], int]:
    return {(str(p.supply), str(p.demand)): p.tonnes for p in plan.pairings}


def fen(plan: Any) -> int:
    return plan.transport_cost_fen


def allowed_arcs(instance: Instance, exclude: frozenset = frozenset()) -> list[tuple[int, int, PairTerms]]:
    """Allowed arcs from the scalar rule checker (independent of the numpy builder)."""
    out = []
    for i, s in enumerate(instance.supplies):
        for j, d in enumerate(instance.demands):
            if (str(s.id), str(d.id)) in exclude:
                continue
            t = pair_terms(instance, s, d)
            if not isinstance(t, str):
                out.append((i, j, t))
    return out


def lp_optimum(instance: Instance) -> tuple[int, int]:
    """(max tonnes, min cost in fen) by two HiGHS LPs (transport LPs are integral)."""
    arcs = allowed_arcs(instance)
    if not arcs:
        return 0, 0
    n = len(arcs)
    n_s, n_d = len(instance.supplies), len(instance.demands)
    rows = [i for i, _, _ in arcs] + [n_s + j for _, j, _ in arcs]
    a_ub = coo_matrix((np.ones(2 * n), (rows, list(range(n)) * 2)), shape=(n_s + n_d, n)).tocsr()
    b_ub = [s.tonnes for s in instance.supplies] + [d.tonnes for d in instance.demands]
    r1 = linprog(-np.ones(n), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert r1.status == 0
    tonnes = round(-r1.fun)
    cost = np.array([t.fen_per_t for _, _, t in arcs], dtype=float)
    r2 = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=np.ones((1, n)), b_eq=[tonnes],
                 bounds=(0, None), method="highs")
    assert r2.status == 0
    return tonnes, round(r2.fun)


def brute_force(instance: Instance, min_shipment: int = 0, max_partners: int | None = None,
                exclude: frozenset = frozenset()) -> tuple[int, int]:
    """(tonnes, fen) of the lexicographic optimum by enumerating every integer plan."""
    arcs = allowed_arcs(instance, exclude)
    s_t = np.array([s.tonnes for s in instance.supplies])
    d_t = np.array([d.tonnes for d in instance.demands])
    m = max(1, min_shipment)
    choices = []
    for i, j, _ in arcs:
        cap = int(min(s_t[i], d_t[j]))
        choices.append([0, *range(m, cap + 1)])
    if not arcs:
        return 0, 0
    grid = np.array(list(itertools.product(*choices)), dtype=np.int64)  # plans x arcs
    ok = np.ones(grid.shape[0], dtype=bool)
    for i in range(len(s_t)):
        cols = [k for k, (a, _, _) in enumerate(arcs) if a == i]
        if cols:
            ok &= grid[:, cols].sum(axis=1) <= s_t[i]
    for j in range(len(d_t)):
        cols = [k for k, (_, b, _) in enumerate(arcs) if b == j]
        if cols:
            ok &= grid[:, cols].sum(axis=1) <= d_t[j]
            if max_partners is not None:
                ok &= (grid[:, cols] > 0).sum(axis=1) <= max_partners
    grid = grid[ok]
    tonnes = grid.sum(axis=1)
    cost = grid @ np.array([t.fen_per_t for _, _, t in arcs], dtype=np.int64)
    best_t = tonnes.max()
    return int(best_t), int(cost[tonnes == best_t].min())


def sequential_greedy(instance: Instance, min_shipment: int = 0,
                      max_partners: int | None = None) -> tuple[int, int]:
    """Plain-loop reference of the greedy baseline: (tonnes, fen)."""
    arcs = sorted(allowed_arcs(instance), key=lambda a: (a[2].fen_per_t, a[0], a[1]))
    rs = [s.tonnes for s in instance.supplies]
    rd = [d.tonnes for d in instance.demands]
    pc = [0] * len(rd)
    m = max(1, min_shipment)
    tonnes = cost = 0
    for i, j, t in arcs:
        x = min(rs[i], rd[j])
        if x >= m and (max_partners is None or pc[j] < max_partners):
            rs[i] -= x
            rd[j] -= x
            pc[j] += 1
            tonnes += x
            cost += x * t.fen_per_t
    return tonnes, cost
