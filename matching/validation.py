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
from .model import MAX_TOTAL_TONNES, Demand, Instance, Supply
from .money import dkm_to_km, e7_to_fen, fen_to_yuan, scaled_int
from .options import SolveOptions
from .plan import STATUSES, Pairing, Plan, co2_factors, co2_kg

MAX_PAIR_TONNES = 10**9  # a pairing carries at most one record's tonnes


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
    km = great_circle((s.lat, s.lon), (d.lat, d.lon)).km
    return round(float(km) * instance.tariff.circuity * 10.0)


def pair_terms(instance: Instance, s: Supply, d: Demand, tonnes: int | None = None) -> PairTerms | str:
    """The pairing's terms if the rules allow it, else the reason it is refused.

    Rail is chosen when both ends have sidings, the tariff has rail, rail is
    strictly cheaper, and (given ``tonnes``) the pairing carries at least the
    tariff's minimum train load."""
    if not d.accepts(s.material):
        return f"material {s.material} not in {', '.join(d.materials)}"
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
    train_ok = tonnes is None or tonnes >= t.min_train_t
    if t.has_rail and s.rail and d.rail and train_ok:
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


@dataclass
class _Totals:
    """What the pairings add up to, recomputed from the rules."""

    tonnes: int = 0
    fen: int = 0
    tax: int = 0
    delivered: int = 0
    value: int = 0
    co2: float = 0.0


def _check_pairing(instance: Instance, options: SolveOptions, p: Pairing, s: Supply, d: Demand, where: str,
                   bad: list[str], factors: tuple[float, float], tot: _Totals) -> bool:
    """Check one pairing against the rules and options, add it to ``tot``; False if unusable."""
    t = p.tonnes
    limit = MAX_TOTAL_TONNES if instance.seasonal else MAX_PAIR_TONNES
    if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= limit:
        bad.append(f"{where}: tonnes {t!r} is not a whole number from 1 to {limit}")
        return False
    if t < options.min_shipment_t:
        bad.append(f"{where}: {t} t is below the minimum shipment {options.min_shipment_t} t")
    if options.truckloads and t % instance.tariff.payload(s.material):
        bad.append(f"{where}: {t} t is not whole truckloads of "
                   f"{instance.tariff.payload(s.material)} t")
    if (str(p.supply), str(p.demand)) in options.exclude:
        bad.append(f"{where}: pair is excluded")
    terms = pair_terms(instance, s, d, t)
    if isinstance(terms, str):
        bad.append(f"{where}: not allowed: {terms}")
        return False
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
    road_f, rail_f = factors
    co2 = co2_kg(t, terms.dkm, rail_f if terms.mode == "rail" else road_f)
    if abs(p.co2_kg - co2) > 1e-6 * max(1.0, co2):
        bad.append(f"{where}: co2 {p.co2_kg} kg, expected {co2}")
    value_fen = instance.tariff.value_fen(s.material)
    if options.objective == "net_value" and terms.fen_per_t >= value_fen:
        bad.append(f"{where}: moves tonnes at a loss ({fen_to_yuan(terms.fen_per_t)}/t transport, "
                   f"worth {fen_to_yuan(value_fen)}/t)")
    tot.tonnes += t
    tot.fen += t * terms.fen_per_t
    tot.tax += tax
    tot.delivered += t * terms.delivered_fen_per_t
    tot.value += t * value_fen
    tot.co2 += co2
    return True


def _check_totals(plan: Plan, tot: _Totals, bad: list[str]) -> None:
    if plan.tonnes_matched != tot.tonnes:
        bad.append(f"tonnes_matched {plan.tonnes_matched}, pairings sum to {tot.tonnes}")
    if _fen(plan.transport_cost_yuan) != tot.fen:
        bad.append(f"transport_cost_yuan {plan.transport_cost_yuan}, expected {fen_to_yuan(tot.fen)}")
    if _fen(plan.env_tax_avoided_yuan) != tot.tax:
        bad.append(f"env_tax_avoided_yuan {plan.env_tax_avoided_yuan}, expected {fen_to_yuan(tot.tax)}")
    if plan.delivered_cost_yuan is not None and _fen(plan.delivered_cost_yuan) != tot.delivered:
        bad.append(f"delivered_cost_yuan {plan.delivered_cost_yuan}, expected {fen_to_yuan(tot.delivered)}")
    if plan.value_yuan is not None and _fen(plan.value_yuan) != tot.value:
        bad.append(f"value_yuan {plan.value_yuan}, expected {fen_to_yuan(tot.value)}")
    if abs(plan.co2_kg - tot.co2) > 1e-3 + 1e-9 * tot.co2:
        bad.append(f"co2_kg {plan.co2_kg}, expected {round(tot.co2, 3)}")


