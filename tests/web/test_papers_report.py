"""The regulator's periodic report: the dashboard's figures (the same function), by city and category, for a
half-year or a year; XLSX, PDF, CSV and JSON; staff only."""
import io
import json

import pytest
from openpyxl import load_workbook

from marketplace.services import dashboard
from tests.web import papers_world
from tests.web.conftest import login


@pytest.fixture
def world(db, make_user, make_site):
    return papers_world.build(db, make_user, make_site)


@pytest.fixture
def regulator(client, make_user):
    user = make_user(kind="regulator")
    login(client, user)
    return user


def half_of(month: str) -> str:
    return f"{month[:4]}-H{1 if int(month[5:]) <= 6 else 2}"


def test_the_year_report_has_the_dashboards_figures(client, world, regulator):
    year = world.month[:4]
    doc = json.loads(client.get("/papers/report", query_string={"period": year, "format": "json"}).get_data())
    dash = dashboard.tables(regulator, int(year))
    assert [(r["group"], r["generated_t"], r["stored_t"], r["utilisation_rate"]) for r in doc["by_city"]] == [
        (r["group"], r["generated_t"], r["stored_t"], r["utilisation_rate"]) for r in dash["city"]]
    overall = dashboard.overall(dash["city"])
    assert doc["overall"]["rate"] == str(overall["rate"])
    # by hand: 100 t generated, 35 t stored, 5 t disposed -> 60 t utilised, 60 %; 49.5 t through the platform
    [city] = doc["by_city"]
    assert (city["group"], city["generated_t"], city["utilised_t"], city["disposed_t"], city["utilisation_rate"],
            city["utilised_platform_t"]) == ("Yinchuan", "100.000", "60.000", "5.000", "0.6000", "49.500")
    [fly_ash] = doc["by_category"]
    assert (fly_ash["waste_code"], fly_ash["name_zh"], fly_ash["utilised_t"]) == ("SW02", "粉煤灰", "60.000")


def test_the_half_year_counts_only_its_months(client, world, regulator):
    month = int(world.month[5:])
    this_half, other_half = half_of(world.month), f"{world.month[:4]}-H{2 if month <= 6 else 1}"
    doc = json.loads(client.get("/papers/report", query_string={"period": this_half, "format": "json"}).get_data())
    assert doc["by_city"][0]["generated_t"] == "100.000"
    doc = json.loads(client.get("/papers/report", query_string={"period": other_half, "format": "json"}).get_data())
    assert doc["by_city"] == []


def test_xlsx_and_pdf_carry_the_figures(client, world, regulator, tmp_path):
    year = world.month[:4]
    r = client.get("/papers/report", query_string={"period": year, "format": "xlsx"})
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb["按地市"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "地市")
    assert rows[header + 1][:7] == ("银川市", 100, 60, 35, 5, 60, 49.5)  # the city's name, not its pinyin key
    pdf = client.get("/papers/report", query_string={"period": year, "format": "pdf"}).data
    text = papers_world.pdf_text(pdf, tmp_path)
    for expected in ("一般工业固体废物产生及综合利用情况表", "100.000", "60.000", "49.500", "60.00%", "SW02",
                     "粉煤灰"):
        assert expected in text, expected


@pytest.mark.parametrize("period", ["2026-11", "2026-Q1", "2026-H3", "x"])
def test_a_report_is_for_a_half_year_or_a_year(client, world, regulator, period):
    assert client.get("/papers/report", query_string={"period": period}).status_code == 400


@pytest.mark.parametrize("kind", ["producer", "consumer"])
@pytest.mark.parametrize("fmt", ["html", "json", "pdf", "xlsx", "csv"])
def test_firms_cannot_read_the_regional_report(client, world, make_user, kind, fmt):
    login(client, make_user(kind=kind))
    assert client.get("/papers/report", query_string={"format": fmt}).status_code == 403


def test_the_page_shows_the_tables(client, world, regulator):
    page = client.get("/papers/report", query_string={"period": world.month[:4]}).get_data(as_text=True)
    assert 'id="by-city"' in page and "60.000" in page and "49.500" in page
