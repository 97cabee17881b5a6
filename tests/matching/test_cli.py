"""The CLI via subprocess: happy paths and one-line errors with exit status 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "supplies": [{"id": "S1", "material": "fly_ash", "grade": "II", "tonnes": 100, "lat": 38.47,
                  "lon": 106.28, "price_yuan_per_t": 20, "max_haul_km": 300},
                 {"id": "S4", "material": "fly_ash", "tonnes": 50, "lat": 38.1,
                  "lon": 106.3, "price_yuan_per_t": -5.5, "max_haul_km": 300}],
    "demands": [{"id": "D7", "material": "fly_ash", "min_grade": "II", "tonnes": 80,
                 "lat": 37.98, "lon": 106.2, "max_haul_km": 200}],
    "tariff": {"road_yuan_per_t_km": 0.45, "handling_yuan_per_t": 8, "circuity": 1.3},
}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "matching", *args], input=stdin, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


def write(tmp_path: Path, data: object, name: str = "i.json") -> str:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(p)


def test_solve_to_stdout_and_file(tmp_path):
    path = write(tmp_path, GOOD)
    r = run("solve", path, "--validate")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["status"] == "OPTIMAL" and plan["tonnes_matched"] == 80
    assert plan["pairings"][0]["supply"] == "S1"
    out = tmp_path / "plan.json"
    r = run("solve", path, "-o", str(out), "--exclude", "S1:D7", "--co2-kg-per-t-km", "0.2")
    assert r.returncode == 0 and r.stdout == ""
    plan = json.loads(out.read_text())
    assert plan["options"]["exclude"] == [["S1", "D7"]] and plan["tonnes_matched"] == 0
    r = run("validate", path, str(out))
    assert r.returncode == 0, r.stderr


def test_cp_sat_flags(tmp_path):
    r = run("solve", write(tmp_path, GOOD), "--min-shipment", "30", "--max-partners", "1",
            "--time-limit", "5")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["stats"]["solver"] == "cp_sat" and plan["status"] == "OPTIMAL"
    assert "gap" in plan["stats"]


def test_generate_is_deterministic_and_solvable(tmp_path):
    a = run("generate", "--supplies", "30", "--demands", "20", "--seed", "4")
    b = run("generate", "--supplies", "30", "--demands", "20", "--seed", "4")
    assert a.returncode == 0 and a.stdout == b.stdout
    data = json.loads(a.stdout)
    assert len(data["supplies"]) == 30 and len(data["demands"]) == 20
    r = run("solve", "-", "--validate", stdin=a.stdout)
    assert r.returncode == 0 and json.loads(r.stdout)["tonnes_matched"] > 0


def _mutate(path: str, value: object) -> dict:
    data = json.loads(json.dumps(GOOD))
    *keys, last = path.split(".")
    node = data
    for k in keys:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


BAD = [
    ("bad json", "{\"supplies\": [", "invalid JSON"),
    ("missing field", _mutate("supplies.1.lat", KeyError), "supplies[1] (id S4): field 'lat' is missing"),
    ("wrong type", _mutate("supplies.0.tonnes", "100"), "supplies[0] (id S1): field 'tonnes'"),
    ("negative tonnes", _mutate("demands.0.tonnes", -5), "demands[0] (id D7): field 'tonnes': -5 is negative"),
    ("fractional tonnes", _mutate("demands.0.tonnes", 2.5), "field 'tonnes'"),
    ("lat out of range", _mutate("supplies.1.lat", 91.0),
     "supplies[1] (id S4): field 'lat': 91.0 is out of range -90..90"),
    ("lon out of range", _mutate("demands.0.lon", -181), "field 'lon'"),
    ("unknown material", _mutate("supplies.0.material", "red_mud"), "unknown material 'red_mud'"),
    ("grade not of material", _mutate("supplies.0.grade", "S95"), "fly_ash has no grade 'S95'"),
    ("grade on ungraded", _mutate("supplies.0.material", "fgd_gypsum"), "field 'grade'"),
    ("duplicate ids", _mutate("supplies.1.id", "S1"), "duplicate id 'S1'"),
    ("duplicate int/str ids", _mutate("supplies.1.id", 7) and
     {**GOOD, "supplies": [dict(GOOD["supplies"][0], id=7), dict(GOOD["supplies"][1], id="7")]},
     "duplicate id"),
    ("bool id", _mutate("demands.0.id", True), "field 'id'"),
    ("missing tariff field", _mutate("tariff.circuity", KeyError), "tariff: field 'circuity' is missing"),
    ("not an object", [1, 2], "instance: expected an object"),
    ("supplies not a list", _mutate("supplies", {"a": 1}), "field 'supplies'"),
    ("bad quality limit", _mutate("demands.0.quality_limits", {"loi": {"max": "x"}}), "field 'max'"),
    ("too many decimals", _mutate("supplies.0.price_yuan_per_t", 1.234), "decimal places"),
]


@pytest.mark.parametrize("name,data,message", BAD, ids=[b[0] for b in BAD])
def test_malformed_input_exits_2_with_one_line(tmp_path, name, data, message):
    r = run("solve", write(tmp_path, data))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert message in lines[0]


@pytest.mark.parametrize("args,message", [
    (["solve", "/nonexistent/x.json"], "cannot read"),
    (["solve", "{inst}", "--exclude", "S9:D7"], "unknown supply id 'S9'"),
    (["solve", "{inst}", "--exclude", "nocolon"], "SUPPLY_ID:DEMAND_ID"),
    (["solve", "{inst}", "--max-partners", "0"], "--max-partners: must be from 1"),
    (["solve", "{inst}", "--min-shipment", "ten"], "invalid int value"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_command_lines_exit_2(tmp_path, args, message):
    inst = write(tmp_path, GOOD)
    r = run(*[a.format(inst=inst) for a in args])
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


def test_library_never_imports_flask_or_marketplace():
    code = ("import sys, matching, matching.cli, matching.solver; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'marketplace')]; "
            "assert not bad, bad")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert r.returncode == 0, r.stderr
