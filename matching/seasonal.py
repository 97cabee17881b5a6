"""Seasonal (multi-period) plans: one min-cost flow over a time-expanded network.

Nodes: one per supply and period, one per demand and period, a source and a
sink.  Arcs (every block built as numpy columns, no Python loop over arcs x
periods):

* production   source -> supply(i, p), capacity = what ``i`` makes in ``p``
  (plus its yard's initial stock in the first period), cost 0;
* yard         supply(i, p) -> supply(i, p + 1), capacity = the yard, cost =
  holding per tonne and period (stock carried to ship later);
* transport    supply(i, p) -> demand(j, p) for every allowed pair and every
  period where both ends can move tonnes, cost = the pair's per-tonne cost of
  the objective (fen, the rounding rules of the README);
* use          demand(j, p) -> sink, capacity = what ``j`` can use in ``p``
  (0 when stopped: no arc);
* silo         demand(j, p) -> demand(j, p + 1) (last period: -> sink, stock
  kept beyond the horizon), capacity = the silo, cost = holding;
* a silo's initial stock is *forced*: it is there, so it takes room until
  used.

Tonnes not shipped are lost to the yard (the source arcs are not forced).
``max_tonnes`` / ``delivered_cost``: ``solve_max_flow_with_min_cost`` with the
silos' initial stock on source arcs.  Every maximum flow can be turned into
one that carries all initial stock (an augmenting path never empties a
source arc), so the most tonnes shipped is the maximum flow minus the initial
stock; if the cost-optimal flow left some initial stock out, a second solve
(``solve()``, the initial stock as node supplies, the tonnes fixed) gives
the exact optimum.  ``net_value``: one ``solve()`` with a free bypass
source -> sink and the initial stock as node supplies.

Lot rules (minimum shipment, truckloads, partner caps, rail minimum train
load) hold per pairing and period; without storage the periods are
independent, so each is solved as today's single-period instance (CP-SAT);
combined with storage they are refused (:class:`SeasonalError`).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from .arcs import ArcSet, build_arcs
from .model import Demand, Instance, Supply
from .money import fen_to_yuan, scaled_int
from .options import SolveOptions
from .plan import Baseline, Plan, StockLevel, assemble_plan

log = logging.getLogger(__name__)


class SeasonalError(ValueError):
    """A seasonal instance with options the seasonal solver does not support (one line)."""


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


@dataclass
class Profiles:
    """Per-period tonnes and storage of every record, as int64 arrays.

    ``s_prod`` (S x P): what each supply makes available per period;
    ``d_use`` (D x P): what each demand can use per period; ``*_cap``,
    ``*_init``, ``*_hold``: storage capacity, initial stock, holding cost in
    fen per tonne and period (0 without storage)."""

    s_prod: np.ndarray
    s_cap: np.ndarray
    s_init: np.ndarray
    s_hold: np.ndarray
    d_use: np.ndarray
    d_cap: np.ndarray
    d_init: np.ndarray
    d_hold: np.ndarray

    @property
    def periods(self) -> int:
        return int(self.s_prod.shape[1])

    @property
    def has_storage(self) -> bool:
        return bool(self.s_cap.any() or self.d_cap.any() or self.d_init.any() or self.s_init.any())

    def supply_avail(self) -> np.ndarray:
        """Upper bound of what supply i can ship in period p: made then, plus what its yard can carry in."""
        cum = self.s_init[:, None] + np.cumsum(self.s_prod, axis=1)
        carried = np.empty_like(self.s_prod)
        carried[:, 0] = self.s_init
        carried[:, 1:] = np.minimum(self.s_cap[:, None], cum[:, :-1])
        out: np.ndarray = self.s_prod + carried
        return out

    def demand_take(self) -> np.ndarray:
        """Upper bound of what demand j can receive in period p: what it uses plus its silo."""
        out: np.ndarray = self.d_use + self.d_cap[:, None]
        return out


def _records(recs: Sequence[Supply | Demand], n_per: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    prof = np.zeros((len(recs), n_per), dtype=np.int64)
    cap = np.zeros(len(recs), dtype=np.int64)
    init = np.zeros(len(recs), dtype=np.int64)
    hold = np.zeros(len(recs), dtype=np.int64)
    for k, r in enumerate(recs):  # one iteration per record
        prof[k] = r.tonnes_by_period if r.tonnes_by_period is not None else (r.tonnes,) * n_per
        if r.storage is not None:
            cap[k], init[k], hold[k] = r.storage.capacity_t, r.storage.initial_t, r.storage.holding_fen
    return prof, cap, init, hold


def profiles(instance: Instance) -> Profiles:
    """The per-period arrays of a seasonal instance (a plain one is one period)."""
    n_per = max(1, len(instance.periods))
    return Profiles(*_records(instance.supplies, n_per), *_records(instance.demands, n_per))


def horizon_view(instance: Instance, prof: Profiles) -> Instance:
    """The instance with each record's tonnes = the most it can ever ship/receive (for the arc rules)."""
    s_max = (prof.s_prod.sum(axis=1) + prof.s_init).tolist()
    d_max = (prof.d_use.sum(axis=1) + prof.d_cap).tolist()
    sup = tuple(dataclasses.replace(s, tonnes=int(t)) for s, t in zip(instance.supplies, s_max, strict=True))
    dem = tuple(dataclasses.replace(d, tonnes=int(t)) for d, t in zip(instance.demands, d_max, strict=True))
    return dataclasses.replace(instance, supplies=sup, demands=dem)


