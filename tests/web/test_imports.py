"""Bulk imports (listings and weighbridge tickets) read files row by row within fixed bounds: XLSX zip and
<dimension> bombs are refused at once in bounded memory, and CSVs as Excel writes them (UTF-8, UTF-8 with
a BOM, GBK/GB18030 from Chinese Windows) import."""
from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import datetime, timedelta

import openpyxl  # noqa: F401  (imported once per worker in production: not part of the timing)
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from marketplace.clock import today_cst
from marketplace.errors import ValidationError
from marketplace.models import Shipment, SupplyListing
from marketplace.services import listing_files
from marketplace.services.generation import CST
from tests.web.conftest import csrf_token, login
from tests.web.deals import make_agreement

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Target="xl/workbook.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Target="worksheets/sheet1.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>
</Relationships>"""
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<dimension ref="{ref}"/><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"


def xlsx(sheet_chunks, ref="A1") -> bytes:
    """A minimal XLSX written by hand, its sheet XML streamed from `sheet_chunks` (strings)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(SHEET_HEAD.format(ref=ref).encode())
            for chunk in sheet_chunks:
                sheet.write(chunk.encode())
            sheet.write(SHEET_TAIL.encode())
    return buffer.getvalue()


def dimension_bomb() -> bytes:
    """1.5 KB: a sheet that claims A1:XFD1048576 and has a cell in row 1 and one in row 1,048,576."""
    return xlsx(['<row r="1"><c r="A1" t="inlineStr"><is><t>site_id</t></is></c></row>',
                 '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'],
                ref="A1:XFD1048576")


