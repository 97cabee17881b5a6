"""Benchmark of seasonal (multi-period) plans (issue #14).

For generated Ningxia instances of N x N listings over 12 months
(``python -m matching generate --periods 12``):

1. the whole CLI process (``python -m matching solve``: start-up, JSON parse,
   arcs, network, solve, plan JSON; ``--no-baseline``) against a bare
   OR-Tools process that only loads the same time-expanded network (numpy
   arrays saved beforehand) and runs ``solve_max_flow_with_min_cost``: wall
   time, CPU time (user + sys) and peak memory (the child's ``ru_maxrss``);
   both must give the same cost;
2. the tonnes the 12-month plan moves against twelve separate monthly rounds
   (a platform without planning: each round blind to the next, yards keep
   what is left, kilns use their silo first) and against no storage at all.

The machine may be shared: CPU time is the fairer ratio when the wall clock is
slowed by other processes.  Usage:

    .venv/bin/python bench/bench_seasonal.py [--sizes 1000,3000] [--periods 12] [--seed 1]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE = """
import sys, numpy as np
from ortools.graph.python import min_cost_flow
z = np.load(sys.argv[1])
m = min_cost_flow.SimpleMinCostFlow()
m.add_arcs_with_capacity_and_unit_cost(z["tails"], z["heads"], z["caps"], z["costs"])
m.set_node_supply(int(z["source"]), int(z["supply"]))
m.set_node_supply(int(z["sink"]), -int(z["supply"]))
assert m.solve_max_flow_with_min_cost() == m.OPTIMAL
print(m.maximum_flow(), m.optimal_cost())
"""


def run_measured(cmd: list[str]) -> dict[str, Any]:
    """Run a child process; its wall time, CPU time and peak RSS (MB)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err.strip()[-500:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024, "out": out}


def bench(n: int, periods: int, seed: int, tmp: Path) -> dict[str, Any]:
    from matching import Instance, SolveOptions, build_arcs, jsonio
    from matching.generate import generate_seasonal
    from matching.seasonal import build_network, horizon_view, monthly_rounds, profiles, solve_network, without_storage

    data = generate_seasonal(n, n, seed, periods)
    path = tmp / f"seasonal_{n}.json"
    path.write_text(jsonio.dumps(data))
    inst = Instance.from_json(data)
    prof = profiles(inst)
    view = horizon_view(inst, prof)
    arcs = build_arcs(view, SolveOptions())
    net = build_network(prof, arcs, arcs.fen)
    forced = int(net.caps[net.blocks["init"]].sum())
    supply = int(net.caps[net.blocks["production"]].sum()) + forced
    npz = tmp / f"network_{n}.npz"
    np.savez(npz, tails=net.tails, heads=net.heads, caps=net.caps, costs=net.costs,
             source=net.source, sink=net.sink, supply=supply)
    n_arcs, n_nodes = net.n_arcs, net.n_nodes
    del net

    plan_path = tmp / f"plan_{n}.json"
    cli = run_measured([sys.executable, "-m", "matching", "solve", str(path), "-o", str(plan_path),
                        "--no-baseline"])
    bare = run_measured([sys.executable, "-c", BARE, str(npz)])
    plan = jsonio.loads(plan_path.read_bytes())
    bare_flow, bare_cost = (int(x) for x in bare["out"].split())
    cost_fen = round((float(plan["transport_cost_yuan"]) + float(plan["holding_cost_yuan"])) * 100)

    rounds_t, rounds_fen, rounds_hold = monthly_rounds(prof, arcs, arcs.fen)
    bare_net = build_network(without_storage(prof), arcs, arcs.fen)
    flow, _ = solve_network(bare_net, "max_tonnes")
    tr = bare_net.blocks["transport"]
    none_t = int(flow[tr].sum())
    none_fen = int(np.dot(flow[tr], bare_net.costs[tr]))
    return {
        "n": n, "periods": periods, "arcs": arcs.n, "net_arcs": n_arcs, "net_nodes": n_nodes,
        "cli": cli, "bare": bare, "same": (bare_flow - forced, bare_cost) == (plan["tonnes_matched"], cost_fen),
        "plan_t": plan["tonnes_matched"], "plan_yuan": cost_fen / 100,
        "rounds_t": rounds_t, "rounds_yuan": (rounds_fen + rounds_hold) / 100,
        "none_t": none_t, "none_yuan": none_fen / 100,
        "made_t": int(prof.s_prod.sum() + prof.s_init.sum()), "use_t": int(prof.d_use.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000")
    ap.add_argument("--periods", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in (int(x) for x in args.sizes.split(",")):
            print(f"... {n} x {n} x {args.periods}", file=sys.stderr, flush=True)
            rows.append(bench(n, args.periods, args.seed, Path(d)))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)\n")
    print("| size | base arcs | network arcs | CLI wall s | CLI CPU s | CLI peak MB | bare wall s | bare CPU s "
          "| bare peak MB | wall ratio | CPU ratio | memory ratio | same optimum |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c, b = r["cli"], r["bare"]
        print(f"| {r['n']:,} x {r['n']:,} x {r['periods']} | {r['arcs']:,} | {r['net_arcs']:,} "
              f"| {c['wall']:.1f} | {c['cpu']:.1f} | {c['rss']:,.0f} | {b['wall']:.1f} | {b['cpu']:.1f} "
              f"| {b['rss']:,.0f} | {c['wall'] / b['wall']:.2f} | {c['cpu'] / b['cpu']:.2f} "
              f"| {c['rss'] / b['rss']:.2f} | {'yes' if r['same'] else 'NO'} |")
    print("\n| size | made + in yards t | usable t | 12-month plan t | yuan | monthly rounds t | yuan "
          "| no storage t | yuan | plan vs rounds | plan vs no storage |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} x {r['n']:,} x {r['periods']} | {r['made_t']:,} | {r['use_t']:,} | {r['plan_t']:,} "
              f"| {r['plan_yuan']:,.0f} | {r['rounds_t']:,} | {r['rounds_yuan']:,.0f} | {r['none_t']:,} "
              f"| {r['none_yuan']:,.0f} | {100 * (r['plan_t'] / r['rounds_t'] - 1):+.2f} % "
              f"| {100 * (r['plan_t'] / r['none_t'] - 1):+.2f} % |")


if __name__ == "__main__":
    main()