def _check_partners(options: SolveOptions, partners: dict[str, int], s_partners: dict[str, int],
                    sup: dict[str, Supply], dem: dict[str, Demand], bad: list[str], when: str = "") -> None:
    if options.max_partners is not None:
        for did, c in partners.items():
            if c > options.max_partners:
                bad.append(f"demand {dem[did].id}{when}: {c} partners, cap {options.max_partners}")
    if options.max_partners_per_supply is not None:
        for sid, c in s_partners.items():
            if c > options.max_partners_per_supply:
                bad.append(f"supply {sup[sid].id}{when}: {c} partners, cap {options.max_partners_per_supply}")


def validate(instance: Instance, plan: Plan, options: SolveOptions | None = None) -> list[str]:
    """Every rule and option the plan breaks, as messages ([] = valid).

    ``options`` defaults to the options recorded in the plan.  Checks the
    pairing rules, reported distance/mode/prices, whole positive tonnes,
    capacities, minimum shipment, exclusions, partner cap, and recomputes all
    totals (money exactly in fen).  A seasonal plan is checked period by
    period (:func:`_validate_seasonal`).  Optimality is not checked here.
    """
    bad: list[str] = []
    if options is None:
        try:
            options = SolveOptions.from_json(plan.options)
        except ValueError as exc:
            bad.append(f"options: {exc}")
            options = SolveOptions()
    if plan.status not in STATUSES:
        bad.append(f"unknown status {plan.status!r}")
    if plan.objective != options.objective:
        bad.append(f"objective {plan.objective!r}, options say {options.objective!r}")
    if instance.seasonal or plan.periods is not None:
        return bad + _validate_seasonal(instance, plan, options)
    sup = {str(s.id): s for s in instance.supplies}
    dem = {str(d.id): d for d in instance.demands}
    shipped_s: dict[str, int] = {}
    shipped_d: dict[str, int] = {}
    partners: dict[str, int] = {}
    s_partners: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    factors = co2_factors(instance, options)
    tot = _Totals()
    for k, p in enumerate(plan.pairings):
        where = f"pairings[{k}] ({p.supply}->{p.demand})"
        key = (str(p.supply), str(p.demand))
        s, d = sup.get(key[0]), dem.get(key[1])
        if s is None or d is None:
            bad.append(f"{where}: unknown {'supply' if s is None else 'demand'} id")
            continue
        if p.period is not None:
            bad.append(f"{where}: has a period, the instance has none")
        if key in seen:
            bad.append(f"{where}: pair appears twice")
        seen.add(key)
        if not _check_pairing(instance, options, p, s, d, where, bad, factors, tot):
            continue
        shipped_s[key[0]] = shipped_s.get(key[0], 0) + p.tonnes
        shipped_d[key[1]] = shipped_d.get(key[1], 0) + p.tonnes
        partners[key[1]] = partners.get(key[1], 0) + 1
        s_partners[key[0]] = s_partners.get(key[0], 0) + 1

    for sid, x in shipped_s.items():
        if x > sup[sid].tonnes:
            bad.append(f"supply {sup[sid].id}: ships {x} t but offers {sup[sid].tonnes} t")
    for did, x in shipped_d.items():
        if x > dem[did].tonnes:
            bad.append(f"demand {dem[did].id}: receives {x} t but wants {dem[did].tonnes} t")
    _check_partners(options, partners, s_partners, sup, dem, bad)
    _check_totals(plan, tot, bad)
    want_s = {str(s.id): s.tonnes - shipped_s.get(str(s.id), 0) for s in instance.supplies}
    want_d = {str(d.id): d.tonnes - shipped_d.get(str(d.id), 0) for d in instance.demands}
    got_s = {str(i): t for i, t in plan.unmatched_supplies}
    got_d = {str(i): t for i, t in plan.unmatched_demands}
    if got_s != {k: v for k, v in want_s.items() if v > 0}:
        bad.append("unmatched_supplies do not match the pairings")
    if got_d != {k: v for k, v in want_d.items() if v > 0}:
        bad.append("unmatched_demands do not match the pairings")
    return bad


