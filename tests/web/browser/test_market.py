"""In a real browser: a producer posts a listing, a consumer finds it by distance, and the map shows it
without giving away the producer's site."""
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.clock import today_cst
from marketplace.models import ListingStatus, SupplyListing
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.conftest import PASSWORD


def test_producer_posts_consumer_finds_it_by_distance_on_the_map(page, site_url, make_user, make_site, db):
    producer = make_user(kind="producer")
    make_site(producer.organisation, name="恒源灰库", lat="38.0575", lon="106.6914", county="Lingwu", park="Ningdong")
    consumer = make_user(kind="consumer")
    make_site(consumer.organisation, name="灵武水泥厂", lat="38.094", lon="106.335", county="Lingwu")
    far = make_user(kind="consumer")
    make_site(far.organisation, name="固原砖厂", lat="36.00", lon="106.28", county="Yuanzhou")

    # The producer posts fly ash, grade II, with its measured loss on ignition.
    log_in(page, site_url, producer.email, PASSWORD)
    page.goto(f"{site_url}/listings/supply/new")
    page.select_option("#material", "fly_ash")
    expect(page.locator("#q-fly_ash-loi")).to_be_visible()
    expect(page.locator("#q-gbf_slag-specific_surface")).to_be_hidden()
    page.select_option("#grade", "II")
    page.fill("#tonnes", "2400")
    page.fill("#period_start", today_cst().isoformat())
    page.fill("#period_end", (today_cst() + timedelta(days=60)).isoformat())
    page.fill("#price", "36.50")
    page.fill("#max_haul_km", "200")
    page.fill("#q-fly_ash-loi", "6.1")
    page.fill("#notes", "<b>仅限白天装车</b>")
    page.click("#publish")
    expect(page.locator("#listing-facts")).to_contain_text("2,400")
    expect(page.locator(".notes")).to_have_text("<b>仅限白天装车</b>")  # shown as text, not markup
    listing = db.session.scalar(select(SupplyListing))
    assert listing.status == ListingStatus.OPEN and listing.quality == {"loi": "6.1"}
    log_out(page)

    # A cement works 31 km away looks for fly ash within 50 km of its site.
    log_in(page, site_url, consumer.email, PASSWORD)
    page.goto(f"{site_url}/listings/supply")
    page.select_option("#f-material", "fly_ash")
    page.select_option("#f-near", label="灵武水泥厂")
    page.fill("#f-within", "50")
    page.click("#apply-filters")
    row = page.locator("#results tbody tr").first
    expect(row).to_contain_text("2,400")
    expect(row).to_contain_text("36.50")
    distance = float(row.locator("td").nth(7).inner_text())
    assert 28 < distance < 35
    expect(page.locator("#results")).not_to_contain_text("恒源灰库")

    # The map, drawn in the page by our script: one marker, at the county seat, not the site.
    map_element = page.locator("#listings-map")
    expect(map_element).to_have_attribute("data-map-ready", "1")
    assert page.evaluate("typeof window.L") == "object"
    expect(map_element.locator("path.leaflet-interactive")).to_have_count(1)
    layers = "document.getElementById('listings-map').mapLayers.getLayers()"
    lat_lngs = page.evaluate(f"{layers}.map(m => [m.getLatLng().lat, m.getLatLng().lng])")
    assert lat_lngs == [[38.094, 106.335]]  # Lingwu's seat, not 38.0575, 106.6914
    # the map is fitted to what it shows (a single marker: zoomed in on it, not the whole region)
    assert page.evaluate("(() => { const e = document.getElementById('listings-map');"
                         " return [e.leafletMap.getBounds().contains(e.mapLayers.getBounds()),"
                         " e.leafletMap.getZoom()]; })()") == [True, 11]
    map_element.locator("path.leaflet-interactive").click()
    popup = map_element.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("2,400")
    expect(popup).not_to_contain_text("恒源灰库")
    popup.locator("a").click()  # the popup's link opens the listing
    expect(page.locator("#listing-facts")).to_contain_text("2,400")
    page.go_back()

    # Within 10 km there is nothing.
    page.fill("#f-within", "10")
    page.click("#apply-filters")
    expect(page.locator("#results tbody")).not_to_contain_text("2,400")
