"""Seasonal (multi-period) instances: the time-expanded min-cost flow against an independent LP,
single-period equivalence, validation of bad plans, strict parsing of profiles and storage."""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching_testlib import dem, north, seasonal_lp_optimum, sup, tariff

from matching import Instance, InstanceError, SolveOptions, generate_instance, solve, validate
from matching.plan import Plan
from matching.seasonal import SeasonalError

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]
ROOT = Path(__file__).resolve().parents[2]


def seasonal(supplies: list, demands: list, periods: list[str], **tkw: Any) -> Instance:
    return Instance.from_json({"periods": periods, "supplies": supplies, "demands": demands,
                               "tariff": tariff(**tkw)})


def store(cap: int, initial: int = 0, holding: Any = 0) -> dict[str, Any]:
    return {"capacity_t": cap, "initial_t": initial, "holding_yuan_per_t_period": holding}


def objective_fen(plan: Plan, objective: str) -> int:
    """The plan's second-level objective in fen, as the LP reference states it."""
    holding = int(plan.holding_cost_yuan * 100)  # type: ignore[operator]
    transport = plan.transport_cost_fen
    if objective == "delivered_cost":
        return int(plan.delivered_cost_yuan * 100) + holding  # type: ignore[operator]
    if objective == "net_value":
        return transport + holding - int(plan.value_yuan * 100)  # type: ignore[operator]
    return transport + holding


# ---------------------------------------------------------------------------
# against an independent LP (scipy HiGHS)
# ---------------------------------------------------------------------------


@st.composite
def seasonal_instances(draw: Any) -> Instance:
    n_per = draw(st.integers(1, 4))
    periods = MONTHS[:n_per]

    def profile() -> list[int]:
        return [draw(st.sampled_from([0, 0, 5, 10, 17, 30])) for _ in range(n_per)]

    def storage() -> dict[str, Any] | None:
        if not draw(st.booleans()):
            return None
        cap = draw(st.sampled_from([0, 5, 12, 40]))
        return store(cap, draw(st.integers(0, cap)), draw(st.sampled_from([0, "0.80", 1, "2.35", 15])))

    sups, dems = [], []
    for k in range(draw(st.integers(1, 3))):
        r = sup(f"S{k}", lat=north(draw(st.sampled_from([0, 3, 10, 40]))),
                price=draw(st.integers(-500, 3000)) / 100, haul=draw(st.sampled_from([20, 300])),
                tonnes=None)
        del r["tonnes"]
        r["tonnes_by_period"] = profile()
        s = storage()
        if s is not None:
            r["storage"] = s
        sups.append(r)
    for k in range(draw(st.integers(1, 3))):
        r = dem(f"D{k}", lat=north(draw(st.sampled_from([0, 2, 7, 25]))), haul=300, tonnes=None)
        del r["tonnes"]
        if draw(st.booleans()):
            r["tonnes_by_period"] = profile()
        else:
            r["tonnes"] = draw(st.sampled_from([0, 8, 20]))
        s = storage()
        if s is not None:
            r["storage"] = s
        dems.append(r)
    value = draw(st.sampled_from([10, 25, 40]))
    return seasonal(sups, dems, periods, value_yuan_per_t={"fly_ash": value})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seasonal_instances(), st.sampled_from(["max_tonnes", "max_tonnes", "delivered_cost", "net_value"]))
def test_seasonal_plan_equals_the_lp_optimum_and_validates(instance: Instance, objective: str) -> None:
    options = SolveOptions(objective=objective, baseline=True)
    plan = solve(instance, options)
    assert plan.status == "OPTIMAL"
    assert validate(instance, plan) == []
    tonnes, cost = seasonal_lp_optimum(instance, objective)
    if objective != "net_value":
        assert plan.tonnes_matched == tonnes
    assert objective_fen(plan, objective) == cost
    # a platform without planning never beats the plan
    assert plan.baseline is not None
    if objective != "net_value":
        assert plan.baseline.tonnes_matched <= plan.tonnes_matched
    # the JSON round trip validates too
    again = Plan.from_json(json.loads(json.dumps(plan.to_json())))
    assert validate(instance, again) == []


def test_initial_silo_stock_is_forced_even_when_dropping_it_would_be_cheaper() -> None:
    """Unforced, the cheapest maximum flow would let the silo's 100 t vanish and deliver 200 t
    instead (holding 30 yuan/t costs more than a haul of 13.55); the stock is there, so only 100 t
    can be delivered."""
    instance = seasonal(
        [sup("S", tonnes=300)],
        [{**dem("D", lat=north(10)), "tonnes": None, "tonnes_by_period": [0, 100],
          "storage": store(100, 100, 30)}],
        MONTHS[:2])
    plan = solve(instance, SolveOptions(baseline=False))
    assert plan.stats["solves"] == 2
    assert plan.tonnes_matched == 100
    assert validate(instance, plan) == []
    assert (plan.tonnes_matched, objective_fen(plan, "max_tonnes")) == seasonal_lp_optimum(instance)
    stock = {(x.listing, x.period): x.end_stock_t for x in plan.storage}
    assert stock == {("D", "2027-01"): 100, ("D", "2027-02"): 100}


