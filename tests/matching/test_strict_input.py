"""Issue #16, input findings: strict instance format, bounds, JSON depth, CLI options, validate.

Each case ran on the old code with exit 0 and a wrong plan, exit 1 "internal error", or Infinity in the
plan; now each ends with exit 2 and one line naming the field (or, for `materials`, a correct plan).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import Instance, InstanceError, Plan, SolveOptions, solve, validate
from matching.cli import main
from matching.jsonio import nesting_depth

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "supplies": [{"id": "S1", "material": "fly_ash", "grade": "II", "tonnes": 100, "lat": 38.47,
                  "lon": 106.28, "price_yuan_per_t": 20, "max_haul_km": 300},
                 {"id": "S2", "material": "gbf_slag", "tonnes": 50, "lat": 38.1,
                  "lon": 106.3, "price_yuan_per_t": 30, "max_haul_km": 300}],
    "demands": [{"id": "D7", "material": "fly_ash", "tonnes": 80,
                 "lat": 37.98, "lon": 106.2, "max_haul_km": 200}],
    "tariff": {"road_yuan_per_t_km": 0.45, "handling_yuan_per_t": 8, "circuity": 1.3},
}


def mutate(path: str, value: object) -> dict:
    data = json.loads(json.dumps(GOOD))
    *keys, last = path.split(".")
    node = data
    for k in keys:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
        data: object = None) -> tuple[int, str, str]:
    """Run the CLI in-process (the same code path as ``python -m matching``)."""
    path = tmp_path / "i.json"
    path.write_text(data if isinstance(data, str) else json.dumps(GOOD if data is None else data))
    code = main([a.replace("{inst}", str(path)) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and out == "", err
    assert "internal error" not in err and "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]


# --- unknown fields are refused by name (they were silently dropped: the cap was not applied) ---

@pytest.mark.parametrize("path,name", [
    ("demands.0.max_delivered_price", "max_delivered_price"),
    ("demands.0.quality_limit", "quality_limit"),
    ("demands.0.min_grad", "min_grad"),
    ("supplies.0.prize_yuan_per_t", "prize_yuan_per_t"),
    ("tariff.rail_rate", "rail_rate"),
    ("extra", "extra"),
])
def test_unknown_field_is_refused_by_name(tmp_path, capsys, path, name):
    code, out, err = cli(tmp_path, capsys, "solve", "{inst}", data=mutate(path, 99))
    assert_refused(code, out, err, f"unknown field '{name}'")


def test_unknown_bound_in_quality_limits_is_refused():
    with pytest.raises(InstanceError, match="unknown field 'maximum'"):
        Instance.from_json(mutate("demands.0.quality_limits", {"loi": {"maximum": 5}}))


def test_null_means_no_cap_as_the_marketplace_sends_it():
    data = mutate("demands.0.max_delivered_price_yuan_per_t", None)
    data["demands"][0]["min_grade"] = None
    data["supplies"][0]["quality"] = {}
    assert solve(Instance.from_json(data)).tonnes_matched == 80


# --- a demand's `materials` list (it was ignored) ---

def test_demand_materials_list_is_honoured(tmp_path, capsys):
    data = mutate("demands.0.materials", ["fly_ash", "gbf_slag"])
    del data["demands"][0]["material"]
    data["demands"][0]["tonnes"] = 150
    code, out, err = cli(tmp_path, capsys, "solve", "{inst}", "--validate", data=data)
    assert code == 0, err
    plan = json.loads(out)
    assert plan["tonnes_matched"] == 150
    assert {p["material"] for p in plan["pairings"]} == {"fly_ash", "gbf_slag"}
    both = mutate("demands.0.materials", ["gbf_slag"])  # with `material` too: ambiguous
    assert_refused(*cli(tmp_path, capsys, "solve", "{inst}", data=both), "exactly one of")


# --- every number bounded: nothing can overflow int64 downstream ---

@pytest.mark.parametrize("path,value,field", [
    ("supplies.0.tonnes", 1e19, "tonnes"),              # was exit 1 "internal error"
    ("supplies.0.tonnes", 10**19, "tonnes"),
    ("supplies.0.price_yuan_per_t", 1e30, "price_yuan_per_t"),   # was exit 1
    ("supplies.0.max_haul_km", 1e20, "max_haul_km"),  # was exit 1
    ("tariff.road_yuan_per_t_km", 1e9, "road_yuan_per_t_km"),    # was a negative cost, exit 0
    ("tariff.circuity", 1e300, "circuity"),           # was distance 0, exit 0
    ("tariff.circuity", 0.5, "circuity"),
    ("demands.0.max_delivered_price_yuan_per_t", "1e400", "max_delivered_price_yuan_per_t"),
    ("supplies.0.quality", {"loi": 1e308}, "loi"),
    ("supplies.0.id", 2**80, "id"),
    ("supplies.0.id", "x" * 300, "id"),
])
def test_out_of_bound_numbers_exit_2(tmp_path, capsys, path, value, field):
    code, out, err = cli(tmp_path, capsys, "solve", "{inst}", data=mutate(path, value))
    assert_refused(code, out, err, field)


def test_a_5001_digit_integer_literal_exits_2(tmp_path, capsys):
    text = json.dumps(GOOD).replace('"tonnes": 100', '"tonnes": 1' + "0" * 5000)
    assert_refused(*cli(tmp_path, capsys, "solve", "{inst}", data=text), "5001 digits")


def test_three_huge_supplies_are_refused_not_solved_to_zero(tmp_path, capsys):
    # was "OPTIMAL 0 t": 3 x 4e18 t overflowed the flow's int64 supply
    data = json.loads(json.dumps(GOOD))
    data["supplies"] = [dict(GOOD["supplies"][0], id=f"S{k}", tonnes=4 * 10**18) for k in range(3)]
    assert_refused(*cli(tmp_path, capsys, "solve", "{inst}", data=data), "tonnes", "out of range")
    # within each record's bound but over the side's total bound
    data["supplies"] = [dict(GOOD["supplies"][0], id=f"S{k}", tonnes=10**9) for k in range(11)]
    assert_refused(*cli(tmp_path, capsys, "solve", "{inst}", data=data), "supplies", "total")


def test_deeply_nested_json_exits_2_in_a_real_process(tmp_path):
    # was exit 1 "internal error: RecursionError"
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "matching", "solve", str(path)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "nested 100000 levels" in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_nesting_depth_ignores_brackets_in_strings():
    assert nesting_depth(b'{"a": "[[[[{{{", "b": [1, {"c": "\\"]]"}]}') == 3


@pytest.mark.parametrize("text", ['{"supplies": [], "demands": [], "tariff": NaN}',
                                  '{"supplies": Infinity}', '{"supplies": -Infinity}'])
def test_nan_and_infinity_literals_are_refused(tmp_path, capsys, text):
    assert_refused(*cli(tmp_path, capsys, "solve", "{inst}", data=text), "not a JSON number")


# --- bad CLI options: exit 2 (was: exit 1, or Infinity written into the plan) ---

@pytest.mark.parametrize("flag,value", [
    ("--workers", "-1"), ("--time-limit", "inf"), ("--time-limit", "nan"), ("--time-limit", "0"),
    ("--co2-kg-per-t-km", "inf"), ("--rail-co2-kg-per-t-km", "nan"), ("--co2-kg-per-t-km", "-1"),
    ("--min-shipment", "-3"), ("--max-partners-per-supply", "0"), ("--processes", "-2"),
])
def test_bad_option_values_exit_2(tmp_path, capsys, flag, value):
    assert_refused(*cli(tmp_path, capsys, "solve", "{inst}", flag, value), flag)


@pytest.mark.parametrize("kw", [{"workers": -1}, {"time_limit_s": float("inf")},
                                {"co2_kg_per_t_km": float("nan")}, {"objective": "cheapest"},
                                {"time_limit_s": 1e9}, {"truckloads": "yes"}])
def test_bad_solve_options_raise_value_error(kw):
    with pytest.raises(ValueError):
        SolveOptions(**kw)


def test_plan_is_always_strict_json(tmp_path, capsys):
    code, out, _ = cli(tmp_path, capsys, "solve", "{inst}", "--co2-kg-per-t-km", "10")
    assert code == 0

    def refuse(name: str) -> None:
        raise AssertionError(name)
    json.loads(out, parse_constant=refuse)


# --- validate never crashes on any input ---

def _plan_text() -> str:
    plan = solve(Instance.from_json(GOOD)).to_json()
    return json.dumps(plan)


def test_validate_with_malformed_options_reports_instead_of_crashing(tmp_path, capsys):
    # was exit 1 "internal error: TypeError" ('int' object is not iterable)
    plan = json.loads(_plan_text())
    plan["options"]["exclude"] = 5
    (tmp_path / "p.json").write_text(json.dumps(plan))
    code, _, err = cli(tmp_path, capsys, "validate", "{inst}", str(tmp_path / "p.json"))
    assert code == 1 and "options" in err and "internal error" not in err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["status", "tonnes_matched", "transport_cost_yuan", "pairings", "options",
                        "unmatched_supplies", "baseline", "co2_kg", "pairings.0", "pairings.0.tonnes",
                        "pairings.0.supply", "pairings.0.distance_km", "pairings.0.co2_kg",
                        "options.max_partners", "options.time_limit_s", "options.objective"]),
       json_values)
def test_validate_never_crashes_on_hostile_plans(tmp_path, capsys, where, value):
    plan = json.loads(_plan_text())
    node = plan
    *keys, last = where.split(".")
    for k in keys:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    (tmp_path / "p.json").write_text(json.dumps(plan))
    code, _, err = cli(tmp_path, capsys, "validate", "{inst}", str(tmp_path / "p.json"))
    assert code in (0, 1, 2) and "internal error" not in err, err


def test_validate_api_flags_bad_values_without_crashing():
    i = Instance.from_json(GOOD)
    plan = solve(i)
    js = plan.to_json()
    js["pairings"][0]["tonnes"] = 10**30
    assert validate(i, Plan.from_json(js))
    js["pairings"][0]["tonnes"] = "3"
    with pytest.raises(ValueError, match="tonnes"):
        Plan.from_json(js)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(["supplies.0.tonnes", "supplies.0.lat", "supplies.0.quality", "supplies.0.id",
                        "supplies.0.price_yuan_per_t", "supplies.0.grade", "supplies.0.rail", "demands.0.materials",
                        "demands.0.quality_limits", "demands.0.max_haul_km", "demands.0.min_grade",
                        "demands.0.max_delivered_price_yuan_per_t", "tariff.circuity", "tariff.payload_t",
                        "tariff.value_yuan_per_t", "tariff.min_train_t", "tariff.rail_fixed_yuan_per_t",
                        "supplies", "demands", "tariff", "supplies.0"]),
       json_values)
def test_instance_parsing_raises_only_instance_error(where, value):
    try:
        Instance.from_json(mutate(where, value))
    except InstanceError as exc:
        assert "\n" not in str(exc)
