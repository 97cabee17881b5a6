"""Names and numbers: every code shown as its name in the page's language, numbers in the locale's format,
exports that open properly, and the small defects of issue #13."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.models import User
from tests.web.conftest import login
from tests.web.test_get_never_writes import ROLES, _ids, _urls
from tests.web.test_get_never_writes import demo as _walk_demo  # noqa: F401  (the walk's market, as a fixture)

#: Codes and spellings a Chinese page must never show as text.
KNOWN_CODES = re.compile(r"fly_ash|carbide_slag|fgd_gypsum|gasification_slag|coal_gangue|gangue_power|%%|"
                         r"eligible_kg|\bNone\b|Yinchuan|Lingwu|Shizuishan|Wuzhong|Zhongwei|Guyuan|Ningdong|"
                         r"Huinong|Dawukou|Qingtongxia")


class VisibleText(HTMLParser):
    """The text a reader sees: no scripts, styles or attributes, and no `<code class="machine">` (a code shown
    on purpose, as the materials catalogue gives the codes that imports and the API use)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style", "template") or (tag == "code" and ("class", "machine") in attrs):
            self.stack.append(tag)

    def handle_endtag(self, tag) -> None:
        if self.stack and tag == self.stack[-1]:
            self.stack.pop()

    def handle_data(self, data) -> None:
        if not self.stack:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


@pytest.mark.parametrize("role", ROLES)
def test_no_chinese_page_shows_a_code_as_any_role(role, _walk_demo, app, client, db):  # noqa: F811
    user = None if role == "anonymous" else db.session.scalar(select(User).where(User.email == role))
    if user is not None:
        from marketplace.services.demo import DEMO_PASSWORD

        login(client, user, DEMO_PASSWORD)
    client.get("/lang/zh")
    found = {}
    pages = 0
    for url in _urls(app, _ids(db, user, _walk_demo)):
        if url.startswith("/api/") or url.startswith("/lang/"):
            continue
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages += 1
        page = response.get_data(as_text=True)
        if url == "/subsidies/scheme":  # the form's excluded-uses field takes codes until `lists` gives it fields
            form = page.split('id="scheme-form"', 1)
            page = form[0] + form[1].split("</form>", 1)[1] if len(form) == 2 else page
        text = visible_text(page)
        hits = sorted(set(KNOWN_CODES.findall(text)))
        if hits:
            found[url] = hits
    assert pages > (3 if user is None else 20)
    assert found == {}, "\n".join(f"{url}: {hits}" for url, hits in found.items())


# --- the small defects of issue #13 ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def test_no_python_message_carries_a_literal_double_percent():
    """gettext formats a message only when it has variables: "Moisture (%%)" without any showed its %% (in
    templates Jinja always formats, so %% is right there)."""
    from babel.messages.extract import extract_from_file

    bad = []
    for path in (ROOT / "marketplace").rglob("*.py"):
        for _line, message, _comments, _context in extract_from_file(
                "python", str(path), keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None}):
            texts = message if isinstance(message, tuple) else (message,)
            bad += [f"{path.name}: {t}" for t in texts if t and "%%" in t and not re.search(r"%\(\w+\)", t)]
    assert bad == []


def test_the_token_page_shows_the_bearer_placeholder_as_text(logged_in):
    client, _user = logged_in(kind="producer")
    client.get("/lang/en")
    page = client.get("/auth/tokens").get_data(as_text=True)
    assert "Authorization: Bearer <token>" in visible_text(page)  # escaped, not eaten as a tag
    assert "<token>" not in page


def test_the_grade_filter_names_each_grade_with_its_material(logged_in):
    client, _user = logged_in(kind="consumer")
    client.get("/lang/en")
    page = client.get("/listings/supply").get_data(as_text=True)
    select_html = page.split('id="f-grade"')[1].split("</select>")[0]
    options = re.findall(r'<option value="([^"]+)" data-material="([^"]+)"[^>]*>([^<]*)</option>', select_html)
    assert len(options) > 5
    texts = [text for _value, _material, text in options]
    assert len(texts) == len(set(texts)), texts  # "I" and "II" of fly ash and of steel slag no longer alike
    assert "Fly ash I" in texts and "Steel slag I" in texts
    assert '<optgroup label="Fly ash">' in select_html


