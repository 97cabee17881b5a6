"""In a real browser: script payloads typed into every free-text field a participant controls stay text on
every page and map, for each party and for staff, under a Content-Security-Policy that nothing violates."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.clock import today_cst, utcnow
from marketplace.models import Agreement
from marketplace.services import deliveries, listings, proposals, rounds, subsidies, tokens
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.conftest import PASSWORD

#: One string with every kind of payload: a template-literal hole, a backtick break-out, a closed script
#: element and an HTML event handler. Any of them running opens a dialog.
PAYLOAD = "${alert(1)}`;alert(4);`</script><script>alert(2)</script><img src=x onerror=alert(3)>"
TICKET = "<img src=x onerror=alert(5)>"  # ticket numbers hold 40 characters

# Collects CSP violations of every document the page loads (an init script runs before the page's own).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""

OPEN_POPUPS = """
() => Array.from(document.querySelectorAll("[data-map-url]")).flatMap(element => {
  const texts = [];
  element.mapLayers.eachLayer(layer => {
    if (layer.getPopup()) {
      layer.openPopup(); texts.push(layer.getPopup().getElement().textContent); layer.closePopup();
    }
    if (layer.getTooltip()) {
      layer.openTooltip(); texts.push(layer.getTooltip().getElement().textContent); layer.closeTooltip();
    }
  });
  return texts;
})
"""


def tagged(tag: str) -> str:
    return f"{tag} {PAYLOAD}"


@pytest.fixture
def hostile_market(make_org, make_user, make_site, runner, db):
    """A deal between a producer and a consumer, a stranger's listing, a shipment, a baseline and a token,
    every free text of theirs a payload."""
    people = {}
    for key, kind, lat, lon, county in (("producer", "producer", "38.0575", "106.6914", "Lingwu"),
                                        ("consumer", "consumer", "38.0941", "106.3351", "Lingwu"),
                                        ("stranger", "producer", "36.0012", "106.2801", "Yuanzhou")):
        org = make_org(kind=kind, name=tagged(f"ORG-{key}"))
        user = make_user(kind=kind, org=org)
        user.name = tagged(f"USER-{key}")
        site = make_site(org, name=tagged(f"SITE-{key}"), lat=lat, lon=lon, county=county)
        people[key] = (user, site)
    (producer, psite), (consumer, csite), (stranger, ssite) = (people[k] for k in ("producer", "consumer",
                                                                                     "stranger"))
    period = {"period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)}
    supply = listings.create_listing(producer, "supply", {
        "site_id": psite.id, "material": "fly_ash", "grade": "II", "quality": {"loi": "6"}, "tonnes": 600,
        "price_yuan_per_t": "30.00", "max_haul_km": 200, "notes": tagged("NOTES-supply"), **period})
    demand = listings.create_listing(consumer, "demand", {
        "site_id": csite.id, "material": "fly_ash", "min_grade": "II", "quality_limits": {"loi": {"max": "8"}},
        "tonnes": 500, "max_delivered_price_yuan_per_t": "120", "max_haul_km": 200,
        "notes": tagged("NOTES-demand"), **period})
    far = listings.create_listing(stranger, "supply", {
        "site_id": ssite.id, "material": "fly_ash", "grade": "II", "quality": {"loi": "6"}, "tonnes": 900,
        "price_yuan_per_t": "10.00", "max_haul_km": 5, "notes": tagged("NOTES-stranger"), **period})
    operator, regulator = make_user(kind="operator"), make_user(kind="regulator")
    db.session.commit()
    round_ = rounds.start_round(operator)
    db.session.commit()
    proposal = round_.proposals[0]
    assert {proposal.supply_listing_id, proposal.demand_listing_id} == {supply.id, demand.id}
    proposals.decide(producer, proposal.id, "accept")
    proposals.decide(consumer, proposal.id, "accept")
    db.session.commit()
    agreement = db.session.scalar(select(Agreement).where(Agreement.proposal_id == proposal.id))
    agreement_id = agreement.id
    shipment = deliveries.record_shipment(producer, agreement_id, {
        "ticket_no": TICKET, "truck_plate": "宁A12345", "dispatched_at": utcnow() + timedelta(minutes=1),
        "gross_kg": 49000, "tare_kg": 15000}, now=utcnow() + timedelta(minutes=2))
    deliveries.confirm_shipment(consumer, shipment.id, 34000)
    base_year = subsidies.scheme_in_force(today_cst().year).base_year
    subsidies.declare_baseline(consumer, base_year, "1000", tagged("EVIDENCE"))
    tokens.create_token(producer, "TOKEN <img src=x onerror=alert(6)>")
    subsidies.submit_loan_project(producer, tagged("LOAN"), today_cst().year,
                                  str(subsidies.scheme_in_force(today_cst().year).loan_min_yuan))
    db.session.commit()
    return {"producer": producer, "consumer": consumer, "operator": operator, "regulator": regulator,
            "supply": supply, "demand": demand, "far": far, "round": round_, "agreement": agreement_id}


def visit(page, url):
    """Load a page, wait for its maps, open every popup and tooltip; their texts and the page's text."""
    response = page.goto(url)
    assert response.status == 200, url
    for element in page.locator("[data-map-url]").all():
        expect(element).to_have_attribute("data-map-ready", re.compile(r"^\d+$"))
    return [*page.evaluate(OPEN_POPUPS), page.locator("main").inner_text()]


