"""The regulator's seasonal desk (issue #14): planned and actual utilisation by month, the projected annual rate
with and without the plan against the target, and the stock in yards and silos, as charts fed by JSON."""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from marketplace.models import GenerationRecord
from marketplace.services.catalogue import material_by_code
from tests.web.conftest import login
from tests.web.deals import make_agreement
from tests.web.test_seasonal_rounds import market, operator_runs  # noqa: F401  (a fixture)


def chart_data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="seasonal-data">(.*?)</script>', page, re.S)
    assert block, "no chart data"
    return json.loads(block.group(1))


@pytest.mark.parametrize("kind,status", [("producer", 403), ("consumer", 403), ("regulator", 200), ("operator", 200)])
def test_only_staff_see_the_desk(client, make_user, kind, status):
    login(client, make_user(kind=kind))
    assert client.get("/seasonal/desk").status_code == status


@pytest.mark.parametrize("year", ["1999", "abc", "20266", "-1"])
def test_a_nonsense_year_is_400(client, make_user, year):
    login(client, make_user(kind="regulator"))
    assert client.get(f"/seasonal/desk?year={year}").status_code == 400


def test_the_projected_rate_with_the_plan_counts_what_agreements_deliver_in_the_months_ahead(
        client, make_user, make_site, db, time_machine):
    # On 1 December 2026 in Ningxia (whatever the day the suite runs): the months ahead are December's rest
    time_machine.move_to(datetime(2026, 12, 1, 4, 0, tzinfo=UTC))
    producer = make_user(kind="producer")
    site = make_site(producer.organisation)
    fly_ash = material_by_code("fly_ash")
    for month in range(1, 7):  # declared January to June: 1,000 t made, 500 t of it stored, so 50 % utilised
        db.session.add(GenerationRecord(site_id=site.id, material_id=fly_ash.id, month=date(2026, month, 1),
                                        tonnes_generated=Decimal(1000), tonnes_stored=Decimal(500),
                                        stock_closing=Decimal(500 * month)))
    db.session.commit()
    # 100 t agreed from yesterday for 90 days: November 2026 to March 2027, 20 t a month (no schedule)
    make_agreement(make_user, make_site, tonnes=100, producer=producer, producer_site=site)
    login(client, make_user(kind="regulator"))
    page = client.get("/seasonal/desk?year=2026").get_data(as_text=True)
    data = chart_data(page)
    assert data["months"][0] == "2026-01" and len(data["months"]) == 12
    assert data["planned"][10:] == [20.0, 20.0] and sum(data["planned"][:10]) == 0
    assert data["generated"] == [1000.0] * 12  # months ahead projected at the declared average
    assert data["rate_without"] == pytest.approx(50.0)
    assert data["rate_with"] == pytest.approx(50.33)  # (6,000 + 40) / 12,000 to four places
    assert data["target"] == pytest.approx(73.0)
    assert data["stock_declared"][:6] == [500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0]
    assert data["stock_declared"][6:] == [None] * 6
    assert 'id="kpi-rate-with">50.3%' in page and 'id="kpi-rate-without">50.0%' in page


def test_the_desk_draws_the_stock_a_seasonal_round_planned(client, make_user, market, db):  # noqa: F811
    operator_runs(client, make_user)
    regulator = client.application.test_client()
    login(regulator, make_user(kind="regulator"))
    page = regulator.get("/seasonal/desk?year=2027").get_data(as_text=True)
    data = chart_data(page)
    assert data["stock_planned"] is not None and data["stock_planned"][2] > 0  # winter ash in the yard in March
    assert 'id="stock-round"' in page
    assert sum(data["planned"]) == 0  # proposals are not a plan until agreed


def test_the_desk_s_page_has_no_inline_code(client, make_user):
    login(client, make_user(kind="regulator"))
    page = client.get("/seasonal/desk").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs, _body in scripts)
    assert " style=" not in page and "onclick" not in page
