"""The gate on a phone, in a real browser (390 px wide, touch) and at a desktop's width: no page scrolls
sideways, the menu folds behind a button, and a ticket is entered and its receipt confirmed by following the
QR codes, which are read back with a QR decoder (zxing-cpp) from a screenshot of the SVG as Chromium draws it."""
import io
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import Agreement, LedgerEntry, Shipment, ShipmentStatus, User
from marketplace.services.demo import DEMO_PASSWORD
from tests.web.browser.test_onboarding import log_in
from tests.web.conftest import PASSWORD
from tests.web.deals import make_agreement

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def open_page(browser):
    """open_page(PHONE | DESKTOP) -> a page in a context of its own (its own cookies: its own login)."""
    contexts = []

    def make(settings):
        context = browser.new_context(**settings)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sideways_overflow(page) -> str:
    """'' when the page fits the window's width; otherwise how far it runs over and which elements do it."""
    return page.evaluate("""() => {
        const root = document.documentElement, over = root.scrollWidth - root.clientWidth;
        if (over <= 0) return '';
        const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1).slice(0, 5)
            .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
        return over + 'px: ' + wide.join(', ');
    }""")


def qr_text(page, svg_path: str) -> str:
    """Open a QR code's SVG, photograph it and decode it: the text a phone's camera would read."""
    import zxingcpp
    from PIL import Image

    page.goto(re.sub(r"^/", page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/", svg_path))
    shot = page.locator("svg").screenshot()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert len(results) == 1, results
    return results[0].text


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_main_pages_fit_the_screen_and_the_menu_folds_on_a_phone(open_page, site_url, demo, db, size):
    agreement = db.session.scalar(select(Agreement).order_by(Agreement.tonnes.desc()))
    producer = db.session.scalar(select(User).where(User.organisation_id == agreement.producer_org_id))
    consumer = db.session.scalar(select(User).where(User.organisation_id == agreement.consumer_org_id))
    on_its_way = db.session.scalar(select(Shipment).where(Shipment.agreement_id == agreement.id,
                                                          Shipment.status == ShipmentStatus.DISPATCHED))
    page = open_page(PHONE if size == "phone" else DESKTOP)
    page.goto(f"{site_url}/")
    assert not sideways_overflow(page), "/ (anonymous)"
    log_in(page, site_url, producer.email, DEMO_PASSWORD)
    pages = ["/", "/listings/supply", "/listings/demand", "/match/proposals/", "/match/agreements/",
             f"/match/agreements/{agreement.id}", f"/deliveries/agreements/{agreement.id}/tickets/new",
             "/deliveries/ledger", "/org/"]
    for path in pages:
        page.goto(f"{site_url}{path}")
        page.wait_for_load_state("networkidle")
        assert not sideways_overflow(page), f"{size} {path}: {sideways_overflow(page)}"

    menu, toggle = page.locator("#mainnav"), page.locator("#menu-toggle")
    if size == "phone":
        expect(toggle).to_be_visible()
        expect(menu).to_be_hidden()  # the first screen shows the page, not the menu
        toggle.click()
        expect(menu).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        assert not sideways_overflow(page)
        toggle.click()
        expect(menu).to_be_hidden()
    else:
        expect(toggle).to_be_hidden()
        expect(menu).to_be_visible()

    gate = open_page(PHONE if size == "phone" else DESKTOP)
    log_in(gate, site_url, consumer.email, DEMO_PASSWORD)
    for path in [f"/match/agreements/{agreement.id}", f"/deliveries/shipments/{on_its_way.id}/confirm"]:
        gate.goto(f"{site_url}{path}")
        assert not sideways_overflow(gate), f"{size} {path}: {sideways_overflow(gate)}"


def test_a_ticket_entered_and_confirmed_by_following_the_qr_codes(open_page, site_url, make_user, make_site, db):
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)

    # The producer's office shows the agreement's QR code; the clerk's phone scans it.
    office = open_page(DESKTOP)
    log_in(office, site_url, producer.email, PASSWORD)
    office.goto(f"{site_url}/match/agreements/{agreement.id}")
    image = office.locator("#agreement-qr img")
    expect(image).to_be_visible()
    assert office.evaluate("img => img.naturalWidth", image.element_handle()) > 0  # the CSP lets the SVG show
    ticket_url = qr_text(office, image.get_attribute("src"))
    assert ticket_url == f"{site_url}/deliveries/agreements/{agreement.id}/tickets/new"

    clerk = open_page(PHONE)
    clerk.goto(ticket_url)
    assert "/auth/login" in clerk.url  # a QR code is only a link: the form still wants a login
    log_in(clerk, site_url, producer.email, PASSWORD)
    clerk.goto(ticket_url)
    expect(clerk.locator("#gross_kg")).to_have_attribute("inputmode", "numeric")
    assert not sideways_overflow(clerk)
    clerk.fill("#ticket_no", "QR-0001")
    clerk.fill("#truck_plate", "宁A88888")
    clerk.fill("#gross_kg", "45000")
    clerk.fill("#tare_kg", "15000")
    clerk.fill("#moisture_pct", "0.7")
    clerk.click("#record-ticket")
    expect(clerk.locator(".flash-success")).to_contain_text("QR-0001")
    expect(clerk.locator("#shipped-kg")).to_contain_text("30,000")
    shipment = db.session.scalar(select(Shipment).where(Shipment.ticket_no == "QR-0001"))
    assert shipment.net_kg == 30_000

    # The utiliser's office shows the ticket's QR code; the gate's phone scans it and confirms the receipt.
    desk = open_page(DESKTOP)
    log_in(desk, site_url, consumer.email, PASSWORD)
    desk.goto(f"{site_url}/match/agreements/{agreement.id}")
    confirm_url = qr_text(desk, desk.locator(f"#qr-{shipment.id}").get_attribute("href"))
    assert confirm_url == f"{site_url}/deliveries/shipments/{shipment.id}/confirm"

    gate = open_page(PHONE)
    log_in(gate, site_url, consumer.email, PASSWORD)
    gate.goto(confirm_url)
    received = gate.locator("#received_net_kg")
    expect(received).to_have_attribute("inputmode", "numeric")
    expect(received).to_have_value("30000")
    received.fill("29950")
    gate.click("#confirm-receipt")
    expect(gate.locator(".flash-success")).to_be_visible()
    assert re.search(rf"/match/agreements/{agreement.id}$", gate.url)
    expect(gate.locator("#confirmed-kg")).to_contain_text("29,950")
    db.session.expire_all()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.shipment_id == shipment.id))
    assert entry is not None and entry.net_kg == 29_950

    # the clerk's phone cannot confirm what its own firm shipped
    clerk.goto(confirm_url)
    assert clerk.locator("#confirm-form").count() == 0