def test_winter_ash_reaches_the_spring_kiln_through_the_yard() -> None:
    """The kiln is stopped in January and February; the plant's yard carries its ash to March."""
    def plant(cap: int) -> dict[str, Any]:
        return {**sup("P", tonnes=None), "tonnes_by_period": [100, 100, 0], "storage": store(cap, 0, "0.80")}
    kiln = {**dem("K", lat=north(20), tonnes=None), "tonnes_by_period": [0, 0, 300]}
    instance = seasonal([plant(250)], [kiln], MONTHS[:3])
    plan = solve(instance)
    assert [(p.period, p.tonnes) for p in plan.pairings] == [("2027-03", 200)]
    assert [x.end_stock_t for x in plan.storage] == [100, 200, 0]
    assert plan.holding_cost_yuan == Decimal("240.00")
    assert plan.total_cost_yuan == plan.transport_cost_yuan + Decimal("240.00")
    assert plan.baseline is not None and plan.baseline.method == "monthly_rounds"
    assert validate(instance, plan) == []
    # a smaller yard carries less; without one, nothing reaches the kiln
    assert solve(seasonal([plant(150)], [kiln], MONTHS[:3])).tonnes_matched == 150
    bare = {k: v for k, v in plant(0).items() if k != "storage"}
    assert solve(seasonal([bare], [kiln], MONTHS[:3])).tonnes_matched == 0


# ---------------------------------------------------------------------------
# single period = today's plan
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_one_period_seasonal_instance_gives_todays_plan(seed: int) -> None:
    data = generate_instance(40, 40, seed)
    today = solve(Instance.from_json(data), SolveOptions(baseline=False, marginal_curve=False))
    one = solve(Instance.from_json({**data, "periods": ["2027-01"]}), SolveOptions(baseline=False))
    assert (one.tonnes_matched, one.transport_cost_yuan) == (today.tonnes_matched, today.transport_cost_yuan)
    assert one.total_cost_yuan == today.transport_cost_yuan and one.holding_cost_yuan == Decimal("0.00")
    # the same network, node for node: the same pairings
    assert [dataclasses.replace(p, period=None) for p in one.pairings] == today.pairings
    assert [p.period for p in one.pairings] == ["2027-01"] * len(one.pairings)


def test_an_instance_without_periods_keeps_todays_plan_json() -> None:
    data = generate_instance(30, 30, 7)
    plan = solve(Instance.from_json(data), SolveOptions(baseline=False, marginal_curve=False)).to_json()
    assert "periods" not in plan and "storage" not in plan and "holding_cost_yuan" not in plan
    assert all("period" not in p for p in plan["pairings"])


def test_twelve_flat_periods_without_storage_are_twelve_copies_of_todays_plan() -> None:
    data = generate_instance(30, 30, 4)
    today = solve(Instance.from_json(data), SolveOptions(baseline=False, marginal_curve=False))
    year = solve(Instance.from_json({**data, "periods": MONTHS}), SolveOptions(baseline=False))
    assert year.tonnes_matched == 12 * today.tonnes_matched
    assert year.transport_cost_yuan == 12 * today.transport_cost_yuan


# ---------------------------------------------------------------------------
# lot rules: per period without storage, refused with storage
# ---------------------------------------------------------------------------


def test_lot_rules_hold_per_period_without_storage() -> None:
    instance = seasonal([{**sup("S", tonnes=None), "tonnes_by_period": [50, 20, 70]}],
                        [dem("D", lat=north(5), tonnes=60)], MONTHS[:3])
    plan = solve(instance, SolveOptions(min_shipment_t=30, time_limit_s=10))
    assert plan.stats["solver"] == "cp_sat"
    assert [(p.period, p.tonnes) for p in plan.pairings] == [("2027-01", 50), ("2027-03", 60)]
    assert validate(instance, plan) == []


def test_lot_rules_with_storage_are_refused_in_one_line() -> None:
    instance = seasonal([{**sup("S", tonnes=None), "tonnes_by_period": [50, 20], "storage": store(10)}],
                        [dem("D", tonnes=60)], MONTHS[:2])
    with pytest.raises(SeasonalError, match="cannot be combined with storage"):
        solve(instance, SolveOptions(truckloads=True))


