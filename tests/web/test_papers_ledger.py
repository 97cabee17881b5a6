"""The producer's solid-waste ledger (台账): figures equal the hand-computed ones of tests/web/papers_world.py,
the month reconciles (and a mismatch is shown), XLSX/PDF/CSV/JSON carry the same figures, each firm sees
only its own ledger, and declarations are kept."""
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.models import AuditEntry, GenerationRecord
from tests.web import papers_world
from tests.web.conftest import login, post_form


@pytest.fixture
def world(db, make_user, make_site):
    return papers_world.build(db, make_user, make_site)


def ledger_json(client, world, **args):
    r = client.get("/papers/ledger", query_string={"period": world.month, "format": "json", **args})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return json.loads(r.get_data())


def test_the_month_balances_with_the_hand_computed_figures(client, world):
    login(client, world.producer)
    doc = ledger_json(client, world)
    assert doc["balanced"] is True and doc["retention_years"] == 5
    [row] = doc["rows"]
    assert row["waste_code"] == "SW02" and row["site_name"] == "一号灰场"
    month = row["months"][0]
    assert {k: month[k] for k in ("opening", "generated", "in_house", "storage_in", "storage_out",
                                  "transferred_platform", "transferred_other", "disposed", "closing",
                                  "difference")} == {
        "opening": "20.000", "generated": "100.000", "in_house": "10.000", "storage_in": "35.000",
        "storage_out": "-0.500", "transferred_platform": "49.500", "transferred_other": "0.000",
        "disposed": "5.000", "closing": "55.500", "difference": "0.000"}
    [transfer] = doc["transfers"]
    assert transfer["receiver_name"] == world.consumer.organisation.name
    assert transfer["receiver_credit_code"] == world.consumer.organisation.credit_code
    assert [(t["ticket_no"], t["net_kg"]) for t in transfer["tickets"]] == [("T-1", 30000), ("T-2", 19500)]
    assert doc["ledger_head_seq"] == 2


def test_a_mismatch_in_the_declaration_is_shown_not_hidden(client, world, db):
    world.record.stock_closing = world.record.stock_closing - 1  # 54.5 t declared: 1 t unaccounted for
    db.session.commit()
    login(client, world.producer)
    doc = ledger_json(client, world)
    month = doc["rows"][0]["months"][0]
    assert doc["balanced"] is False and month["difference"] == "1.000" and "unbalanced" in month["notes"]
    page = client.get("/papers/ledger", query_string={"period": world.month}).get_data(as_text=True)
    assert "do not balance" in page or "不平衡" in page or "1.000" in page
    assert 'class=" unbalanced"' in page or "unbalanced" in page


def test_a_quarter_and_a_year_total_the_months(client, world):
    login(client, world.producer)
    year = world.month[:4]
    quarter = f"{year}-Q{(int(world.month[5:]) - 1) // 3 + 1}"
    for period, months in ((quarter, 3), (year, 12)):
        doc = ledger_json(client, world, period=period)
        row = doc["rows"][0]
        assert len(row["months"]) == months
        assert row["total"]["generated"] == "100.000" and row["total"]["transferred_platform"] == "49.500"


def test_xlsx_has_the_guide_tables_and_the_same_figures(client, world):
    login(client, world.producer)
    r = client.get("/papers/ledger", query_string={"period": world.month, "format": "xlsx"})
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["表1 基本信息", "表2 产生贮存利用处置", "表3 委托利用记录", "表4 其他接收单位"]
    flows = [list(row) for row in wb["表2 产生贮存利用处置"].iter_rows(values_only=True)]
    header = flows.index(next(r for r in flows if r and r[0] == "月份"))
    month_row = dict(zip(flows[header], flows[header + 1], strict=True))
    assert month_row["月份"] == world.month and month_row["废物代码"] == "SW02"
    assert month_row["产生量(t)"] == 100 and month_row["委托利用量（平台）(t)"] == 49.5
    assert month_row["期末贮存量(t)"] == 55.5 and month_row["核对差额(t)"] == 0
    tickets = [row for row in wb["表3 委托利用记录"].iter_rows(values_only=True)]
    assert any(row[1] == world.consumer.organisation.name and row[6] == "T-2" and row[8] == 19500 for row in tickets)


def test_pdf_reads_back_with_the_figures(client, world, tmp_path):
    login(client, world.producer)
    r = client.get("/papers/ledger", query_string={"period": world.month, "format": "pdf"})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = papers_world.pdf_text(r.data, tmp_path)
    for expected in ("一般工业固体废物管理台账", world.producer_org.name, world.consumer.organisation.credit_code,
                     "49.500", "55.500", "100.000", "T-1", "T-2", "19,500", "SW02"):
        assert expected in text, expected


