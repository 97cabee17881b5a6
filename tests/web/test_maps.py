"""The maps' data over HTTP: every map's GeoJSON names its title and legend; the page hands the script no tile
server unless one is configured, and the place names in the page's language; the base layer built from the
npm data package is served by the app, small, and keyed by the gazetteer; the build script classifies borders
by topology."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

from marketplace import gazetteer
from tests.web.conftest import login
from tests.web.test_content_security import deal, map_json, policy  # noqa: F401  (deal is a fixture)

ROOT = Path(__file__).resolve().parents[2]
BOUNDARIES = ROOT / "static/vendor/ningxia/ningxia.geojson"


def page_config(client, url):
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', page, re.S)
    assert found, url
    return json.loads(found.group(1))


def assert_titled(data, *parts):
    assert data["title"] and all(str(part) in data["title"] for part in parts), data["title"]
    assert data["legend"], data
    for entry in data["legend"]:
        assert set(entry) == {"kind", "colour", "label"} and entry["kind"] in {"marker", "line"}
        assert re.fullmatch(r"#[0-9a-f]{3,6}", entry["colour"]) and entry["label"].strip()


@pytest.mark.parametrize("side", ["supply", "demand"])
def test_a_listing_map_has_a_title_with_its_page_and_a_legend(client, deal, side):  # noqa: F811
    login(client, deal["consumer"])
    data, _ = map_json(client, f"/listings/{side}/map.json")
    assert_titled(data, "1")
    assert [entry["kind"] for entry in data["legend"]] == ["marker"]


@pytest.mark.parametrize("party", ["producer", "operator"])
def test_a_round_map_is_titled_with_its_round_and_explains_its_lines(client, deal, party):  # noqa: F811
    login(client, deal[party])
    data, _ = map_json(client, f"/match/rounds/{deal['round'].id}/map.json")
    assert_titled(data, f"#{deal['round'].id}")
    assert [entry["kind"] for entry in data["legend"]] == ["marker", "marker", "line"]


def test_the_flows_map_has_a_title_with_its_year_and_a_legend(client, deal):  # noqa: F811
    login(client, deal["regulator"])
    data, _ = map_json(client, "/subsidies/dashboard/flows.json?year=2025")
    assert_titled(data, 2025)
    assert {entry["kind"] for entry in data["legend"]} == {"marker", "line"}
    client.get("/lang/en")
    data, _ = map_json(client, "/subsidies/dashboard/flows.json?year=2025")
    assert data["title"] == "Delivered flows in 2025"


def test_no_tile_server_is_named_unless_configured(client, deal):  # noqa: F811
    login(client, deal["consumer"])
    config = page_config(client, "/listings/supply")
    assert config["tile_url"] == "" and config["attribution"] == ""
    assert policy(client.get("/listings/supply"))["img-src"] == ["'self'", "data:"]
    assert config["boundaries_url"] == "/static/vendor/ningxia/ningxia.geojson"
    south_west, north_east = config["bounds"]
    assert south_west[0] < 35.3 and north_east[0] > 39.35 and south_west[1] < 104.3 and north_east[1] > 107.6


def test_a_configured_tile_server_reaches_the_script_and_the_policy(make_user):
    from marketplace import config as app_config
    from marketplace import create_app

    config = app_config.TestingConfig()
    config.MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    config.MAP_TILE_ATTRIBUTION = "&copy; OpenStreetMap contributors"
    app = create_app(config)
    with app.test_request_context("/"):
        from marketplace import maps

        handed = maps.config()
    assert handed["tile_url"] == config.MAP_TILE_URL and handed["attribution"] == "© OpenStreetMap contributors"
    assert policy(app.test_client().get("/auth/login"))["img-src"][-1] == "https://tile.openstreetmap.org"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_place_names_come_from_the_gazetteer_in_the_page_language(client, deal, language):  # noqa: F811
    client.get(f"/lang/{language}")
    login(client, deal["producer"])
    for url in ("/listings/supply", "/org/sites/new"):
        config = page_config(client, url)
        assert config["places"]["county"] == {key: gazetteer.county_label(key, language) for key in gazetteer.COUNTIES}
        assert config["places"]["city"] == {key: gazetteer.city_label(key, language) for key in gazetteer.CITIES}
        assert [level for level, _ in config["borders"]] == ["province", "city", "county"]
    county = config["places"]["county"]["Lingwu"]
    assert county == ("灵武市" if language == "zh" else "Lingwu City")
    if language == "en":  # the Chinese ones once the lead has translated them
        assert dict(config["borders"]) == {"province": "Ningxia (province)", "city": "City border",
                                           "county": "County border"}


def test_the_site_form_has_a_map_to_pick_the_position(client, deal):  # noqa: F811
    login(client, deal["producer"])
    page = client.get("/org/sites/new").get_data(as_text=True)
    assert 'id="site-map" data-map-picker="1"' in page
    assert page.index('src="/static/js/map.js"') < page.index('src="/static/js/site_form.js"')


# --- the base layer, as built by scripts/vendor.sh -----------------------------------------------------------

def test_the_base_layer_is_served_small_and_keyed_by_the_gazetteer(client):
    assert BOUNDARIES.is_file(), "run scripts/vendor.sh (make install): it builds the maps' base layer"
    assert BOUNDARIES.stat().st_size < 500 * 1024
    response = client.get("/static/vendor/ningxia/ningxia.geojson")
    assert response.status_code == 200
    data = json.loads(response.get_data())
    response.close()
    levels = [f["properties"]["level"] for f in data["features"]]
    assert levels.count("county") == levels.count("city") == levels.count("province") == 1
    counties = {f["properties"]["county"]: f["properties"]["city"] for f in data["features"]
                if f["properties"]["level"] == "county-label"}
    assert counties == {key: place.city for key, place in gazetteer.COUNTIES.items()}
    cities = [f["properties"]["city"] for f in data["features"] if f["properties"]["level"] == "city-label"]
    assert sorted(cities) == sorted(gazetteer.CITIES)
    # every point of the layer lies in Ningxia's box, and each label inside its own county's rough extent
    for feature in data["features"]:
        geometry = feature["geometry"]
        coordinates = ([geometry["coordinates"]] if geometry["type"] == "Point"
                       else [c for part in geometry["coordinates"] for c in part])
        assert all(104.2 < lon < 107.7 and 35.2 < lat < 39.4 for lon, lat in coordinates)
    for feature in data["features"]:
        if feature["properties"]["level"] == "county-label":
            lon, lat = feature["geometry"]["coordinates"]
            seat = gazetteer.COUNTIES[feature["properties"]["county"]]
            assert abs(lat - float(seat.lat)) < 0.6 and abs(lon - float(seat.lon)) < 0.6, feature
    assert "MIT" in data["source"] and (BOUNDARIES.parent / "LICENSE").is_file()


def load_builder():
    spec = importlib.util.spec_from_file_location("ningxia_boundaries", ROOT / "scripts/ningxia_boundaries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def square(x0):
    return {"type": "Polygon", "coordinates": [[[x0, 0.0], [x0 + 1, 0.0], [x0 + 1, 1.0], [x0, 1.0], [x0, 0.0]]]}


def test_borders_are_classified_by_the_counties_that_share_them():
    """Three unit squares in a row, a1 | a2 | b1: a1-a2 is a county border (same city), a2-b1 a city border,
    everything else the province's outline; each border drawn once."""
    builder = load_builder()
    edges = builder.classify_edges([("A", "a1", square(0)), ("A", "a2", square(1)), ("B", "b1", square(2))])
    assert edges["county"] == [((1.0, 0.0), (1.0, 1.0))] or edges["county"] == [((1.0, 1.0), (1.0, 0.0))]
    assert {frozenset(e) for e in edges["city"]} == {frozenset(((2.0, 0.0), (2.0, 1.0)))}
    assert len(edges["province"]) == 8  # 3 bottom + 3 top + 2 ends
    outline = builder.border_feature("province", edges["province"], tolerance=0.01)
    assert outline["geometry"]["type"] == "MultiLineString"
    points = {tuple(p) for line in outline["geometry"]["coordinates"] for p in line}
    assert points == {(0.0, 0.0), (3.0, 0.0), (3.0, 1.0), (0.0, 1.0)}  # the straight runs simplified away


def test_a_county_the_gazetteer_does_not_know_stops_the_build(tmp_path):
    builder = load_builder()
    for filename in builder.CITY_FILES.values():
        (tmp_path / filename).write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    (tmp_path / builder.CITY_FILES["Yinchuan"]).write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "不存在县"}, "geometry": square(0)}]}))
    with pytest.raises(SystemExit, match="不存在县"):
        builder.read_counties(tmp_path)
