"""Benchmarks of issue #16: truckloads, net value, the national instance.

Tables (one fresh subprocess per measurement, peak RSS = VmHWM):

1. lots: generated Ningxia instances 1,000 x 1,000 and 3,000 x 3,000 with truckloads (32 t) and a
   partner cap of 3 on both sides: seconds, status, cost gap against the flow bound, tonnes and cost
   against the plain plan;
2. net_value on 1,000 x 1,000 at a few tonne values: tonnes kept and transport cost saved against
   max_tonnes;
3. national: a 100,000 x 100,000 instance clustered around China's industrial hubs, four materials,
   60-200 km hauls: arcs, candidate pairs, build and solve seconds, peak memory.

Usage: .venv/bin/python bench/bench_lots.py [--tables lots,net,national] [--lots-sizes 1000,3000]
       [--national 100000] [--time-limit 60]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = 1


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker(kind: str, n: int, arg: str) -> dict[str, Any]:
    from decimal import Decimal

    from matching import Instance, SolveOptions, solve
    from matching.generate import generate_instance, generate_national

    if kind == "national":
        t = time.perf_counter()
        data = generate_national(n, n, seed=SEED)
        inst = Instance.from_json(data)
        parse = time.perf_counter() - t
        del data
        plan = solve(inst, SolveOptions(baseline=False, marginal_curve=arg == "curve"))
        s = plan.stats
        return {"arcs": s["arcs"], "candidates": s["candidate_pairs"], "parse": parse, "build": s["seconds_build"],
                "solve": s["seconds_solve"], "curve": s["seconds_curve"], "total": s["seconds_total"],
                "tonnes": plan.tonnes_matched, "rss": _rss_mb(), "supply_t": sum(x.tonnes for x in inst.supplies)}
    data = generate_instance(n, n, seed=SEED)
    if kind == "net":
        data["tariff"]["value_yuan_per_t"] = dict.fromkeys(("fly_ash", "gbf_slag", "steel_slag", "fgd_gypsum"),
                                                           int(arg))
        opts = SolveOptions(objective="net_value", baseline=False)
    elif kind == "plain":
        opts = SolveOptions(baseline=False)
    elif kind == "lots":
        opts = SolveOptions(truckloads=True, time_limit_s=float(arg), baseline=False)
    else:
        opts = SolveOptions(truckloads=True, max_partners=3, time_limit_s=float(arg), baseline=False)
    inst = Instance.from_json(data)
    t = time.perf_counter()
    plan = solve(inst, opts)
    wall = time.perf_counter() - t
    return {"seconds": wall, "status": plan.status, "tonnes": plan.tonnes_matched,
            "fen": int(plan.transport_cost_yuan * 100), "gap": plan.stats.get("gap"),
            "value_fen": int((plan.value_yuan or Decimal(0)) * 100), "parts": plan.stats.get("parts"),
            "phases": plan.stats.get("phase_statuses"), "rss": _rss_mb(),
            "curve": plan.marginal_cost_curve[-2:] if plan.marginal_cost_curve else []}


def _sub(kind: str, n: int, arg: str = "", timeout: float = 7200) -> dict[str, Any] | None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, __file__, "--worker", kind, str(n), arg], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        print(f"  [{kind} {n} {arg} failed: {r.stderr.strip().splitlines()[-1:]}]", file=sys.stderr)
        return None
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def lots_table(sizes: list[int], limit: float) -> None:
    print(f"\n1. truckloads (32 t), and truckloads + at most 3 supplies per demand; CP-SAT time limit "
          f"{limit:g} s, seed {SEED}; gap = cost against the tighter of the flow and CP-SAT bounds at the "
          "same tonnes")
    head = (f"{'size':>11} {'rules':>9} | {'plain t':>10} {'plain yuan':>13} {'s':>6} | {'lots t':>10} "
            f"{'lots yuan':>13} {'s':>7} {'status':>8} {'gap':>7} {'peak':>7} | {'tonnes':>7} {'yuan/t':>7}")
    print(head)
    print("-" * len(head))
    for n in sizes:
        plain = _sub("plain", n)
        for kind in ("lots", "lots_caps"):
            lots = _sub(kind, n, str(limit))
            if plain is None or lots is None:
                print(f"{n:>5}x{n:<5} failed")
                continue
            dt = (lots["tonnes"] - plain["tonnes"]) / max(1, plain["tonnes"]) * 100
            per = lots["fen"] / max(1, lots["tonnes"]) / (plain["fen"] / max(1, plain["tonnes"])) * 100 - 100
            rules = "trucks" if kind == "lots" else "trucks+3"
            print(f"{n:>5}x{n:<5} {rules:>9} | {plain['tonnes']:>10,} {plain['fen'] / 100:>13,.0f} "
                  f"{plain['seconds']:6.1f} | {lots['tonnes']:>10,} {lots['fen'] / 100:>13,.0f} "
                  f"{lots['seconds']:7.1f} {lots['status']:>8} {lots['gap'] * 100:6.2f}% {lots['rss']:5.0f}MB | "
                  f"{dt:+6.2f}% {per:+6.2f}%", flush=True)


def net_table(n: int, values: list[int]) -> None:
    most = _sub("plain", n)
    if most is None:
        return
    print(f"\n2. net_value on {n} x {n} against max_tonnes ({most['tonnes']:,} t, "
          f"{most['fen'] / 100:,.0f} yuan; its last 5 % of tonnes: {most['curve'][-1]['cost_yuan_per_t']} yuan/t)")
    head = f"{'value/t':>8} | {'tonnes':>10} {'kept':>7} | {'cost yuan':>13} {'saved':>7} | {'net value yuan':>15}"
    print(head)
    print("-" * len(head))
    for v in values:
        r = _sub("net", n, str(v))
        if r is None:
            continue
        print(f"{v:>8} | {r['tonnes']:>10,} {r['tonnes'] / most['tonnes'] * 100:6.1f}% | {r['fen'] / 100:>13,.0f} "
              f"{(1 - r['fen'] / most['fen']) * 100:6.1f}% | {(r['value_fen'] - r['fen']) / 100:>15,.0f}", flush=True)


def national_table(n: int) -> None:
    print(f"\n3. national {n:,} x {n:,} (clustered around 45 industrial hubs, 4 materials, 60-200 km hauls), "
          "plain max_tonnes, no baseline, no curve")
    r = _sub("national", n, "")
    if r is None:
        return
    print(f"  arcs {r['arcs']:,} from {r['candidates']:,} grid candidates (S x D = {n * n:,}); "
          f"parse {r['parse']:.1f} s, build {r['build']:.1f} s, solve {r['solve']:.1f} s, "
          f"total {r['total']:.1f} s; peak RSS {r['rss'] / 1024:.1f} GB; "
          f"{r['tonnes']:,} t of {r['supply_t']:,} t matched", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tables", default="lots,net,national")
    ap.add_argument("--lots-sizes", default="1000,3000")
    ap.add_argument("--net-size", type=int, default=1000)
    ap.add_argument("--values", default="25,50,100,150,200")
    ap.add_argument("--national", type=int, default=100_000)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, n, arg = args.worker
        print(json.dumps(worker(kind, int(n), arg)))
        return 0
    print(f"issue #16 benchmarks, {os.cpu_count()} cores (shared with other jobs: times are upper bounds)")
    tables = args.tables.split(",")
    if "lots" in tables:
        lots_table([int(x) for x in args.lots_sizes.split(",")], args.time_limit)
    if "net" in tables:
        net_table(args.net_size, [int(x) for x in args.values.split(",")])
    if "national" in tables:
        national_table(args.national)
    return 0


if __name__ == "__main__":
    sys.exit(main())
