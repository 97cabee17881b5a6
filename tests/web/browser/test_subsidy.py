"""In a real browser: a utiliser with confirmed deliveries and a verified baseline prepares its claim and
submits it; the regulator drills down to the weighbridge tickets and approves; the dashboard draws its charts."""
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import SubsidyClaim
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.conftest import PASSWORD
from tests.web.deals import make_agreement
from tests.web.test_subsidies import YEAR, baseline, deliver


def test_claim_to_approval(page, site_url, make_user, make_site, db):
    deal = make_agreement(make_user, make_site, tonnes=500)
    deliver(db, deal, [30_000, 30_000, 31_000])
    _, producer, consumer = deal
    baseline(db, consumer, "41")
    regulator = make_user(kind="regulator")

    log_in(page, site_url, consumer.email, PASSWORD)
    page.goto(f"{site_url}/subsidies/")
    page.fill("#claim-form #year", str(YEAR))
    page.click("#claim-form input[type=submit]")
    expect(page.locator("#claim-amount")).to_contain_text("500.00")  # (91 - 41) t x 10 yuan
    page.click("#submit-claim")
    expect(page.locator(".flash-success")).to_be_visible()
    log_out(page)

    log_in(page, site_url, regulator.email, PASSWORD)
    page.goto(f"{site_url}/subsidies/")
    claim = db.session.scalar(select(SubsidyClaim))
    page.click(f"a[href='/subsidies/claims/{claim.id}']")
    expect(page.locator("#claim-entries tbody tr")).to_have_count(3)
    expect(page.locator("#claim-entries")).to_contain_text(producer.organisation.name)
    page.click("#approve-claim")
    expect(page.locator(".flash-success")).to_be_visible()
    page.click("#paid-claim")
    expect(page.locator("#claim-events tbody tr")).to_have_count(4)

    page.goto(f"{site_url}/subsidies/dashboard")
    expect(page.locator("#chart-months canvas")).to_have_count(1)
    expect(page.locator("#chart-cities canvas")).to_have_count(1)
    expect(page.locator("#table-claims")).to_contain_text("500.00")
    log_out(page)

    log_in(page, site_url, consumer.email, PASSWORD)
    page.goto(f"{site_url}/subsidies/claims/{claim.id}")
    db.session.refresh(claim)
    assert claim.status == "paid"
    expect(page.locator("#claim-status")).not_to_contain_text("draft")
