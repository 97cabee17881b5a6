"""Files around listings: lab certificates, bulk imports (CSV/XLSX) and exports."""
from __future__ import annotations

import csv
import io
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from ..errors import MarketplaceError, ValidationError
from ..extensions import db
from ..models import SupplyListing, User
from . import listings
from .catalogue import CatalogueMaterial

# --- lab certificates ------------------------------------------------------------------------------------

#: What a certificate may be, recognised by its first bytes (never by the name the browser sends).
SIGNATURES = {b"%PDF-": ("application/pdf", ".pdf"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
              b"\xff\xd8\xff": ("image/jpeg", ".jpg")}
CERTIFICATE_MAX_BYTES = 5 * 1024 * 1024


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, kind in SIGNATURES.items():
        if data.startswith(magic):
            return kind
    return None


def attach_certificate(actor: User, listing_id: int, filename: str, data: bytes, folder: Path) -> SupplyListing:
    """Store a lab certificate for a supply listing under a random name in `folder`."""
    listing = listings.own_listing(actor, "supply", listing_id)
    assert isinstance(listing, SupplyListing)
    if len(data) == 0:
        raise ValidationError(_l("The file is empty."), field="certificate")
    if len(data) > CERTIFICATE_MAX_BYTES:
        raise ValidationError(_l("The certificate may be at most 5 MB."), field="certificate")
    kind = sniff(data)
    if kind is None:
        raise ValidationError(_l("The certificate must be a PDF, PNG or JPEG file."), field="certificate")
    mimetype, extension = kind
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}{extension}"
    (folder / stored).write_bytes(data)
    old = listing.certificate_path
    listing.certificate_path, listing.certificate_type = stored, mimetype
    listing.certificate_name = Path(filename or "certificate").name[:200] or "certificate"
    db.session.flush()
    listings._record(listing, actor, "certificate", {"certificate": [old, stored]})
    return listing


def can_download_certificate(viewer: User, listing: SupplyListing) -> bool:
    """The certificate may name the producer: only those who may see its identity get it."""
    return listings.can_see_identity(viewer, listing)


# --- bulk import ---------------------------------------------------------------------------------------

@dataclass
class RowError:
    line: int
    field: str | None
    message: str


class ImportFailed(MarketplaceError):
    """At least one row is bad; nothing was saved."""

    def __init__(self, errors: list[RowError]):
        super().__init__(_l("%(n)d rows have errors; nothing was saved.", n=len(errors)))
        self.errors = errors


