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


#: Industrial hubs of China (name, lat, lon, spread in degrees, weight): coal power, steel, chemicals and
#: their cement/building-material buyers cluster around these; weights roughly follow industrial output.
NATIONAL_HUBS: tuple[tuple[str, float, float, float, float], ...] = (
    ("Tangshan", 39.63, 118.18, 0.5, 5.0), ("Handan", 36.61, 114.49, 0.4, 3.0),
    ("Beijing-Tianjin", 39.5, 116.9, 0.7, 4.0), ("Taiyuan", 37.87, 112.55, 0.5, 3.0),
    ("Datong", 40.08, 113.3, 0.4, 2.0), ("Changzhi", 36.2, 113.1, 0.4, 2.0),
    ("Baotou", 40.66, 109.84, 0.5, 2.5), ("Ordos", 39.6, 109.8, 0.7, 3.0),
    ("Hohhot", 40.84, 111.75, 0.4, 1.5), ("Yinchuan", 38.47, 106.28, 0.4, 1.5),
    ("Ningdong", 38.1, 106.6, 0.2, 2.0), ("Shizuishan", 39.02, 106.38, 0.2, 1.0),
    ("Yulin", 38.28, 109.73, 0.5, 2.5), ("Xi'an", 34.34, 108.94, 0.5, 2.0),
    ("Lanzhou", 36.06, 103.83, 0.4, 1.0), ("Urumqi", 43.83, 87.62, 0.6, 1.5),
    ("Zhundong", 44.5, 89.5, 0.5, 1.5), ("Jinan", 36.65, 117.12, 0.5, 3.0),
    ("Zibo", 36.8, 118.05, 0.4, 2.5), ("Qingdao", 36.07, 120.38, 0.5, 2.0),
    ("Zhengzhou", 34.75, 113.62, 0.5, 3.0), ("Pingdingshan", 33.77, 113.19, 0.4, 1.5),
    ("Wuhan", 30.59, 114.31, 0.5, 3.0), ("Changsha", 28.23, 112.94, 0.5, 2.0),
    ("Nanjing", 32.06, 118.8, 0.5, 3.0), ("Suzhou-Wuxi", 31.4, 120.5, 0.5, 4.0),
    ("Shanghai", 31.23, 121.47, 0.4, 3.0), ("Hangzhou-Ningbo", 30.0, 121.0, 0.6, 3.0),
    ("Huainan", 32.63, 116.99, 0.4, 2.0), ("Ma'anshan", 31.67, 118.51, 0.3, 1.5),
    ("Guangzhou-Foshan", 23.1, 113.2, 0.5, 4.0), ("Shenzhen-Dongguan", 22.8, 114.0, 0.4, 3.0),
    ("Shenyang", 41.8, 123.43, 0.5, 2.5), ("Anshan", 41.11, 122.99, 0.3, 2.0),
    ("Harbin", 45.8, 126.53, 0.5, 1.5), ("Changchun", 43.82, 125.32, 0.5, 1.5),
    ("Chengdu", 30.57, 104.07, 0.5, 2.5), ("Chongqing", 29.56, 106.55, 0.5, 2.5),
    ("Panzhihua", 26.58, 101.72, 0.3, 1.0), ("Kunming", 25.04, 102.71, 0.5, 1.5),
    ("Guiyang", 26.65, 106.63, 0.5, 1.5), ("Nanning", 22.82, 108.37, 0.5, 1.0),
    ("Fuzhou-Xiamen", 25.5, 118.5, 0.8, 2.0), ("Nanchang", 28.68, 115.86, 0.5, 1.5),
)
#: realistic road haul limits by material (low-value bulk: short), km
NATIONAL_HAULS = {"fly_ash": (80, 120, 150), "gbf_slag": (100, 150, 200), "steel_slag": (60, 100, 120),
                  "fgd_gypsum": (80, 100, 150)}


