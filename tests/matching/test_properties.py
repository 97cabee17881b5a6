"""Property tests: solve == independent LP optimum, plans validate, greedy never wins."""
from __future__ import annotations

import sys

import numpy as np
from geopy.distance import great_circle
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from matching_testlib import lp_optimum, sequential_greedy

from matching import Instance, SolveOptions, build_arcs, greedy, solve, validate
from matching.geo import great_circle_km
from matching.greedy import greedy_flow

MATS = ("fly_ash", "fgd_gypsum")
GRADES = (None, "I", "II", "III")


@st.composite
def instances(draw, max_side: int = 6) -> Instance:
    def site():
        return {"lat": draw(st.floats(37.9, 38.6)), "lon": draw(st.floats(105.9, 106.7))}

    sups, dems = [], []
    for k in range(draw(st.integers(1, max_side))):
        m = draw(st.sampled_from(MATS))
        r = {"id": f"S{k}", "material": m, "tonnes": draw(st.integers(0, 60)),
             "price_yuan_per_t": draw(st.integers(-2000, 5000)) / 100,
             "max_haul_km": draw(st.sampled_from([40, 100, 150.5, 400])),
             "rail": draw(st.booleans()), **site()}
        g = draw(st.sampled_from(GRADES))
        if m == "fly_ash" and g:
            r["grade"] = g
        if draw(st.booleans()):
            r["quality"] = {"loi": draw(st.sampled_from([1.0, 3.0, 5.0, 8.0]))}
        elif draw(st.booleans()):
            r["quality"] = {"loi": 2.0}
        sups.append(r)
    for k in range(draw(st.integers(0, max_side))):
        m = draw(st.sampled_from(MATS))
        r = {"id": k, "material": m, "tonnes": draw(st.integers(0, 60)),
             "max_haul_km": draw(st.sampled_from([50, 100, 200, 400])),
             "rail": draw(st.booleans()), **site()}
        g = draw(st.sampled_from(GRADES))
        if m == "fly_ash" and g:
            r["min_grade"] = g
        if draw(st.booleans()):
            r["max_delivered_price_yuan_per_t"] = draw(st.integers(3000, 15000)) / 100
        if draw(st.integers(0, 3)) == 0:
            r["quality_limits"] = {"loi": {"max": draw(st.sampled_from([3.0, 5.0, 6.0]))}}
        dems.append(r)
    tariff = {"road_yuan_per_t_km": draw(st.sampled_from([0.45, 0.47, 0.5])),
              "handling_yuan_per_t": draw(st.sampled_from([8, 7.5, 8.005])),
              "circuity": draw(st.sampled_from([1.0, 1.3]))}
    if draw(st.booleans()):
        tariff.update(rail_fixed_yuan_per_t=20, rail_yuan_per_t_km=0.12)
    return Instance.from_json({"supplies": sups, "demands": dems, "tariff": tariff})


SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(instances())
def test_solve_matches_independent_lp(instance: Instance):
    plan = solve(instance)
    assert validate(instance, plan) == []
    assert plan.status == "OPTIMAL"
    assert (plan.tonnes_matched, plan.transport_cost_fen) == lp_optimum(instance)
    event(f"pairings: {min(len(plan.pairings), 4)}")


@SETTINGS
@given(instances(), st.integers(0, 25), st.sampled_from([None, 1, 2]))
def test_greedy_matches_sequential_and_never_beats_optimum(instance, m, partners):
    gmod = sys.modules["matching.greedy"]  # (the package attribute is the function)

    opts = SolveOptions(min_shipment_t=m, max_partners=partners)
    ref = sequential_greedy(instance, m, partners)
    saved = gmod._SEQUENTIAL_BELOW
    for threshold in (saved, 1):  # 1 = every arc through the vectorised rounds
        gmod._SEQUENTIAL_BELOW = threshold
        try:
            g = greedy(instance, opts)
        finally:
            gmod._SEQUENTIAL_BELOW = saved
        assert validate(instance, g, opts) == []
        assert (g.tonnes_matched, g.transport_cost_fen) == ref
    best = solve(instance)  # the unconstrained optimum bounds every feasible plan
    assert (g.tonnes_matched, -g.transport_cost_fen) <= (best.tonnes_matched, -best.transport_cost_fen)


def test_vectorised_greedy_rounds_on_a_large_instance():
    # big enough for the round-based path (>= 4096 arcs), compared with the plain loop
    from matching.generate import generate_instance
    inst = Instance.from_json(generate_instance(200, 200, seed=5))
    for opts in (SolveOptions(), SolveOptions(min_shipment_t=300, max_partners=2)):
        arcs = build_arcs(inst, opts)
        assert arcs.n >= 4096
        flow = greedy_flow(inst, arcs, opts)
        ref = sequential_greedy(inst, opts.min_shipment_t, opts.max_partners)
        assert (int(flow.sum()), int(flow @ arcs.fen)) == ref


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.floats(-89.9, 89.9), st.floats(-180, 180), st.floats(-89.9, 89.9), st.floats(-180, 180))
def test_vectorised_distance_agrees_with_geopy(a, b, c, d):
    ours = float(great_circle_km(np.array(a), np.array(b), np.array(c), np.array(d)))
    assert abs(ours - great_circle((a, b), (c, d)).km) < 1e-6