MAX_IMPORT_ROWS = 2000
#: Lines read at most, blank ones included (a sheet may claim a million empty rows; we never walk them).
MAX_IMPORT_LINES = MAX_IMPORT_ROWS + 1000
#: Columns read at most: the header's width, never what the sheet's <dimension> claims (up to 16,384).
MAX_IMPORT_COLUMNS = 200
#: A cell longer than this is not a value anyone meant (notes allow 2,000 characters).
MAX_CELL_CHARS = 5000
#: Wall-clock bound on reading one file, whatever it holds.
IMPORT_SECONDS = 10.0
#: An XLSX is a zip: what its entries may decompress to, checked before anything is decompressed.
XLSX_MAX_MEMBERS = 500
XLSX_MAX_MEMBER_BYTES = 32 * 1024 * 1024
XLSX_MAX_TOTAL_BYTES = 64 * 1024 * 1024
XLSX_MAX_RATIO = 100  # uncompressed / compressed, for members over 1 MiB (spreadsheet XML rarely passes 20)
#: Characters no spreadsheet cell carries: C0 controls but tab/LF/CR, and lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def read_table(filename: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) for each data row of a CSV or XLSX file, read row by row.

    Bounded whatever the file holds: rows, lines, columns, cell length, XLSX zip sizes and time, so that
    a zip bomb or a sheet claiming a million rows is refused at once with a message that says why."""
    name = (filename or "").lower()
    rows = _xlsx_rows(data) if name.endswith(".xlsx") or data.startswith(b"PK\x03\x04") else _csv_rows(data)
    deadline = time.monotonic() + IMPORT_SECONDS
    header: list[str] | None = None
    out: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(rows, start=1):
        if number > MAX_IMPORT_LINES:
            raise ValidationError(_l("At most %(n)d rows per file.", n=MAX_IMPORT_ROWS), field="file")
        if number % 256 == 0 and time.monotonic() > deadline:
            raise ValidationError(_l("The file took too long to read; split it into smaller files."),
                                  field="file")
        if header is not None and all(v is None or v == "" for v in row):
            continue  # blank (a sheet's gaps come as rows of None)
        cells = [_cell(v) for v in row]
        for value in cells:
            _check_cell(value, number)
        if header is None:
            header = cells
            while header and not header[-1]:
                header.pop()
            if not header:
                raise ValidationError(_l("The file is empty."), field="file")
            continue
        if not any(cells):
            continue
        if len(out) == MAX_IMPORT_ROWS:
            raise ValidationError(_l("At most %(n)d rows per file.", n=MAX_IMPORT_ROWS), field="file")
        out.append((number, {h: v for h, v in zip(header, cells, strict=False) if h}))
    if header is None:
        raise ValidationError(_l("The file is empty."), field="file")
    return out


def _check_cell(value: str, line: int) -> None:
    if len(value) > MAX_CELL_CHARS:
        raise ValidationError(_l("Line %(line)d has a cell longer than %(n)d characters.", line=line,
                                 n=MAX_CELL_CHARS), field="file")
    if _CONTROL.search(value):
        raise ValidationError(_l("Line %(line)d contains control characters.", line=line), field="file")


def _xlsx_rows(data: bytes) -> Iterator[Sequence[object]]:
    """The first sheet's rows as tuples of values, lazily, at most MAX_IMPORT_COLUMNS wide."""
    check_xlsx_archive(data)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # never trust <dimension>: openpyxl pads every row to its width
    except Exception:
        raise ValidationError(_l("This is not a readable XLSX file."), field="file") from None

    def rows():
        try:
            width = MAX_IMPORT_COLUMNS
            for index, row in enumerate(sheet.iter_rows(max_col=MAX_IMPORT_COLUMNS, values_only=True)):
                if index == 0:  # later rows are cut to the header's width: columns without a name are unread
                    width = max((i + 1 for i, v in enumerate(row) if v not in (None, "")), default=1)
                yield row[:width]
        except ValidationError:
            raise
        except Exception:
            raise ValidationError(_l("This is not a readable XLSX file."), field="file") from None
        finally:
            book.close()

    return rows()


def check_xlsx_archive(data: bytes) -> None:
    """Refuse a zip whose entries would decompress beyond the limits, before decompressing anything.

    The sizes come from the central directory; zipfile never returns more bytes than a member declares
    (a liar fails its CRC check instead), so checking them bounds what openpyxl can inflate."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ValidationError(_l("This is not a readable XLSX file."), field="file") from None
    too_big = ValidationError(_l("The spreadsheet unpacks to more than %(mb)d MB; split it into smaller files.",
                                 mb=XLSX_MAX_TOTAL_BYTES // (1024 * 1024)), field="file")
    if len(members) > XLSX_MAX_MEMBERS:
        raise too_big
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > XLSX_MAX_MEMBER_BYTES or total > XLSX_MAX_TOTAL_BYTES:
            raise too_big
        if member.file_size > 1024 * 1024 and member.file_size > XLSX_MAX_RATIO * max(member.compress_size, 1):
            raise ValidationError(_l("The spreadsheet is compressed suspiciously well; save it again from "
                                     "Excel or as CSV."), field="file")


def _csv_rows(data: bytes) -> Iterator[Sequence[object]]:
    """A CSV's rows, lazily. Excel writes UTF-8 (with a BOM) or, in Chinese Windows, GB18030/GBK: a strict
    UTF-8 decode decides, since GBK text is almost never valid UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ValidationError(_l("Save the CSV file as UTF-8 or GB18030 (GBK)."), field="file") from None

    def rows():
        try:
            yield from csv.reader(io.StringIO(text, newline=""))
        except csv.Error:
            # e.g. a field over the csv module's limit (131,072 characters)
            raise ValidationError(_l("The CSV file cannot be read: a field is too long or badly quoted."),
                                  field="file") from None

    return rows()


