"""Solver-independent plan checker.

Recomputes every pairing from the rules with scalar code (geopy's
``great_circle`` for distances, Python integers for money), so it shares no
code path with the numpy arc builder or the solvers.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from geopy.distance import great_circle

from .catalogue import ENV_TAX_YUAN_PER_T, grade_meets
from .model import Demand, Instance, Supply
from .money import dkm_to_km, e7_to_fen, fen_to_yuan, scaled_int
from .options import SolveOptions
from .plan import STATUSES, Plan, co2_factors, co2_kg


class PlanError(ValueError):
    """Raised by :func:`check`; ``violations`` lists every problem found."""

    def __init__(self, violations: list[str]):
        super().__init__("; ".join(violations))
        self.violations = violations


@dataclass(frozen=True)
class PairTerms:
    """What the rules say about one allowed supply->demand pair."""

    dkm: int
    mode: str
    fen_per_t: int
    delivered_fen_per_t: int


def route_dkm(instance: Instance, s: Supply, d: Demand) -> int:
    """Distance in 0.1 km: round(great_circle * circuity * 10), half to even."""
    km: float = great_circle((s.lat, s.lon), (d.lat, d.lon)).km
    return round(km * instance.tariff.circuity * 10.0)


def pair_terms(instance: Instance, s: Supply, d: Demand) -> PairTerms | str:
    """The pairing's terms if the rules allow it, else the reason it is refused."""
    if s.material != d.material:
        return f"material {s.material} != {d.material}"
    if not grade_meets(s.material, s.grade, d.min_grade):
        return f"grade {s.grade} does not meet {d.min_grade}"
    for p, lim in d.quality_limits.items():
        if not lim.admits(s.quality.get(p)):
            return f"quality {p}={s.quality.get(p)} outside [{lim.min}, {lim.max}]"
    dkm = route_dkm(instance, s, d)
    if dkm > s.haul_dkm or dkm > d.haul_dkm:
        return f"distance {dkm_to_km(dkm)} km exceeds a max haul"
    t = instance.tariff
    cost_e7, mode = t.handling_e7 + t.road_micro * dkm, "road"
    if t.has_rail and s.rail and d.rail:
        rail_e7 = t.handling_e7 + t.rail_fixed_e7 + t.rail_micro * dkm
        if rail_e7 < cost_e7:  # a tie goes to road
            cost_e7, mode = rail_e7, "rail"
    fen = e7_to_fen(cost_e7)
    delivered = s.price_fen + fen
    limit = d.max_delivered_fen
    if limit is not None and delivered > limit:
        return f"delivered price {fen_to_yuan(delivered)} exceeds {fen_to_yuan(limit)}"
    return PairTerms(dkm, mode, fen, delivered)


def _fen(x: Decimal) -> int | None:
    try:
        return scaled_int(Decimal(x), 2)
    except (ValueError, ArithmeticError, TypeError):
        return None


