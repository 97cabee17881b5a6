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


def plan_score(instance: Instance, plan: Any, objective: str) -> tuple[int, ...]:
    """The objective of a plan as a tuple to maximise (recomputed from its pairings)."""
    sup = {str(s.id): s for s in instance.supplies}
    tonnes = sum(p.tonnes for p in plan.pairings)
    transport = sum(p.tonnes * int(p.transport_cost_yuan_per_t * 100) for p in plan.pairings)
    if objective == "net_value":
        value = sum(p.tonnes * instance.tariff.value_fen(sup[str(p.supply)].material) for p in plan.pairings)
        return (value - transport,)
    if objective == "delivered_cost":
        price = sum(p.tonnes * sup[str(p.supply)].price_fen for p in plan.pairings)
        return (tonnes, -(transport + price))
    return (tonnes, -transport)


def brute_force_options(instance: Instance, options: Any) -> tuple[int, ...]:
    """Best objective tuple over every integer plan obeying the options (tiny instances only).

    Independent of the solver: the pair's mode and cost come from the scalar rule checker for each
    tonnage (rail only at or above the tariff's minimum train load)."""
    n_s, n_d = len(instance.supplies), len(instance.demands)
    pairs = [(i, j) for i in range(n_s) for j in range(n_d)
             if (str(instance.supplies[i].id), str(instance.demands[j].id)) not in options.exclude]
    choices = []
    for i, j in pairs:
        s, d = instance.supplies[i], instance.demands[j]
        unit = instance.tariff.payload(s.material) if options.truckloads else 1
        opts = [(0, 0, 0, 0)]
        for t in range(max(1, options.min_shipment_t), min(s.tonnes, d.tonnes) + 1):
            if t % unit:
                continue
            terms = pair_terms(instance, s, d, t)
            if isinstance(terms, str):
                continue
            transport = t * terms.fen_per_t
            value = t * instance.tariff.value_fen(s.material) - transport
            if options.objective == "net_value" and value <= 0:
                continue
            opts.append((t, transport, t * s.price_fen, value))
        choices.append(opts)
    best: tuple[int, ...] | None = None
    for combo in itertools.product(*choices):
        s_used = [0] * n_s
        d_used = [0] * n_d
        s_cnt = [0] * n_s
        d_cnt = [0] * n_d
        for (i, j), (t, *_rest) in zip(pairs, combo, strict=True):
            if t:
                s_used[i] += t
                d_used[j] += t
                s_cnt[i] += 1
                d_cnt[j] += 1
        if any(s_used[i] > instance.supplies[i].tonnes for i in range(n_s)) or \
                any(d_used[j] > instance.demands[j].tonnes for j in range(n_d)):
            continue
        if options.max_partners is not None and max(d_cnt, default=0) > options.max_partners:
            continue
        if options.max_partners_per_supply is not None and max(s_cnt, default=0) > options.max_partners_per_supply:
            continue
        tonnes = sum(c[0] for c in combo)
        transport = sum(c[1] for c in combo)
        if options.objective == "net_value":
            score: tuple[int, ...] = (sum(c[3] for c in combo),)
        elif options.objective == "delivered_cost":
            score = (tonnes, -(transport + sum(c[2] for c in combo)))
        else:
            score = (tonnes, -transport)
        if best is None or score > best:
            best = score
    assert best is not None
    return best


