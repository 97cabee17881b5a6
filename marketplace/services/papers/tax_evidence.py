"""Tax evidence from the ledger.

- The utiliser's resource comprehensive utilisation VAT refund (公告2021年第40号): it declares its product lines
  (a row of the catalogue each) and each month's raw materials in, the listed waste it used, and its output. The
  waste share the platform *proves* is its ledger receipts of the row's materials in that month (each tonne
  allocated to one line only, lines in the order they were added), over the raw materials in; it qualifies when
  proven waste x 100 >= threshold % x raw materials (exact decimals, so the threshold itself qualifies).
- The producer's environmental protection tax: tonnes utilised through the platform per material x the rate in
  force = tax not owed on them (comprehensively utilised solid waste is exempt), with the tickets."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...clock import to_cst, today_cst
from ...errors import NotFound, PermissionDenied, ValidationError
from ...extensions import db
from ...models import LedgerEntry, LedgerKind, Organisation, ProductionMonth, ProductLine, User, VatCatalogueRow
from ...schemas.common import validate
from ...schemas.papers import ProductionMonthIn, ProductLineIn
from ..generation import parse_month
from ..ledger import reversed_among
from ..values import get_row
from .periods import Period
from .reference import required_factor, vat_rows

KG = Decimal("0.001")
FEN = Decimal("0.01")


# --- declarations ----------------------------------------------------------------------------------------

def _utiliser(actor: User) -> Organisation:
    org = actor.organisation
    if not org.is_consumer or org.is_staff:
        raise PermissionDenied(_l("Only utilisers declare product lines."))
    if not org.is_verified:
        raise PermissionDenied(_l("Your organisation must be verified first."))
    return org


def add_product_line(actor: User, name: object, vat_code: object) -> ProductLine:
    """A utiliser's product line under a row of the VAT catalogue in force today."""
    org = _utiliser(actor)
    fields = validate(ProductLineIn, {"name": name, "vat_code": vat_code if isinstance(vat_code, str) else ""})
    name, vat_code = fields.name, fields.vat_code
    if vat_code not in {row.code for row in vat_rows(today_cst())}:
        raise ValidationError(_l("Choose a row of the catalogue."), field="vat_code")
    line = ProductLine(organisation_id=org.id, name=name, vat_code=vat_code)
    db.session.add(line)
    db.session.flush()
    return line


def lines_of(org_id: int) -> list[ProductLine]:
    return list(db.session.scalars(select(ProductLine).where(ProductLine.organisation_id == org_id)
                                   .options(joinedload(ProductLine.months)).order_by(ProductLine.id)).unique())


def declare_month(actor: User, line_id: object, month: str, raw_input: object, waste_input: object,
                  output: object) -> ProductionMonth:
    """Declare (or correct) a product line's month: raw materials in, listed waste used, output (tonnes)."""
    org = _utiliser(actor)
    fields = validate(ProductionMonthIn, {"line_id": line_id, "month": month, "raw_input_t": raw_input,
                                          "waste_input_t": waste_input, "output_t": output})
    line = get_row(ProductLine, fields.line_id)
    if line is None or line.organisation_id != org.id:
        raise NotFound(_l("No such product line."))
    month_date = parse_month(fields.month)
    raw, waste, out = fields.raw_input_t, fields.waste_input_t, fields.output_t
    if raw <= 0:
        raise ValidationError(_l("Raw materials in must be more than zero."), field="raw_input_t")
    if waste > raw:
        raise ValidationError(_l("The waste used cannot exceed the raw materials in."), field="waste_input_t")
    record = db.session.scalar(select(ProductionMonth).where(ProductionMonth.line_id == line.id,
                                                             ProductionMonth.month == month_date))
    if record is None:
        record = ProductionMonth(line_id=line.id, month=month_date)
        db.session.add(record)
    record.raw_input_t, record.waste_input_t, record.output_t = raw, waste, out
    record.recorded_by_id = actor.id
    db.session.flush()
    return record


# --- the VAT evidence ------------------------------------------------------------------------------------

@dataclass
class LineMonth:
    line: ProductLine
    row: VatCatalogueRow | None
    month: date
    raw_input_t: Decimal
    declared_waste_t: Decimal
    output_t: Decimal
    proven_waste_t: Decimal
    #: proven / raw, to four places (display); `qualifies` compares exactly
    share: Decimal
    qualifies: bool
    #: the receipts (ledger seq -> kg taken from it) that prove the waste
    receipts: dict[int, int] = field(default_factory=dict)


