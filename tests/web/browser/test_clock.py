"""In a real browser: the producer reads the agreement's time in China Standard Time, types a ticket before it
(refused, nothing typed is lost), then 30 minutes after it (accepted)."""
import re
from datetime import datetime, timedelta

from playwright.sync_api import expect

from marketplace.clock import utcnow
from tests.web.browser.test_onboarding import log_in
from tests.web.conftest import PASSWORD
from tests.web.deals import make_agreement


def test_a_ticket_typed_in_the_time_the_page_shows(page, site_url, make_user, make_site, db):
    agreement, producer, _ = make_agreement(make_user, make_site, tonnes=100)
    agreement.created_at = (utcnow() - timedelta(days=3)).replace(hour=20, minute=30, second=0, microsecond=0)
    db.session.commit()

    log_in(page, site_url, producer.email, PASSWORD)
    page.goto(f"{site_url}/match/agreements/{agreement.id}")
    agreed = re.search(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC\+8", page.locator("#agreement").inner_text())
    assert agreed and agreed.group(1).endswith("04:30")
    shown = datetime.strptime(agreed.group(1), "%Y-%m-%d %H:%M")

    before = (shown - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#ticket_no", "GB-0042")
    page.fill("#truck_plate", "宁A66666")
    page.fill("#dispatched_at", before)
    page.fill("#gross_kg", "45200")
    page.fill("#tare_kg", "15100")
    page.click("#shipment-form input[type=submit]")
    expect(page.locator("#shipment-form .has-error #dispatched_at")).to_be_visible()
    for selector, value in (("#ticket_no", "GB-0042"), ("#truck_plate", "宁A66666"), ("#dispatched_at", before),
                            ("#gross_kg", "45200"), ("#tare_kg", "15100")):
        expect(page.locator(selector)).to_have_value(value)

    page.fill("#dispatched_at", (shown + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.click("#shipment-form input[type=submit]")
    expect(page.locator("#shipments")).to_contain_text("GB-0042")
    expect(page.locator("#shipments")).to_contain_text(f"{shown + timedelta(minutes=30):%Y-%m-%d %H:%M} UTC+8")
