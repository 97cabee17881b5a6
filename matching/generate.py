"""Random but realistic Ningxia instances (for the CLI, tests and benchmarks)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .catalogue import MATERIALS

#: (name, lat, lon, spread in degrees of the normal scatter, weight as supply, weight as demand)
PLACES: tuple[tuple[str, float, float, float, float, float], ...] = (
    ("Yinchuan", 38.47, 106.28, 0.12, 1.0, 3.0),
    ("Shizuishan", 39.02, 106.38, 0.10, 3.0, 1.5),
    ("Wuzhong", 37.98, 106.20, 0.10, 1.5, 1.5),
    ("Zhongwei", 37.52, 105.18, 0.12, 1.5, 1.5),
    ("Guyuan", 36.00, 106.28, 0.15, 0.5, 1.5),
    ("Lingwu", 38.094, 106.335, 0.06, 2.0, 1.0),
    ("Qingtongxia", 37.92, 105.91, 0.08, 1.0, 1.0),
    ("Huinong", 39.28, 106.79, 0.06, 2.0, 0.5),
)
#: Ningdong energy and chemical base: uniform over its box
NINGDONG_BOX = (38.06, 38.14, 106.57, 106.69)
NINGDONG_WEIGHT = (4.0, 1.0)

DEFAULT_MATERIALS = ("fly_ash", "gbf_slag", "steel_slag", "fgd_gypsum")
#: ex-works price range yuan/t (byproducts often sell near zero or below)
PRICE_RANGE = {
    "fly_ash": (-10, 90), "gbf_slag": (60, 200), "steel_slag": (-20, 60), "fgd_gypsum": (-15, 40),
    "coal_gangue": (-20, 20), "furnace_slag": (-10, 40), "carbide_slag": (-30, 20),
    "gasification_slag": (-40, 10), "ferroalloy_slag": (-20, 40),
}
#: quality parameters with a plausible range of values
QUALITY = {
    "fly_ash": {"loss_on_ignition_pct": (1.0, 12.0), "fineness_45um_pct": (5.0, 40.0)},
    "fgd_gypsum": {"caso4_2h2o_pct": (80.0, 96.0), "moisture_pct": (6.0, 14.0)},
    "steel_slag": {"free_cao_pct": (1.0, 8.0)},
}


def _sites(rng: np.random.Generator, n: int, role: int) -> tuple[np.ndarray, np.ndarray]:
    weights = np.array([p[4 + role] for p in PLACES] + [NINGDONG_WEIGHT[role]])
    pick = rng.choice(weights.size, size=n, p=weights / weights.sum())
    lat = np.empty(n)
    lon = np.empty(n)
    nd = pick == len(PLACES)
    lat[nd] = rng.uniform(NINGDONG_BOX[0], NINGDONG_BOX[1], nd.sum())
    lon[nd] = rng.uniform(NINGDONG_BOX[2], NINGDONG_BOX[3], nd.sum())
    for k, (_, plat, plon, spread, _, _) in enumerate(PLACES):
        sel = pick == k
        lat[sel] = plat + rng.normal(0, spread, sel.sum())
        lon[sel] = plon + rng.normal(0, spread * 1.25, sel.sum())
    return np.round(lat, 5), np.round(lon, 5)


def generate_instance(supplies: int, demands: int, seed: int = 0,
                      materials: tuple[str, ...] = DEFAULT_MATERIALS,
                      rail_share: float = 0.1) -> dict[str, Any]:
    """A random instance in the JSON form (``Instance.from_json`` accepts it).

    Sites scatter around Ningxia's industrial towns and the Ningdong base;
    tariff road 0.45-0.50 yuan/t/km, handling 8 yuan/t, circuity 1.3, max
    haul about 300 km, a few rail sidings.
    """
    rng = np.random.default_rng(seed)
    for m in materials:
        if m not in MATERIALS:
            raise ValueError(f"unknown material {m!r}")
    out_s: list[dict[str, Any]] = []
    out_d: list[dict[str, Any]] = []
    s_lat, s_lon = _sites(rng, supplies, 0)
    d_lat, d_lon = _sites(rng, demands, 1)
    s_mat = rng.choice(len(materials), size=supplies)
    d_mat = rng.choice(len(materials), size=demands)
    for i in range(supplies):
        m = materials[int(s_mat[i])]
        lo, hi = PRICE_RANGE[m]
        rec: dict[str, Any] = {"id": f"S{i + 1}", "material": m}
        grades = MATERIALS[m]
        if grades:
            rec["grade"] = grades[int(rng.integers(len(grades)))]
        rec.update(
            tonnes=int(rng.integers(50, 3001)),
            lat=float(s_lat[i]), lon=float(s_lon[i]),
            price_yuan_per_t=round(float(rng.uniform(lo, hi)), 2),
            max_haul_km=int(rng.choice([250, 300, 300, 350])),
        )
        if m in QUALITY:
            rec["quality"] = {p: round(float(rng.uniform(a, b)), 1)
                              for p, (a, b) in QUALITY[m].items()}
        if rng.random() < rail_share:
            rec["rail"] = True
        out_s.append(rec)
    for j in range(demands):
        m = materials[int(d_mat[j])]
        lo, hi = PRICE_RANGE[m]
        rec = {"id": f"D{j + 1}", "material": m}
        grades = MATERIALS[m]
        # most buyers accept any grade; some insist on the lower grades or better
        if grades and rng.random() < 0.3:
            rec["min_grade"] = grades[int(rng.integers(1, len(grades)))] if len(grades) > 1 \
                else grades[0]
        rec.update(tonnes=int(rng.integers(50, 3001)), lat=float(d_lat[j]), lon=float(d_lon[j]))
        if rng.random() < 0.5:
            rec["max_delivered_price_yuan_per_t"] = round(float(hi + rng.uniform(80, 200)), 2)
        rec["max_haul_km"] = int(rng.choice([250, 300, 300, 350]))
        if m in QUALITY and rng.random() < 0.2:
            p, (a, b) = next(iter(QUALITY[m].items()))
            rec["quality_limits"] = {p: {"max": round(float(b - (b - a) * 0.1), 1)}}
        if rng.random() < rail_share:
            rec["rail"] = True
        out_d.append(rec)
    tariff = {
        "road_yuan_per_t_km": round(float(rng.uniform(0.45, 0.50)), 2),
        "handling_yuan_per_t": 8,
        "circuity": 1.3,
        "rail_fixed_yuan_per_t": 25,
        "rail_yuan_per_t_km": 0.16,
        "co2_kg_per_t_km": 0.1,
        "rail_co2_kg_per_t_km": 0.03,
    }
    return {"supplies": out_s, "demands": out_d, "tariff": tariff}
