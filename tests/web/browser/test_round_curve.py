"""In a real browser: a round run with options from its form shows them, and its page draws the marginal cost
curve with ECharts (a static script reading a JSON block), under a Content-Security-Policy nothing violates."""
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import MatchRound
from tests.web.browser.test_hostile_text import WATCH_CSP
from tests.web.browser.test_onboarding import log_in
from tests.web.conftest import PASSWORD
from tests.web.test_jobs import gypsum  # noqa: F401  (fixture: a small market)


def test_a_round_with_options_draws_its_marginal_cost_curve(page, site_url, gypsum, db):  # noqa: F811 (fixture)
    page.add_init_script(WATCH_CSP)
    log_in(page, site_url, gypsum["operator"].email, PASSWORD)
    page.goto(f"{site_url}/match/rounds/")
    page.select_option("#objective", "delivered_cost")
    page.check("#truckloads")
    page.fill("#max_partners_per_supply", "1")
    page.click("#run-round")
    expect(page.locator("#round-totals")).to_be_visible()
    expect(page.locator("#round-objective")).to_have_attribute("data-objective", "delivered_cost")
    round_ = db.session.scalars(select(MatchRound)).one()
    assert round_.truckloads and round_.max_partners_per_supply == 1 and round_.marginal_cost_curve
    expect(page.locator("#curve-chart canvas").first).to_be_attached()
    option = page.evaluate("() => window.roundCurveChart.getOption()")
    assert option["xAxis"][0]["name"] and option["yAxis"][0]["name"]  # axis titles, with their units
    points = option["series"][0]["data"]
    assert points[-1][0] == round_.tonnes_matched
    assert [float(s["cost_yuan_per_t"]) for s in round_.marginal_cost_curve] == [p[1] for p in points[1::2]]
    expect(page.locator("#curve-table tbody tr")).to_have_count(len(round_.marginal_cost_curve))
    assert page.evaluate("() => window.__csp") == []