def period_instance(instance: Instance, prof: Profiles, p: int) -> Instance:
    """Period ``p`` of a seasonal instance without storage, as today's single-period instance."""
    sup = tuple(dataclasses.replace(s, tonnes=int(t), tonnes_by_period=None, storage=None)
                for s, t in zip(instance.supplies, prof.s_prod[:, p].tolist(), strict=True))
    dem = tuple(dataclasses.replace(d, tonnes=int(t), tonnes_by_period=None, storage=None)
                for d, t in zip(instance.demands, prof.d_use[:, p].tolist(), strict=True))
    return Instance(sup, dem, instance.tariff)


# ---------------------------------------------------------------------------
# the time-expanded network
# ---------------------------------------------------------------------------


@dataclass
class Network:
    """Arcs of the time-expanded network as parallel arrays, with the blocks' positions.

    Arc blocks in order: production, yard, transport, use, silo, silo
    initial stock.  ``t_arc``/``t_per``: the base arc and period of each
    transport arc; ``t_fen``: its transport cost per tonne (the plan's money,
    whatever the objective)."""

    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    n_nodes: int
    source: int
    sink: int
    blocks: dict[str, slice]
    t_arc: np.ndarray
    t_per: np.ndarray
    yard_i: np.ndarray  # supply index of each yard arc (P - 1 per supply with a yard)
    silo_j: np.ndarray  # demand index of each silo arc (P per demand with a silo)
    init_j: np.ndarray  # demand index of each initial-stock arc
    init_node: np.ndarray

    @property
    def n_arcs(self) -> int:
        return int(self.tails.size)


