"""Hand-made instances with known optima, one per rule."""
from __future__ import annotations

from decimal import Decimal

import pytest
from matching_testlib import dem, inst, north, shipped, sup

from matching import Instance, Plan, SolveOptions, build_arcs, check, greedy, solve, validate
from matching.catalogue import ENV_TAX_YUAN_PER_T, MATERIALS, grade_meets


def solved(instance: Instance, options: SolveOptions | None = None) -> Plan:
    plan = solve(instance, options)
    assert validate(instance, plan, options) == []
    return plan


def test_catalogue_is_plain_data():
    assert MATERIALS["fly_ash"] == ("I", "II", "III")
    assert MATERIALS["gbf_slag"] == ("S105", "S95", "S75")
    assert MATERIALS["steel_slag"] == ("I", "II")
    assert MATERIALS["coal_gangue"] == ()
    assert ENV_TAX_YUAN_PER_T["coal_gangue"] == Decimal("5")
    assert all(v == Decimal("25") for k, v in ENV_TAX_YUAN_PER_T.items() if k != "coal_gangue")
    assert len(MATERIALS) == 9


def test_material_mismatch_never_pairs():
    i = inst([sup("S1", material="fly_ash")], [dem("D1", material="gbf_slag")])
    plan = solved(i)
    assert plan.pairings == [] and plan.tonnes_matched == 0
    assert plan.unmatched_supplies == [("S1", 100)] and plan.unmatched_demands == [("D1", 100)]


def test_grade_ordering():
    # D1 needs grade II or better; the nearest supply is grade III
    i = inst([sup("S_III", grade="III", lat=north(1)), sup("S_I", grade="I", lat=north(50)),
              sup("S_none", lat=north(2))],
             [dem("D1", min_grade="II", tonnes=150)])
    plan = solved(i)
    assert shipped(plan) == {("S_I", "D1"): 100}
    assert grade_meets("gbf_slag", "S105", "S95") and not grade_meets("gbf_slag", "S75", "S95")
    assert grade_meets("fly_ash", None, None) and not grade_meets("fly_ash", None, "III")


def test_no_min_grade_takes_any_grade_including_none():
    i = inst([sup("S1", grade="III", tonnes=40), sup("S2", tonnes=60)], [dem("D1")])
    assert shipped(solved(i)) == {("S1", "D1"): 40, ("S2", "D1"): 60}


def test_quality_min_max_and_missing_value():
    lim = {"loi": {"min": 2.0, "max": 5.0}}
    i = inst([sup("ok", quality={"loi": 5.0}, tonnes=10),        # at the bound: allowed
              sup("high", quality={"loi": 5.01}, tonnes=10),
              sup("low", quality={"loi": 1.9}, tonnes=10),
              sup("missing", quality={"other": 3.0}, tonnes=10),
              sup("none", tonnes=10)],
             [dem("D1", quality_limits=lim), dem("D2", quality_limits={"loi": {"max": 2.0}})])
    assert shipped(solved(i)) == {("ok", "D1"): 10, ("low", "D2"): 10}


def test_haul_limit_on_each_side():
    far = north(111.0)  # 111.0 km with circuity 1
    for s_haul, d_haul, allowed in ((100, 300, False), (300, 100, False), (111.0, 111.0, True),
                                     (110.9, 300, False)):
        i = inst([sup("S1", lat=far, haul=s_haul)], [dem("D1", haul=d_haul)])
        plan = solved(i)
        assert (plan.tonnes_matched == 100) is allowed, (s_haul, d_haul)
    # circuity stretches the road distance
    i = inst([sup("S1", lat=far)], [dem("D1", haul=140)], circuity=1.3)
    assert solved(i).tonnes_matched == 0


def test_distance_and_cost_rounding():
    i = inst([sup("S1", lat=north(123.44))], [dem("D1")], road_yuan_per_t_km=0.45)
    p = solved(i).pairings[0]
    assert p.distance_km == Decimal("123.4")
    # 8 + 0.45 * 123.4 = 63.53 exactly, from the rounded distance
    assert p.transport_cost_yuan_per_t == Decimal("63.53")
    assert p.delivered_price_yuan_per_t == Decimal("73.53")
    assert p.transport_cost_yuan == Decimal("6353.00")
    # half a fen rounds up, exactly (8.005 yuan handling, zero distance)
    i = inst([sup("S1", price=-3.5)], [dem("D1")], handling_yuan_per_t=8.005)
    p = solved(i).pairings[0]
    assert p.transport_cost_yuan_per_t == Decimal("8.01")
    assert p.delivered_price_yuan_per_t == Decimal("4.51")


