"""The optimiser: most tonnes first, then least transport cost.

Plain case (no minimum shipment, no partner cap): a min-cost max-flow on
source -> supplies -> demands -> sink with OR-Tools ``SimpleMinCostFlow``;
``solve_max_flow_with_min_cost`` gives exactly the lexicographic objective.
With a minimum shipment or a partner cap the problem is no longer a flow, so
it goes to CP-SAT under a time limit, warm-started from the best of the
trimmed flow solution and the greedy plan.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from .arcs import ArcSet, build_arcs
from .greedy import greedy_flow
from .model import Instance
from .money import fen_to_yuan
from .options import SolveOptions
from .plan import Baseline, Plan, assemble_plan

log = logging.getLogger(__name__)

_CP_SAT_MAX_COEF = 1 << 60


class SolverError(RuntimeError):
    """The underlying solver failed (bad input ranges, invalid model...)."""


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


def _tonnages(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    s_t = np.array([s.tonnes for s in instance.supplies], dtype=np.int64)
    d_t = np.array([d.tonnes for d in instance.demands], dtype=np.int64)
    return s_t, d_t


def _totals(arcs: ArcSet, flow: np.ndarray) -> tuple[int, int]:
    """(tonnes, cost in fen) of a per-arc flow, in exact integers."""
    return int(flow.sum()), int(np.dot(flow, arcs.fen))


def _better(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Lexicographic: more tonnes, then less cost."""
    return (a[0], -a[1]) > (b[0], -b[1])


# ---------------------------------------------------------------------------
# plain min-cost max-flow
# ---------------------------------------------------------------------------


def min_cost_flow_arcs(arcs: ArcSet, s_t: np.ndarray, d_t: np.ndarray) -> np.ndarray:
    """Max flow at min cost over ``arcs``; returns tonnes per arc.

    Nodes: supplies 0..S-1, demands S..S+D-1, source S+D, sink S+D+1.  All
    arcs go in with one numpy call; capacities and costs are int64 already
    (integer tonnes and fen), so nothing is truncated.
    """
    n_s, n_d = s_t.size, d_t.size
    if arcs.n == 0:
        return np.zeros(0, dtype=np.int64)
    src, snk = n_s + n_d, n_s + n_d + 1
    # model: arcs source->supply (capacity = tonnes), supply->demand, demand->sink
    tails = np.concatenate([np.full(n_s, src), arcs.si, n_s + np.arange(n_d)]).astype(np.int32)
    heads = np.concatenate([np.arange(n_s), n_s + arcs.di.astype(np.int64),
                            np.full(n_d, snk)]).astype(np.int32)
    caps = np.concatenate([s_t, arcs.cap, d_t]).astype(np.int64)
    costs = np.concatenate([np.zeros(n_s, np.int64), arcs.fen, np.zeros(n_d, np.int64)])
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    total = int(s_t.sum())
    mcf.set_node_supply(src, total)
    mcf.set_node_supply(snk, -total)
    status = mcf.solve_max_flow_with_min_cost()
    if status != mcf.OPTIMAL:
        # with max-flow semantics the only failures are range/overflow errors
        raise SolverError(f"min-cost flow failed with status {status!r}")
    return np.asarray(mcf.flows(np.arange(n_s, n_s + arcs.n)), dtype=np.int64)


# ---------------------------------------------------------------------------
# CP-SAT (minimum shipment, partner cap)
# ---------------------------------------------------------------------------


def _trim_to_options(arcs: ArcSet, flow: np.ndarray, options: SolveOptions) -> np.ndarray:
    """Make a flow feasible for the options by dropping shipments.

    Dropping tonnes never breaks a capacity, so: zero the arcs below the
    minimum shipment, then keep each demand's ``max_partners`` largest arcs.
    """
    out = np.where(flow >= options.min_tonnes, flow, 0)
    if options.max_partners is not None and arcs.n:
        order = np.lexsort((-out, arcs.di))  # by demand, biggest first
        d_sorted = arcs.di[order]
        start = np.r_[0, np.flatnonzero(np.diff(d_sorted)) + 1]
        rank = np.arange(arcs.n) - np.repeat(start, np.diff(np.r_[start, arcs.n]))
        out[order[rank >= options.max_partners]] = 0
    return out