def test_a_site_without_place_or_coordinates_says_so_once(logged_in):
    from tests.web.conftest import post_form

    client, _user = logged_in(kind="producer")
    client.get("/lang/en")
    r = post_form(client, "/org/sites/new", {"name": "No place", "place": "", "lat": "", "lon": ""},
                  page="/org/sites/new")
    assert r.status_code in (200, 400)
    assert r.get_data(as_text=True).count("Pick a place or enter the coordinates.") == 1


def test_a_bad_credit_code_is_reported_on_the_first_submit_with_the_other_errors(client):
    from tests.web.conftest import post_form

    client.get("/lang/en")
    r = post_form(client, "/auth/register", {
        "org_name": "某水泥厂", "credit_code": "91640100MA0000001X", "kind": "consumer", "name": "张三",
        "email": "buyer@example.com", "password": "correct horse battery", "confirm": "something else"},
        page="/auth/register")
    page = r.get_data(as_text=True)
    assert "The passwords do not match." in page
    assert "This is not a valid unified social credit code" in page


def test_the_verify_form_proposes_to_verify_a_waiting_organisation(make_org, make_user, client):
    waiting = make_org(kind="producer", verified=False)
    login(client, make_user(kind="operator"))
    page = client.get(f"/admin/organisations/{waiting.id}").get_data(as_text=True)
    select_html = page.split('name="decision"')[1].split("</select>")[0]
    assert re.search(r'<option selected value="verified"|<option value="verified" selected', select_html), select_html
    assert not re.search(r'value="pending" selected|selected value="pending"', select_html)


def test_every_page_links_the_favicon_which_is_served(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_english_pages_use_a_latin_font_first():
    """A CJK font first drew "Regulator’s" with a full-width apostrophe ("Regulator’ s desk")."""
    css = (ROOT / "static" / "css" / "app.css").read_text()
    rule = re.search(r"html:lang\(en\) body \{ font-family: ([^;]+);", css)
    assert rule and rule.group(1).split(",")[0].strip() == "system-ui"


def test_an_error_on_a_field_the_page_has_not_names_the_field_not_its_code(logged_in):
    client, _user = logged_in(kind="consumer")
    client.get("/lang/en")
    text = visible_text(client.get("/listings/supply?county=Nowhere").get_data(as_text=True))
    assert "county:" not in text and "County / district:" in text


def test_every_field_a_service_names_in_an_error_has_a_label():
    from marketplace import labels

    named = set()
    for path in (ROOT / "marketplace" / "services").rglob("*.py"):
        named |= set(re.findall(r'field="([a-z_]+)"', path.read_text()))
    assert named and named <= set(labels.FIELD), sorted(named - set(labels.FIELD))


def test_shipped_quantities_beside_the_deal_are_in_tonnes(make_user, make_site, db, client):
    from tests.web.deals import make_agreement
    from tests.web.test_subsidies import deliver

    deal = make_agreement(make_user, make_site, tonnes=500)
    deliver(db, deal, [30_000, 31_500])
    agreement, producer, _consumer = deal
    login(client, producer)
    client.get("/lang/en")
    shipped = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True).split('id="shipped">')[1]
    shipped = shipped.split("</dd>")[0]
    assert "61.500 t" in shipped and "kg" not in shipped


# --- numbers and exports --------------------------------------------------------------------------------------

def _regulator(client, db):
    from marketplace.services.demo import DEMO_PASSWORD

    login(client, db.session.scalar(select(User).where(User.email == "regulator@example.com")), DEMO_PASSWORD)


