"""Command line: ``python -m matching solve|generate|validate``.

Every input problem ends the process with status 2 and exactly one line on
stderr (``error: ...``), never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .model import Instance, InstanceError
from .options import SolveOptions


class _Usage(Exception):
    """Bad command line or input: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise _Usage(f"{self.prog}: {message}")


def _read_json(path: str) -> Any:
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise _Usage(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") \
            from None
    except UnicodeDecodeError as exc:
        raise _Usage(f"{path}: not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise _Usage(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_instance(path: str) -> Instance:
    try:
        return Instance.from_json(_read_json(path))
    except InstanceError as exc:
        raise _Usage(str(exc)) from None


def _write_json(data: Any, path: str | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
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


def _parser() -> _Parser:
    p = _Parser(prog="python -m matching",
                description="Optimal transport pairings for industrial solid waste.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("solve", help="solve an instance, print the plan JSON")
    s.add_argument("instance", help="instance JSON file ('-' = stdin)")
    s.add_argument("-o", "--output", help="write the plan here instead of stdout")
    s.add_argument("--min-shipment", type=int, default=0, metavar="T",
                   help="every pairing ships 0 or at least T tonnes (uses CP-SAT)")
    s.add_argument("--max-partners", type=int, default=None, metavar="N",
                   help="at most N distinct supplies per demand (uses CP-SAT)")
    s.add_argument("--exclude", type=_exclusion, action="append", default=[],
                   metavar="S:D", help="forbid the pair supply S -> demand D (repeatable)")
    s.add_argument("--time-limit", type=float, default=30.0, metavar="SEC",
                   help="CP-SAT time limit in seconds (default 30)")
    s.add_argument("--co2-kg-per-t-km", type=float, default=None, metavar="KG",
                   help="road CO2 factor (default: the tariff's, else 0.1)")
    s.add_argument("--rail-co2-kg-per-t-km", type=float, default=None, metavar="KG",
                   help="rail CO2 factor (default: the tariff's, else 0.03)")
    s.add_argument("--workers", type=int, default=0, help="CP-SAT workers (0 = all cores)")
    s.add_argument("--no-baseline", action="store_true", help="skip the greedy baseline")
    s.add_argument("--validate", action="store_true",
                   help="check the plan with the independent validator before writing")

    g = sub.add_parser("generate", help="write a random Ningxia instance")
    g.add_argument("--supplies", type=int, required=True)
    g.add_argument("--demands", type=int, required=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--materials", default=None,
                   help="comma-separated material codes (default: 4 common ones)")
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
            min_shipment_t=args.min_shipment, max_partners=args.max_partners,
            exclude=frozenset(args.exclude), time_limit_s=args.time_limit,
            co2_kg_per_t_km=args.co2_kg_per_t_km,
            rail_co2_kg_per_t_km=args.rail_co2_kg_per_t_km,
            baseline=not args.no_baseline, workers=args.workers)
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
    from .generate import DEFAULT_MATERIALS, generate_instance

    if args.supplies < 0 or args.demands < 0:
        raise _Usage("--supplies and --demands must be >= 0")
    materials = tuple(args.materials.split(",")) if args.materials else DEFAULT_MATERIALS
    try:
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
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise _Usage(f"{args.plan}: not a plan: {exc!r}") from None
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
