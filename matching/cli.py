"""Command line: ``python -m matching solve|generate|validate``.

Every input problem ends the process with status 2 and exactly one line on
stderr (``error: ...``), never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import jsonio
from .model import Instance, InstanceError
from .options import MAX_TIME_LIMIT_S, OBJECTIVES, SolveOptions


class _Usage(Exception):
    """Bad command line or input: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise _Usage(f"{self.prog}: {message}")


def _read_json(path: str) -> Any:
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
        return jsonio.loads(raw)
    except jsonio.JsonError as exc:
        raise _Usage(f"{path}: {exc}") from None
    except OSError as exc:
        raise _Usage(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_instance(path: str) -> Instance:
    try:
        return Instance.from_json(_read_json(path))
    except InstanceError as exc:
        raise _Usage(str(exc)) from None


def _write_json(data: Any, path: str | None) -> None:
    text = jsonio.dumps(data)
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise _Usage(f"{path}: cannot write: {exc.strerror or exc}") from None


def _exclusion(text: str) -> tuple[str, str]:
    supply, sep, demand = text.partition(":")
    if not sep or not supply or not demand:
        raise argparse.ArgumentTypeError(f"expected SUPPLY_ID:DEMAND_ID, got {text!r}")
    return supply, demand


def _count(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, got {v}")
        return v
    return parse


def _finite(lo: float, hi: float, lo_open: bool = False) -> Any:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
        if not math.isfinite(v) or v > hi or (v <= lo if lo_open else v < lo):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>' if lo_open else '>='} {lo:g} and <= {hi:g}, got {text!r}")
        return v
    return parse


def _parser() -> _Parser:
    p = _Parser(prog="python -m matching",
                description="Optimal transport pairings for industrial solid waste.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("solve", help="solve an instance (one period, or seasonal with 'periods'), "
                                     "print the plan JSON")
    s.add_argument("instance", help="instance JSON file ('-' = stdin)")
    s.add_argument("-o", "--output", help="write the plan here instead of stdout")
    s.add_argument("--objective", choices=OBJECTIVES, default="max_tonnes",
                   help="max_tonnes (default), net_value or delivered_cost")
    s.add_argument("--min-shipment", type=_count(0, 10**9), default=0, metavar="T",
                   help="every pairing ships 0 or at least T tonnes (uses CP-SAT)")
    s.add_argument("--truckloads", action="store_true",
                   help="every pairing ships whole truckloads (tariff payload_t, default 32 t)")
    s.add_argument("--max-partners", type=_count(1, 10**6), default=None, metavar="N",
                   help="at most N distinct supplies per demand (uses CP-SAT)")
    s.add_argument("--max-partners-per-supply", type=_count(1, 10**6), default=None, metavar="N",
                   help="at most N distinct demands per supply (uses CP-SAT)")
    s.add_argument("--exclude", type=_exclusion, action="append", default=[],
                   metavar="S:D", help="forbid the pair supply S -> demand D (repeatable)")
    s.add_argument("--time-limit", type=_finite(0, MAX_TIME_LIMIT_S, lo_open=True), default=30.0,
                   metavar="SEC",
                   help="CP-SAT time limit in seconds (default 30)")
    s.add_argument("--co2-kg-per-t-km", type=_finite(0, 10), default=None, metavar="KG",
                   help="road CO2 factor (default: the tariff's, else 0.1)")
    s.add_argument("--rail-co2-kg-per-t-km", type=_finite(0, 10), default=None, metavar="KG",
                   help="rail CO2 factor (default: the tariff's, else 0.03)")
    s.add_argument("--workers", type=_count(0, 256), default=0,
                   help="CP-SAT workers per part (0 = default)")
    s.add_argument("--processes", type=_count(0, 256), default=0,
                   help="parallel processes for independent parts (0 = one per core)")
    s.add_argument("--no-baseline", action="store_true", help="skip the greedy baseline")
    s.add_argument("--no-curve", action="store_true", help="skip the marginal cost curve")
    s.add_argument("--validate", action="store_true",
                   help="check the plan with the independent validator before writing")

    g = sub.add_parser("generate", help="write a random Ningxia instance")
    g.add_argument("--supplies", type=_count(0, 2_000_000), required=True)
    g.add_argument("--demands", type=_count(0, 2_000_000), required=True)
    g.add_argument("--seed", type=_count(0, 2**63 - 1), default=0)
    g.add_argument("--materials", default=None,
                   help="comma-separated material codes (default: 4 common ones)")
    g.add_argument("--periods", type=_count(1, 520), default=None, metavar="N",
                   help="a seasonal instance over N months from 2027-01 (winter-heavy ash, kiln stops, "
                        "yards and silos)")
    g.add_argument("-o", "--output")

    v = sub.add_parser("validate", help="check a plan against an instance (exit 1 if invalid)")
    v.add_argument("instance")
    v.add_argument("plan")
    return p


def _cmd_solve(args: argparse.Namespace) -> int:
    instance = _load_instance(args.instance)  # before the heavy imports: fast errors
    from .solver import SolverError, solve
    from .validation import validate

    try:
        options = SolveOptions(
            objective=args.objective, truckloads=args.truckloads,
            max_partners_per_supply=args.max_partners_per_supply, processes=args.processes,
            min_shipment_t=args.min_shipment, max_partners=args.max_partners,
            exclude=frozenset(args.exclude), time_limit_s=args.time_limit,
            co2_kg_per_t_km=args.co2_kg_per_t_km,
            rail_co2_kg_per_t_km=args.rail_co2_kg_per_t_km,
            baseline=not args.no_baseline, workers=args.workers, marginal_curve=not args.no_curve)
        plan = solve(instance, options)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    except SolverError as exc:
        print(f"error: solver failed: {exc}", file=sys.stderr)
        return 1
    if args.validate:
        bad = validate(instance, plan, options)
        if bad:
            print(f"error: plan failed validation: {bad[0]} ({len(bad)} problems)", file=sys.stderr)
            return 1
    _write_json(plan.to_json(), args.output)
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .generate import DEFAULT_MATERIALS, generate_instance, generate_seasonal

    if args.supplies < 0 or args.demands < 0:
        raise _Usage("--supplies and --demands must be >= 0")
    materials = tuple(args.materials.split(",")) if args.materials else DEFAULT_MATERIALS
    try:
        if args.periods is not None:
            data = generate_seasonal(args.supplies, args.demands, args.seed, args.periods, materials)
        else:
            data = generate_instance(args.supplies, args.demands, args.seed, materials)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    _write_json(data, args.output)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .plan import Plan
    from .validation import validate

    instance = _load_instance(args.instance)
    try:
        plan = Plan.from_json(_read_json(args.plan))
    except ValueError as exc:
        raise _Usage(f"{args.plan}: not a plan: {exc}") from None
    bad = validate(instance, plan)
    for line in bad:
        print(line, file=sys.stderr)
    if not bad:
        print(f"ok: {plan.tonnes_matched} t, {plan.transport_cost_yuan} yuan, "
              f"{len(plan.pairings)} pairings")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failure, 2 bad input)."""
    try:
        args = _parser().parse_args(argv)
        logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2), stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")
        return {"solve": _cmd_solve, "generate": _cmd_generate,
                "validate": _cmd_validate}[args.command](args)
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
