"""The optimiser: the chosen objective over the allowed arcs.

Plain case (no lot rules): OR-Tools ``SimpleMinCostFlow`` on source ->
supplies -> demands -> sink.  ``max_tonnes`` and ``delivered_cost`` use
``solve_max_flow_with_min_cost`` (most tonnes, then least cost, exactly);
``net_value`` a min-cost flow with costs ``cost - value`` and a free bypass
arc, so only tonnes worth more than their haul move.

Lot rules (minimum lot, truckloads, minimum train load, partner caps on
either side) go to a two-phase CP-SAT (:mod:`matching.cpsat`), decomposed
exactly into independent parts (materials, joined only by demands that take
several) that are solved in parallel processes.  The flow relaxation of the
same arcs gives the bounds: most tonnes, and least cost at the tonnes the plan
moves; the plan reports its cost gap against that bound.
"""
from __future__ import annotations

import logging
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from .arcs import ArcSet, build_arcs
from .catalogue import MATERIALS
from .cpsat import Part, solve_part
from .greedy import greedy_flow
from .model import Instance
from .money import fen_to_yuan
from .options import SolveOptions
from .plan import Baseline, Plan, assemble_plan, marginal_cost_curve

log = logging.getLogger(__name__)

#: below this many arcs, parts are solved one after the other in this process
PARALLEL_MIN_ARCS = 20_000
#: Above this many arcs a minimum train load that is the only lot rule is met by repairing the flow relaxation
#: (_solve_train) instead of CP-SAT, whose model of a market-wide round (millions of arcs) fits neither the
#: time limit nor memory; below it CP-SAT gives the exact plan.
TRAIN_REPAIR_MIN_ARCS = 250_000
TRAIN_REPAIR_ROUNDS = 20
#: A plain flow this large is solved by material group in parallel processes (a process costs about a
#: second to start and to receive its arcs).
PARALLEL_FLOW_MIN_ARCS = 1_000_000
_MATERIAL_CODES = tuple(MATERIALS)


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


def _supply_codes(instance: Instance) -> np.ndarray:
    """Material index of each supply (into the catalogue's order)."""
    return np.array([_MATERIAL_CODES.index(s.material) for s in instance.supplies], dtype=np.int64)


def objective_costs(instance: Instance, arcs: ArcSet, objective: str) -> np.ndarray:
    """Per-tonne figure each objective optimises, in fen, per arc.

    ``max_tonnes``: transport cost (minimised after tonnes); ``delivered_cost``:
    ex-works price + transport (minimised after tonnes); ``net_value``: value
    of the material minus transport (maximised)."""
    if objective == "max_tonnes":
        out: np.ndarray = arcs.fen.astype(np.int64)
    elif objective == "delivered_cost":
        price = np.array([s.price_fen for s in instance.supplies], dtype=np.int64)
        out = price[arcs.si] + arcs.fen
    else:
        value = np.array([instance.tariff.value_fen(m) for m in _MATERIAL_CODES], dtype=np.int64)
        out = value[_supply_codes(instance)[arcs.si]] - arcs.fen
    return out


# ---------------------------------------------------------------------------
# min-cost flow
# ---------------------------------------------------------------------------


def _flow_network(arcs: ArcSet, s_t: np.ndarray, d_t: np.ndarray, cost: np.ndarray,
                  cap: np.ndarray | None = None) -> tuple[Any, int, int]:
    n_s, n_d = s_t.size, d_t.size
    src, snk = n_s + n_d, n_s + n_d + 1
    # model: arcs source->supply (capacity = tonnes), supply->demand, demand->sink
    tails = np.concatenate([np.full(n_s, src), arcs.si, n_s + np.arange(n_d)]).astype(np.int32)
    heads = np.concatenate([np.arange(n_s), n_s + arcs.di.astype(np.int64),
                            np.full(n_d, snk)]).astype(np.int32)
    caps = np.concatenate([s_t, arcs.cap if cap is None else cap, d_t]).astype(np.int64)
    costs = np.concatenate([np.zeros(n_s, np.int64), cost.astype(np.int64), np.zeros(n_d, np.int64)])
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    return mcf, src, snk