def _cell(value: object) -> str:
    from datetime import date, datetime

    if value is None:
        return ""
    if isinstance(value, datetime):  # a spreadsheet's times have no zone: the reader takes them as CST
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def row_to_listing_data(side: str, row: dict) -> dict:
    """Flat columns -> the API's listing fields: quality.<p>, quality_limits.<p>.min / .max."""
    data: dict = {}
    quality: dict = {}
    limits: dict = {}
    for key, value in row.items():
        if key.startswith("quality_limits."):
            parts = key.split(".")
            if len(parts) == 3 and value != "":
                limits.setdefault(parts[1], {})[parts[2]] = value
        elif key.startswith("quality."):
            if value != "":
                quality[key.split(".", 1)[1]] = value
        elif key == "also_materials" and isinstance(value, str):  # one cell: "gbf_slag, steel_slag" (as exported)
            data[key] = [code for code in re.split(r"[,;\s]+", value) if code]
        else:
            data[key] = value
    if side == "supply":
        data["quality"] = quality
    else:
        data["quality_limits"] = limits
    return data


def import_listings(actor: User, side: str, filename: str, data: bytes) -> list:
    """Create every row as a listing, or none: a bad row raises ImportFailed with every row's errors."""
    rows = read_table(filename, data)
    if not rows:
        raise ValidationError(_l("The file has no data rows."), field="file")
    checked, errors = [], []
    for line, row in rows:
        values = row_to_listing_data(side, row)
        status = values.pop("status", "") or "open"
        try:
            checked.append(listings.check_new_listing(actor, side, values, status))
        except MarketplaceError as e:
            errors.append(RowError(line, e.field, str(e.message)))
    if errors:
        raise ImportFailed(errors)
    return [listings.insert_listing(actor, side, values, status) for values, status in checked]


def template_columns(side: str, materials: Iterable[CatalogueMaterial]) -> list[str]:
    base = ["site_id", "material"]
    if side == "supply":
        base += ["grade", "tonnes", "period_start", "period_end", "price_yuan_per_t", "max_haul_km", "notes"]
        params = sorted({p.code for m in materials for p in m.parameters})
        return base + [f"quality.{p}" for p in params] + ["status"]
    base += ["min_grade", "tonnes", "period_start", "period_end", "max_delivered_price_yuan_per_t",
             "max_haul_km", "use", "also_materials", "notes"]
    params = sorted({p.code for m in materials for p in m.parameters})
    return base + [c for p in params for c in (f"quality_limits.{p}.min", f"quality_limits.{p}.max")] + ["status"]


# --- exports -------------------------------------------------------------------------------------------

def flatten(record: dict) -> dict:
    """A listing's JSON as one spreadsheet row (quality maps spread into columns)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, dict):
                    for bound, v in inner.items():
                        out[f"{key}.{sub}.{bound}"] = v
                else:
                    out[f"{key}.{sub}"] = inner
        elif isinstance(value, list):  # other accepted materials "a, b"; a monthly profile "Jan Feb ... Dec"
            out[key] = (", " if key == "also_materials" else " ").join(str(v) for v in value)
        else:
            out[key] = "" if value is None else value
    return out


def to_csv(rows: list[dict]) -> bytes:
    columns = _columns(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(rows: list[dict], title: str = "listings") -> bytes:
    from openpyxl import Workbook

    columns = _columns(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(columns)
    for row in rows:
        ws.append([_safe_cell(row.get(c, "")) for c in columns])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _columns(rows: list[dict]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns or ["id"]


def _safe_cell(value):
    """Neutralise spreadsheet formulas in user text (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