def _solve_cp_sat(instance: Instance, arcs: ArcSet, options: SolveOptions,
                  hint: np.ndarray, tonnes_ub: int) -> tuple[np.ndarray, str, dict[str, Any]]:
    from ortools.sat.python import cp_model  # imported lazily: ~0.3 s

    s_t, d_t = _tonnages(instance)
    n = arcs.n
    m = options.min_tonnes
    fen_max = int(arcs.fen.max()) if n else 0
    # weight of one tonne in the single objective: larger than any possible
    # total cost, so one more tonne always beats any cost saving
    w = fen_max * tonnes_ub + 1
    if w * max(tonnes_ub, 1) >= _CP_SAT_MAX_COEF:
        raise SolverError("instance too large for the weighted CP-SAT objective")

    model = cp_model.CpModel()
    # variables: x = tonnes on an arc; y = arc used (only when options need it)
    caps = arcs.cap.tolist()
    x = [model.new_int_var(0, c, f"x{a}") for a, c in enumerate(caps)]
    y = [model.new_bool_var(f"y{a}") for a in range(n)]

    # constraint: a used arc carries between the minimum shipment and its capacity
    for a in range(n):
        model.add(x[a] <= caps[a] * y[a])
        model.add(x[a] >= m * y[a])

    # constraint: a supply ships at most its tonnes; a demand receives at most its tonnes
    for ends, limit in ((arcs.si, s_t), (arcs.di, d_t)):
        order = np.argsort(ends, kind="stable")
        bounds = np.searchsorted(ends[order], np.arange(limit.size + 1))
        for node in range(limit.size):
            members = order[bounds[node]:bounds[node + 1]].tolist()
            if len(members) > 0 and sum(caps[a] for a in members) > limit[node]:
                model.add(sum(x[a] for a in members) <= int(limit[node]))

    # constraint: at most max_partners distinct supplies per demand
    if options.max_partners is not None:
        order = np.argsort(arcs.di, kind="stable")
        bounds = np.searchsorted(arcs.di[order], np.arange(d_t.size + 1))
        for node in range(d_t.size):
            members = order[bounds[node]:bounds[node + 1]].tolist()
            if len(members) > options.max_partners:
                model.add(sum(y[a] for a in members) <= options.max_partners)

    # objective: minimise cost - w * tonnes (lexicographic via the weight w)
    coef = (arcs.fen - w).tolist()
    model.minimize(sum(c * v for c, v in zip(coef, x, strict=True)))

    # warm start from a known feasible plan
    for a, v in enumerate(hint.tolist()):
        model.add_hint(x[a], v)
        model.add_hint(y[a], 1 if v > 0 else 0)

    # solve
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(options.time_limit_s)
    if options.workers:
        solver.parameters.num_workers = options.workers
    code = solver.solve(model)
    name = solver.status_name(code)
    info: dict[str, Any] = {"cp_sat_status": name, "time_limit_s": options.time_limit_s}
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        flow = np.array([solver.value(v) for v in x], dtype=np.int64)
        status = "OPTIMAL" if code == cp_model.OPTIMAL else "FEASIBLE"
        source = "cp_sat"
        if _better(_totals(arcs, hint), _totals(arcs, flow)):
            flow, status, source = hint, "FEASIBLE", "hint"
    elif code == cp_model.UNKNOWN:
        # no solution within the time limit: the hint is feasible by construction
        log.warning("CP-SAT found no solution in %.1f s; returning the warm start",
                    options.time_limit_s)
        flow, status, source = hint, "FEASIBLE", "hint"
    else:  # INFEASIBLE cannot happen (all-zero is feasible); MODEL_INVALID is a bug
        raise SolverError(f"CP-SAT returned {name}")
    tonnes, cost = _totals(arcs, flow)
    objective = cost - w * tonnes
    bound = float(solver.best_objective_bound) if code != cp_model.UNKNOWN else float(-w * tonnes_ub)
    bound = min(bound, float(objective))
    info.update(
        solution_source=source,
        objective=objective,
        best_bound=bound,
        gap=0.0 if status == "OPTIMAL" else round((objective - bound) / max(1.0, abs(objective)), 9),
        tonnes_upper_bound=min(tonnes_ub, int((w - 1 - bound) // w)),
        tonne_weight=w,
    )
    return flow, status, info


# ---------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------


def solve(instance: Instance, options: SolveOptions | None = None) -> Plan:
    """Propose pairings: most tonnes matched, then least transport cost.

    Uses min-cost flow, or CP-SAT when ``options`` has a minimum shipment or
    a partner cap (status OPTIMAL or FEASIBLE plus a gap in ``stats``).
    Raises ValueError for options naming unknown ids, SolverError if a
    solver fails.
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    arcs = build_arcs(instance, options)
    t1 = time.perf_counter()
    s_t, d_t = _tonnages(instance)
    flow = min_cost_flow_arcs(arcs, s_t, d_t)
    stats: dict[str, Any] = {"solver": "min_cost_flow", "arcs": arcs.n,
                             "candidate_pairs": arcs.candidates}
    status = "OPTIMAL"
    base_flow = None
    if options.needs_cp_sat and arcs.n:
        # the relaxed flow bounds the tonnes; trimmed, it is a feasible start
        tonnes_ub = int(flow.sum())
        base_flow = greedy_flow(instance, arcs, options)
        hint = _trim_to_options(arcs, flow, options)
        if _better(_totals(arcs, base_flow), _totals(arcs, hint)):
            hint = base_flow
        flow, status, info = _solve_cp_sat(instance, arcs, options, hint, tonnes_ub)
        stats["solver"] = "cp_sat"
        stats.update(info)
    t2 = time.perf_counter()

    baseline = None
    if options.baseline:
        if base_flow is None:
            base_flow = greedy_flow(instance, arcs, options)
        g_t, g_fen = _totals(arcs, base_flow)
        o_t, o_fen = _totals(arcs, flow)
        baseline = Baseline("greedy_cheapest_first", g_t, fen_to_yuan(g_fen),
                            fen_to_yuan(g_fen - o_fen), o_t - g_t)
    t3 = time.perf_counter()
    stats.update(seconds_build=round(t1 - t0, 4), seconds_solve=round(t2 - t1, 4),
                 seconds_baseline=round(t3 - t2, 4))
    plan = assemble_plan(instance, arcs, flow, status, options, stats)
    plan.baseline = baseline
    stats["seconds_total"] = round(time.perf_counter() - t0, 4)
    log.info("solved %d arcs: %s, %d t, %s yuan", arcs.n, status, plan.tonnes_matched,
             plan.transport_cost_yuan)
    return plan
