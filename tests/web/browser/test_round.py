"""In a real browser, on the demo market: the operator runs a round, a producer and a consumer accept a
proposal, and both see the agreement."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import Agreement, Proposal, User
from marketplace.services.demo import DEMO_PASSWORD
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.test_jobs import gypsum, real_queue  # noqa: F401  (fixtures: the real queue, a small market)


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
        page.click(f"#accept-{proposal.id}")  # opens the terms: what accepting commits to
        expect(page.locator("#commitment")).to_contain_text(f"{proposal.tonnes:,}")
        page.click("#confirm-accept")
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


def test_the_round_page_follows_a_round_through_the_real_queue(page, site_url, real_queue, gypsum, db):  # noqa: F811 (fixtures)
    """The round page shows "queued" while no worker runs, then its script (no inline code: the CSP refuses
    it) polls the status and shows the results once a worker has run the round."""
    from tests.web.conftest import PASSWORD

    log_in(page, site_url, gypsum["operator"].email, PASSWORD)
    page.goto(f"{site_url}/match/rounds/")
    page.click("#run-round")
    expect(page.locator("#round-status")).to_have_attribute("data-status", "queued")
    expect(page.locator("#cancel-round")).to_be_visible()
    expect(page.locator("#proposals")).to_have_count(0)
    consumer = real_queue.huey.create_consumer(workers=1, periodic=False, initial_delay=0.05, max_delay=0.2)
    consumer.scheduler.start()
    for _, thread in consumer.worker_threads:
        thread.start()
    try:
        expect(page.locator("#round-status")).to_have_attribute("data-status", "done", timeout=30_000)
        expect(page.locator("#proposals tbody tr").first).to_be_visible()
        expect(page.locator("#round-totals")).to_contain_text("400")
        expect(page.locator("#cancel-round")).to_have_count(0)
    finally:
        consumer.stop(graceful=True)


def test_a_queued_round_is_cancelled_from_its_page(page, site_url, real_queue, gypsum, db):  # noqa: F811 (fixtures)
    from marketplace.models import MatchRound, RoundStatus
    from tests.web.conftest import PASSWORD

    log_in(page, site_url, gypsum["operator"].email, PASSWORD)
    page.goto(f"{site_url}/match/rounds/")
    page.click("#run-round")
    page.click("#cancel-round")
    expect(page.locator("#round-status")).to_have_attribute("data-status", "cancelled")
    db.session.rollback()
    assert db.session.scalar(select(MatchRound.status)) == RoundStatus.CANCELLED
