"""The subsidy scheme form: bands as rows, excluded uses as labelled checkboxes; a round trip through the page,
errors that name the row and keep what was typed, the service's text format kept for other callers."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.models import SubsidyScheme
from tests.web.conftest import csrf_token, login

FORM = {"name": "2027 年度增量补贴", "base_year": "2024", "effective_from": "2027-01-01", "effective_to": "",
        "mode": "tiered", "cap_yuan": "5000000", "exclude_own_waste": "y", "loan_min_yuan": "5000000",
        "loan_benchmark_rate_pct": "3.45"}


def bands(*rows: tuple[str, str], start: int = 0) -> dict[str, str]:
    out = {}
    for i, (low, rate) in enumerate(rows, start):
        out[f"bands-{i}-from_t"], out[f"bands-{i}-rate"] = low, rate
    return out


@pytest.fixture
def regulator_client(client, make_user):
    login(client, make_user(kind="regulator"))
    client.get("/lang/en")
    return client


def post_scheme(client, data: dict, uses=("mine_backfill", "gangue_power")):
    token = csrf_token(client, "/subsidies/scheme")
    return client.post("/subsidies/scheme", data={**data, "excluded_uses": list(uses), "csrf_token": token})


def versions(db) -> int:
    return db.session.scalar(select(func.count(SubsidyScheme.id)))


def test_the_form_shows_the_scheme_in_force_as_rows_and_labelled_uses(regulator_client):
    html = regulator_client.get("/subsidies/scheme").get_data(as_text=True)
    assert re.search(r'name="bands-0-from_t"[^>]*value="0"|value="0"[^>]*name="bands-0-from_t"', html)
    assert 'name="bands-3-rate"' in html  # the seeded scheme's four bands
    assert "0:10" not in html  # no more bands typed as text
    # uses are checkboxes with their names, the scheme's exclusions ticked
    assert re.search(r'<input checked[^>]*name="excluded_uses"[^>]*value="gangue_power"', html)
    assert "Gangue power generation" in html and "Mine backfill" in html
    assert 'src="/static/js/scheme_form.js"' in html and "onclick" not in html


def test_a_new_version_round_trips_through_the_form(regulator_client, db):
    before = versions(db)
    r = post_scheme(regulator_client, {**FORM, **bands(("0", "12"), ("80000", "22.5"), ("150000", "28"))})
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    assert versions(db) == before + 1
    scheme = db.session.scalar(select(SubsidyScheme).order_by(SubsidyScheme.version.desc()).limit(1))
    assert [(b["from_t"], b["rate"]) for b in scheme.bands] == [("0.000", "12.00"), ("80000.000", "22.50"),
                                                                ("150000.000", "28.00")]
    assert scheme.exclusions == {"own_waste": True, "rules": [
        {"use": "mine_backfill"}, {"material": "coal_gangue", "use": "gangue_power"}]}
    # the API's contract is unchanged
    html = regulator_client.get("/subsidies/scheme").get_data(as_text=True)
    assert "≥80000.000 t: 22.50" in html


def test_rows_with_gaps_in_their_numbers_and_blank_rows_are_read_in_order(regulator_client, db):
    """Rows the page's script added and removed leave gaps in the indices; a wholly blank row is skipped."""
    data = {**FORM, **bands(("0", "10")), **bands(("", ""), start=3), **bands(("50000", "20"), start=7)}
    r = post_scheme(regulator_client, data)
    assert r.status_code == 302
    scheme = db.session.scalar(select(SubsidyScheme).order_by(SubsidyScheme.version.desc()).limit(1))
    assert [b["rate"] for b in scheme.bands] == ["10.00", "20.00"]


@pytest.mark.parametrize("rows,message", [
    ((("0", "10"), ("50000", "-5")), "Band 2: Must be between 0 and 10,000"),
    ((("0", "10"), ("-1", "5")), "Band 2: Must be between 0 and 1,000,000,000"),
    ((("0", "10"), ("5万", "20")), "Band 2: Enter a number"),
    ((("0", "10"), ("50000", "")), "Band 2: This field is required"),
    ((("0", "10.123"),), "Band 1: At most 2 decimals"),
    ((("10", "10"),), "The first band starts at 0 t"),
    ((("0", "10"), ("50000", "20"), ("50000", "25")), "Bands must go up"),
    ((("0", "10"), ("80000", "20"), ("50000", "25")), "Bands must go up"),
    ((("", ""),), "The first band starts at 0 t"),
    ((("0", "NaN"),), "Band 1: Enter a number"),
    ((("0", "1e3"), ("1E400", "2")), "Band 2: Must be between"),
])
def test_bad_bands_are_refused_with_the_row_and_every_input_kept(regulator_client, db, rows, message):
    before = versions(db)
    r = post_scheme(regulator_client, {**FORM, **bands(*rows)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    fieldset = re.search(r'<fieldset class="bands has-error" id="bands">.*?</fieldset>', html, re.S)
    assert fieldset and message in fieldset.group(0), html[-3000:]
    for low, rate in rows:  # what was typed stays in its row
        if low:
            assert f'value="{low}"' in fieldset.group(0)
        if rate:
            assert f'value="{rate}"' in fieldset.group(0)
    assert 'value="2027 年度增量补贴"' in html
    assert re.search(r'<input checked[^>]*value="mine_backfill"', html)
    assert versions(db) == before


def test_an_unknown_use_is_refused_beside_the_uses(regulator_client, db):
    before = versions(db)
    r = post_scheme(regulator_client, {**FORM, **bands(("0", "10"))}, uses=("cement", "<b>nuclear</b>"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Unknown use" in html and "<b>nuclear</b>" not in html
    assert versions(db) == before


def test_too_many_rows_are_cut_to_the_limit_not_a_500(regulator_client, db):
    rows = [(str(i * 1000), "10") for i in range(40)]
    r = post_scheme(regulator_client, {**FORM, **bands(*rows)})
    assert r.status_code == 302
    scheme = db.session.scalar(select(SubsidyScheme).order_by(SubsidyScheme.version.desc()).limit(1))
    assert len(scheme.bands) == 20


def test_only_regulators_publish(client, make_user, db):
    login(client, make_user(kind="consumer"))
    before = versions(db)
    r = post_scheme(client, {**FORM, **bands(("0", "10"))})
    assert r.status_code == 403 and versions(db) == before


def test_the_text_format_still_works_for_other_callers(make_user, db):
    from marketplace.services import subsidies

    regulator = make_user(kind="regulator")
    scheme = subsidies.set_scheme(regulator, {**FORM, "exclude_own_waste": True, "bands": "0:12, 80000:22",
                                              "excluded_uses": "mine_backfill"})
    assert [b["from_t"] for b in scheme.bands] == ["0.000", "80000.000"]
    db.session.rollback()