def zip_bomb(rows: int = 1_500_000) -> bytes:
    """Well under a MiB: 1.5 million identical rows, which inflate to tens of MB of XML."""
    row = '<row><c t="inlineStr"><is><t>fly_ash</t></is></c><c><v>1</v></c></row>'
    return xlsx(row * 10_000 for _ in range(rows // 10_000))


def refusal(data: bytes, name: str = "bomb.xlsx", trace: bool = True) -> tuple[str, int, int]:
    """read_table's refusal message, the bytes it inflated from the archive and its peak traced memory (bytes;
    tracing slows it down). Counted, not timed: a wall clock on a busy CI machine proves nothing."""
    inflated = [0]
    read, read1 = zipfile.ZipExtFile.read, zipfile.ZipExtFile.read1

    def counted(method):
        def wrapper(self, *args):
            chunk = method(self, *args)
            inflated[0] += len(chunk)
            return chunk
        return wrapper

    if trace:
        tracemalloc.start()
    zipfile.ZipExtFile.read, zipfile.ZipExtFile.read1 = counted(read), counted(read1)  # type: ignore[method-assign]
    try:
        with pytest.raises(ValidationError) as raised:
            listing_files.read_table(name, data)
        with force_locale("en"):
            return str(raised.value.message), inflated[0], tracemalloc.get_traced_memory()[1]
    finally:
        zipfile.ZipExtFile.read, zipfile.ZipExtFile.read1 = read, read1  # type: ignore[method-assign]
        tracemalloc.stop()


# --- the reader itself -----------------------------------------------------------------------------------

def test_the_dimension_bomb_is_refused_in_bounded_memory(app):
    data = dimension_bomb()
    assert len(data) < 2048
    message, inflated, peak = refusal(data)
    assert "2000 rows" in message and 0 < inflated < 64 * 1024  # its rows were read (and counted), few of them
    assert peak < 30 * 1024 * 1024  # the sheet's claimed 16,384 x 1,048,576 cells are never allocated


def test_the_zip_bomb_is_refused_before_it_is_inflated_in_bounded_memory(app):
    data = zip_bomb()
    assert len(data) < 1024 * 1024
    message, inflated, peak = refusal(data)
    assert "MB" in message or "compressed" in message
    assert inflated == 0  # refused from the archive's directory: not one byte of the tens of MB unpacked
    assert peak < 30 * 1024 * 1024


def test_a_sheet_over_the_row_limit_stops_at_the_limit(app):
    rows = ['<row><c t="inlineStr"><is><t>site_id</t></is></c></row>']
    rows += [f'<row><c><v>{n}</v></c></row>' for n in range(5000)]
    message, _inflated, _ = refusal(xlsx(rows), trace=False)
    assert "at most 2000 rows" in message.lower()


def test_a_cell_longer_than_the_limit_is_refused_by_line(app):
    data = f"site_id,notes\n1,{'x' * 6000}\n".encode()
    with pytest.raises(ValidationError) as raised:
        listing_files.read_table("a.csv", data)
    with force_locale("en"):
        assert "Line 2" in str(raised.value.message)


def test_a_csv_field_over_the_csv_module_limit_is_a_clear_error(app):
    data = b'site_id,notes\n1,"' + b"x" * 140_000 + b'"\n'
    with pytest.raises(ValidationError) as raised:
        listing_files.read_table("a.csv", data)
    with force_locale("en"):
        assert "too long" in str(raised.value.message)


@pytest.mark.parametrize("text", ["a\x00b", "a\x07b", "\ud800"])
def test_control_characters_and_lone_surrogates_in_a_cell_are_refused(app, text):
    data = ("site_id,notes\n1," + text + "\n").encode("utf-8", "surrogatepass")
    with pytest.raises(ValidationError):
        listing_files.read_table("a.csv", data)


def test_columns_beyond_the_header_are_not_read(app):
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>site_id</t></is></c></row>',
            '<row r="2"><c r="A2"><v>7</v></c><c r="XFD2"><v>9</v></c></row>']
    assert listing_files.read_table("a.xlsx", xlsx(rows, ref="A1:XFD2")) == [(2, {"site_id": "7"})]


# --- through the pages, as a producer --------------------------------------------------------------------

HEADER = ["site_id", "material", "grade", "tonnes", "period_start", "period_end", "price_yuan_per_t",
          "max_haul_km", "notes", "quality.loi"]


@pytest.fixture
def producer(logged_in, make_site):
    client, user = logged_in(kind="producer")
    return client, user, make_site(user.organisation, name="恒源灰库")


@pytest.fixture
def unverified_producer(logged_in):
    """Anyone who registers as a producer may reach the import form before verification."""
    client, user = logged_in(kind="producer", verified=False)
    return client, user


def import_listings(client, data: bytes, name: str):
    token = csrf_token(client, "/listings/supply/import")
    return client.post("/listings/supply/import", data={"file": (io.BytesIO(data), name), "csrf_token": token},
                       content_type="multipart/form-data")


def listing_csv(site_id: int, notes: str = "袋装，含水率低于百分之十") -> str:
    end = (today_cst() + timedelta(days=30)).isoformat()
    return ",".join(HEADER) + "\r\n" + ",".join(
        [str(site_id), "fly_ash", "II", "500", today_cst().isoformat(), end, "35.50", "150", notes, "4.5"]) + "\r\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_a_csv_as_excel_writes_it_imports(producer, db, encoding):
    client, _, site = producer
    r = import_listings(client, listing_csv(site.id).encode(encoding), "供应清单.csv")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    listing = db.session.scalar(select(SupplyListing))
    assert listing.notes == "袋装，含水率低于百分之十"


@pytest.mark.parametrize("bomb", [dimension_bomb, zip_bomb])
def test_an_unverified_producer_sending_a_bomb_gets_a_clear_message_at_once(unverified_producer, db, bomb):
    client, _ = unverified_producer
    client.get("/lang/en")
    # how little the reader reads is counted in the reader's own tests above; here: the page says why
    r = import_listings(client, bomb(), "bomb.xlsx")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "2000 rows" in page or "unpacks to more than" in page or "compressed suspiciously" in page
    assert db.session.scalar(select(func.count(SupplyListing.id))) == 0


def test_a_csv_field_over_131072_characters_is_a_form_error_not_a_500(producer, db):
    client, _, site = producer
    client.get("/lang/en")
    data = listing_csv(site.id, '"' + "x" * 140_000 + '"').encode()
    r = import_listings(client, data, "a.csv")
    assert r.status_code == 200 and "too long" in r.get_data(as_text=True)


# --- weighbridge tickets share the reader ----------------------------------------------------------------

@pytest.fixture
def deal(make_user, make_site, db):
    return make_agreement(make_user, make_site, tonnes=100)


def import_tickets(client, agreement, data: bytes, name: str):
    page = f"/match/agreements/{agreement.id}"
    return client.post(f"/deliveries/agreements/{agreement.id}/shipments/import",
                       data={"file": (io.BytesIO(data), name), "csrf_token": csrf_token(client, page)},
                       content_type="multipart/form-data", follow_redirects=True)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_tickets_from_a_chinese_excel_csv_import(deal, client, db, encoding):
    agreement, producer, _ = deal
    login(client, producer)
    when = (datetime.now(CST) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    text = f"ticket_no,truck_plate,dispatched_at,gross_kg,tare_kg\r\n磅单001,宁A12345,{when},40000,15000\r\n"
    r = import_tickets(client, agreement, text.encode(encoding), "磅单.csv")
    assert r.status_code == 200
    shipment = db.session.scalar(select(Shipment))
    assert shipment is not None and shipment.ticket_no == "磅单001" and shipment.truck_plate == "宁A12345"


@pytest.mark.parametrize("bomb", [dimension_bomb, zip_bomb])
def test_ticket_import_refuses_bombs_at_once(deal, client, db, bomb):
    agreement, producer, _ = deal
    login(client, producer)
    client.get("/lang/en")
    r = import_tickets(client, agreement, bomb(), "t.xlsx")  # the reader's bounds: its own tests above
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "2000 rows" in page or "unpacks to more than" in page or "compressed suspiciously" in page
    assert db.session.scalar(select(func.count(Shipment.id))) == 0
