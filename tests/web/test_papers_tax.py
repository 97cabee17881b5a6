"""Tax evidence. The utiliser of tests/web/papers_world.py received 49.5 t of fly ash last month (tickets T-1,
T-2). VAT: a line's waste share is what those receipts prove over its raw materials in, against the catalogue's
threshold, exactly (49.5 / 70.714 = 70.0003 % qualifies for bricks at 70 %, 49.5 / 70.715 = 69.9993 % does not).
Environmental tax: the producer's 49.5 t x 25 yuan/t = 1,237.50 yuan not owed."""
import json
from decimal import Decimal

import pytest

from marketplace.models import ProductionMonth, ProductLine
from marketplace.services.papers import tax_evidence
from marketplace.services.papers.periods import parse_period
from tests.web import papers_world
from tests.web.conftest import login, post_form


@pytest.fixture
def world(db, make_user, make_site):
    return papers_world.build(db, make_user, make_site)


def declare(db, world, code, raw, waste="49.5"):
    line = ProductLine(organisation_id=world.consumer.organisation_id, name=f"{code} 生产线", vat_code=code)
    db.session.add(line)
    db.session.flush()
    y, m = map(int, world.month.split("-"))
    from datetime import date

    db.session.add(ProductionMonth(line_id=line.id, month=date(y, m, 1), raw_input_t=Decimal(raw),
                                   waste_input_t=Decimal(waste), output_t=Decimal("80")))
    db.session.commit()
    return line


@pytest.mark.parametrize("code,raw,qualifies", [
    ("bricks_blocks", "70.714", True), ("bricks_blocks", "70.715", False),
    ("cement_425", "247.500", True), ("cement_425", "247.501", False),
    ("cement_other", "123.750", True), ("cement_other", "123.751", False),
    ("aggregate", "50", False),  # fly ash is not a listed input of aggregate: nothing proven
])
def test_the_proven_share_against_the_threshold_at_its_edges(db, world, code, raw, qualifies):
    declare(db, world, code, raw)
    evidence = tax_evidence.vat_evidence(world.consumer.organisation, parse_period(world.month))
    [month] = evidence.months
    assert month.qualifies is qualifies
    assert month.proven_waste_t == (Decimal("0.000") if code == "aggregate" else Decimal("49.500"))


def test_declared_waste_beyond_the_receipts_is_not_proven_and_a_tonne_proves_one_line(db, world):
    declare(db, world, "bricks_blocks", "100", waste="60")
    declare(db, world, "cement_other", "100", waste="40")
    first, second = tax_evidence.vat_evidence(world.consumer.organisation, parse_period(world.month)).months
    assert (first.declared_waste_t, first.proven_waste_t, first.qualifies) == (Decimal("60.000"), Decimal("49.500"),
                                                                                False)
    assert second.proven_waste_t == Decimal("0.000")  # the 49.5 t went to the first line
    assert sum(first.receipts.values()) == 49_500


def test_the_utiliser_declares_lines_and_months_through_the_pages(client, world, db, tmp_path):
    login(client, world.consumer)
    client.get("/lang/en")
    r = post_form(client, "/papers/vat/lines", {"name": "42.5水泥", "vat_code": "nonsense"}, page="/papers/vat")
    assert r.status_code == 400 and "Not a valid choice" in r.get_data(as_text=True)
    assert post_form(client, "/papers/vat/lines", {"name": "42.5水泥", "vat_code": "cement_425"},
                     page="/papers/vat").status_code == 302
    line = db.session.query(ProductLine).one()
    bad = post_form(client, "/papers/vat/months", {"line_id": line.id, "month": world.month, "raw_input_t": "100",
                                                   "waste_input_t": "150", "output_t": "90"}, page="/papers/vat")
    assert bad.status_code == 400 and "cannot exceed the raw materials" in bad.get_data(as_text=True)
    assert 'value="150"' in bad.get_data(as_text=True)
    ok = post_form(client, "/papers/vat/months", {"line_id": line.id, "month": world.month, "raw_input_t": "247.5",
                                                  "waste_input_t": "49.5", "output_t": "240"}, page="/papers/vat")
    assert ok.status_code == 302
    doc = json.loads(client.get("/papers/vat", query_string={"period": world.month, "format": "json"}).get_data())
    assert [(m["proven_waste_t"], m["share"], m["qualifies"]) for m in doc["months"]] == [("49.500", "0.2000", True)]
    assert {r["ticket_no"] for r in doc["receipts"]} == {"T-1", "T-2"}
    text = papers_world.pdf_text(client.get("/papers/vat", query_string={"period": world.month, "format": "pdf"}).data,
                                 tmp_path)
    assert "49.500" in text and "20.00 %" in text and "247.500" in text


def test_a_firm_cannot_declare_on_another_firms_line(client, world, db, make_user):
    line = declare(db, world, "bricks_blocks", "100")
    login(client, make_user(kind="consumer"))
    r = post_form(client, "/papers/vat/months", {"line_id": line.id, "month": world.month, "raw_input_t": "1",
                                                 "waste_input_t": "1", "output_t": "1"}, page="/papers/vat")
    assert r.status_code == 400  # not among its own lines: a form error, and nothing written
    assert db.session.query(ProductionMonth).count() == 1


def test_env_tax_not_owed_is_tonnes_times_the_rate_with_the_tickets(client, world, tmp_path):
    login(client, world.producer)
    doc = json.loads(client.get("/papers/env-tax", query_string={"period": world.month, "format": "json"}).get_data())
    assert doc["lines"] == [{**doc["lines"][0], "material": "fly_ash", "tonnes": "49.500", "rate_yuan_per_t": "25.00",
                             "tax_not_owed_yuan": "1237.50", "tickets": "T-1 T-2"}]
    assert doc["total_yuan"] == "1237.50"
    text = papers_world.pdf_text(client.get("/papers/env-tax", query_string={"period": world.month,
                                                                             "format": "pdf"}).data, tmp_path)
    assert "1,237.50" in text and "49.500" in text and "T-2" in text


@pytest.mark.parametrize("url,kind", [("/papers/vat", "producer"), ("/papers/env-tax", "consumer")])
def test_evidence_is_for_the_right_kind_of_firm(client, world, make_user, url, kind):
    login(client, make_user(kind=kind))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url,owner", [("/papers/vat", "consumer"), ("/papers/env-tax", "producer")])
def test_another_firms_evidence_is_404_and_regulators_read_it(app, client, world, make_user, url, owner):
    org_id = getattr(world, owner).organisation_id
    login(client, make_user(kind="both"))
    assert client.get(url, query_string={"org": org_id, "format": "json"}).status_code == 404
    regulator = app.test_client()
    login(regulator, make_user(kind="regulator"))
    assert regulator.get(url, query_string={"org": org_id, "period": world.month, "format": "json"}).status_code == 200


@pytest.mark.parametrize("kind", ["producer", "regulator"])
@pytest.mark.parametrize("url", ["/papers/vat/lines", "/papers/vat/months"])
def test_only_utilisers_declare_lines_and_months(client, world, make_user, db, kind, url):
    login(client, make_user(kind=kind))
    r = post_form(client, url, {"name": "x", "vat_code": "cement_425", "line_id": 1, "month": world.month,
                                "raw_input_t": "1", "waste_input_t": "1", "output_t": "1"})
    assert r.status_code == 403
    assert db.session.query(ProductLine).count() == 0
