"""In a real browser with every request beyond the app refused: each map stands on its own offline (Ningxia's
county, city and province borders from the local base layer, place names in the page's language, a title,
a legend, zoomed to what it shows), the site form's map sets the coordinates, and nothing leaves the app's
origin or breaks the Content-Security-Policy."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace import gazetteer
from marketplace.clock import today_cst
from marketplace.models import MatchRound, Site
from marketplace.services.demo import DEMO_PASSWORD
from tests.web.browser.test_hostile_text import WATCH_CSP
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.conftest import PASSWORD

#: What a map shows, read through the hook map.js exposes for tests (window.ningxiaMaps).
MAP_STATE = """
(id) => {
  const entry = window.ningxiaMaps.maps.find(e => e.element.id === id);
  const map = entry.map, content = entry.content.getBounds(), view = map.getBounds();
  const height = (b) => b.getNorth() - b.getSouth(), width = (b) => b.getEast() - b.getWest();
  const places = [];
  entry.places.eachLayer(l => places.push(l.getElement().textContent));
  return {
    zoom: map.getZoom(),
    fits: content.isValid() ? view.contains(content) : null,
    // how much of the view the content fills, in its fuller direction (1: edge to edge)
    filled: content.isValid() ? Math.max(height(content) / height(view), width(content) / width(view)) : null,
    view: [view.getSouth(), view.getWest(), view.getNorth(), view.getEast()],
    places: places,
    countyLines: entry.element.querySelectorAll("path.map-border-county").length,
    cityLines: entry.element.querySelectorAll("path.map-border-city").length,
    provinceLines: entry.element.querySelectorAll("path.map-border-province").length,
    borderParts: Object.fromEntries(["county", "city", "province"].map(level => [level,
      (entry.element.querySelector("path.map-border-" + level).getAttribute("d").match(/M/g) || []).length])),
    title: entry.element.querySelector(".map-title").textContent,
    legend: Array.from(entry.element.querySelectorAll(".map-legend li")).map(li => li.textContent),
    tiles: entry.element.querySelectorAll(".leaflet-tile").length,
  };
}
"""

#: Where the site form's marker stands, [lat, lon], or null.
MARKER = """() => { const e = window.ningxiaMaps.maps.find(m => m.element.id === 'site-map');
  let p = null; e.content.eachLayer(l => { p = [l.getLatLng().lat, l.getLatLng().lng]; }); return p; }"""


@pytest.fixture
def offline(page, site_url):
    """Every request that is not for the app is aborted and remembered; CSP violations are collected, and
    errors on the browser's console (a refused request or script shows there) fail the test."""
    left, errors = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def guard(route):
        if route.request.url.startswith(site_url):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.add_init_script(WATCH_CSP)
    yield left
    assert left == [], f"requests beyond the app: {left}"
    assert errors == [], errors


def assert_stands_alone(page, map_id: str, *, locale: str = "zh") -> dict:
    element = page.locator(f"#{map_id}")
    expect(element).to_have_attribute("data-map-ready", re.compile(r"^(\d+|picker)$"))
    expect(element).to_have_attribute("data-base-ready", re.compile(r"^[1-9]\d*$"))
    state = page.evaluate(MAP_STATE, map_id)
    # the base layer: county, city and province borders drawn, every county and city named
    assert state["countyLines"] == state["cityLines"] == state["provinceLines"] == 1, state
    assert min(state["borderParts"].values()) >= 5, state["borderParts"]
    names = {gazetteer.county_label(key, locale) for key in gazetteer.COUNTIES} | {
        gazetteer.city_label(key, locale) for key in gazetteer.CITIES}
    assert set(state["places"]) == names, state["places"]
    # a title and a legend that explains the content and the borders: the server's, in the page's language
    url = page.locator(f"#{map_id}").get_attribute("data-map-url")
    if url:
        sent = page.evaluate("(url) => fetch(url).then(r => r.json())", url)
        assert sent["title"] and state["title"] == sent["title"]
        assert state["legend"][:len(sent["legend"])] == [entry["label"] for entry in sent["legend"]]
    borders = {"zh": ["宁夏（自治区界）", "地级市界", "县（区）界"],
               "en": ["Ningxia (province)", "City border", "County border"]}
    assert len(state["legend"]) >= 4 and state["legend"][-3:] in (borders[locale], borders["en"]), state["legend"]
    # no tile server configured: no tile layer at all
    assert state["tiles"] == 0
    assert page.evaluate("window.__csp") == []
    return state


