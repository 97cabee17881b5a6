"""In a real browser (issue #14): the operator plans a seasonal round over twelve months, the producer and the
utiliser accept its proposal, and the agreement shows its schedule by month; the regulator's seasonal desk draws
its charts under the strict CSP."""
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import Agreement, Proposal
from tests.web.browser.test_onboarding import log_in, log_out
from tests.web.conftest import PASSWORD
from tests.web.test_seasonal_rounds import market  # noqa: F401  (fixture: a plant with a yard, a cement works)


def test_from_a_seasonal_round_to_an_agreement_s_schedule(page, site_url, market, make_user, db):  # noqa: F811
    operator = make_user(kind="operator")
    log_in(page, site_url, operator.email, PASSWORD)
    page.goto(f"{site_url}/match/rounds/")
    page.fill("#horizon_start", "2027-01")
    page.fill("#horizon_months", "12")
    page.click("#run-seasonal-round")
    expect(page.locator("#round-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#round-seasons")).to_contain_text("2027-12")
    expect(page.locator("#storage-difference")).to_be_visible()  # the yard moves winter ash to the spring
    proposal = db.session.scalar(select(Proposal))
    schedule = page.locator(f"#schedule-{proposal.id}")
    expect(schedule).to_contain_text("2027-04")
    expect(schedule).not_to_contain_text("2027-01:")  # the kiln is stopped in January
    log_out(page)

    for user in (market["producer"], market["consumer"]):
        log_in(page, site_url, user.email, PASSWORD)
        page.click("#nav-proposals")
        expect(page.locator(f"#schedule-{proposal.id}")).to_be_visible()
        page.click(f"#accept-{proposal.id}")  # opens the terms: what accepting commits to
        page.click("#confirm-accept")
        expect(page.locator(".flash-success")).to_be_visible()
        if user is market["producer"]:
            log_out(page)

    # the utiliser, who accepted second, lands on the agreement: planned against delivered, month by month
    agreement = db.session.scalar(select(Agreement).where(Agreement.proposal_id == proposal.id))
    assert agreement is not None
    table = page.locator("#agreement-schedule")
    expect(table).to_be_visible()
    first = proposal.schedule[0]
    row = page.locator(f"#month-{first.month:%Y-%m}")
    expect(row).to_contain_text(f"{first.tonnes:,}")
    expect(row).to_contain_text("0.000")
    log_out(page)

    regulator = make_user(kind="regulator")
    log_in(page, site_url, regulator.email, PASSWORD)
    page.goto(f"{site_url}/seasonal/desk?year=2027")
    for chart in ("#chart-seasonal-months", "#chart-seasonal-rate", "#chart-seasonal-stock"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)  # drawn by the static script from the JSON
    expect(page.locator("#kpi-planned")).to_contain_text(f"{agreement.tonnes:,}")