def milp_optimum(instance: Instance, options: Any) -> tuple[int, ...]:
    """Best objective tuple by a two-phase scipy HiGHS MILP (no minimum train load).

    Integer units k_a per allowed pair and a binary y_a (used): lo*y <= k <= hi*y, node tonnes, partner
    caps on both sides; phase 1 the primary criterion, phase 2 the secondary with phase 1 fixed."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    arcs = allowed_arcs(instance, options.exclude)
    if options.objective == "net_value":
        arcs = [a for a in arcs if instance.tariff.value_fen(instance.supplies[a[0]].material) > a[2].fen_per_t]
    if not arcs:
        return (0,) if options.objective == "net_value" else (0, 0)
    n = len(arcs)
    n_s, n_d = len(instance.supplies), len(instance.demands)
    unit = np.array([instance.tariff.payload(instance.supplies[i].material) if options.truckloads else 1
                     for i, _, _ in arcs], dtype=float)
    cap = np.array([min(instance.supplies[i].tonnes, instance.demands[j].tonnes) for i, j, _ in arcs])
    hi = np.floor(cap / unit)
    lo = np.ceil(max(1, options.min_shipment_t) / unit)
    fen = np.array([t.fen_per_t for _, _, t in arcs], dtype=float)
    price = np.array([instance.supplies[i].price_fen for i, _, _ in arcs], dtype=float)
    value = np.array([instance.tariff.value_fen(instance.supplies[i].material) for i, _, _ in arcs], dtype=float)
    rows = []
    ub = []
    for i in range(n_s):
        rows.append(np.r_[[unit[k] if arcs[k][0] == i else 0 for k in range(n)], np.zeros(n)])
        ub.append(instance.supplies[i].tonnes)
    for j in range(n_d):
        rows.append(np.r_[[unit[k] if arcs[k][1] == j else 0 for k in range(n)], np.zeros(n)])
        ub.append(instance.demands[j].tonnes)
    if options.max_partners is not None:
        for j in range(n_d):
            rows.append(np.r_[np.zeros(n), [1.0 if arcs[k][1] == j else 0 for k in range(n)]])
            ub.append(options.max_partners)
    if options.max_partners_per_supply is not None:
        for i in range(n_s):
            rows.append(np.r_[np.zeros(n), [1.0 if arcs[k][0] == i else 0 for k in range(n)]])
            ub.append(options.max_partners_per_supply)
    link_hi = np.c_[np.eye(n), -np.diag(hi)]
    link_lo = np.c_[np.eye(n), -np.diag(np.full(n, lo))]
    cons = [LinearConstraint(np.array(rows), -np.inf, np.array(ub, dtype=float)),
            LinearConstraint(link_hi, -np.inf, 0), LinearConstraint(link_lo, 0, np.inf)]
    integrality = np.ones(2 * n)
    bounds = Bounds(np.zeros(2 * n), np.r_[hi, np.ones(n)])
    tonnes_c = np.r_[unit, np.zeros(n)]
    if options.objective == "net_value":
        gain = np.r_[unit * (value - fen), np.zeros(n)]
        r = milp(-gain, constraints=cons, integrality=integrality, bounds=bounds)
        assert r.status == 0
        return (round(-r.fun),)
    second = fen + (price if options.objective == "delivered_cost" else 0)
    r1 = milp(-tonnes_c, constraints=cons, integrality=integrality, bounds=bounds)
    assert r1.status == 0
    t = round(-r1.fun)
    r2 = milp(np.r_[unit * second, np.zeros(n)], integrality=integrality, bounds=bounds,
              constraints=[*cons, LinearConstraint(tonnes_c[None, :], t, t)])
    assert r2.status == 0
    return (t, -round(r2.fun))


def _lp_matrix(instance: Instance, arcs: list) -> tuple[Any, list[int]]:
    n = len(arcs)
    n_s, n_d = len(instance.supplies), len(instance.demands)
    rows = [i for i, _, _ in arcs] + [n_s + j for _, j, _ in arcs]
    a_ub = coo_matrix((np.ones(2 * n), (rows, list(range(n)) * 2)), shape=(n_s + n_d, n)).tocsr()
    b_ub = [s.tonnes for s in instance.supplies] + [d.tonnes for d in instance.demands]
    return a_ub, b_ub


def lp_objective(instance: Instance, objective: str) -> tuple[int, ...]:
    """Optimum of a plain (no lot rules) objective by HiGHS LPs (transport LPs are integral)."""
    arcs = allowed_arcs(instance)
    if objective == "net_value":
        arcs = [a for a in arcs if instance.tariff.value_fen(instance.supplies[a[0]].material) > a[2].fen_per_t]
    if not arcs:
        return (0,) if objective == "net_value" else (0, 0)
    a_ub, b_ub = _lp_matrix(instance, arcs)
    fen = np.array([t.fen_per_t for _, _, t in arcs], dtype=float)
    if objective == "net_value":
        gain = np.array([instance.tariff.value_fen(instance.supplies[i].material) for i, _, _ in arcs]) - fen
        r = linprog(-gain, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        assert r.status == 0
        return (round(-r.fun),)
    n = len(arcs)
    r1 = linprog(-np.ones(n), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    tonnes = round(-r1.fun)
    price = np.array([instance.supplies[i].price_fen for i, _, _ in arcs], dtype=float)
    cost = fen + (price if objective == "delivered_cost" else 0)
    r2 = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=np.ones((1, n)), b_eq=[tonnes], bounds=(0, None), method="highs")
    assert r2.status == 0
    return (tonnes, -round(r2.fun))


def lp_least_cost(instance: Instance, tonnes: int, arcs: list | None = None) -> int:
    """Least transport cost (fen) of moving exactly ``tonnes`` over the allowed arcs, by HiGHS."""
    arcs = allowed_arcs(instance) if arcs is None else arcs
    a_ub, b_ub = _lp_matrix(instance, arcs)
    fen = np.array([t.fen_per_t for _, _, t in arcs], dtype=float)
    r = linprog(fen, A_ub=a_ub, b_ub=b_ub, A_eq=np.ones((1, len(arcs))), b_eq=[tonnes], bounds=(0, None),
                method="highs")
    assert r.status == 0
    return round(r.fun)


def seasonal_lp_optimum(instance: Instance, objective: str = "max_tonnes") -> tuple[int, int]:
    """(tonnes shipped, cost in fen) of the time-expanded network by HiGHS LPs, from the scalar rules.

    Written from the definition, sharing nothing with the solver but ``pair_terms``: variables x[a, p]
    (tonnes on allowed pair a in period p), yard and silo end stocks, demand use; rows are each
    period's balances.  ``max_tonnes``/``delivered_cost``: most tonnes, then least transport (plus
    ex-works price) plus holding; ``net_value``: (value - transport - holding, in fen) maximised, returned
    as (tonnes, -net value) of that optimum's... only its objective is compared: (0, -best net value).
    """
    arcs = allowed_arcs(instance)
    if objective == "net_value":
        arcs = [a for a in arcs
                if a[2].fen_per_t < instance.tariff.value_fen(instance.supplies[a[0]].material)]
    n_per = len(instance.periods)
    sup, dem = instance.supplies, instance.demands
    n_a = len(arcs)
    # variable layout: x (n_a * P), ys (S * P), yd (D * P), u (D * P)
    n_s, n_d = len(sup), len(dem)
    x0, ys0, yd0, u0 = 0, n_a * n_per, n_a * n_per + n_s * n_per, n_a * n_per + (n_s + n_d) * n_per
    n_var = u0 + n_d * n_per
    bounds = [(0, None)] * (n_a * n_per)
    bounds += [(0, s.storage.capacity_t if s.storage else 0) for s in sup for _ in range(n_per)]
    bounds += [(0, d.storage.capacity_t if d.storage else 0) for d in dem for _ in range(n_per)]
    bounds += [(0, d.tonnes_by_period[p]) for d in dem for p in range(n_per)]  # type: ignore[index]
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for i, s in enumerate(sup):
        init = s.storage.initial_t if s.storage else 0
        for p in range(n_per):
            row = np.zeros(n_var)
            for k, (a_i, _, _) in enumerate(arcs):
                if a_i == i:
                    row[x0 + k * n_per + p] = 1
            row[ys0 + i * n_per + p] = 1
            rhs = s.tonnes_by_period[p]  # type: ignore[index]
            if p == 0:
                rhs += init
            else:
                row[ys0 + i * n_per + p - 1] = -1
            a_ub.append(row)
            b_ub.append(rhs)
    for j, d in enumerate(dem):
        init = d.storage.initial_t if d.storage else 0
        for p in range(n_per):
            row = np.zeros(n_var)
            for k, (_, a_j, _) in enumerate(arcs):
                if a_j == j:
                    row[x0 + k * n_per + p] = 1
            row[yd0 + j * n_per + p] = -1
            row[u0 + j * n_per + p] = -1
            rhs = 0
            if p == 0:
                rhs = -init
            else:
                row[yd0 + j * n_per + p - 1] = 1
            a_eq.append(row)
            b_eq.append(rhs)
    hold = np.zeros(n_var)
    hold[ys0:yd0] = [s.storage.holding_fen if s.storage else 0 for s in sup for _ in range(n_per)]
    hold[yd0:u0] = [d.storage.holding_fen if d.storage else 0 for d in dem for _ in range(n_per)]
    unit = np.zeros(n_var)
    fen = np.zeros(n_var)
    for k, (i, _, t) in enumerate(arcs):
        unit[x0 + k * n_per: x0 + (k + 1) * n_per] = 1
        per_t = t.fen_per_t
        if objective == "delivered_cost":
            per_t += sup[i].price_fen
        if objective == "net_value":
            per_t -= instance.tariff.value_fen(sup[i].material)
        fen[x0 + k * n_per: x0 + (k + 1) * n_per] = per_t
    kw = {"A_ub": np.array(a_ub) if a_ub else None, "b_ub": b_ub or None,
          "A_eq": np.array(a_eq) if a_eq else None, "b_eq": b_eq or None, "bounds": bounds, "method": "highs"}
    if objective == "net_value":
        r = linprog(fen + hold, **kw)
        assert r.status == 0, r.message
        return 0, round(r.fun)
    r1 = linprog(-unit, **kw)
    assert r1.status == 0, r1.message
    tonnes = round(-r1.fun)
    a_eq2 = [*a_eq, unit]
    r2 = linprog(fen + hold, **{**kw, "A_eq": np.array(a_eq2), "b_eq": [*b_eq, tonnes]})
    assert r2.status == 0, r2.message
    return tonnes, round(r2.fun)
