"""In a real browser, at a phone's width and a desktop's: the utiliser's home lists the ticket to confirm and
the menu counts the unread notifications; following the item leads to the ticket; marking all read clears the
count; the chart draws (ECharts under the strict CSP) and the page does not overflow the phone's width."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.clock import utcnow
from marketplace.services import deliveries
from tests.web.browser.test_onboarding import log_in
from tests.web.conftest import PASSWORD
from tests.web.deals import make_agreement


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)], ids=["phone", "desktop"])
def test_the_utilisers_home_lists_the_ticket_and_counts_the_unread(page, site_url, make_user, make_site, db,
                                                                   width, height):
    agreement, producer, consumer = make_agreement(make_user, make_site)
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "PH-0001", "truck_plate": "宁A12345", "dispatched_at": utcnow() - timedelta(hours=1),
        "gross_kg": 40_000, "tare_kg": 15_000})
    db.session.commit()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a resource that fails shows as a console error without its address: the responses say which (no favicon
    # yet: the `labels` brief adds it)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource"
            not in m.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    page.set_viewport_size({"width": width, "height": height})

    log_in(page, site_url, consumer.email, PASSWORD)
    page.goto(f"{site_url}/")
    tickets = page.locator("#todo-tickets")
    expect(tickets).to_be_visible()
    expect(tickets).to_contain_text("PH-0001")
    expect(tickets.locator(".todo-count")).to_have_text("1")
    expect(page.locator("#unread-count")).to_have_text("3")  # new proposals, the agreement, the ticket
    expect(page.locator("#home-chart canvas")).to_have_count(1)
    for part in ("#todo", "#todo-tickets", "#figures", "#home-chart"):  # the home's own parts fit the screen
        box = page.locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (part, box)
    assert not errors, errors

    tickets.locator("a", has_text="PH-0001").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/match/agreements/{agreement.id}#shipment-{shipment.id}")
    expect(page.locator(f"#shipment-{shipment.id}")).to_be_visible()

    page.goto(f"{site_url}/notifications/")
    expect(page.locator("#notifications li.unread")).to_have_count(3)
    page.click("#mark-all-read button")
    page.wait_for_load_state()
    expect(page.locator("#unread-count")).to_have_count(0)
    expect(page.locator("#notifications li.read")).to_have_count(3)
