"""A new organisation's first steps, in a real browser: register, get verified, log in, add a site by
picking a place, switch the language."""
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.models import Organisation, Site, VerificationStatus
from tests.web.conftest import PASSWORD

CODE = "91350100M000100Y43"


def log_in(page, url, email, password):
    """Log in through the form; a user with a second factor (staff) types the app's code too."""
    page.goto(f"{url}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    if page.url.endswith("/auth/login/code"):
        from marketplace.extensions import db
        from marketplace.models import User
        from tests.web.conftest import totp_code

        page.fill("input[name=code]", totp_code(db.session.scalar(select(User).where(User.email == email))))
        page.click("#totp-form input[type=submit]")
        page.wait_for_load_state()


def log_out(page):
    page.click("header form button[type=submit]")


def test_register_verify_login_add_site_switch_language(page, site_url, make_user, db):
    operator = make_user(kind="operator")

    # 1. A brick maker registers (the page is in Chinese by default).
    page.goto(f"{site_url}/auth/register")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.fill("#org_name", "宁夏永宁新型墙材有限公司")
    page.fill("#credit_code", CODE)
    page.select_option("#kind", "consumer")
    page.fill("#name", "王五")
    page.fill("#email", "wang@example.org")
    page.fill("#password", "brick-maker-2026")
    page.fill("#confirm", "brick-maker-2026")
    page.click("input[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("dd.status-pending")).to_be_visible()
    log_out(page)

    # 2. The operator verifies it.
    log_in(page, site_url, operator.email, PASSWORD)
    page.goto(f"{site_url}/admin/organisations?status=pending")
    page.click("text=宁夏永宁新型墙材有限公司")
    page.select_option("#decision", "verified")
    page.click("#verify-form input[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    log_out(page)
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == CODE))
    assert org.verification == VerificationStatus.VERIFIED

    # 3. The brick maker logs in and adds a site by picking a place: the coordinates fill themselves in.
    log_in(page, site_url, "wang@example.org", "brick-maker-2026")
    page.goto(f"{site_url}/org/")
    expect(page.locator("dd.status-verified")).to_be_visible()
    page.click("#add-site")
    page.fill("#name", "永宁砖厂")
    page.select_option("#place", "Yongning")
    expect(page.locator("#lat")).to_have_value("38.2770")
    expect(page.locator("#lon")).to_have_value("106.2530")
    expect(page.locator("#county")).to_have_value("Yongning")
    page.click("#site-form input[type=submit]")
    expect(page.locator("#sites")).to_contain_text("永宁砖厂")
    expect(page.locator("#sites")).to_contain_text("永宁县")
    site = db.session.scalar(select(Site).where(Site.name == "永宁砖厂"))
    assert site.organisation_id == org.id and site.lat == Decimal("38.277")

    # 4. The language switch.
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#sites")).to_contain_text("Yongning County")
    expect(page.locator("h2").first).to_have_text("Sites")
    page.click("#lang-zh")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