def generate_national(supplies: int, demands: int, seed: int = 0) -> dict[str, Any]:
    """A national-scale instance: sites clustered around China's industrial hubs, four materials,
    haul limits of 60-200 km by material (vectorised: fast at 100,000 x 100,000)."""
    rng = np.random.default_rng(seed)
    mats = tuple(NATIONAL_HAULS)
    hubs = np.array([h[1:] for h in NATIONAL_HUBS])
    p = hubs[:, 3] / hubs[:, 3].sum()

    def sites(n: int, prefix: str) -> list[dict[str, Any]]:
        h = rng.choice(len(hubs), size=n, p=p)
        lat = np.clip(hubs[h, 0] + rng.normal(0, 1, n) * hubs[h, 2], -89.9, 89.9).round(4)
        lon = (hubs[h, 1] + rng.normal(0, 1, n) * hubs[h, 2] * 1.2).round(4)
        mat = rng.integers(0, len(mats), n)
        tonnes = rng.integers(500, 50_001, n)
        out = []
        for k, (a, b, m, t) in enumerate(zip(lat.tolist(), lon.tolist(), mat.tolist(), tonnes.tolist(),
                                             strict=True)):
            haul = NATIONAL_HAULS[mats[m]][(k * 7 + m) % 3]
            out.append({"id": f"{prefix}{k + 1}", "material": mats[m], "tonnes": t, "lat": a, "lon": b,
                        "max_haul_km": haul})
        return out

    sup = sites(supplies, "S")
    price = rng.uniform(-20, 80, supplies).round(2)
    for r, pr in zip(sup, price.tolist(), strict=True):
        r["price_yuan_per_t"] = pr
    dem = sites(demands, "D")
    tariff = {"road_yuan_per_t_km": 0.45, "handling_yuan_per_t": 8, "circuity": 1.3,
              "rail_fixed_yuan_per_t": 25, "rail_yuan_per_t_km": 0.16}
    return {"supplies": sup, "demands": dem, "tariff": tariff}


# ---------------------------------------------------------------------------
# seasonal instances (#14)
# ---------------------------------------------------------------------------

#: by-products of coal power: made mostly in the heating season (Ningxia heats 1 Nov - 31 Mar), a
#: smaller summer peak from air conditioning; per calendar month, January first
POWER_MATERIALS = frozenset({"fly_ash", "fgd_gypsum", "furnace_slag", "gasification_slag"})
POWER_FACTOR = (1.35, 1.3, 1.15, 0.9, 0.8, 0.85, 0.95, 0.95, 0.8, 0.9, 1.2, 1.35)
#: building-material demand besides the kilns' stops: low in the frozen months, peaks in spring and autumn
CONSTRUCTION_FACTOR = (0.35, 0.45, 0.9, 1.2, 1.25, 1.1, 1.0, 1.0, 1.2, 1.25, 0.95, 0.5)
#: staggered production (错峰生产) of clinker lines: every line 15 Nov - 31 Mar (136 days), and about
#: 80 more days in summer and autumn, in windows that differ by city ((month, day), (month, day))
WINTER_STOP = ((11, 15), (3, 31))
SUMMER_STOPS: dict[str, tuple[tuple[tuple[int, int], tuple[int, int]], ...]] = {
    "Yinchuan": (((6, 15), (7, 24)), ((9, 1), (10, 10))),
    "Shizuishan": (((7, 1), (8, 9)), ((9, 20), (10, 29))),
    "Wuzhong": (((6, 1), (7, 10)), ((8, 20), (9, 28))),
    "Zhongwei": (((7, 15), (8, 23)), ((10, 1), (11, 9))),
    "Guyuan": (((5, 20), (6, 28)), ((8, 10), (9, 18))),
    "Lingwu": (((6, 20), (7, 29)), ((9, 10), (10, 19))),
    "Qingtongxia": (((7, 5), (8, 13)), ((9, 25), (11, 3))),
    "Huinong": (((6, 25), (8, 3)), ((9, 5), (10, 14))),
    "Ningdong": (((7, 10), (8, 18)), ((10, 5), (11, 13))),
}
#: share of demands that are cement or clinker lines (the rest: concrete, block and board plants)
KILN_SHARE = 0.75
#: a running kiln uses twice the generated monthly rate, other plants 1.5 times: over the year demand
#: about matches supply, month by month it does not (the point of storage)
KILN_RATE = 2.0
PLANT_RATE = 1.5
YARD_SHARE = 0.5  # supplies with a yard
SILO_SHARE = 0.4  # demands with a silo
START_YEAR = 2027