@dataclass
class VatEvidence:
    organisation: Organisation
    period: Period
    months: list[LineMonth]
    receipts: list[LedgerEntry]


def vat_evidence(org: Organisation, period: Period) -> VatEvidence:
    rows = {r.code: r for r in vat_rows(period.last_day)}
    start, end = period.bounds_utc
    found = list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.consumer_org_id == org.id, LedgerEntry.dispatched_at >= start,
                                  LedgerEntry.dispatched_at < end).order_by(LedgerEntry.seq)))
    # Only receipts that stand prove waste used: a reversed entry (a regulator struck it out, whenever) and the
    # reversal itself prove nothing.
    reversed_ids = reversed_among([e.id for e in found if e.kind == LedgerKind.UTILISATION])
    entries = [e for e in found if e.kind == LedgerKind.UTILISATION and e.id not in reversed_ids]
    # what each month's receipts of each material leave to allocate: per entry, so each tonne names its ticket
    pool: dict[tuple[date, str], list[list[int]]] = defaultdict(list)  # [seq, kg left]
    for entry in entries:
        pool[(to_cst(entry.dispatched_at).date().replace(day=1), entry.material)].append([entry.seq, entry.net_kg])
    months = []
    for line in lines_of(org.id):
        row = rows.get(line.vat_code)
        materials = row.materials.split(",") if row else []
        for record in line.months:
            if not period.start <= record.month < period.end:
                continue
            wanted = int(record.waste_input_t * 1000)
            taken: dict[int, int] = {}
            for material in materials:
                for item in pool.get((record.month, material), []):
                    take = max(0, min(item[1], wanted))
                    if take:
                        item[1] -= take
                        wanted -= take
                        taken[item[0]] = take
            proven_kg = sum(taken.values())
            proven = (Decimal(proven_kg) / 1000).quantize(KG)
            qualifies = row is not None and proven * 100 >= row.min_waste_pct * record.raw_input_t
            months.append(LineMonth(line, row, record.month, record.raw_input_t, record.waste_input_t,
                                    record.output_t, proven, (proven / record.raw_input_t).quantize(Decimal("0.0001")),
                                    qualifies, taken))
    return VatEvidence(org, period, months, entries)


def vat_rows_as_table(evidence: VatEvidence) -> list[dict[str, object]]:
    return [{"line": m.line.name, "catalogue_row": m.line.vat_code, "month": f"{m.month:%Y-%m}",
             "raw_input_t": f"{m.raw_input_t:.3f}", "declared_waste_t": f"{m.declared_waste_t:.3f}",
             "proven_waste_t": f"{m.proven_waste_t:.3f}", "share": str(m.share),
             "threshold_pct": "" if m.row is None else str(m.row.min_waste_pct),
             "refund_pct": "" if m.row is None else str(m.row.refund_pct), "qualifies": m.qualifies,
             "output_t": f"{m.output_t:.3f}",
             "receipts": " ".join(f"#{seq}:{kg}kg" for seq, kg in m.receipts.items())} for m in evidence.months]


# --- the producer's environmental protection tax ----------------------------------------------------------

@dataclass
class EnvTaxLine:
    material: str
    tonnes: Decimal
    rate_yuan_per_t: Decimal
    rate_source: str
    rate_version: int
    tax_not_owed_yuan: Decimal
    entries: list[LedgerEntry]


def env_tax_evidence(org: Organisation, period: Period) -> list[EnvTaxLine]:
    """Per material: the period's utilised tonnes (the ledger, reversals included) x the rate in force on the
    period's last day."""
    start, end = period.bounds_utc
    by_material: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in db.session.scalars(select(LedgerEntry).where(
            LedgerEntry.producer_org_id == org.id, LedgerEntry.dispatched_at >= start,
            LedgerEntry.dispatched_at < end).order_by(LedgerEntry.seq)):
        by_material[entry.material].append(entry)
    out = []
    for material in sorted(by_material):
        entries = by_material[material]
        tonnes = (Decimal(sum(e.net_kg for e in entries)) / 1000).quantize(KG)
        rate = required_factor(f"env_tax.{material}", period.last_day)
        out.append(EnvTaxLine(material, tonnes, rate.value.quantize(FEN), rate.source, rate.version,
                              (tonnes * rate.value).quantize(FEN), entries))
    return out