def build_network(prof: Profiles, arcs: ArcSet, cost: np.ndarray) -> Network:
    """The time-expanded network of ``prof`` over ``arcs`` with per-tonne ``cost`` per base arc."""
    n_s, n_per = prof.s_prod.shape
    n_d = prof.d_use.shape[0]
    src = (n_s + n_d) * n_per
    snk = src + 1
    s_node = np.arange(n_s * n_per, dtype=np.int64).reshape(n_s, n_per)
    d_node = n_s * n_per + np.arange(n_d * n_per, dtype=np.int64).reshape(n_d, n_per)
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    caps: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    blocks: dict[str, slice] = {}
    start = 0

    def add(name: str, t: Any, h: Any, c: np.ndarray, k: Any) -> None:
        nonlocal start
        tails.append(np.broadcast_to(t, c.shape).astype(np.int32))
        heads.append(np.broadcast_to(h, c.shape).astype(np.int32))
        caps.append(c.astype(np.int64))
        costs.append(np.broadcast_to(k, c.shape).astype(np.int64))
        blocks[name] = slice(start, start + c.size)
        start += c.size

    # production: source -> supply(i, p); the yard's initial stock arrives in the first period
    made = prof.s_prod.copy()
    made[:, 0] += prof.s_init
    i, p = np.nonzero(made)
    add("production", np.int64(src), s_node[i, p], made[i, p], np.int64(0))
    # yard: supply(i, p) -> supply(i, p + 1), holding cost per tonne carried
    yard_i = np.flatnonzero(prof.s_cap > 0)
    if n_per > 1:
        i, p = np.repeat(yard_i, n_per - 1), np.tile(np.arange(n_per - 1), yard_i.size)
    else:
        i = p = np.zeros(0, dtype=np.int64)
    add("yard", s_node[i, p], s_node[i, p + 1], prof.s_cap[i], prof.s_hold[i])
    # transport: per allowed pair and period where the supply can ship and the demand receive
    avail, take = prof.supply_avail(), prof.demand_take()
    live = (avail > 0)[arcs.si] & (take > 0)[arcs.di]
    a, p = np.nonzero(live)
    a = a.astype(np.int32)
    p = p.astype(np.int16)
    si, di = arcs.si[a], arcs.di[a]
    add("transport", s_node[si, p], d_node[di, p],
        np.minimum(avail[si, p], take[di, p]), cost[a])
    del live, si, di
    # use: demand(j, p) -> sink
    j, q = np.nonzero(prof.d_use)
    add("use", d_node[j, q], np.int64(snk), prof.d_use[j, q], np.int64(0))
    # silo: demand(j, p) -> demand(j, p + 1); from the last period to the sink (kept beyond the horizon)
    silo_j = np.repeat(np.flatnonzero(prof.d_cap > 0), n_per)
    q = np.tile(np.arange(n_per), silo_j.size // n_per if n_per else 0)
    head = np.where(q < n_per - 1, d_node[silo_j, np.minimum(q + 1, n_per - 1)], snk)
    add("silo", d_node[silo_j, q], head, prof.d_cap[silo_j], prof.d_hold[silo_j])
    # silos' initial stock (forced, see the module's docstring)
    init_j = np.flatnonzero(prof.d_init > 0)
    add("init", np.int64(src), d_node[init_j, 0], prof.d_init[init_j], np.int64(0))
    return Network(np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs),
                   snk + 1, src, snk, blocks, a, p, yard_i, silo_j, init_j, d_node[init_j, 0])


def _mcf(net: Network) -> Any:
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, net.costs)
    return mcf


def _check(mcf: Any, status: Any) -> None:
    from .solver import SolverError
    if status != mcf.OPTIMAL:
        raise SolverError(f"min-cost flow failed with status {status!r}")


def solve_network(net: Network, objective: str) -> tuple[np.ndarray, int]:
    """Flow on every arc of the exact optimum, and the number of min-cost flow solves used."""
    init = net.blocks["init"]
    offered = int(net.caps[net.blocks["production"]].sum())
    forced = int(net.caps[init].sum())
    mcf = _mcf(net)
    if objective == "net_value":
        # free bypass: a tonne moves only if its value exceeds its transport and holding
        mcf.add_arc_with_capacity_and_unit_cost(net.source, net.sink, offered, 0)
        _force_initial(mcf, net, offered)
        _check(mcf, mcf.solve())
        return np.asarray(mcf.flows(np.arange(net.n_arcs)), dtype=np.int64), 1
    mcf.set_node_supply(net.source, offered + forced)
    mcf.set_node_supply(net.sink, -(offered + forced))
    _check(mcf, mcf.solve_max_flow_with_min_cost())
    flow = np.asarray(mcf.flows(np.arange(net.n_arcs)), dtype=np.int64)
    if forced == 0 or int(flow[init].sum()) == forced:
        return flow, 1
    # the cheapest maximum flow left initial stock out: the same tonnes shipped, the stock forced
    shipped = int(mcf.maximum_flow()) - forced
    _force_initial(mcf, net, shipped)
    _check(mcf, mcf.solve())
    return np.asarray(mcf.flows(np.arange(net.n_arcs)), dtype=np.int64), 2