def _page_cells(page: str, table_id: str) -> list[list[str]]:
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    return [[visible_text(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_dashboard_tables_group_digits_name_places_and_carry_totals(demo, client, db):
    from tests.web.test_subsidies import YEAR

    _regulator(client, db)
    client.get("/lang/zh")
    page = client.get(f"/subsidies/dashboard?year={YEAR - 1}").get_data(as_text=True)
    rows = _page_cells(page, "table-city")
    body, total = rows[1:-1], rows[-1]
    assert body and all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{3}", row[1]) for row in body), body
    assert all(row[0].endswith("市") for row in body)  # 银川市, not Yinchuan
    assert total[0] == "合计" or total[0] == "Total"
    generated = sum(Decimal(row[1].replace(",", "")) for row in body)
    assert Decimal(total[1].replace(",", "")) == generated
    assert re.fullmatch(r"\d+(\.\d)?%", total[5]), total
    charts = json.loads(page.split('id="chart-data">')[1].split("</script>")[0])
    assert charts["cities"] and not any(KNOWN_CODES.search(city) for city in charts["cities"])


def test_the_xlsx_holds_numbers_with_formats_equal_to_the_page_and_names_in_its_language(demo, client, db):
    from openpyxl import load_workbook

    from tests.web.test_subsidies import YEAR

    _regulator(client, db)
    client.get("/lang/zh")
    year = YEAR - 1
    page_rows = {row[0]: row for row in _page_cells(
        client.get(f"/subsidies/dashboard?year={year}").get_data(as_text=True), "table-city")[1:-1]}
    sheet = load_workbook(io.BytesIO(client.get(f"/subsidies/dashboard/city.xlsx?year={year}").data)).active
    header = [c.value for c in sheet[1]]
    assert "group" not in header and "generated_t" not in header  # names, not codes
    assert len(page_rows) == sheet.max_row - 1
    for cells in sheet.iter_rows(min_row=2):
        name, generated = cells[0].value, cells[1]
        assert name in page_rows, name  # 银川市 as on the page
        assert isinstance(generated.value, (int, float)) and generated.number_format == "#,##0.000"
        assert f"{generated.value:,.3f}" == page_rows[name][1]
        rate = next(c for c in cells if c.number_format == "0.0%")  # the utilisation rate, first of the rates
        assert isinstance(rate.value, (int, float)) and 0 <= rate.value <= 1
        # as a spreadsheet shows the cell, and as the page rounds: half up (0.4545 is 45.5 %, not Babel's 45.4 %)
        shown = (Decimal(str(rate.value)) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        assert f"{shown}%" == page_rows[name][5]
    # for machines: the codes and values as stored, as before
    machine = load_workbook(io.BytesIO(client.get(f"/subsidies/dashboard/city.xlsx?year={year}&codes=1").data)).active
    assert [c.value for c in machine[1]][:2] == ["group", "generated_t"]
    assert {c.value for c in machine["A"][1:]} <= {"Yinchuan", "Shizuishan", "Wuzhong", "Guyuan", "Zhongwei"}


def test_the_csv_for_people_writes_rates_as_per_cent_and_names(demo, client, db):
    from tests.web.test_subsidies import YEAR

    _regulator(client, db)
    client.get("/lang/en")
    text = client.get(f"/subsidies/dashboard/material.csv?year={YEAR - 1}").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and "Utilisation rate" in rows[0] and "Material" in rows[0]  # the group column named as such
    assert all(row["Utilisation rate"].endswith("%") for row in rows if row["Utilisation rate"])
    assert "Fly ash" in {row["Material"] for row in rows} and "fly_ash" not in text


def test_the_claims_table_totals_its_tonnes_and_yuan(demo, client, db):
    from tests.web.test_subsidies import YEAR

    _regulator(client, db)
    rows = _page_cells(client.get(f"/subsidies/dashboard?year={YEAR - 1}").get_data(as_text=True), "table-claims")
    body, total = rows[1:-1], rows[-1]
    assert len(body) == 5
    assert Decimal(total[-2].replace(",", "")) == sum(Decimal(r[4].replace(",", "")) for r in body)
    assert Decimal(total[-3].replace(",", "")) == sum(Decimal(r[3].replace(",", "")) for r in body)


def test_a_listing_history_names_fields_and_values(logged_in, make_site, db):
    from datetime import timedelta

    from marketplace.clock import today_cst
    from marketplace.services import listings

    client, user = logged_in(kind="producer")
    site, other = make_site(user.organisation), make_site(user.organisation, name="二号灰库")
    listing = listings.create_listing(user, "supply", {
        "site_id": site.id, "material": "fly_ash", "grade": "II", "tonnes": 700, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=20), "price_yuan_per_t": "35.50", "max_haul_km": 150})
    listings.update_listing(user, "supply", listing.id, {"site_id": other.id, "material": "fly_ash", "grade": "II",
                                                          "tonnes": 800, "period_start": today_cst(),
                                                          "period_end": today_cst() + timedelta(days=20),
                                                          "price_yuan_per_t": "40", "max_haul_km": 150})
    db.session.commit()
    client.get("/lang/en")
    history = visible_text(client.get(f"/listings/supply/{listing.id}").get_data(as_text=True).split('id="history"')[1])
    assert "Price (yuan/t): 35.50 → 40.00" in history and "Site: 一号厂区 → 二号灰库" in history
    assert "price_yuan_per_t" not in history and "site_id" not in history


def test_the_listing_export_for_people_has_names_numbers_and_labelled_times(logged_in, make_site, db):
    from datetime import timedelta

    from openpyxl import load_workbook

    from marketplace.clock import today_cst
    from marketplace.services import listings

    client, user = logged_in(kind="producer")
    listings.create_listing(user, "supply", {
        "site_id": make_site(user.organisation).id, "material": "carbide_slag", "tonnes": 1200,
        "period_start": today_cst(), "period_end": today_cst() + timedelta(days=20), "price_yuan_per_t": "35.50",
        "max_haul_km": 150})
    db.session.commit()
    client.get("/lang/en")
    sheet = load_workbook(io.BytesIO(client.get("/listings/supply/export.xlsx?mine=1").data)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=False))
    assert row["Material"].value == "Calcium carbide slag" and row["Status"].value == "Open"
    assert row["Tonnes"].value == 1200 and row["Tonnes"].number_format == "#,##0.000"
    assert row["Price (yuan/t)"].value == 35.5 and row["Price (yuan/t)"].number_format == "#,##0.00"
    assert "Created (UTC+8)" in header and "created_at" not in " ".join(map(str, header))
    machine = load_workbook(io.BytesIO(client.get("/listings/supply/export.xlsx?mine=1&codes=1").data)).active
    assert "material" in [c.value for c in machine[1]] and "carbide_slag" in [c.value for c in machine[2]]


def test_county_names_say_what_each_division_is_in_english():
    """"Lingwu" stood beside "Huinong District": a county-level city says so too."""
    from marketplace import gazetteer

    for place in gazetteer.COUNTIES.values():
        assert place.name_en.endswith(("District", "County", "City")), place.name_en


def test_the_number_filters_group_digits_and_never_fail_on_text(app):
    from marketplace.web import show_integer, show_kg_as_tonnes, show_money, show_number, show_percent, show_tonnes

    with app.test_request_context():
        assert show_tonnes(Decimal("4223988")) == "4,223,988.000"
        # half up, as people and spreadsheets round (Babel alone rounds half to even: 12, 45.4%)
        assert show_tonnes("12.5", 0) == "13" and show_percent("0.4545") == "45.5%"
        assert show_money("1234567.8") == "1,234,567.80" and show_integer(4223988) == "4,223,988"
        assert show_number(1200) == "1,200" and show_number(Decimal("12.5")) == "12.5"
        assert show_percent("0.4231") == "42.3%" and show_percent(None) == "—" and show_percent("0.73", 0) == "73%"
        assert show_kg_as_tonnes(61500) == "61.500"
        assert show_money(None) == "" and show_money("—") == "—" and show_tonnes("n/a") == "n/a"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures_are_babels_own_formatting_rounded_half_up(app, lang):
    """labels.decimal_text parses each pattern once and applies it as Babel's format_decimal does: the same
    text for every pattern the filters use, in both languages, but for the rounding (half up)."""
    from decimal import localcontext

    from flask_babel import force_locale, format_decimal

    from marketplace.labels import decimal_text, percent_text

    numbers = [Decimal("0"), Decimal("-1234.5"), Decimal("0.4545"), Decimal("4223988.0005"), Decimal("12.5"),
               Decimal("1E+3"), Decimal("0.000001"), Decimal("98765432109876.54321"), 7, 2.675]
    with app.test_request_context(), force_locale(lang):
        for pattern in ("#,##0", "#,##0.###", "#,##0.00", "#,##0.000", "#,##0.0%", "#,##0%", "#,##0.0#%"):
            for n in numbers:
                with localcontext(rounding=ROUND_HALF_UP):
                    expected = format_decimal(n, pattern)
                assert decimal_text(n, pattern) == expected, (pattern, n)
                if "%" in pattern:
                    assert percent_text(n, pattern) == expected
        with pytest.raises(ValueError):
            percent_text(Decimal("0.5"), "#,##0.0")
