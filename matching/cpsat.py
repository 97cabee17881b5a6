"""Two-phase CP-SAT for lot rules (minimum lots, truckloads, train loads, partner caps).

The model is written as CP-SAT's protobuf *text format* from numpy arrays in
one pass (``np.char`` on whole columns, no Python loop over arcs or pairs),
parsed once by the C++ proto, and solved twice:

* phase 1: the primary objective (most tonnes; for ``net_value`` most value
  minus cost);
* phase 2: the secondary objective with phase 1's result fixed (least cost at
  those tonnes; for ``net_value`` most tonnes at that value), hinted with
  phase 1's solution.

Variables are whole *units* per arc (one tonne, or one truckload of the
arc's material), domain ``{0} U [lo, hi]``.  Objective coefficients are
divided by a scale (reported) when ``Σ|coef|·hi`` could pass 2**53, so no
overflow is possible; the exact cost is recomputed afterwards.  The search
is deterministic: a fixed seed, one worker (or several interleaved on one
thread, ``interleave_search``) and a deterministic time limit, so the same input
gives the same plan whenever a solve ends by optimality or by that limit.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SEED = 20_161_016  # fixed: the same input gives the same plan
DEFAULT_WORKERS = 1  # measured: one worker solves the parts faster than 8 interleaved
#: objective coefficients are scaled so that Σ|coef|·ub stays below this
OBJECTIVE_LIMIT = 2**53


@dataclass
class Part:
    """One independent part of a lot-rules problem (numpy arrays, picklable).

    si/di: node indices local to the part; unit: tonnes per unit; lo/hi:
    unit bounds of a used arc; cost: per-tonne cost in fen minimised in phase
    2 (or, for ``net_value``, the per-tonne gain maximised in phase 1); s_cap /
    d_cap: node tonnes; hint: units of a feasible plan.
    """

    si: np.ndarray
    di: np.ndarray
    unit: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cost: np.ndarray
    s_cap: np.ndarray
    d_cap: np.ndarray
    hint: np.ndarray
    objective: str = "max_tonnes"
    max_partners: int | None = None
    max_partners_per_supply: int | None = None
    time_limit_s: float = 30.0
    workers: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# text format from numpy
# ---------------------------------------------------------------------------


def _s(a: np.ndarray) -> np.ndarray:
    return a.astype(np.int64).astype(str)


def _join(parts: list[np.ndarray | str]) -> np.ndarray:
    out: np.ndarray = np.char.add(parts[0], parts[1])
    for p in parts[2:]:
        out = np.char.add(out, p)
    return out


def _rows(row: np.ndarray, var: np.ndarray, coef: np.ndarray, lo: np.ndarray, hi: np.ndarray,
          keep: np.ndarray) -> str:
    """Linear constraints ``lo[r] <= Σ coef·var <= hi[r]``, one per row r with ``keep[r]``.

    Terms are grouped by row with one stable sort; the text is assembled by
    placing every piece at a computed position in one object array.
    """
    sel = keep[row]
    row, var, coef = row[sel], var[sel], coef[sel]
    if row.size == 0:
        return ""
    order = np.argsort(row, kind="stable")
    row, var, coef = row[order], var[order], coef[order]
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    lens = np.diff(np.r_[starts, row.size])
    rows = row[starts]
    k = np.arange(rows.size)
    last = np.zeros(row.size, dtype=bool)
    last[starts + lens - 1] = True
    sep = np.where(last, "", ", ")
    vtok = np.char.add(_s(var), sep)
    ctok = np.char.add(_s(coef), sep)
    # block of row k: head, its vars, mid, its coefs, tail  (2*len + 3 pieces)
    block = 2 * starts + 3 * k
    pieces = np.empty(2 * row.size + 3 * rows.size, dtype=object)
    pieces[block] = "constraints { linear { vars: ["
    offset = np.arange(row.size) - np.repeat(starts, lens)
    own = np.repeat(block, lens)
    pieces[own + 1 + offset] = vtok
    pieces[block + 1 + lens] = "] coeffs: ["
    pieces[own + 2 + np.repeat(lens, lens) + offset] = ctok
    pieces[block + 2 + 2 * lens] = _join(["] domain: [", _s(lo[rows]), ", ", _s(hi[rows]), "] } }\n"])
    return "".join(pieces.tolist())


def _linear(name: str, var: np.ndarray, coef: np.ndarray) -> str:
    if var.size == 0:
        return ""
    return (f"{name} {{ vars: [{', '.join(_s(var).tolist())}] "
            f"coeffs: [{', '.join(_s(coef).tolist())}] }}\n")


def _hint(var: np.ndarray, values: np.ndarray) -> str:
    return (f"solution_hint {{ vars: [{', '.join(_s(var).tolist())}] "
            f"values: [{', '.join(_s(values).tolist())}] }}\n")


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------


def model_text(p: Part) -> tuple[str, int]:
    """Variables and constraints of a part (no objective); returns (text, #arc vars)."""
    n = p.si.size
    n_s, n_d = p.s_cap.size, p.d_cap.size
    caps = p.max_partners is not None or p.max_partners_per_supply is not None
    # variables: k_a units on arc a, {0} U [lo, hi]; with partner caps y_a (used) as well
    if caps:
        dom = _join(["variables { domain: [0, ", _s(p.hi), "] }\n"])
    else:
        lo = np.where(p.lo <= 1, "", np.char.add(np.char.add("0, ", _s(p.lo)), ", "))
        dom = _join(["variables { domain: [0, ", lo, _s(p.hi), "] }\n"])
    text = ["".join(dom.tolist())]
    if caps:
        text.append("variables { domain: [0, 1] }\n" * n)
        a = np.arange(n, dtype=np.int64)
        y = a + n
        # constraint: a used arc carries lo..hi units, an unused one none (k - hi*y <= 0, k - lo*y >= 0)
        text.append("".join(_join(["constraints { linear { vars: [", _s(a), ", ", _s(y), "] coeffs: [1, -",
                                   _s(p.hi), "] domain: [", _s(-p.hi), ", 0] } }\n"]).tolist()))
        text.append("".join(_join(["constraints { linear { vars: [", _s(a), ", ", _s(y), "] coeffs: [1, -",
                                   _s(p.lo), "] domain: [0, ", _s(p.hi), "] } }\n"]).tolist()))
    # constraint: a supply ships at most its tonnes, a demand receives at most its tonnes
    arc = np.arange(n, dtype=np.int64)
    tonnes_hi = p.unit * p.hi
    for ends, cap, size in ((p.si, p.s_cap, n_s), (p.di, p.d_cap, n_d)):
        reach = np.bincount(ends, weights=tonnes_hi.astype(np.float64), minlength=size)
        text.append(_rows(ends, arc, p.unit, np.zeros(size, np.int64), cap, reach > cap))
    # constraint: partner caps (number of used arcs per node)
    for ends, cap_p, size in ((p.di, p.max_partners, n_d), (p.si, p.max_partners_per_supply, n_s)):
        if cap_p is None:
            continue
        count = np.bincount(ends, minlength=size)
        text.append(_rows(ends, arc + n, np.ones(n, np.int64), np.zeros(size, np.int64),
                          np.full(size, cap_p, np.int64), count > cap_p))
    return "".join(text), n


def _scaled(coef: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, int]:
    """Coefficients divided by the smallest integer scale keeping Σ|coef|·ub <= 2**53."""
    total = float(np.abs(coef).astype(np.float64) @ ub.astype(np.float64))
    scale = max(1, math.ceil(total / OBJECTIVE_LIMIT))
    if scale == 1:
        return coef, 1
    return np.floor_divide(coef, scale), scale


def _params(solver: Any, p: Part, seconds: float) -> None:
    prm = solver.parameters
    prm.random_seed = SEED
    prm.num_workers = p.workers or DEFAULT_WORKERS
    # several workers stay deterministic only interleaved on one thread
    prm.interleave_search = prm.num_workers > 1
    prm.max_deterministic_time = seconds
    prm.max_time_in_seconds = seconds


def solve_part(p: Part) -> tuple[np.ndarray, dict[str, Any]]:
    """Two-phase CP-SAT on one part; returns (units per arc, stats)."""
    from ortools.sat.python import cp_model

    base, n = model_text(p)
    arc = np.arange(n, dtype=np.int64)
    tonnes_coef = p.unit.astype(np.int64)
    cost_coef = (p.cost * p.unit).astype(np.int64)
    value = p.objective == "net_value"
    # phase 1: maximise tonnes (or value - cost): CP-SAT minimises, so negate
    c1, scale1 = _scaled(cost_coef if value else tonnes_coef, p.hi)
    hint_text = _hint(np.r_[arc, arc + n] if _caps(p) else arc,
                      np.r_[p.hint, (p.hint > 0).astype(np.int64)] if _caps(p) else p.hint)
    info: dict[str, Any] = {"arcs": n}
    # phase 1 gets a third of the time; phase 2 (the harder, cost) everything phase 1 leaves
    start = time.perf_counter()
    k1, st1 = _run(cp_model, base + _linear("objective", arc, -c1) + hint_text, p, p.time_limit_s / 3)
    left = p.time_limit_s - (time.perf_counter() - start)
    if k1 is None:
        k1 = p.hint
    phase1_units = k1
    # phase 2: fix phase 1's result, optimise the other criterion
    if value:
        got = int(cost_coef @ k1)  # value - cost achieved (exact)
        fix = _rows(np.zeros(n, np.int64), arc, cost_coef, np.array([got]), np.array([int(cost_coef @ p.hi)]),
                    np.array([True]))
        c2, scale2 = _scaled(tonnes_coef, p.hi)
        obj2 = _linear("objective", arc, -c2)
    else:
        got = int(tonnes_coef @ k1)
        fix = _rows(np.zeros(n, np.int64), arc, tonnes_coef, np.array([got]), np.array([got]), np.array([True]))
        c2, scale2 = _scaled(cost_coef, p.hi)
        obj2 = _linear("objective", arc, c2)
    hint2 = _hint(np.r_[arc, arc + n] if _caps(p) else arc,
                  np.r_[k1, (k1 > 0).astype(np.int64)] if _caps(p) else k1)
    k2, st2 = _run(cp_model, base + fix + obj2 + hint2, p, left)
    if k2 is None:
        k2 = phase1_units
    info.update(phase1_status=st1["status"], phase2_status=st2["status"],
                phase1_bound=st1["bound"] * scale1, phase2_bound=st2["bound"] * scale2,
                objective_scale=max(scale1, scale2),
                seconds_phase1=st1["seconds"], seconds_phase2=st2["seconds"])
    return k2, info


def _caps(p: Part) -> bool:
    return p.max_partners is not None or p.max_partners_per_supply is not None


def _run(cp_model: Any, text: str, p: Part, seconds: float) -> tuple[np.ndarray | None, dict[str, Any]]:
    model = cp_model.CpModel()
    model.proto.merge_text_format(text)
    solver = cp_model.CpSolver()
    _params(solver, p, max(0.05, seconds))
    code = solver.solve(model)
    name = solver.status_name(code)
    st = {"status": name, "bound": float(solver.best_objective_bound) if code in
          (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0.0, "seconds": round(solver.wall_time, 4)}
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sol = np.asarray(solver.response_proto.solution, dtype=np.int64)
        return sol[:p.si.size], st
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT MODEL_INVALID: {model.validate()}")
    return None, st