def test_delivered_price_limit():
    lat = north(100.0)  # transport 8 + 50 = 58 yuan/t
    for limit, allowed in ((67.99, False), (68.0, True)):
        i = inst([sup("S1", lat=lat, price=10)], [dem("D1", max_delivered_price_yuan_per_t=limit)])
        assert (solved(i).tonnes_matched == 100) is allowed
    # a negative ex-works price (the producer pays) helps
    i = inst([sup("S1", lat=lat, price=-20)], [dem("D1", max_delivered_price_yuan_per_t=40)])
    assert solved(i).pairings[0].delivered_price_yuan_per_t == Decimal("38.00")


RAIL = {"rail_fixed_yuan_per_t": 20, "rail_yuan_per_t_km": 0.15}


def test_rail_chosen_when_cheaper_and_both_ends_have_sidings():
    # 200 km: road 8 + 100 = 108; rail 8 + 20 + 30 = 58
    i = inst([sup("S1", lat=north(200), rail=True)], [dem("D1", rail=True)], **RAIL)
    p = solved(i).pairings[0]
    assert (p.mode, p.transport_cost_yuan_per_t) == ("rail", Decimal("58.00"))
    # only one end on rail: road
    i = inst([sup("S1", lat=north(200), rail=True)], [dem("D1")], **RAIL)
    assert solved(i).pairings[0].mode == "road"
    # short haul: road 8 + 20 = 28 beats rail 8 + 20 + 6 = 34
    i = inst([sup("S1", lat=north(40), rail=True)], [dem("D1", rail=True)], **RAIL)
    assert solved(i).pairings[0].mode == "road"
    # exact tie (57.142.. km would tie; use rates that tie at 100 km): road wins
    i = inst([sup("S1", lat=north(100), rail=True)], [dem("D1", rail=True)],
             rail_fixed_yuan_per_t=20, rail_yuan_per_t_km=0.3)
    assert solved(i).pairings[0].mode == "road"
    # no rail tariff: road even with sidings
    i = inst([sup("S1", lat=north(200), rail=True)], [dem("D1", rail=True)])
    assert solved(i).pairings[0].mode == "road"


def test_rail_changes_which_pairs_are_optimal():
    # S1 (siding) at 0 km, S2 at 200 km; D_far (siding) at 200 km, D_near at 140 km.
    # road only: S2->D_far 8 + S1->D_near 78 = 86 beats S1->D_far 108 + S2->D_near 38
    # cheap rail: S1->D_far 8+20+10 = 38 + S2->D_near 38 = 76 beats 86
    sups = [sup("S1", lat=north(0), rail=True), sup("S2", lat=north(200))]
    dems = [dem("D_far", lat=north(200), rail=True), dem("D_near", lat=north(140))]
    assert shipped(solved(inst(sups, dems))) == {("S2", "D_far"): 100, ("S1", "D_near"): 100}
    i = inst(sups, dems, rail_fixed_yuan_per_t=20, rail_yuan_per_t_km=0.05)
    plan = solved(i)
    assert shipped(plan) == {("S1", "D_far"): 100, ("S2", "D_near"): 100}
    assert plan.transport_cost_yuan == Decimal("7600.00")


def test_utilisation_first_beats_cheaper_plan():
    # S1 is next to D1 and 100 km from D2; S2 reaches only D1 (80 km; D2 is out of its haul).
    # Cheapest: S1->D1 (8/t) alone, 100 t.  Most tonnes: S1->D2 + S2->D1, 200 t, dearer.
    i = inst([sup("S1", lat=north(0)), sup("S2", lat=north(-80), haul=90)],
             [dem("D1", lat=north(0)), dem("D2", lat=north(100))])
    plan = solved(i)
    assert shipped(plan) == {("S1", "D2"): 100, ("S2", "D1"): 100}
    assert plan.tonnes_matched == 200
    assert plan.transport_cost_yuan == Decimal("10600.00")  # 100*(8+50) + 100*(8+40)
    g = greedy(i)
    assert g.tonnes_matched == 100 and g.transport_cost_yuan == Decimal("800.00")
    assert plan.baseline.tonnes_matched == 100 and plan.baseline.extra_tonnes == 100
    assert plan.baseline.saving_yuan == Decimal("-9800.00")


