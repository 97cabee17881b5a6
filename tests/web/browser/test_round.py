"""In a real browser, on the demo market: the operator runs a round, a producer and a consumer accept a
proposal, and both see the agreement."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import Agreement, Proposal, User
from marketplace.services.demo import DEMO_PASSWORD
from tests.web.browser.test_onboarding import log_in, log_out


def test_operator_runs_a_round_and_both_parties_accept(page, site_url, runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0

    log_in(page, site_url, "admin@example.com", DEMO_PASSWORD)
    page.goto(f"{site_url}/match/rounds/")
    page.click("#run-round")
    expect(page.locator("#round-totals")).to_be_visible()
    expect(page.locator("#proposals tbody tr").first).to_be_visible()
    expect(page.locator("#round-map")).to_have_attribute("data-map-ready", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#round-map path.leaflet-interactive").first).to_be_attached()
    log_out(page)

    proposal = db.session.scalar(select(Proposal).order_by(Proposal.tonnes.desc()))
    producer = db.session.scalar(select(User).where(User.organisation_id == proposal.producer_org_id))
    consumer = db.session.scalar(select(User).where(User.organisation_id == proposal.consumer_org_id))

    for user in (producer, consumer):
        log_in(page, site_url, user.email, DEMO_PASSWORD)
        expect(page.locator("#pending-count")).to_be_visible()
        page.click("#nav-proposals")
        page.click(f"#accept-{proposal.id}")
        expect(page.locator(".flash-success")).to_be_visible()
        if user is producer:
            log_out(page)

    # The consumer, who accepted second, lands on the agreement and sees the producer's name.
    agreement = db.session.scalar(select(Agreement).where(Agreement.proposal_id == proposal.id))
    assert agreement is not None and agreement.tonnes == proposal.tonnes
    expect(page.locator("#agreement")).to_contain_text(producer.organisation.name)
    log_out(page)
    log_in(page, site_url, producer.email, DEMO_PASSWORD)
    page.goto(f"{site_url}/match/agreements/")
    page.click(f"a[href='/match/agreements/{agreement.id}']")
    expect(page.locator("#agreement")).to_contain_text(consumer.organisation.name)
    expect(page.locator("#agreement")).to_contain_text(f"{agreement.tonnes:,}")