def validate(instance: Instance, plan: Plan, options: SolveOptions | None = None) -> list[str]:
    """Every rule and option the plan breaks, as messages ([] = valid).

    ``options`` defaults to the options recorded in the plan.  Checks the
    pairing rules, reported distance/mode/prices, whole positive tonnes,
    capacities, minimum shipment, exclusions, partner cap, and recomputes all
    totals (money exactly in fen).  Optimality is not checked here.
    """
    if options is None:
        options = SolveOptions.from_json(plan.options)
    bad: list[str] = []
    if plan.status not in STATUSES:
        bad.append(f"unknown status {plan.status!r}")
    sup = {str(s.id): s for s in instance.supplies}
    dem = {str(d.id): d for d in instance.demands}
    shipped_s: dict[str, int] = {}
    shipped_d: dict[str, int] = {}
    partners: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    road_f, rail_f = co2_factors(instance, options)
    tot_t = tot_fen = tot_tax = 0
    tot_co2 = 0.0
    for k, p in enumerate(plan.pairings):
        where = f"pairings[{k}] ({p.supply}->{p.demand})"
        key = (str(p.supply), str(p.demand))
        s, d = sup.get(key[0]), dem.get(key[1])
        if s is None or d is None:
            bad.append(f"{where}: unknown {'supply' if s is None else 'demand'} id")
            continue
        if key in seen:
            bad.append(f"{where}: pair appears twice")
        seen.add(key)
        t = p.tonnes
        if isinstance(t, bool) or not isinstance(t, int) or t < 1:
            bad.append(f"{where}: tonnes {t!r} is not a whole number >= 1")
            continue
        if t < options.min_shipment_t:
            bad.append(f"{where}: {t} t is below the minimum shipment {options.min_shipment_t} t")
        if key in options.exclude:
            bad.append(f"{where}: pair is excluded")
        terms = pair_terms(instance, s, d)
        if isinstance(terms, str):
            bad.append(f"{where}: not allowed: {terms}")
            continue
        if p.distance_km != dkm_to_km(terms.dkm):
            bad.append(f"{where}: distance {p.distance_km} km, expected {dkm_to_km(terms.dkm)}")
        if p.mode != terms.mode:
            bad.append(f"{where}: mode {p.mode}, expected {terms.mode}")
        if _fen(p.transport_cost_yuan_per_t) != terms.fen_per_t:
            bad.append(f"{where}: transport cost {p.transport_cost_yuan_per_t}/t, "
                       f"expected {fen_to_yuan(terms.fen_per_t)}")
        if _fen(p.delivered_price_yuan_per_t) != terms.delivered_fen_per_t:
            bad.append(f"{where}: delivered price {p.delivered_price_yuan_per_t}/t, "
                       f"expected {fen_to_yuan(terms.delivered_fen_per_t)}")
        if _fen(p.transport_cost_yuan) != t * terms.fen_per_t:
            bad.append(f"{where}: transport cost {p.transport_cost_yuan}, "
                       f"expected {fen_to_yuan(t * terms.fen_per_t)}")
        tax = t * scaled_int(ENV_TAX_YUAN_PER_T[s.material], 2)
        if _fen(p.env_tax_avoided_yuan) != tax:
            bad.append(f"{where}: env tax avoided {p.env_tax_avoided_yuan}, expected {fen_to_yuan(tax)}")
        co2 = co2_kg(t, terms.dkm, rail_f if terms.mode == "rail" else road_f)
        if abs(p.co2_kg - co2) > 1e-6 * max(1.0, co2):
            bad.append(f"{where}: co2 {p.co2_kg} kg, expected {co2}")
        shipped_s[key[0]] = shipped_s.get(key[0], 0) + t
        shipped_d[key[1]] = shipped_d.get(key[1], 0) + t
        partners[key[1]] = partners.get(key[1], 0) + 1
        tot_t += t
        tot_fen += t * terms.fen_per_t
        tot_tax += tax
        tot_co2 += co2

    for sid, x in shipped_s.items():
        if x > sup[sid].tonnes:
            bad.append(f"supply {sup[sid].id}: ships {x} t but offers {sup[sid].tonnes} t")
    for did, x in shipped_d.items():
        if x > dem[did].tonnes:
            bad.append(f"demand {dem[did].id}: receives {x} t but wants {dem[did].tonnes} t")
    if options.max_partners is not None:
        for did, c in partners.items():
            if c > options.max_partners:
                bad.append(f"demand {dem[did].id}: {c} partners, cap {options.max_partners}")

    if plan.tonnes_matched != tot_t:
        bad.append(f"tonnes_matched {plan.tonnes_matched}, pairings sum to {tot_t}")
    if _fen(plan.transport_cost_yuan) != tot_fen:
        bad.append(f"transport_cost_yuan {plan.transport_cost_yuan}, expected {fen_to_yuan(tot_fen)}")
    if _fen(plan.env_tax_avoided_yuan) != tot_tax:
        bad.append(f"env_tax_avoided_yuan {plan.env_tax_avoided_yuan}, expected {fen_to_yuan(tot_tax)}")
    if abs(plan.co2_kg - tot_co2) > 1e-3 + 1e-9 * tot_co2:
        bad.append(f"co2_kg {plan.co2_kg}, expected {round(tot_co2, 3)}")
    want_s = {str(s.id): s.tonnes - shipped_s.get(str(s.id), 0) for s in instance.supplies}
    want_d = {str(d.id): d.tonnes - shipped_d.get(str(d.id), 0) for d in instance.demands}
    got_s = {str(i): t for i, t in plan.unmatched_supplies}
    got_d = {str(i): t for i, t in plan.unmatched_demands}
    if got_s != {k: v for k, v in want_s.items() if v > 0}:
        bad.append("unmatched_supplies do not match the pairings")
    if got_d != {k: v for k, v in want_d.items() if v > 0}:
        bad.append("unmatched_demands do not match the pairings")
    return bad


def check(instance: Instance, plan: Plan, options: SolveOptions | None = None) -> None:
    """Raise :class:`PlanError` listing all violations, if there are any."""
    bad = validate(instance, plan, options)
    if bad:
        raise PlanError(bad)