def test_payloads_stay_text_for_every_party_and_staff(page, site_url, hostile_market):
    m = hostile_market
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH_CSP)
    violations = {}

    def tour(user, urls):
        log_in(page, site_url, user.email, PASSWORD)
        texts = {}
        for path in urls:
            texts[path] = visit(page, site_url + path)
            found = page.evaluate("window.__csp")
            if found:
                violations[path] = found
        log_out(page)
        return texts

    common = ["/", "/listings/supply", "/listings/demand", "/match/proposals/", "/match/agreements/",
              f"/match/agreements/{m['agreement']}", f"/listings/supply/{m['supply'].id}",
              f"/listings/supply/{m['far'].id}", "/deliveries/ledger",
              "/subsidies/"]
    party = [*common, "/listings/mine", "/org/", "/org/users", "/auth/tokens", "/auth/account"]
    own_demand = f"/listings/demand/{m['demand'].id}"  # fully matched: only its owner and staff open it
    staff = [*common, own_demand, f"/match/rounds/{m['round'].id}", "/match/rounds/", "/admin/organisations",
             f"/admin/organisations/{m['producer'].organisation_id}",
             f"/admin/organisations/{m['consumer'].organisation_id}", "/subsidies/dashboard",
             "/deliveries/utilisation"]

    seen = {"producer": tour(m["producer"], party), "consumer": tour(m["consumer"], [*party, own_demand]),
            "regulator": tour(m["regulator"], staff), "operator": tour(m["operator"], staff)}

    assert dialogs == []
    assert violations == {}
    # Pages show every payload as the text that was typed.
    for role, path, tag in (("producer", "/org/users", "USER-producer"), ("producer", "/org/", "SITE-producer"),
                            ("consumer", "/subsidies/", "EVIDENCE"), ("producer", "/subsidies/", "LOAN"),
                            ("regulator", f"/admin/organisations/{m['consumer'].organisation_id}", "ORG-consumer"),
                            ("operator", "/subsidies/dashboard", "ORG-producer")):
        assert tagged(tag) in seen[role][path][-1], (role, path, tag)
    assert TICKET in seen["consumer"]["/deliveries/ledger"][-1]
    assert "TOKEN <img src=x onerror=alert(6)>" in seen["producer"]["/auth/tokens"][-1]
    # The payloads arrive as text where the viewer may see them ...
    consumer_supply = " ".join(seen["consumer"]["/listings/supply"])
    assert tagged("NOTES-supply") in consumer_supply and tagged("SITE-producer") in consumer_supply
    assert tagged("ORG-producer") in consumer_supply  # its counterparty since the agreement
    # ... and not where it may not: the stranger's listing stays nameless for the consumer.
    assert tagged("NOTES-stranger") not in consumer_supply and tagged("ORG-stranger") not in consumer_supply
    for role in ("regulator", "operator"):
        supply_popups = " ".join(seen[role]["/listings/supply"])
        assert tagged("NOTES-stranger") in supply_popups and tagged("SITE-stranger") in supply_popups
        round_popups = " ".join(seen[role][f"/match/rounds/{m['round'].id}"])
        assert tagged("ORG-producer") in round_popups and tagged("ORG-consumer") in round_popups
        assert any("t" in text for text in seen[role]["/subsidies/dashboard"])  # the flow's tooltip


def test_the_policy_blocks_injected_code_and_the_dashboard_still_draws(page, site_url, hostile_market):
    """The listener above can see a violation, and ECharts needs no eval or inline style under the policy."""
    m = hostile_market
    page.add_init_script(WATCH_CSP)
    log_in(page, site_url, m["regulator"].email, PASSWORD)
    visit(page, f"{site_url}/subsidies/dashboard")
    assert page.evaluate("window.dashboardCharts.length") == 2
    expect(page.locator("#chart-months canvas")).to_have_count(1)
    box = page.locator("#chart-months").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the chart's tooltip
    expect(page.locator("#flows-map path.leaflet-interactive")).to_have_count(3)  # a flow, its two ends
    page.wait_for_timeout(300)
    assert page.evaluate("window.__csp") == []
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.__ran = 1";
                             document.body.appendChild(s); }""")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