# ---------------------------------------------------------------------------
# validate catches bad seasonal plans
# ---------------------------------------------------------------------------


def _good() -> tuple[Instance, dict[str, Any]]:
    instance = seasonal(
        [{**sup("S", tonnes=None), "tonnes_by_period": [100, 100, 0], "storage": store(80, 10, "0.80")}],
        [{**dem("D", lat=north(10), tonnes=None), "tonnes_by_period": [0, 50, 120],
          "storage": store(30, 20, "0.50")},
         {**dem("K", lat=north(12), tonnes=None), "tonnes_by_period": [40, 0, 40]}],
        MONTHS[:3])
    plan = solve(instance).to_json()
    assert validate(instance, Plan.from_json(plan)) == []
    return instance, plan


def _problems(instance: Instance, plan: dict[str, Any]) -> list[str]:
    return validate(instance, Plan.from_json(plan))


def test_validate_catches_an_overfilled_silo() -> None:
    instance, plan = _good()
    bad = copy.deepcopy(plan)
    row = next(x for x in bad["storage"] if x["listing"] == "D" and x["period"] == "2027-01")
    row["end_stock_t"] = 31
    problems = _problems(instance, bad)
    assert any("ends with 31 t in store, capacity 30 t" in p for p in problems), problems


def test_validate_catches_shipping_from_an_empty_yard() -> None:
    instance, plan = _good()
    bad = copy.deepcopy(plan)
    # March: nothing made; move the yard's stock to zero but keep March's shipments
    for x in bad["storage"]:
        if x["listing"] == "S" and x["period"] == "2027-02":
            x["end_stock_t"] = 0
    problems = _problems(instance, bad)
    assert any("supply S in 2027-03: ships" in p and "has 0 t" in p for p in problems), problems


def test_validate_catches_a_delivery_into_a_stopped_month() -> None:
    instance, plan = _good()
    bad = copy.deepcopy(plan)
    p = next(x for x in bad["pairings"] if x["demand"] == "K")
    p["period"] = "2027-02"  # K is stopped in February and has no silo
    problems = _problems(instance, bad)
    assert any("demand K in 2027-02" in x and "it can use 0 t" in x for x in problems), problems


def test_validate_catches_wrong_holding_and_missing_rows() -> None:
    instance, plan = _good()
    bad = copy.deepcopy(plan)
    bad["holding_cost_yuan"] = "0.00"
    bad["storage"] = bad["storage"][1:]
    problems = _problems(instance, bad)
    assert any(p.startswith("holding_cost_yuan") for p in problems)
    assert any("storage rows missing" in p for p in problems)


@pytest.mark.parametrize("mutate", [
    lambda p: p.update(periods=["x"]),
    lambda p: p.update(periods=None),
    lambda p: p["pairings"][0].update(period="2031-01"),
    lambda p: p["storage"].append({"side": "demand", "listing": "K", "period": "2027-01", "end_stock_t": 1}),
    lambda p: p["storage"][0].update(end_stock_t=-4),
    lambda p: p["pairings"].append(dict(p["pairings"][0])),
])
def test_validate_never_crashes_on_odd_seasonal_plans(mutate: Any) -> None:
    instance, plan = _good()
    bad = copy.deepcopy(plan)
    mutate(bad)
    assert _problems(instance, bad)


# ---------------------------------------------------------------------------
# strict parsing
# ---------------------------------------------------------------------------