def test_every_map_draws_ningxia_with_a_title_a_legend_and_fits_its_content(page, site_url, demo, offline, db):
    # A producer's market map: markers at county seats, the map fitted to them.
    log_in(page, site_url, "producer@example.com", DEMO_PASSWORD)
    page.goto(f"{site_url}/listings/demand")
    state = assert_stands_alone(page, "listings-map")
    assert state["fits"] is True and state["filled"] >= 0.5, state
    assert "1" in state["title"] and len(state["legend"]) == 4

    # English page: the gazetteer's English names.
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    state = assert_stands_alone(page, "listings-map", locale="en")
    assert "Lingwu City" in state["places"] and "Yinchuan" in state["places"]
    page.click("#lang-zh")

    # A filter that finds nothing: an empty map still shows the whole of Ningxia.
    page.goto(f"{site_url}/listings/demand?min_tonnes=4999999")
    state = assert_stands_alone(page, "listings-map")
    assert state["fits"] is None
    south, west, north, east = state["view"]
    assert south <= 35.3 and north >= 39.3 and west <= 104.3 and east >= 107.6, state["view"]

    # The operator's round map: flows and markers, zoomed in on them (not the whole region).
    log_out(page)
    log_in(page, site_url, "admin@example.com", DEMO_PASSWORD)
    round_ = db.session.scalar(select(MatchRound).order_by(MatchRound.id.desc()))
    page.goto(f"{site_url}/match/rounds/{round_.id}")
    state = assert_stands_alone(page, "round-map")
    assert state["fits"] is True and state["filled"] >= 0.5, state
    assert f"#{round_.id}" in state["title"]
    expect(page.locator("#round-map path.leaflet-interactive").first).to_be_attached()

    # The regulator's flows map, with its title and legend.
    log_out(page)
    log_in(page, site_url, "regulator@example.com", DEMO_PASSWORD)
    page.goto(f"{site_url}/subsidies/dashboard")
    state = assert_stands_alone(page, "flows-map")
    assert state["fits"] is True and state["filled"] >= 0.5, state
    expect(page.locator("#flows-map")).not_to_have_attribute("data-map-ready", "0")
    assert str(today_cst().year) in state["title"] and len(state["legend"]) == 6


def test_the_site_form_map_sets_and_follows_the_coordinates(page, site_url, make_user, offline, db):
    producer = make_user(kind="producer")
    log_in(page, site_url, producer.email, PASSWORD)
    page.goto(f"{site_url}/org/sites/new")
    picker = page.locator("#site-map")
    expect(picker).to_have_attribute("data-map-ready", "picker")
    state = assert_stands_alone(page, "site-map")
    assert page.locator("#lat").input_value() == "" and page.evaluate(MARKER) is None

    # A click on the map fills both inputs with that point, and the marker stands there.
    box = picker.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.55)
    lat, lon = float(page.locator("#lat").input_value()), float(page.locator("#lon").input_value())
    south, west, north, east = state["view"]
    assert south < lat < north and west < lon < east
    expect(page.locator("#site-map .leaflet-marker-draggable")).to_have_count(1)
    clicked = page.evaluate(MARKER)
    assert clicked == pytest.approx([lat, lon], abs=1e-5)

    # Picking a place from the gazetteer moves the marker there too.
    page.select_option("#place", "Yanchi")
    assert page.evaluate(MARKER) == [float(gazetteer.COUNTIES["Yanchi"].lat), float(gazetteer.COUNTIES["Yanchi"].lon)]

    # Typing coordinates moves the marker; the form saves what the inputs say.
    page.fill("#lat", "37.5200")
    page.fill("#lon", "105.1800")
    moved = page.evaluate(MARKER)
    assert moved == [37.52, 105.18]
    # Nonsense typed in: the marker stays where it was, the server refuses the text as it always did.
    page.fill("#lat", "north")
    assert page.evaluate(MARKER) == [37.52, 105.18]
    page.fill("#lat", "37.5200")

    page.fill("#name", "中卫灰场")
    page.select_option("#county", "Shapotou")
    page.click("#site-form input[type=submit]")
    expect(page.locator("#sites")).to_contain_text("中卫灰场")
    site = db.session.scalar(select(Site).where(Site.name == "中卫灰场"))
    assert (site.lat, site.lon) == (Decimal("37.52"), Decimal("105.18"))

    # The edit form opens with the marker on the saved site, zoomed in.
    page.goto(f"{site_url}/org/sites/{site.id}/edit")
    expect(page.locator("#site-map")).to_have_attribute("data-map-ready", "picker")
    state = page.evaluate(MAP_STATE, "site-map")
    assert state["zoom"] == 11 and state["fits"] is True