def min_cost_flow_arcs(arcs: ArcSet, s_t: np.ndarray, d_t: np.ndarray, cost: np.ndarray | None = None,
                       cap: np.ndarray | None = None) -> np.ndarray:
    """Max flow at min cost over ``arcs``; returns tonnes per arc.

    Nodes: supplies 0..S-1, demands S..S+D-1, source S+D, sink S+D+1.  All
    arcs go in with one numpy call; capacities and costs are int64 already
    (integer tonnes and fen), so nothing is truncated.
    """
    if arcs.n == 0:
        return np.zeros(0, dtype=np.int64)
    mcf, src, snk = _flow_network(arcs, s_t, d_t, arcs.fen if cost is None else cost, cap)
    total = int(s_t.sum())
    mcf.set_node_supply(src, total)
    mcf.set_node_supply(snk, -total)
    status = mcf.solve_max_flow_with_min_cost()
    if status != mcf.OPTIMAL:
        # with max-flow semantics the only failures are range/overflow errors
        raise SolverError(f"min-cost flow failed with status {status!r}")
    out: np.ndarray = np.asarray(mcf.flows(np.arange(s_t.size, s_t.size + arcs.n)), dtype=np.int64)
    return out


def fixed_flow_arcs(arcs: ArcSet, s_t: np.ndarray, d_t: np.ndarray, cost: np.ndarray, tonnes: int,
                    optional: bool = False, cap: np.ndarray | None = None) -> np.ndarray:
    """Least-cost flow of exactly ``tonnes`` (or, ``optional``, of at most that, free to stop).

    ``optional`` adds a zero-cost bypass source -> sink: with costs
    ``cost - value`` it is the ``net_value`` optimum.  ``cap`` overrides the
    arcs' capacities.
    """
    if arcs.n == 0 or tonnes == 0:
        return np.zeros(arcs.n, dtype=np.int64)
    mcf, src, snk = _flow_network(arcs, s_t, d_t, cost, cap)
    if optional:
        mcf.add_arc_with_capacity_and_unit_cost(src, snk, tonnes, 0)
    mcf.set_node_supply(src, tonnes)
    mcf.set_node_supply(snk, -tonnes)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise SolverError(f"min-cost flow failed with status {status!r}")
    out: np.ndarray = np.asarray(mcf.flows(np.arange(s_t.size, s_t.size + arcs.n)), dtype=np.int64)
    return out


def _group_flow(job: tuple[np.ndarray, ...]) -> np.ndarray:
    """One material group's flow (in a worker process): max flow at min cost, or, `optional`, the least-cost
    flow free to stop (net value); node indices local to the group."""
    si, di, cap, cost, s_t, d_t, optional = job
    arcs = ArcSet(si, di, np.zeros(si.size), cost, np.zeros(si.size, dtype=bool), cap, 0, cost)
    if optional:
        return fixed_flow_arcs(arcs, s_t, d_t, cost, int(s_t.sum()), optional=True)
    return min_cost_flow_arcs(arcs, s_t, d_t, cost)


def _plain_flow(instance: Instance, arcs: ArcSet, s_t: np.ndarray, d_t: np.ndarray, cost: np.ndarray,
                options: SolveOptions, optional: bool = False, cap: np.ndarray | None = None) -> np.ndarray:
    """The plain flow of ``solve``: max flow at min ``cost`` (or, ``optional``, the least-cost flow free to
    stop).  On a large market the material groups, which share no node, are solved side by side in
    ``options.processes`` processes (exact: the sum of the groups' optima is the whole's)."""
    cap = arcs.cap if cap is None else cap
    processes = options.processes or os.cpu_count() or 1
    group = _material_groups(instance)[_supply_codes(instance)[arcs.si]] if arcs.n else np.zeros(0, np.int64)
    labels = np.unique(group)
    if processes <= 1 or labels.size < 2 or arcs.n < PARALLEL_FLOW_MIN_ARCS:
        if optional:
            return fixed_flow_arcs(arcs, s_t, d_t, cost, int(s_t.sum()), optional=True, cap=cap)
        return min_cost_flow_arcs(arcs, s_t, d_t, cost, cap=cap)
    jobs, members = [], []
    for g in labels.tolist():  # at most one per material
        idx = np.flatnonzero(group == g)
        s_nodes, s_loc = np.unique(arcs.si[idx], return_inverse=True)
        d_nodes, d_loc = np.unique(arcs.di[idx], return_inverse=True)
        jobs.append((s_loc.astype(np.int64), d_loc.astype(np.int64), cap[idx], cost[idx], s_t[s_nodes],
                     d_t[d_nodes], optional))
        members.append(idx)
    order = sorted(range(len(jobs)), key=lambda k: -members[k].size)  # the largest first: they finish together
    # spawn, not fork: the caller may be a threaded web server or job worker
    with ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=get_context("spawn")) as ex:
        done = dict(zip(order, ex.map(_group_flow, [jobs[k] for k in order]), strict=True))
    flow = np.zeros(arcs.n, dtype=np.int64)
    for k, idx in enumerate(members):
        flow[idx] = done[k]
    return flow


