"""Issue #16: objectives max_tonnes / net_value / delivered_cost and the marginal cost curve."""
from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching_testlib import dem, inst, lp_least_cost, lp_objective, north, plan_score, shipped, sup
from test_properties import instances

from matching import Instance, Plan, SolveOptions, solve, validate
from matching.generate import generate_instance
from matching.options import OBJECTIVES

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(instances(), st.sampled_from(OBJECTIVES))
def test_every_objective_matches_an_independent_lp(instance: Instance, objective: str):
    opts = SolveOptions(objective=objective)
    plan = solve(instance, opts)
    assert validate(instance, plan, opts) == []
    assert plan.status == "OPTIMAL" and plan.objective == objective == plan.options["objective"]
    assert plan_score(instance, plan, objective) == lp_objective(instance, objective)


@SETTINGS
@given(instances())
def test_marginal_cost_curve_is_the_lp_least_cost_curve(instance: Instance):
    plan = solve(instance)
    curve = plan.marginal_cost_curve
    if plan.tonnes_matched == 0:
        assert curve == []
        return
    assert curve[-1]["tonnes_to"] == plan.tonnes_matched and curve[0]["tonnes_from"] == 0
    total = 0
    for seg in curve:
        total += int(Decimal(seg["cost_yuan"]) * 100)
        assert total == lp_least_cost(instance, seg["tonnes_to"])
        dt = seg["tonnes_to"] - seg["tonnes_from"]
        per_t = Decimal(seg["cost_yuan_per_t"])
        assert abs(per_t * dt - Decimal(seg["cost_yuan"])) <= Decimal("0.005") * dt
    per = [Decimal(s["cost_yuan_per_t"]) for s in curve]
    assert all(b >= a - Decimal("0.01") for a, b in pairwise(per))  # convex: rising


def test_net_value_moves_no_tonne_at_a_loss():
    # S_far costs 8 + 0.5 * 200 = 108/t, worth 90/t: moved for max_tonnes, not for net_value
    i = inst([sup("S_near", lat=north(10), tonnes=50), sup("S_far", lat=north(200), tonnes=50)],
             [dem("D1", tonnes=100)], value_yuan_per_t={"fly_ash": 90})
    most = solve(i)
    assert most.tonnes_matched == 100
    plan = solve(i, SolveOptions(objective="net_value"))
    assert shipped(plan) == {("S_near", "D1"): 50}
    assert plan.value_yuan == Decimal("4500.00") and plan.net_value_yuan == Decimal("3850.00")
    assert validate(i, plan) == []
    # a plan that claims net_value but moves the loss-making tonnes is refused
    js = most.to_json()
    js["objective"] = js["options"]["objective"] = "net_value"
    assert any("at a loss" in v for v in validate(i, Plan.from_json(js)))


def test_delivered_cost_prefers_the_cheaper_material_price():
    # same haul; S_cheap sells at 5, S_dear at 50: both objectives move 100 t, only delivered_cost
    # looks at the price (transport alone prefers S_dear, 1 km nearer)
    i = inst([sup("S_dear", lat=north(9), price=50), sup("S_cheap", lat=north(10), price=5)],
             [dem("D1", tonnes=100)])
    assert shipped(solve(i)) == {("S_dear", "D1"): 100}
    plan = solve(i, SolveOptions(objective="delivered_cost"))
    assert shipped(plan) == {("S_cheap", "D1"): 100}
    assert plan.delivered_cost_yuan == Decimal("100") * (5 + 8 + 5)
    assert validate(i, plan) == []


def test_net_value_on_a_generated_market_keeps_most_tonnes_for_less():
    i = Instance.from_json(generate_instance(150, 150, seed=4))
    most = solve(i)
    data = generate_instance(150, 150, seed=4)
    data["tariff"]["value_yuan_per_t"] = dict.fromkeys(("fly_ash", "gbf_slag", "steel_slag", "fgd_gypsum"), 150)
    j = Instance.from_json(data)
    net = solve(j, SolveOptions(objective="net_value"))
    assert validate(j, net) == []
    assert net.tonnes_matched <= most.tonnes_matched and net.transport_cost_yuan <= most.transport_cost_yuan
    assert net.net_value_yuan >= most.tonnes_matched * 150 - most.transport_cost_yuan  # optimal for value
    # the last segment of max_tonnes' curve costs more per tonne than the first
    c = most.marginal_cost_curve
    assert Decimal(c[-1]["cost_yuan_per_t"]) > Decimal(c[0]["cost_yuan_per_t"])