def _data() -> dict[str, Any]:
    return {"periods": MONTHS[:3],
            "supplies": [{**sup("S", tonnes=None), "tonnes_by_period": [1, 2, 3], "storage": store(10, 5, "0.8")}],
            "demands": [dem("D")], "tariff": tariff()}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["supplies"][0].update(tonnes_by_period=[1, 2]), "has 2 values, the instance has 3 periods"),
    (lambda d: d["supplies"][0].update(tonnes_by_period=[1, -2, 3]), "element 1 (2027-02): -2 is negative"),
    (lambda d: d["supplies"][0].update(tonnes_by_period=[1, 2.5, 3]), "expected a whole number"),
    (lambda d: d["supplies"][0].update(tonnes_by_period=[1, 2, 10**10]), "out of range"),
    (lambda d: d["supplies"][0].update(tonnes_by_period="1,2,3"), "expected an array"),
    (lambda d: d["supplies"][0].update(tonnes=5), "exactly one of the fields 'tonnes' and 'tonnes_by_period'"),
    (lambda d: d["supplies"][0]["storage"].update(initial_t=11), "initial_t': 11 exceeds capacity_t 10"),
    (lambda d: d["supplies"][0]["storage"].update(capacity_t=-1), "capacity_t': -1 is negative"),
    (lambda d: d["supplies"][0]["storage"].update(holding_yuan_per_t_period="0.805"), "more than 2 decimal"),
    (lambda d: d["supplies"][0]["storage"].update(holding_yuan_per_t_period=1001), "out of range"),
    (lambda d: d["supplies"][0]["storage"].update(capcity_t=3), "unknown field 'capcity_t'"),
    (lambda d: d["supplies"][0]["storage"].pop("capacity_t"), "field 'capacity_t' is missing"),
    (lambda d: d["supplies"][0].update(storage=[1]), "storage: expected an object"),
    (lambda d: d["demands"][0].update(storage=store(5, 6)), "initial_t': 6 exceeds capacity_t 5"),
    (lambda d: d.update(periods=[]), "expected a non-empty array of labels"),
    (lambda d: d.update(periods=["a", "a", "b"]), "label 'a' appears twice"),
    (lambda d: d.update(periods=["a", 2, "b"]), "element 1: expected a label"),
    (lambda d: d.update(periods=[str(k) for k in range(521)]), "has 521 periods, at most 520"),
    (lambda d: d.pop("periods"), "supplies[0] (id S): field 'tonnes_by_period': needs the instance's 'periods'"),
    (lambda d: d["supplies"][0].update(tonnes_by_period=[10**9] * 3)
     or d["supplies"].extend({**d["supplies"][0], "id": f"T{k}"} for k in range(3)),
     "total 12000000020 t exceeds the maximum"),
])
def test_bad_profiles_are_refused_in_one_line(mutate: Any, message: str) -> None:
    data = _data()
    mutate(data)
    with pytest.raises(InstanceError) as err:
        Instance.from_json(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_instance_json_round_trips() -> None:
    instance = Instance.from_json(_data())
    assert Instance.from_json(instance.to_json()) == instance
    flat = Instance.from_json({**_data(), "demands": [dem("D", tonnes=7)]})
    assert flat.demands[0].tonnes_by_period == (7, 7, 7) and flat.demands[0].tonnes == 21


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "matching", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_generates_solves_and_validates_a_seasonal_instance(tmp_path: Path) -> None:
    inst, plan = tmp_path / "i.json", tmp_path / "p.json"
    r = run("generate", "--supplies", "60", "--demands", "60", "--seed", "3", "--periods", "12", "-o", str(inst))
    assert r.returncode == 0, r.stderr
    data = json.loads(inst.read_text())
    assert data["periods"] == MONTHS
    assert any("storage" in s for s in data["supplies"]) and any("storage" in d for d in data["demands"])
    # kilns are stopped in the winter months: most demands use nothing in January
    assert sum(d["tonnes_by_period"][0] == 0 for d in data["demands"]) > len(data["demands"]) / 2
    r = run("solve", str(inst), "-o", str(plan), "--validate")
    assert r.returncode == 0, r.stderr
    out = json.loads(plan.read_text())
    assert out["periods"] == MONTHS and out["storage"] and {p["period"] for p in out["pairings"]} <= set(MONTHS)
    assert out["tonnes_matched"] >= out["baseline"]["tonnes_matched"]
    r = run("validate", str(inst), str(plan))
    assert r.returncode == 0 and r.stdout.startswith("ok:"), r.stderr
    out["storage"][0]["end_stock_t"] += 10**6  # overfill a yard or silo
    plan.write_text(json.dumps(out))
    r = run("validate", str(inst), str(plan))
    assert r.returncode == 1 and "capacity" in r.stderr


@pytest.mark.parametrize("mutate, args, message", [
    (lambda d: d["supplies"][0].update(tonnes_by_period=[1, 2]), [], "has 2 values, the instance has 3"),
    (lambda d: d["supplies"][0].update(tonnes_by_period=[1, -2, 3]), [], "-2 is negative"),
    (lambda d: d["supplies"][0]["storage"].update(initial_t=50), [], "exceeds capacity_t 10"),
    (lambda d: None, ["--min-shipment", "5"], "cannot be combined with storage"),
    (lambda d: None, ["--max-partners", "1"], "cannot be combined with storage"),
])
def test_cli_refuses_bad_seasonal_input_with_one_line(tmp_path: Path, mutate: Any, args: list[str],
                                                      message: str) -> None:
    data = _data()
    mutate(data)
    path = tmp_path / "i.json"
    path.write_text(json.dumps(data))
    r = run("solve", str(path), *args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and message in r.stderr, r.stderr


def test_cli_generate_refuses_a_bad_period_count() -> None:
    r = run("generate", "--supplies", "2", "--demands", "2", "--periods", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