def _validate_seasonal(instance: Instance, plan: Plan, options: SolveOptions) -> list[str]:
    """A seasonal plan, period by period: each pairing by the rules; every yard's and silo's balance,
    capacity and stock; what each supply ships and each demand receives in each period; holding and
    total cost; the horizon's leftovers."""
    bad: list[str] = []
    labels = list(instance.periods)
    if not instance.seasonal:
        return ["the plan has periods, the instance has none"]
    if plan.periods != labels:
        return [f"periods {plan.periods!r}, the instance has {labels!r}"]
    n_per = len(labels)
    p_ix = {label: p for p, label in enumerate(labels)}
    sup = {str(s.id): s for s in instance.supplies}
    dem = {str(d.id): d for d in instance.demands}
    out_s: dict[tuple[str, int], int] = {}
    in_d: dict[tuple[str, int], int] = {}
    partners: list[dict[str, int]] = [{} for _ in labels]
    s_partners: list[dict[str, int]] = [{} for _ in labels]
    seen: set[tuple[str, str, int]] = set()
    factors = co2_factors(instance, options)
    tot = _Totals()
    for k, p in enumerate(plan.pairings):
        where = f"pairings[{k}] ({p.supply}->{p.demand}, {p.period})"
        s, d = sup.get(str(p.supply)), dem.get(str(p.demand))
        if s is None or d is None:
            bad.append(f"{where}: unknown {'supply' if s is None else 'demand'} id")
            continue
        per = p_ix.get(p.period) if p.period is not None else None
        if per is None:
            bad.append(f"{where}: unknown period {p.period!r}")
            continue
        key = (str(p.supply), str(p.demand), per)
        if key in seen:
            bad.append(f"{where}: pair appears twice in the period")
        seen.add(key)
        if not _check_pairing(instance, options, p, s, d, where, bad, factors, tot):
            continue
        out_s[key[0], per] = out_s.get((key[0], per), 0) + p.tonnes
        in_d[key[1], per] = in_d.get((key[1], per), 0) + p.tonnes
        partners[per][key[1]] = partners[per].get(key[1], 0) + 1
        s_partners[per][key[0]] = s_partners[per].get(key[0], 0) + 1
    for per, label in enumerate(labels):
        _check_partners(options, partners[per], s_partners[per], sup, dem, bad, f" in {label}")

    # stock: exactly one row per listing with storage and period, whole, within the capacity
    stock: dict[tuple[str, str], list[int | None]] = {}
    for side, recs in (("supply", instance.supplies), ("demand", instance.demands)):
        for r in recs:
            if r.storage is not None:
                stock[side, str(r.id)] = [None] * n_per
    for k, row in enumerate(plan.storage):
        where = f"storage[{k}] ({row.side} {row.listing}, {row.period})"
        cell = stock.get((row.side, str(row.listing)))
        per = p_ix.get(row.period)
        if cell is None:
            bad.append(f"{where}: the {row.side} has no storage")
            continue
        if per is None:
            bad.append(f"{where}: unknown period")
            continue
        if cell[per] is not None:
            bad.append(f"{where}: appears twice")
        x = row.end_stock_t
        if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= MAX_TOTAL_TONNES:
            bad.append(f"{where}: end stock {x!r} is not a whole number of tonnes")
            continue
        cell[per] = x
    holding = 0
    left_s: dict[str, int] = {}
    left_d: dict[str, int] = {}
    for side, recs in (("supply", instance.supplies), ("demand", instance.demands)):
        for r in recs:  # one iteration per record, the inner loop per period
            rid = str(r.id)
            levels = stock.get((side, rid), [0] * n_per)
            if any(x is None for x in levels):
                bad.append(f"{side} {r.id}: storage rows missing for "
                           f"{', '.join(labels[p] for p, x in enumerate(levels) if x is None)}")
                continue
            cap = r.storage.capacity_t if r.storage else 0
            hold = r.storage.holding_fen if r.storage else 0
            before = r.storage.initial_t if r.storage else 0
            start = before
            moved = 0
            assert r.tonnes_by_period is not None
            for per, (made, end) in enumerate(zip(r.tonnes_by_period, levels, strict=True)):
                assert end is not None
                at = f"{side} {r.id} in {labels[per]}"
                if end > cap:
                    bad.append(f"{at}: ends with {end} t in store, capacity {cap} t")
                holding += end * hold
                if side == "supply":
                    out = out_s.get((rid, per), 0)
                    moved += out
                    if out + end > before + made:
                        bad.append(f"{at}: ships {out} t and stores {end} t, has {before + made} t "
                                   f"({before} t in store + {made} t made)")
                else:
                    got = in_d.get((rid, per), 0)
                    moved += got
                    used = before + got - end
                    if used < 0:
                        bad.append(f"{at}: ends with {end} t in store, received {got} t onto {before} t")
                    elif used > made:
                        bad.append(f"{at}: receives {got} t onto {before} t in store and keeps {end} t, "
                                   f"so uses {used} t; it can use {made} t")
                before = end
            if side == "supply":
                left_s[rid] = r.tonnes + start - moved
            else:
                left_d[rid] = r.tonnes - (start + moved - before)
    _check_totals(plan, tot, bad)
    if plan.holding_cost_yuan is None or _fen(plan.holding_cost_yuan) != holding:
        bad.append(f"holding_cost_yuan {plan.holding_cost_yuan}, expected {fen_to_yuan(holding)}")
    if plan.total_cost_yuan is None or _fen(plan.total_cost_yuan) != tot.fen + holding:
        bad.append(f"total_cost_yuan {plan.total_cost_yuan}, expected {fen_to_yuan(tot.fen + holding)}")
    got_s = {str(i): t for i, t in plan.unmatched_supplies}
    got_d = {str(i): t for i, t in plan.unmatched_demands}
    if got_s != {k: v for k, v in left_s.items() if v > 0}:
        bad.append("unmatched_supplies do not match the pairings and stock")
    if got_d != {k: v for k, v in left_d.items() if v > 0}:
        bad.append("unmatched_demands do not match the pairings and stock")
    return bad


def check(instance: Instance, plan: Plan, options: SolveOptions | None = None) -> None:
    """Raise :class:`PlanError` listing all violations, if there are any."""
    bad = validate(instance, plan, options)
    if bad:
        raise PlanError(bad)