def test_least_cost_among_max_tonnes():
    # both assignments move 200 t; crossing costs more
    i = inst([sup("S1", lat=north(0)), sup("S2", lat=north(100))],
             [dem("D1", lat=north(10)), dem("D2", lat=north(90))])
    plan = solved(i)
    assert shipped(plan) == {("S1", "D1"): 100, ("S2", "D2"): 100}
    assert plan.transport_cost_yuan == Decimal("2600.00")


def test_exclusion_in_flow_case_and_int_ids():
    i = inst([sup(1, lat=north(0)), sup(2, lat=north(100))],
             [dem(10, lat=north(10)), dem(20, lat=north(90))])
    opts = SolveOptions.make(exclude=[(1, 10)])
    plan = solved(i, opts)
    assert {(p.supply, p.demand) for p in plan.pairings} == {(1, 20), (2, 10)}
    assert all(isinstance(p.supply, int) for p in plan.pairings)
    with pytest.raises(ValueError, match="unknown supply id"):
        solve(i, SolveOptions.make(exclude=[(3, 10)]))


def test_env_tax_co2_and_totals():
    i = inst([sup("S1", lat=north(100), tonnes=50), sup("G", material="coal_gangue", tonnes=30)],
             [dem("D1", tonnes=80), dem("DG", material="coal_gangue")], co2_kg_per_t_km=0.2)
    plan = solved(i)
    by = {p.supply: p for p in plan.pairings}
    assert by["S1"].env_tax_avoided_yuan == Decimal("1250.00")
    assert by["G"].env_tax_avoided_yuan == Decimal("150.00")
    assert plan.env_tax_avoided_yuan == Decimal("1400.00")
    assert by["S1"].co2_kg == pytest.approx(50 * 100.0 * 0.2)
    assert solve(i, SolveOptions(co2_kg_per_t_km=0.1)).co2_kg == pytest.approx(500.0)


def test_json_round_trip_and_string_money():
    i = inst([sup("S1", lat=north(33.3))], [dem("D1", tonnes=70)])
    plan = solved(i)
    js = plan.to_json()
    assert js["transport_cost_yuan"] == "1725.50"  # 70 * (8 + 0.5*33.3)=70*24.65
    assert js["pairings"][0]["transport_cost_yuan_per_t"] == "24.65"
    assert js["unmatched_supplies"] == [{"supply": "S1", "tonnes": 30}]
    assert {"arcs", "seconds_total", "solver"} <= set(js["stats"])
    again = Plan.from_json(js)
    check(i, again)
    assert Instance.from_json(i.to_json()) == i


def test_validate_catches_tampering():
    i = inst([sup("S1", lat=north(50)), sup("S2", material="gbf_slag")], [dem("D1", tonnes=60)])
    plan = solved(i)
    js = plan.to_json()
    js["pairings"][0]["tonnes"] = 70
    assert any("tonnes_matched" in v or "wants" in v for v in validate(i, Plan.from_json(js)))
    js = plan.to_json()
    js["pairings"][0]["transport_cost_yuan_per_t"] = "33.01"
    assert any("transport cost" in v for v in validate(i, Plan.from_json(js)))
    js = plan.to_json()
    js["pairings"].append(dict(js["pairings"][0], supply="S2"))
    assert any("not allowed: material" in v for v in validate(i, Plan.from_json(js)))
    assert validate(i, plan, SolveOptions(min_shipment_t=61))
    assert validate(i, plan, SolveOptions.make(exclude=[("S1", "D1")]))


def test_arcs_are_built_per_material_in_chunks():
    sups = [sup(f"S{k}", lat=north(k), material=m) for k, m in
            enumerate(["fly_ash", "gbf_slag"] * 20)]
    dems = [dem(f"D{k}", lat=north(k + 0.5), material=m) for k, m in
            enumerate(["fly_ash", "gbf_slag", "fgd_gypsum"] * 10)]
    i = inst(sups, dems)
    a = build_arcs(i)
    b = build_arcs(i, chunk_pairs=7)
    assert a.candidates == 20 * 10 * 2 and a.n == b.n == 400
    assert sorted(zip(a.si.tolist(), a.di.tolist(), a.fen.tolist(), strict=True)) == \
        sorted(zip(b.si.tolist(), b.di.tolist(), b.fen.tolist(), strict=True))


def test_empty_instance():
    plan = solved(inst([], []))
    assert plan.status == "OPTIMAL" and plan.tonnes_matched == 0
