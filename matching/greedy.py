"""Greedy cheapest-first baseline.

Sequential definition: take the allowed arcs in order of per-tonne transport
cost (ties: supply index, then demand index) and ship on each as much as both
ends still have, provided that is at least the minimum shipment and the
demand is still under its partner cap.

Implementation without a Python loop over arcs: in each round, an arc that is
the first remaining arc of both its supply and its demand sees exactly the
state the sequential algorithm would give it (every earlier arc touching
either end has been settled), so all such arcs -- they share no ends -- are
shipped at once; arcs whose ends can no longer ship are then dropped.  The
last few thousand arcs are finished sequentially where that is cheaper.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from .arcs import ArcSet, build_arcs
from .model import Instance
from .options import SolveOptions
from .plan import Plan, assemble_plan

log = logging.getLogger(__name__)

_SEQUENTIAL_BELOW = 4096


def _first_mask(keys: np.ndarray, size: int, positions: np.ndarray) -> np.ndarray:
    """True at the first position of each distinct value of ``keys``."""
    first = np.full(size, keys.size, dtype=np.int64)
    np.minimum.at(first, keys, positions)
    mask: np.ndarray = first[keys] == positions
    return mask


def greedy_order(arcs: ArcSet, n_d: int) -> np.ndarray:
    """Arc indices by (cost, supply index, demand index), via one int64 key."""
    n_s = int(arcs.si.max()) + 1 if arcs.n else 0
    key = arcs.fen.astype(np.int64) * (n_s * n_d) + arcs.si.astype(np.int64) * n_d + arcs.di
    order: np.ndarray = np.argsort(key)
    return order


def greedy_flow(instance: Instance, arcs: ArcSet, options: SolveOptions) -> np.ndarray:
    """Tonnes per arc of the greedy cheapest-first plan."""
    n_s, n_d = len(instance.supplies), len(instance.demands)
    rem_s = np.array([s.tonnes for s in instance.supplies], dtype=np.int64)
    rem_d = np.array([d.tonnes for d in instance.demands], dtype=np.int64)
    partners = np.zeros(n_d, dtype=np.int64)
    cap_p = options.max_partners if options.max_partners is not None else n_s + 1
    m = options.min_tonnes
    flow = np.zeros(arcs.n, dtype=np.int64)
    idx = greedy_order(arcs, n_d)
    s = arcs.si[idx].astype(np.int64)
    d = arcs.di[idx].astype(np.int64)
    positions = np.arange(idx.size, dtype=np.int64)
    rounds = 0
    while idx.size >= _SEQUENTIAL_BELOW:
        rounds += 1
        pos = positions[:idx.size]
        mutual = _first_mask(s, n_s, pos)
        mutual &= _first_mask(d, n_d, pos)
        ss, dd, sel = s[mutual], d[mutual], idx[mutual]
        amt = np.minimum(rem_s[ss], rem_d[dd])
        ok = amt >= m
        ss, dd, sel, amt = ss[ok], dd[ok], sel[ok], amt[ok]
        # ends are distinct within a round, so plain fancy updates are safe
        flow[sel] = amt
        rem_s[ss] -= amt
        rem_d[dd] -= amt
        partners[dd] += 1
        # keep arcs not settled this round whose ends can still ship
        live = (rem_s >= m)[s]
        live &= (rem_d >= m)[d]
        live &= (partners < cap_p)[d]
        live &= ~mutual
        keep = np.flatnonzero(live)
        idx, s, d = idx[keep], s[keep], d[keep]
    # sequential tail (few arcs left): identical rule, plain Python
    rs, rd, pc = rem_s.tolist(), rem_d.tolist(), partners.tolist()
    for a, s_, d_ in zip(idx.tolist(), s.tolist(), d.tolist(), strict=True):
        amt = min(rs[s_], rd[d_])
        if amt >= m and pc[d_] < cap_p:
            flow[a] = amt
            rs[s_] -= amt
            rd[d_] -= amt
            pc[d_] += 1
    log.debug("greedy: %d vectorised rounds, %d tail arcs", rounds, idx.size)
    return flow


def greedy(instance: Instance, options: SolveOptions | None = None,
           arcs: ArcSet | None = None) -> Plan:
    """Greedy cheapest-first plan (status ``HEURISTIC``), honouring all options."""
    options = options or SolveOptions()
    if instance.seasonal:
        from .seasonal import SeasonalError
        raise SeasonalError("the greedy baseline works on one period; a seasonal plan's baseline "
                            "(solve) is the monthly rounds")
    t0 = time.perf_counter()
    if arcs is None:
        arcs = build_arcs(instance, options)
    flow = greedy_flow(instance, arcs, options)
    stats = {"solver": "greedy_cheapest_first", "arcs": arcs.n,
             "candidate_pairs": arcs.candidates,
             "seconds_total": round(time.perf_counter() - t0, 4)}
    return assemble_plan(instance, arcs, flow, "HEURISTIC", options, stats)
