"""In a real browser: the producer records a weighbridge ticket, the consumer confirms it, and the regulator
sees it in the ledger (verified) and in the utilisation figures."""
from datetime import datetime, timedelta

from playwright.sync_api import expect

from marketplace.services.generation import CST
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.conftest import PASSWORD
from tests.web.deals import make_agreement


def test_ticket_receipt_ledger_and_utilisation(page, site_url, make_user, make_site, db):
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    regulator = make_user(kind="regulator")

    log_in(page, site_url, producer.email, PASSWORD)
    page.goto(f"{site_url}/match/agreements/{agreement.id}")
    page.fill("#ticket_no", "GB-0001")
    page.fill("#truck_plate", "宁A66666")
    when = (datetime.now(CST) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#dispatched_at", when)
    page.fill("#gross_kg", "45200")
    page.fill("#tare_kg", "15100")
    page.fill("#moisture_pct", "0.8")
    page.click("#shipment-form input[type=submit]")
    expect(page.locator("#shipments")).to_contain_text("GB-0001")
    expect(page.locator("#shipments")).to_contain_text("30,100")
    log_out(page)

    log_in(page, site_url, consumer.email, PASSWORD)
    page.goto(f"{site_url}/match/agreements/{agreement.id}")
    received = page.locator("input[name=received_net_kg]").first
    expect(received).to_have_value("30100")
    received.fill("29000")  # 3.7 % less than the ticket: flagged, not blocked
    page.locator(".confirm-form button").first.click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#shipments .flag")).to_be_visible()
    log_out(page)

    log_in(page, site_url, regulator.email, PASSWORD)
    page.goto(f"{site_url}/deliveries/ledger")
    expect(page.locator("#ledger")).to_contain_text("GB-0001")
    expect(page.locator("#ledger")).to_contain_text("29.000")
    page.click("#verify-ledger")
    expect(page.locator("#chain-ok")).to_be_visible()
    page.goto(f"{site_url}/deliveries/utilisation?group_by=organisation")
    expect(page.locator("#utilisation")).to_contain_text(producer.organisation.name)
    expect(page.locator("#utilisation")).to_contain_text("29.000")