def _months(n: int) -> list[tuple[int, int]]:
    return [(START_YEAR + k // 12, k % 12 + 1) for k in range(n)]


def _running_share(city: str, year: int, month: int) -> float:
    """Share of the month's days a clinker line of ``city`` may run."""
    import calendar
    import datetime as dt

    days = calendar.monthrange(year, month)[1]
    first, last = dt.date(year, month, 1), dt.date(year, month, days)

    def overlap(a: dt.date, b: dt.date) -> int:
        return max(0, (min(b, last) - max(a, first)).days + 1)

    (wm, wd), (em, ed) = WINTER_STOP
    stopped = overlap(dt.date(year - 1, wm, wd), dt.date(year, em, ed))  # the winter that began last year
    stopped += overlap(dt.date(year, wm, wd), dt.date(year + 1, em, ed))
    for (am, ad), (bm, bd) in SUMMER_STOPS[city]:
        stopped += overlap(dt.date(year, am, ad), dt.date(year, bm, bd))
    return max(0.0, 1.0 - stopped / days)


def _city(lat: float, lon: float) -> str:
    lo_lat, hi_lat, lo_lon, hi_lon = NINGDONG_BOX
    if lo_lat <= lat <= hi_lat and lo_lon <= lon <= hi_lon:
        return "Ningdong"
    d = [(lat - p[1]) ** 2 + ((lon - p[2]) * 0.79) ** 2 for p in PLACES]
    return PLACES[int(np.argmin(d))][0]


def generate_seasonal(supplies: int, demands: int, seed: int = 0, periods: int = 12,
                      materials: tuple[str, ...] = DEFAULT_MATERIALS) -> dict[str, Any]:
    """A seasonal instance: :func:`generate_instance`'s sites and rules over ``periods`` months from
    January 2027, its ``tonnes`` read as a monthly rate.

    Power-plant by-products are made mostly in winter (:data:`POWER_FACTOR`); about three quarters
    of the demands are clinker lines, stopped 15 November - 31 March and in two summer/autumn
    windows of their city (:data:`SUMMER_STOPS`), the rest follow the building season
    (:data:`CONSTRUCTION_FACTOR`), at :data:`KILN_RATE` / :data:`PLANT_RATE` times the generated
    rate, so that the year's demand about matches the year's supply; half the supplies have a yard
    (1-4 months of output, some stock already in it), 40 % of the demands a silo (2-10 weeks of
    use)."""
    if not 1 <= periods <= 520:
        raise ValueError(f"periods must be from 1 to 520, got {periods}")
    data = generate_instance(supplies, demands, seed, materials)
    rng = np.random.default_rng([seed, 14])
    months = _months(periods)
    data["periods"] = [f"{y}-{m:02d}" for y, m in months]
    month_ix = np.array([m - 1 for _, m in months])
    for rec in data["supplies"]:
        base = rec.pop("tonnes")
        shape = np.array(POWER_FACTOR)[month_ix] if rec["material"] in POWER_MATERIALS \
            else np.ones(periods)
        noise = rng.uniform(0.9, 1.1, periods)
        rec["tonnes_by_period"] = np.rint(base * shape * noise).astype(np.int64).tolist()
        if rng.random() < YARD_SHARE:
            cap = int(base * rng.uniform(1, 4))
            rec["storage"] = {"capacity_t": cap, "initial_t": int(cap * rng.uniform(0, 0.5)),
                              "holding_yuan_per_t_period": round(float(rng.uniform(0.3, 1.5)), 2)}
    shares: dict[tuple[str, int, int], float] = {}
    for rec in data["demands"]:
        base = rec.pop("tonnes")
        noise = rng.uniform(0.9, 1.1, periods)
        if rng.random() < KILN_SHARE:
            city = _city(rec["lat"], rec["lon"])
            run = np.array([shares.setdefault((city, y, m), _running_share(city, y, m)) for y, m in months])
            shape = KILN_RATE * run * rng.uniform(0.9, 1.1)
        else:
            shape = PLANT_RATE * np.array(CONSTRUCTION_FACTOR)[month_ix]
        rec["tonnes_by_period"] = np.rint(base * shape * noise).astype(np.int64).tolist()
        if rng.random() < SILO_SHARE:
            cap = int(base * rng.uniform(0.5, 2.5))
            rec["storage"] = {"capacity_t": cap, "initial_t": int(cap * rng.uniform(0, 0.3)),
                              "holding_yuan_per_t_period": round(float(rng.uniform(0.5, 2.0)), 2)}
    return data