def test_csv_downloads_carry_the_flows_and_the_tickets(client, world):
    login(client, world.producer)
    flows = client.get("/papers/ledger", query_string={"period": world.month, "format": "csv"})
    assert "49.500" in flows.get_data(as_text=True)
    tickets = client.get("/papers/ledger", query_string={"period": world.month, "format": "csv", "table": "tickets"})
    assert "T-2" in tickets.get_data(as_text=True) and world.consumer.organisation.credit_code in tickets.get_data(
        as_text=True)


@pytest.mark.parametrize("args", [{"period": "2026-13"}, {"period": "banana"}, {"period": "1999"},
                                  {"format": "exe"}, {"format": "csv", "table": "secrets"}])
def test_bad_arguments_are_a_400_not_a_500(client, world, args):
    login(client, world.producer)
    assert client.get("/papers/ledger", query_string={"period": world.month, **args}).status_code == 400


def test_each_firm_sees_only_its_own_ledger(client, world, make_user):
    login(client, make_user(kind="producer"))
    other = client.get("/papers/ledger", query_string={"period": world.month, "format": "json",
                                                       "org": world.producer_org.id})
    assert other.status_code == 404
    own = client.get("/papers/ledger", query_string={"period": world.month, "format": "json"})
    assert own.status_code == 200 and json.loads(own.get_data())["rows"] == []


@pytest.mark.parametrize("fmt", ["html", "json", "pdf", "xlsx", "csv"])
def test_a_utiliser_has_no_producer_ledger_and_cannot_read_its_supplier(client, world, fmt):
    login(client, world.consumer)
    assert client.get("/papers/ledger", query_string={"format": fmt}).status_code == 403
    assert client.get("/papers/ledger", query_string={"format": fmt, "org": world.producer_org.id}
                      ).status_code == 404


def test_a_regulator_reads_any_producers_ledger(client, world, make_user):
    login(client, make_user(kind="regulator"))
    doc = ledger_json(client, world, org=world.producer_org.id)
    assert doc["rows"][0]["total"]["generated"] == "100.000"
    assert client.get("/papers/ledger", query_string={"period": world.month}).status_code == 404  # which firm?
    assert client.get("/papers/ledger", query_string={"period": world.month, "org": "x"}).status_code == 404
    assert world.producer_org.name in client.get("/papers/").get_data(as_text=True)


def test_logged_out_visitors_are_sent_to_log_in(client, world):
    assert client.get("/papers/ledger").status_code in (302, 401)


def test_the_declaration_grows_and_refuses_bad_input_keeping_it(client, make_user, make_site, db):
    user = make_user(kind="producer")
    site = make_site(user.organisation)
    login(client, user)
    client.get("/lang/en")
    base = {"site_id": site.id, "material": "fly_ash", "month": "2026-03", "tonnes_generated": "100",
            "tonnes_used_in_house": "10", "tonnes_stored": "20"}
    r = post_form(client, "/generation/", {**base, "tonnes_disposed": "-1"})
    assert r.status_code == 200 and "cannot be negative" in r.get_data(as_text=True)
    r = post_form(client, "/generation/", {**base, "tonnes_transferred_other": "5", "other_receivers": ""})
    assert "Name the receiving units" in r.get_data(as_text=True) and 'value="5"' in r.get_data(as_text=True)
    assert db.session.scalar(select(GenerationRecord)) is None
    r = post_form(client, "/generation/", {**base, "tonnes_disposed": "5", "tonnes_transferred_other": "5",
                                           "other_receivers": "某建材公司 91640100MA0000001X 制砖",
                                           "stock_opening": "", "stock_closing": "7.5"})
    assert r.status_code == 302
    record = db.session.scalar(select(GenerationRecord))
    assert (record.tonnes_disposed, record.tonnes_transferred_other, record.stock_opening, record.stock_closing) == (
        5, 5, None, 7.5)


def test_a_correction_keeps_what_it_replaced_and_declarations_are_never_deleted(client, world, db):
    login(client, world.producer)
    r = post_form(client, "/generation/", {"site_id": world.site.id, "material": "fly_ash", "month": world.month,
                                           "tonnes_generated": "101", "tonnes_used_in_house": "10",
                                           "tonnes_stored": "35", "tonnes_disposed": "5", "stock_opening": "20",
                                           "stock_closing": "55.5"})
    assert r.status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "generation.correct"))
    assert entry.details["before"]["tonnes_generated"] == "100.000"
    record = db.session.get(GenerationRecord, world.record.id)
    db.session.delete(record)
    with pytest.raises(ValueError, match="never deleted"):
        db.session.flush()
    db.session.rollback()