# ---------------------------------------------------------------------------
# lot rules: arcs in units, hints, parts
# ---------------------------------------------------------------------------


def _lot_arcs(instance: Instance, arcs: ArcSet, options: SolveOptions) -> tuple[ArcSet, np.ndarray]:
    """Arcs with a road twin for each rail arc when the tariff has a minimum train load.

    A rail arc must then carry at least the train load; its twin carries the
    same pair by road, below the train load.  Returns (arcs, lower bound in
    tonnes per arc)."""
    lo = np.full(arcs.n, options.min_tonnes, dtype=np.int64)
    train = instance.tariff.min_train_t if instance.tariff.has_rail else 0
    if train <= 1 or not arcs.rail.any():
        return arcs, lo
    assert arcs.road_fen is not None
    r = np.flatnonzero(arcs.rail)
    lo[r] = np.maximum(lo[r], train)
    twin = arcs.take(r)
    twin.fen = twin.road_fen.copy() if twin.road_fen is not None else twin.fen
    twin.rail = np.zeros(r.size, dtype=bool)
    twin.cap = np.minimum(twin.cap, train - 1)
    # a twin must also meet the buyer's delivered-price cap at road cost
    price = np.array([s.price_fen for s in instance.supplies], dtype=np.int64)
    limit = np.array([np.iinfo(np.int64).max if d.max_delivered_fen is None else d.max_delivered_fen
                      for d in instance.demands], dtype=np.int64)
    ok = (price[twin.si] + twin.fen <= limit[twin.di]) & (twin.cap >= options.min_tonnes)
    twin = twin.take(np.flatnonzero(ok))
    return ArcSet.concat(arcs, twin), np.r_[lo, np.full(twin.n, options.min_tonnes, np.int64)]


def _units(instance: Instance, arcs: ArcSet, options: SolveOptions) -> np.ndarray:
    if not options.truckloads:
        return np.ones(arcs.n, dtype=np.int64)
    payload = np.array([instance.tariff.payload(m) for m in _MATERIAL_CODES], dtype=np.int64)
    out: np.ndarray = payload[_supply_codes(instance)[arcs.si]]
    return out


