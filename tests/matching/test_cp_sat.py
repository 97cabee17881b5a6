"""CP-SAT options (minimum shipment, partner cap, exclusions) vs brute force."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from matching_testlib import brute_force, dem, inst, north, shipped, sup

from matching import Instance, SolveOptions, solve, validate


@st.composite
def tiny(draw):
    n_s = draw(st.integers(1, 3))
    n_d = draw(st.integers(1, 2 if n_s == 3 else 3))
    top = 5 if n_s * n_d == 6 else 7
    sups = [sup(f"S{k}", lat=north(draw(st.integers(0, 120))), tonnes=draw(st.integers(0, top)),
                haul=draw(st.sampled_from([80, 300]))) for k in range(n_s)]
    dems = [dem(f"D{k}", lat=north(draw(st.integers(0, 120))), tonnes=draw(st.integers(0, top)))
            for k in range(n_d)]
    i = inst(sups, dems)
    pairs = [(f"S{a}", f"D{b}") for a in range(n_s) for b in range(n_d)]
    exclude = frozenset(draw(st.lists(st.sampled_from(pairs), max_size=2)))
    return i, draw(st.sampled_from([0, 2, 3, 5])), draw(st.sampled_from([None, 1, 2])), exclude


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tiny())
def test_cp_sat_options_match_brute_force(case):
    i, m, partners, exclude = case
    opts = SolveOptions(min_shipment_t=m, max_partners=partners, exclude=exclude,
                        time_limit_s=10, workers=1)
    plan = solve(i, opts)
    assert validate(i, plan, opts) == []
    assert plan.status == "OPTIMAL"
    assert (plan.tonnes_matched, plan.transport_cost_fen) == brute_force(i, m, partners, exclude)


def test_min_shipment_truckload():
    # 40 t + 40 t supply, one 60 t demand: with a 30 t minimum only one supply can
    # serve it fully (30+30 is also allowed); without a minimum 60 t either way
    i = inst([sup("S1", lat=north(0), tonnes=40), sup("S2", lat=north(50), tonnes=40)],
             [dem("D1", lat=north(0), tonnes=60)])
    plan = solve(i, SolveOptions(min_shipment_t=30))
    assert shipped(plan) == {("S1", "D1"): 30, ("S2", "D1"): 30}
    assert plan.stats["solver"] == "cp_sat" and plan.stats["gap"] == 0.0
    plan = solve(i, SolveOptions(min_shipment_t=35))
    assert shipped(plan) == {("S1", "D1"): 40}
    assert shipped(solve(i)) == {("S1", "D1"): 40, ("S2", "D1"): 20}


def test_partner_cap():
    i = inst([sup("S1", lat=north(0), tonnes=40), sup("S2", lat=north(10), tonnes=50),
              sup("S3", lat=north(20), tonnes=30)], [dem("D1", tonnes=100)])
    plan = solve(i, SolveOptions(max_partners=2))
    assert plan.status == "OPTIMAL"
    assert shipped(plan) == {("S1", "D1"): 50 - 10, ("S2", "D1"): 50} or \
        shipped(plan) == {("S1", "D1"): 40, ("S2", "D1"): 50}
    assert plan.tonnes_matched == 90
    plan = solve(i, SolveOptions(max_partners=1))
    assert shipped(plan) == {("S2", "D1"): 50}


def test_time_limit_reports_status_and_gap():
    from matching.generate import generate_instance
    i = Instance.from_json(generate_instance(40, 40, seed=2))
    opts = SolveOptions(min_shipment_t=200, max_partners=2, time_limit_s=2.0, workers=2)
    plan = solve(i, opts)
    assert validate(i, plan, opts) == []
    assert plan.status in ("OPTIMAL", "FEASIBLE")
    assert plan.stats["gap"] >= 0 and plan.stats["seconds_solve"] < 10
    assert plan.stats["tonnes_upper_bound"] >= plan.tonnes_matched
    # the warm start includes the greedy plan, so CP-SAT never ends up worse
    assert (plan.tonnes_matched, -plan.transport_cost_fen) >= \
        (plan.baseline.tonnes_matched, -int(plan.baseline.transport_cost_yuan * 100))
