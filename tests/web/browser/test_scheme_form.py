"""In a real browser: a regulator edits the subsidy scheme's bands as rows, adding and removing them with the
page's own script (no inline code, under the strict CSP), and publishes the new version."""
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import SubsidyScheme
from tests.web.browser.test_onboarding import log_in
from tests.web.conftest import PASSWORD


def test_bands_are_added_removed_and_published(page, site_url, make_user, db):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    regulator = make_user(kind="regulator")
    log_in(page, site_url, regulator.email, PASSWORD)
    page.goto(f"{site_url}/subsidies/scheme")
    rows = page.locator("#band-rows tbody tr.band-row")
    expect(rows).to_have_count(4)  # the seeded scheme: 0, 50,000, 100,000, 200,000 t
    page.click("#add-band")
    expect(rows).to_have_count(5)
    expect(rows.nth(4).locator("input").first).to_be_focused()
    expect(rows.nth(4).locator("input").first).to_have_value("")
    rows.nth(4).locator("input").nth(0).fill("300000")
    rows.nth(4).locator("input").nth(1).fill("35")
    rows.nth(1).locator("button.remove-band").click()  # drop the 50,000 t band
    expect(rows).to_have_count(4)
    page.fill("#effective_from", "2027-01-01")
    page.click("#scheme-form input[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    scheme = db.session.scalar(select(SubsidyScheme).order_by(SubsidyScheme.version.desc()).limit(1))
    assert [b["from_t"] for b in scheme.bands] == ["0.000", "100000.000", "200000.000", "300000.000"]
    assert scheme.bands[-1]["rate"] == "35.00"
    # a refused band keeps the rows as typed
    page.click("#add-band")
    page.locator("#band-rows tbody tr.band-row").last.locator("input").nth(0).fill("-5")
    page.locator("#band-rows tbody tr.band-row").last.locator("input").nth(1).fill("40")
    page.click("#scheme-form input[type=submit]")
    expect(page.locator("#bands .error")).to_be_visible()
    expect(page.locator("#band-rows tbody tr.band-row")).to_have_count(5)
    expect(page.locator("#band-rows tbody tr.band-row").last.locator("input").nth(0)).to_have_value("-5")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