def _force_initial(mcf: Any, net: Network, source_supply: int) -> None:
    init = net.blocks["init"]
    idx = np.arange(init.start, init.stop)
    if idx.size:
        mcf.set_arc_capacities(idx, np.zeros(idx.size, dtype=np.int64))
        mcf.set_nodes_supplies(net.init_node, net.caps[init])
    forced = int(net.caps[init].sum())
    mcf.set_node_supply(net.source, source_supply)
    mcf.set_node_supply(net.sink, -(source_supply + forced))


# ---------------------------------------------------------------------------
# stock, leftovers and the plan
# ---------------------------------------------------------------------------


def stock_levels(prof: Profiles, net: Network, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End-of-period stock (S x P, D x P) from the flows on the yard and silo arcs."""
    n_s, n_per = prof.s_prod.shape
    s_stock = np.zeros((n_s, n_per), dtype=np.int64)
    if n_per > 1:
        s_stock[net.yard_i, :-1] = flow[net.blocks["yard"]].reshape(-1, n_per - 1)
    d_stock = np.zeros(prof.d_use.shape, dtype=np.int64)
    d_stock[np.unique(net.silo_j)] = flow[net.blocks["silo"]].reshape(-1, n_per)
    return s_stock, d_stock


def leftovers(instance: Instance, prof: Profiles, shipped_s: np.ndarray, received_d: np.ndarray,
              d_end: np.ndarray) -> tuple[list[tuple[Any, int]], list[tuple[Any, int]]]:
    """(unmatched supplies, unmatched demands) over the horizon.

    A supply's: made + initial stock - shipped (lost to the yard); a
    demand's: what it could use - what it used (initial stock + received -
    stock at the end)."""
    left_s = prof.s_prod.sum(axis=1) + prof.s_init - shipped_s
    left_d = prof.d_use.sum(axis=1) - (prof.d_init + received_d - d_end)
    return ([(s.id, int(x)) for s, x in zip(instance.supplies, left_s.tolist(), strict=True) if x > 0],
            [(d.id, int(x)) for d, x in zip(instance.demands, left_d.tolist(), strict=True) if x > 0])


def storage_rows(instance: Instance, prof: Profiles, s_stock: np.ndarray, d_stock: np.ndarray
                 ) -> tuple[list[StockLevel], int]:
    """Every listing with storage, every period: its end stock; and the holding cost in fen."""
    rows: list[StockLevel] = []
    labels = instance.periods
    sides: tuple[tuple[str, Sequence[Supply | Demand], np.ndarray], ...] = (
        ("supply", instance.supplies, s_stock), ("demand", instance.demands, d_stock))
    for side, recs, stock in sides:
        for k, r in enumerate(recs):  # one iteration per record; the inner one per period
            if r.storage is not None:
                rows += [StockLevel(side, r.id, labels[p], int(x)) for p, x in enumerate(stock[k].tolist())]
    holding = int(np.dot(s_stock.sum(axis=1), prof.s_hold) + np.dot(d_stock.sum(axis=1), prof.d_hold))
    return rows, holding


def _finish(instance: Instance, plan: Plan, prof: Profiles, s_stock: np.ndarray, d_stock: np.ndarray) -> Plan:
    """Add the seasonal fields (periods, storage, holding and total cost, horizon leftovers)."""
    n_s, n_d = len(instance.supplies), len(instance.demands)
    s_ix = {str(s.id): i for i, s in enumerate(instance.supplies)}
    d_ix = {str(d.id): j for j, d in enumerate(instance.demands)}
    shipped = np.zeros(n_s, dtype=np.int64)
    received = np.zeros(n_d, dtype=np.int64)
    for pr in plan.pairings:  # one iteration per used pairing and period
        shipped[s_ix[str(pr.supply)]] += pr.tonnes
        received[d_ix[str(pr.demand)]] += pr.tonnes
    plan.unmatched_supplies, plan.unmatched_demands = leftovers(instance, prof, shipped, received,
                                                                d_stock[:, -1])
    plan.storage, holding = storage_rows(instance, prof, s_stock, d_stock)
    plan.periods = list(instance.periods)
    plan.holding_cost_yuan = fen_to_yuan(holding)
    plan.total_cost_yuan = fen_to_yuan(plan.transport_cost_fen + holding)
    return plan


# ---------------------------------------------------------------------------
# baselines: twelve separate rounds, and no storage
# ---------------------------------------------------------------------------


def monthly_rounds(prof: Profiles, arcs: ArcSet, cost: np.ndarray) -> tuple[int, int, int]:
    """A platform without planning: one round per period, each blind to the next.

    Round p offers each supply what it makes plus its yard's stock, and asks of
    each demand what it uses plus its silo's free room; afterwards a yard keeps
    what was not shipped (up to its capacity, the rest is lost) and a kiln uses
    its silo first.  Returns (tonnes, transport fen, holding fen)."""
    from .solver import min_cost_flow_arcs
    s_stock, d_stock = prof.s_init.copy(), prof.d_init.copy()
    tonnes = transport = holding = 0
    for p in range(prof.periods):  # one flow per period
        s_t = prof.s_prod[:, p] + s_stock
        d_t = prof.d_use[:, p] + prof.d_cap - d_stock
        flow = min_cost_flow_arcs(arcs, s_t, d_t, cost, cap=np.minimum(s_t[arcs.si], d_t[arcs.di]))
        out = np.bincount(arcs.si, weights=flow, minlength=s_t.size).astype(np.int64)
        got = np.bincount(arcs.di, weights=flow, minlength=d_t.size).astype(np.int64)
        s_stock = np.minimum(s_t - out, prof.s_cap)
        have = d_stock + got
        d_stock = have - np.minimum(have, prof.d_use[:, p])
        tonnes += int(flow.sum())
        transport += int(np.dot(flow, arcs.fen))
        holding += int(np.dot(s_stock, prof.s_hold) + np.dot(d_stock, prof.d_hold))
    return tonnes, transport, holding


def without_storage(prof: Profiles) -> Profiles:
    """The same profiles with every yard and silo removed (and their stock)."""
    z = np.zeros_like(prof.s_cap)
    zd = np.zeros_like(prof.d_cap)
    return Profiles(prof.s_prod, z, z, z, prof.d_use, zd, zd, zd)


# ---------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------


def solve_seasonal(instance: Instance, options: SolveOptions) -> Plan:
    """The exact seasonal plan (see the module's docstring); raises SeasonalError for lot rules with storage."""
    t0 = time.perf_counter()
    prof = profiles(instance)
    from .solver import objective_costs
    view = horizon_view(instance, prof)
    plain = dataclasses.replace(options, min_shipment_t=0, truckloads=False, max_partners=None,
                                max_partners_per_supply=None)
    arcs = build_arcs(view, plain)
    train = instance.tariff.min_train_t if instance.tariff.has_rail else 0
    lots = arcs.n > 0 and (options.lot_rules or (train > 1 and bool(arcs.rail.any())))
    if lots and prof.has_storage:
        raise SeasonalError(
            "lot rules (minimum shipment, truckloads, partner caps, or the tariff's min_train_t with rail) "
            "cannot be combined with storage in a seasonal instance: remove the storage or the rule")
    if lots:
        return _solve_per_period(instance, prof, options, t0)
    t1 = time.perf_counter()
    cost = objective_costs(view, arcs, options.objective)
    if options.objective == "net_value":
        worth = np.flatnonzero(cost > 0)  # no tonne at a loss
        arcs, cost = arcs.take(worth), -cost[worth]
    net = build_network(prof, arcs, cost)
    t2 = time.perf_counter()
    flow, solves = solve_network(net, options.objective)
    t3 = time.perf_counter()
    tr = net.blocks["transport"]
    t_flow = flow[tr]
    used = np.flatnonzero(t_flow > 0)
    plan_arcs = arcs.take(net.t_arc[used])
    stats: dict[str, Any] = {
        "solver": "min_cost_flow", "objective": options.objective, "periods": prof.periods,
        "arcs": arcs.n, "candidate_pairs": arcs.candidates, "network_arcs": net.n_arcs,
        "network_nodes": net.n_nodes, "transport_arcs": tr.stop - tr.start, "solves": solves}
    baseline = None
    if options.baseline:
        b_cost = objective_costs(view, arcs, options.objective) if options.objective != "net_value" else arcs.fen
        b_t, b_fen, _ = monthly_rounds(prof, arcs, b_cost)
        o_fen = int(np.dot(t_flow, arcs.fen[net.t_arc]))
        baseline = Baseline("monthly_rounds", b_t, fen_to_yuan(b_fen), fen_to_yuan(b_fen - o_fen),
                            int(t_flow.sum()) - b_t)
    t4 = time.perf_counter()
    stats.update(seconds_build=round(t1 - t0, 4), seconds_network=round(t2 - t1, 4),
                 seconds_solve=round(t3 - t2, 4), seconds_baseline=round(t4 - t3, 4))
    plan = assemble_plan(instance, plan_arcs, t_flow[used], "OPTIMAL", options, stats,
                         period=net.t_per[used])
    plan.baseline = baseline
    s_stock, d_stock = stock_levels(prof, net, flow)
    _finish(instance, plan, prof, s_stock, d_stock)
    stats["seconds_total"] = round(time.perf_counter() - t0, 4)
    log.info("seasonal: %d periods, %d network arcs, %d t", prof.periods, net.n_arcs, plan.tonnes_matched)
    return plan


def _solve_per_period(instance: Instance, prof: Profiles, options: SolveOptions, t0: float) -> Plan:
    """Lot rules without storage: the periods are independent; each is today's instance (CP-SAT)."""
    from .solver import solve
    n_per = prof.periods
    sub_options = dataclasses.replace(options, baseline=False, marginal_curve=False,
                                      time_limit_s=options.time_limit_s / n_per)
    pairings = []
    per_stats = []
    statuses = []
    money = {"transport": 0, "tax": 0, "delivered": 0, "value": 0}
    co2 = 0.0
    for p, label in enumerate(instance.periods):  # one CP-SAT solve per period
        sub = solve(period_instance(instance, prof, p), sub_options)
        pairings += [dataclasses.replace(x, period=label) for x in sub.pairings]
        statuses.append(sub.status)
        per_stats.append(sub.stats)
        money["transport"] += sub.transport_cost_fen
        money["tax"] += scaled_int(sub.env_tax_avoided_yuan, 2)
        money["delivered"] += scaled_int(sub.delivered_cost_yuan or Decimal(0), 2)
        money["value"] += scaled_int(sub.value_yuan or Decimal(0), 2)
        co2 += sub.co2_kg
    s_ix = {str(s.id): i for i, s in enumerate(instance.supplies)}
    d_ix = {str(d.id): j for j, d in enumerate(instance.demands)}
    p_ix = {label: p for p, label in enumerate(instance.periods)}
    pairings.sort(key=lambda x: (s_ix[str(x.supply)], d_ix[str(x.demand)], p_ix[x.period or ""]))
    status = "OPTIMAL" if all(s == "OPTIMAL" for s in statuses) else "FEASIBLE"
    stats: dict[str, Any] = {"solver": "cp_sat", "objective": options.objective, "periods": n_per,
                             "per_period": per_stats}
    plan = Plan(status=status, tonnes_matched=sum(x.tonnes for x in pairings),
                transport_cost_yuan=fen_to_yuan(money["transport"]),
                env_tax_avoided_yuan=fen_to_yuan(money["tax"]), co2_kg=round(co2, 3), pairings=pairings,
                unmatched_supplies=[], unmatched_demands=[], options=options.to_json(), stats=stats,
                objective=options.objective, delivered_cost_yuan=fen_to_yuan(money["delivered"]),
                value_yuan=fen_to_yuan(money["value"]))
    zero_s = np.zeros(prof.s_prod.shape, dtype=np.int64)
    zero_d = np.zeros(prof.d_use.shape, dtype=np.int64)
    _finish(instance, plan, prof, zero_s, zero_d)
    stats["seconds_total"] = round(time.perf_counter() - t0, 4)
    return plan