def _trim(arcs: ArcSet, units: np.ndarray, lo: np.ndarray, hi: np.ndarray, flow: np.ndarray,
          options: SolveOptions) -> np.ndarray:
    """Units per arc of a plan feasible for the lot rules, made from a flow by dropping tonnes.

    Dropping tonnes never breaks a capacity, so: round down to whole units,
    zero the arcs below their lower bound, then keep each node's largest arcs
    up to its partner cap."""
    k = np.minimum(flow // units, hi)
    k[k < lo] = 0
    for ends, cap in ((arcs.di, options.max_partners), (arcs.si, options.max_partners_per_supply)):
        if cap is None or arcs.n == 0:
            continue
        order = np.lexsort((-k * units, ends))  # by node, biggest first
        e = ends[order]
        start = np.r_[0, np.flatnonzero(np.diff(e)) + 1]
        rank = np.arange(arcs.n) - np.repeat(start, np.diff(np.r_[start, arcs.n]))
        k[order[rank >= cap]] = 0
    out: np.ndarray = k
    return out


def _rounded_flow(arcs: ArcSet, units: np.ndarray, lo: np.ndarray, hi: np.ndarray, s_t: np.ndarray,
                  d_t: np.ndarray, cost: np.ndarray, options: SolveOptions, rounds: int = 3) -> np.ndarray:
    """Units per arc from the flow relaxation rounded down to whole units, then topped up.

    Each round solves the flow on what is left (node tonnes, arc room) and adds
    the whole units it finds; an arc not yet used takes them only if they reach
    its lower bound.  Then trimmed to the partner caps."""
    k = np.zeros(arcs.n, dtype=np.int64)
    for _ in range(rounds):
        used = k * units
        res_s = s_t - np.bincount(arcs.si, weights=used, minlength=s_t.size).astype(np.int64)
        res_d = d_t - np.bincount(arcs.di, weights=used, minlength=d_t.size).astype(np.int64)
        f = min_cost_flow_arcs(arcs, res_s, res_d, cost, cap=(hi - k) * units)
        add = f // units
        add[(k == 0) & (add < lo)] = 0
        if not add.any():
            break
        k += add
    return _trim(arcs, units, lo, hi, k * units, options)


def _material_groups(instance: Instance) -> np.ndarray:
    """Group label per catalogue material: materials joined by a multi-material demand share one."""
    label = np.arange(len(_MATERIAL_CODES))
    for d in instance.demands:
        if len(d.materials) > 1:
            codes = [_MATERIAL_CODES.index(m) for m in d.materials]
            old = label[codes]
            label[np.isin(label, old)] = old.min()
    return label


def _solve_parts(parts: list[Part], processes: int) -> list[tuple[np.ndarray, dict[str, Any]]]:
    n_arcs = sum(p.si.size for p in parts)
    if processes <= 1 or len(parts) < 2 or n_arcs < PARALLEL_MIN_ARCS:
        return [solve_part(p) for p in parts]
    # spawn, not fork: the caller may be a threaded web server
    with ProcessPoolExecutor(max_workers=min(processes, len(parts)), mp_context=get_context("spawn")) as ex:
        return list(ex.map(solve_part, parts))


def _solve_lots(instance: Instance, arcs: ArcSet, options: SolveOptions,
                s_t: np.ndarray, d_t: np.ndarray) -> tuple[ArcSet, np.ndarray, str, dict[str, Any]]:
    larcs, lo_t = _lot_arcs(instance, arcs, options)
    units = _units(instance, larcs, options)
    lo = -(-lo_t // units)
    hi = larcs.cap // units
    keep = np.flatnonzero(hi >= np.maximum(lo, 1))
    larcs, units, lo, hi = larcs.take(keep), units[keep], lo[keep], hi[keep]
    cost = objective_costs(instance, larcs, options.objective)
    if options.objective == "net_value":
        keep = np.flatnonzero(cost > 0)  # no tonne at a loss
        larcs, units, lo, hi, cost = larcs.take(keep), units[keep], lo[keep], hi[keep], cost[keep]
    # hint: the relaxation's flow, trimmed to the rules (feasible by construction)
    if options.objective == "net_value":
        relaxed = fixed_flow_arcs(larcs, s_t, d_t, -cost, int(s_t.sum()), optional=True)
        hint = _trim(larcs, units, lo, hi, relaxed, options)
    else:
        hint = _rounded_flow(larcs, units, lo, hi, s_t, d_t, cost, options)
    if options.objective != "net_value" and (options.max_partners or options.max_partners_per_supply):
        # with partner caps the greedy plan (which honours the demand cap) is often the better start
        greedy_hint = _trim(larcs, units, lo, hi, greedy_flow(instance, larcs, options), options)
        tonnes = (hint @ units, greedy_hint @ units)
        costs = ((hint * units) @ cost, (greedy_hint * units) @ cost)
        if (tonnes[1], -costs[1]) > (tonnes[0], -costs[0]):
            hint = greedy_hint

    # parts: one per group of materials (exact: no arc joins two groups)
    group = _material_groups(instance)[_supply_codes(instance)[larcs.si]]
    processes = options.processes or os.cpu_count() or 1
    labels = np.unique(group)
    # parts run side by side only when worth a process each; the time limit is shared accordingly
    parallel = processes if labels.size >= 2 and larcs.n >= PARALLEL_MIN_ARCS else 1
    per_part = options.time_limit_s * min(1.0, parallel / max(1, labels.size))
    parts: list[Part] = []
    members: list[np.ndarray] = []
    for g in labels.tolist():  # one iteration per material group (at most 9)
        idx = np.flatnonzero(group == g)
        s_nodes, s_loc = np.unique(larcs.si[idx], return_inverse=True)
        d_nodes, d_loc = np.unique(larcs.di[idx], return_inverse=True)
        parts.append(Part(
            si=s_loc.astype(np.int64), di=d_loc.astype(np.int64), unit=units[idx], lo=lo[idx], hi=hi[idx],
            cost=cost[idx], s_cap=s_t[s_nodes], d_cap=d_t[d_nodes], hint=hint[idx],
            objective=options.objective, max_partners=options.max_partners,
            max_partners_per_supply=options.max_partners_per_supply, time_limit_s=per_part,
            workers=options.workers))
        members.append(idx)
    try:
        results = _solve_parts(parts, parallel)
    except RuntimeError as exc:
        raise SolverError(str(exc)) from None
    k = np.zeros(larcs.n, dtype=np.int64)
    statuses: list[str] = []
    info: dict[str, Any] = {"parts": len(parts), "processes": min(parallel, max(1, len(parts)))}
    scale = 1
    proven: float | None = 0.0  # CP-SAT's own phase-2 bound, summed over the parts (None if any part has none)
    for idx, (sol, st) in zip(members, results, strict=True):
        k[idx] = sol
        statuses += [st["phase1_status"], st["phase2_status"]]
        scale = max(scale, st["objective_scale"])
        # valid for the plan's tonnes only if every part's tonnes are proven the most it can move
        ok = st["phase1_status"] == "OPTIMAL" and st["phase2_status"] in ("OPTIMAL", "FEASIBLE")
        proven = proven + st["phase2_bound"] if ok and proven is not None else None
    flow = k * units
    flow = _merge_twins(larcs, flow)
    status = "OPTIMAL" if all(s == "OPTIMAL" for s in statuses) and scale == 1 else "FEASIBLE"
    info.update(phase_statuses=statuses, objective_scale=scale, lot_arcs=larcs.n, cp_sat_bound=proven)
    return larcs, flow, status, info


def _solve_train(instance: Instance, arcs: ArcSet, options: SolveOptions,
                 s_t: np.ndarray, d_t: np.ndarray) -> tuple[ArcSet, np.ndarray, str, dict[str, Any]]:
    """A minimum train load, the only lot rule, on a market too large for CP-SAT: the flow relaxation repaired.

    The arcs are those of the CP-SAT model (each rail arc at least the train load, its road twin below it).
    Solve the flow without the train load; while some rail arcs carry less than it, close them (their
    road twins stay) and solve again.  The plan is OPTIMAL when no rail arc had to be closed (the relaxation
    met the rule), else FEASIBLE with its gap to the relaxation's bound, which the first solve gives."""
    larcs, lo = _lot_arcs(instance, arcs, options)
    cost = objective_costs(instance, larcs, options.objective)
    if options.objective == "net_value":
        keep = np.flatnonzero(cost > 0)  # no tonne at a loss (a road twin may not be worth its haul)
        larcs, lo, cost = larcs.take(keep), lo[keep], cost[keep]
    cap = larcs.cap.copy()
    # material groups share no node: closing an arc changes only its own group's flow, solved again alone
    group = _material_groups(instance)[_supply_codes(instance)[larcs.si]]
    net = options.objective == "net_value"
    signed = -cost if net else cost  # what the flow minimises

    def flow(idx: np.ndarray) -> np.ndarray:
        return _plain_flow(instance, larcs.take(idx), s_t, d_t, signed[idx], options, optional=net, cap=cap[idx])

    relaxed = _plain_flow(instance, larcs, s_t, d_t, signed, options, optional=net)  # no copy of the arcs
    f = relaxed.copy()
    closed = rounds = 0
    while rounds < TRAIN_REPAIR_ROUNDS:
        rounds += 1
        short = np.flatnonzero((f > 0) & (f < lo))
        if short.size == 0:
            break
        closed += short.size
        cap[short] = 0
        again = np.flatnonzero(np.isin(group, np.unique(group[short])))
        f[again] = flow(again)
    f[(f > 0) & (f < lo)] = 0  # still short after the last round: those tonnes are not offered
    f = _merge_twins(larcs, f)
    status = "OPTIMAL" if closed == 0 else "FEASIBLE"
    info: dict[str, Any] = {"train_repair_rounds": rounds, "rail_arcs_closed": closed, "lot_arcs": larcs.n}
    achieved, bound = int(f @ cost), int(relaxed @ cost)
    if options.objective == "net_value":
        gap = 0.0 if bound <= 0 else max(0.0, (bound - achieved) / bound)
        info.update(value_bound_yuan=str(fen_to_yuan(bound)), gap=round(gap, 9),
                    tonnes_upper_bound=int(relaxed.sum()))
    else:
        tonnes = int(f.sum())
        if tonnes != int(relaxed.sum()):  # the least cost of the plan's own tonnes without the rule
            bound = int(fixed_flow_arcs(larcs, s_t, d_t, cost, tonnes) @ cost)
        gap = 0.0 if achieved <= 0 else max(0.0, (achieved - bound) / achieved)
        info.update(tonnes_upper_bound=int(relaxed.sum()), cost_bound_yuan=str(fen_to_yuan(bound)),
                    flow_gap=round(gap, 9), lot_cost_bound_yuan=str(fen_to_yuan(bound)), gap=round(gap, 9))
    return larcs, f, status, info


def _merge_twins(larcs: ArcSet, flow: np.ndarray) -> np.ndarray:
    """A pair used both by rail and by its road twin: move the road tonnes onto rail (cheaper, same lots)."""
    used = np.flatnonzero(flow > 0)
    if used.size < 2:
        return flow
    key = larcs.si[used].astype(np.int64) * (int(larcs.di.max()) + 1) + larcs.di[used]
    order = np.lexsort((~larcs.rail[used], key))  # per pair: the rail arc first
    u, k = used[order], key[order]
    dup = np.flatnonzero(k[1:] == k[:-1]) + 1  # the road twin, right after its rail arc
    out = flow.copy()
    out[u[dup - 1]] += out[u[dup]]
    out[u[dup]] = 0
    return out


# ---------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------


def solve(instance: Instance, options: SolveOptions | None = None) -> Plan:
    """Propose pairings for ``options.objective`` (default: most tonnes, then least transport cost).

    Uses min-cost flow, or two-phase CP-SAT when ``options`` or the tariff
    impose lot rules (status OPTIMAL or FEASIBLE, the cost gap in ``stats``).
    A seasonal instance (``periods``) is solved over its whole horizon by
    :func:`matching.seasonal.solve_seasonal`.
    Raises ValueError for options naming unknown ids, SolverError if a
    solver fails.
    """
    options = options or SolveOptions()
    if instance.seasonal:
        from .seasonal import solve_seasonal
        return solve_seasonal(instance, options)
    t0 = time.perf_counter()
    arcs = build_arcs(instance, options)
    t1 = time.perf_counter()
    s_t, d_t = _tonnages(instance)
    cost = objective_costs(instance, arcs, options.objective)
    stats: dict[str, Any] = {"solver": "min_cost_flow", "objective": options.objective, "arcs": arcs.n,
                             "candidate_pairs": arcs.candidates}
    train = instance.tariff.min_train_t if instance.tariff.has_rail else 0
    lots = arcs.n > 0 and (options.lot_rules or (train > 1 and bool(arcs.rail.any())))
    status = "OPTIMAL"
    plan_arcs = arcs
    if options.objective == "net_value":
        worth = np.flatnonzero(cost > 0)  # no tonne at a loss
        plan_arcs, cost = arcs.take(worth), cost[worth]
    repair = lots and not options.lot_rules and plan_arcs.n > TRAIN_REPAIR_MIN_ARCS
    if repair:
        plan_arcs, flow, status, info = _solve_train(instance, plan_arcs, options, s_t, d_t)
        stats["solver"] = "min_cost_flow_train_repair"
        stats.update(info)
    elif lots:
        plan_arcs, flow, status, info = _solve_lots(instance, plan_arcs, options, s_t, d_t)
        stats["solver"] = "cp_sat"
        stats.update(info)
    elif options.objective == "net_value":
        flow = _plain_flow(instance, plan_arcs, s_t, d_t, -cost, options, optional=True)
    else:
        flow = _plain_flow(instance, plan_arcs, s_t, d_t, cost, options)
    t2 = time.perf_counter()
    if lots and not repair:
        stats.update(_bounds(instance, arcs, plan_arcs, flow, options, s_t, d_t, stats.pop("cp_sat_bound")))
    t3 = time.perf_counter()

    baseline = None
    if options.baseline:
        g_flow = greedy_flow(instance, plan_arcs, options)
        if lots:
            units = _units(instance, plan_arcs, options)
            g_flow = _trim(plan_arcs, units, -(-options.min_tonnes // units),
                           plan_arcs.cap // units, g_flow, options) * units
        g_t, g_fen = _totals(plan_arcs, g_flow)
        o_t, o_fen = _totals(plan_arcs, flow)
        baseline = Baseline("greedy_cheapest_first", g_t, fen_to_yuan(g_fen),
                            fen_to_yuan(g_fen - o_fen), o_t - g_t)
    t4 = time.perf_counter()
    exact_top = not lots and options.objective == "max_tonnes"
    curve_of_plan = partial(marginal_cost_curve, plan_arcs, s_t, d_t, int(flow.sum()), fixed_flow_arcs,
                            _totals(plan_arcs, flow)[1] if exact_top else None)
    curve = curve_of_plan() if options.marginal_curve else []
    t5 = time.perf_counter()
    stats.update(seconds_build=round(t1 - t0, 4), seconds_solve=round(t2 - t1, 4),
                 seconds_bound=round(t3 - t2, 4), seconds_baseline=round(t4 - t3, 4),
                 seconds_curve=round(t5 - t4, 4))
    plan = assemble_plan(instance, plan_arcs, flow, status, options, stats)
    plan.baseline = baseline
    plan.marginal_cost_curve = curve
    plan.deferred_curve = None if options.marginal_curve else curve_of_plan
    stats["seconds_total"] = round(time.perf_counter() - t0, 4)
    log.info("solved %d arcs: %s, %d t, %s yuan", arcs.n, status, plan.tonnes_matched,
             plan.transport_cost_yuan)
    return plan


def _bounds(instance: Instance, arcs: ArcSet, plan_arcs: ArcSet, flow: np.ndarray, options: SolveOptions,
            s_t: np.ndarray, d_t: np.ndarray, proven: float | None) -> dict[str, Any]:
    """Bounds from the flow relaxation (the same arcs without lot rules) and the plan's gap."""
    cost = objective_costs(instance, arcs, options.objective)
    tonnes = int(flow.sum())
    achieved = int(np.dot(flow, objective_costs(instance, plan_arcs, options.objective)))
    if options.objective == "net_value":
        worth = np.flatnonzero(cost > 0)
        relaxed = fixed_flow_arcs(arcs.take(worth), s_t, d_t, -cost[worth], int(s_t.sum()), optional=True)
        bound = int(np.dot(relaxed, cost[worth]))
        gap = 0.0 if bound <= 0 else max(0.0, (bound - achieved) / bound)
        return {"value_bound_yuan": str(fen_to_yuan(bound)), "gap": round(gap, 9),
                "tonnes_upper_bound": int(relaxed.sum()) if arcs.n else 0}
    upper = int(min_cost_flow_arcs(arcs, s_t, d_t, cost).sum())
    least = int(np.dot(fixed_flow_arcs(arcs, s_t, d_t, cost, tonnes), cost))
    flow_gap = 0.0 if achieved <= 0 else max(0.0, (achieved - least) / achieved)
    # CP-SAT's phase-2 bound holds for the same tonnes under the lot rules: the tighter of the two
    best = max(least, math.ceil(proven)) if proven is not None else least
    gap = 0.0 if achieved <= 0 else max(0.0, (achieved - best) / achieved)
    return {"tonnes_upper_bound": upper, "cost_bound_yuan": str(fen_to_yuan(least)), "flow_gap": round(flow_gap, 9),
            "lot_cost_bound_yuan": str(fen_to_yuan(best)), "gap": round(gap, 9)}
