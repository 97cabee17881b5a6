"""Files around listings: lab certificates, bulk imports (CSV/XLSX) and exports."""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from ..errors import MarketplaceError, ValidationError
from ..extensions import db
from ..models import User
from . import listings

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


def attach_certificate(actor: User, listing_id: int, filename: str, data: bytes, folder: Path):
    """Store a lab certificate for a supply listing under a random name in `folder`."""
    listing = listings.own_listing(actor, "supply", listing_id)
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


def can_download_certificate(viewer: User, listing) -> bool:
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


def read_table(filename: str, data: bytes) -> list[tuple[int, dict]]:
    """(line number, {column: value}) for each data row of a CSV (UTF-8) or XLSX file."""
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            rows = list(sheet.iter_rows(values_only=True))
        except Exception:
            raise ValidationError(_l("This is not a readable XLSX file."), field="file") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_l("Save the CSV file as UTF-8."), field="file") from None
        rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationError(_l("The file is empty."), field="file")
    header = [str(h or "").strip() for h in rows[0]]
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(v or "").strip() for v in row):
            continue
        out.append((number, {h: _cell(v) for h, v in zip(header, row) if h}))
    if len(out) > MAX_IMPORT_ROWS:
        raise ValidationError(_l("At most %(n)d rows per file.", n=MAX_IMPORT_ROWS), field="file")
    return out


def _cell(value) -> str:
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


def template_columns(side: str, materials) -> list[str]:
    base = ["site_id", "material"]
    if side == "supply":
        base += ["grade", "tonnes", "period_start", "period_end", "price_yuan_per_t", "max_haul_km", "notes"]
        params = sorted({p.code for m in materials for p in m.parameters})
        return base + [f"quality.{p}" for p in params] + ["status"]
    base += ["min_grade", "tonnes", "period_start", "period_end", "max_delivered_price_yuan_per_t",
             "max_haul_km", "use", "notes"]
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
