"""The producer's general industrial solid-waste ledger (一般工业固体废物管理台账, MEE 公告2021年第82号;
Solid Waste Law Art. 36-37): per waste type and generating site, each month's generation, storage (opening,
in, out, closing), in-house utilisation, transfers (through the platform, from the ledger's tickets, with the
receiving unit; and elsewhere, as declared) and disposal, reconciled:

    opening + generated = used in-house + transferred + disposed + closing

A month whose figures do not balance carries its difference and a note; nothing is evened out."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...clock import to_cst
from ...extensions import db
from ...models import (
    Agreement,
    GenerationRecord,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    Material,
    Organisation,
    Site,
    SupplyListing,
)
from .periods import Period, previous_month

ZERO = Decimal("0.000")
#: MEE 公告2021年第82号: the ledger is kept at least five years.
RETENTION_YEARS = 5
FLOWS = ("opening", "generated", "in_house", "storage_in", "storage_out", "transferred_platform",
         "transferred_other", "disposed", "closing", "difference")


@dataclass
class MonthFigures:
    month: date
    opening: Decimal = ZERO
    generated: Decimal = ZERO
    in_house: Decimal = ZERO
    storage_in: Decimal = ZERO
    storage_out: Decimal = ZERO
    transferred_platform: Decimal = ZERO
    transferred_other: Decimal = ZERO
    disposed: Decimal = ZERO
    closing: Decimal = ZERO
    difference: Decimal = ZERO
    #: why a figure is missing or does not balance: "no_declaration", "no_opening", "no_closing",
    #: "opening_differs", "unbalanced"
    notes: list[str] = field(default_factory=list)

    @property
    def transferred(self) -> Decimal:
        return self.transferred_platform + self.transferred_other


@dataclass
class WasteRow:
    """One waste type at one generating site: its months and the period's total."""
    site_id: int
    site_name: str
    material_code: str
    material_zh: str
    material_en: str
    waste_code: str
    months: list[MonthFigures]
    total: MonthFigures


@dataclass
class Ticket:
    ticket_no: str
    dispatched_at: datetime
    net_kg: int
    ledger_seq: int
    kind: str


@dataclass
class Transfer:
    """What went to one receiving unit under one agreement (Art. 37: who, with what credentials, for what use)."""
    agreement_id: int
    site_name: str
    material_code: str
    receiver_name: str
    receiver_credit_code: str
    use: str
    tickets: list[Ticket]

    @property
    def tonnes(self) -> Decimal:
        return (Decimal(sum(t.net_kg for t in self.tickets)) / 1000).quantize(ZERO)


@dataclass
class ProducerLedger:
    organisation: Organisation
    period: Period
    rows: list[WasteRow]
    transfers: list[Transfer]
    other_receivers: list[dict[str, Any]]
    ledger_head_seq: int
    checkpoint: LedgerCheckpoint | None

    @property
    def balanced(self) -> bool:
        return all(not m.difference for row in self.rows for m in row.months)


def producer_ledger(org: Organisation, period: Period) -> ProducerLedger:
    """The ledger of `org` for `period` (its sites' declarations and the platform's confirmed tickets)."""
    first = previous_month(period.start)  # its closing stock opens the period
    records = {(r.site_id, r.material_id, r.month): r for r in db.session.scalars(
        select(GenerationRecord).join(Site, GenerationRecord.site_id == Site.id)
        .where(Site.organisation_id == org.id, GenerationRecord.month >= first, GenerationRecord.month < period.end))}
    materials = {m.id: m for m in db.session.scalars(select(Material))}
    by_code = {m.code: m for m in materials.values()}
    transfers, platform = _transfers(org, period)
    keys: set[tuple[int, int]] = {(site, material) for site, material, month in records if month >= period.start}
    keys |= {(site, by_code[code].id) for site, code, _month in platform}
    sites = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_({k[0] for k in keys})))}
    rows = []
    for site_id, material_id in sorted(keys, key=lambda k: (sites[k[0]].name, materials[k[1]].id)):
        material = materials[material_id]
        months, carried = [], _closing(records.get((site_id, material_id, first)))
        for month in period.months:
            figures = _month(records.get((site_id, material_id, month)), month, carried,
                             Decimal(platform.get((site_id, material.code, month), 0)) / 1000)
            months.append(figures)
            carried = figures.closing if "no_closing" not in figures.notes else None
        rows.append(WasteRow(site_id, sites[site_id].name, material.code, material.name_zh, material.name_en,
                             material.waste_code or "", months, _total(months)))
    receivers = [{"month": r.month, "site_name": sites[r.site_id].name if r.site_id in sites else "",
                  "material_code": materials[r.material_id].code, "tonnes": r.tonnes_transferred_other,
                  "receivers": r.other_receivers}
                 for r in sorted(records.values(), key=lambda r: (r.month, r.site_id, r.material_id))
                 if r.month >= period.start and r.tonnes_transferred_other]
    head = db.session.scalar(select(LedgerHead.seq).where(LedgerHead.id == 1)) or 0
    checkpoint = db.session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq.desc(),
                                                                     LedgerCheckpoint.id.desc()).limit(1))
    return ProducerLedger(org, period, rows, transfers, receivers, head, checkpoint)


def _closing(record: GenerationRecord | None) -> Decimal | None:
    return None if record is None or record.stock_closing is None else record.stock_closing


def _month(record: GenerationRecord | None, month: date, carried: Decimal | None, platform_t: Decimal
           ) -> MonthFigures:
    figures = MonthFigures(month=month, transferred_platform=platform_t.quantize(ZERO))
    if record is None:
        figures.notes.append("no_declaration")
        figures.opening = figures.closing = carried if carried is not None else ZERO
    else:
        figures.generated = record.tonnes_generated
        figures.in_house = record.tonnes_used_in_house
        figures.storage_in = record.tonnes_stored
        figures.disposed = record.tonnes_disposed
        figures.transferred_other = record.tonnes_transferred_other
        if record.stock_opening is not None:
            figures.opening = record.stock_opening
            if carried is not None and carried != record.stock_opening:
                figures.notes.append("opening_differs")
        elif carried is not None:
            figures.opening = carried
        else:
            figures.notes.append("no_opening")
        if record.stock_closing is None:
            figures.notes.append("no_closing")
        else:
            figures.closing = record.stock_closing
    figures.storage_out = figures.opening + figures.storage_in - figures.closing
    figures.difference = _difference(figures)
    if figures.difference:
        figures.notes.append("unbalanced")
    return figures


def _difference(f: MonthFigures) -> Decimal:
    """opening + generated - (in-house + transferred + disposed + closing): zero when the month balances."""
    return (f.opening + f.generated - f.in_house - f.transferred - f.disposed - f.closing).quantize(ZERO)


def _total(months: list[MonthFigures]) -> MonthFigures:
    total = MonthFigures(month=months[0].month, opening=months[0].opening, closing=months[-1].closing)
    for name in ("generated", "in_house", "storage_in", "storage_out", "transferred_platform", "transferred_other",
                 "disposed"):
        setattr(total, name, sum((getattr(m, name) for m in months), ZERO))
    total.difference = _difference(total)
    total.notes = sorted({note for m in months for note in m.notes})
    return total


def _transfers(org: Organisation, period: Period) -> tuple[list[Transfer], dict[tuple[int, str, date], int]]:
    """The period's confirmed tickets of `org` (reversals included, by dispatch time in China Standard Time):
    by agreement, and in kilograms by (site, material, month)."""
    start, end = period.bounds_utc
    rows = db.session.execute(
        select(LedgerEntry, Agreement, SupplyListing.site_id)
        .join(Agreement, LedgerEntry.agreement_id == Agreement.id)
        .join(SupplyListing, Agreement.supply_listing_id == SupplyListing.id)
        .options(joinedload(Agreement.consumer))
        .where(LedgerEntry.producer_org_id == org.id, LedgerEntry.dispatched_at >= start,
               LedgerEntry.dispatched_at < end)
        .order_by(LedgerEntry.agreement_id, LedgerEntry.seq))
    by_agreement: dict[int, Transfer] = {}
    kg: dict[tuple[int, str, date], int] = defaultdict(int)
    site_names = {s.id: s.name for s in org.sites}
    for entry, agreement, site_id in rows:
        transfer = by_agreement.get(agreement.id)
        if transfer is None:
            consumer = agreement.consumer
            transfer = by_agreement[agreement.id] = Transfer(
                agreement.id, site_names.get(site_id, ""), entry.material, consumer.name,
                consumer.credit_code or consumer.released_credit_code or "", agreement.use, [])
        transfer.tickets.append(Ticket(entry.ticket_no, entry.dispatched_at, entry.net_kg, entry.seq, entry.kind))
        kg[(site_id, entry.material, to_cst(entry.dispatched_at).date().replace(day=1))] += entry.net_kg
    return list(by_agreement.values()), dict(kg)


def ledger_rows(ledger: ProducerLedger) -> list[dict[str, Any]]:
    """The ledger as one flat table (CSV/JSON download): a row per site, waste type and month, and the total."""
    out = []
    for row in ledger.rows:
        for figures in [*row.months, row.total]:
            label = ledger.period.label if figures is row.total else f"{figures.month:%Y-%m}"
            out.append({"period": label, "site": row.site_name, "waste_code": row.waste_code,
                        "material": row.material_code, "material_zh": row.material_zh,
                        **{f"{name}_t": f"{getattr(figures, name):.3f}" for name in FLOWS},
                        "notes": " ".join(figures.notes)})
    return out


def transfer_rows(ledger: ProducerLedger) -> list[dict[str, Any]]:
    """Every ticket behind the transfers, with its receiving unit (CSV/JSON download)."""
    return [{"agreement": t.agreement_id, "site": t.site_name, "material": t.material_code,
             "receiver": t.receiver_name, "receiver_credit_code": t.receiver_credit_code, "use": t.use,
             "ticket_no": ticket.ticket_no, "dispatched_at": ticket.dispatched_at, "net_kg": ticket.net_kg,
             "ledger_seq": ticket.ledger_seq, "kind": ticket.kind}
            for t in ledger.transfers for ticket in t.tickets]


#: Column headers of the guide's tables (the filed layout is Chinese; the annex layout is unverified here).
_FLOW_HEADERS = ["月份", "产生设施（场所）", "废物代码", "废物名称", "期初贮存量(t)", "产生量(t)", "自行利用量(t)",
                 "贮存入库量(t)", "贮存出库量(t)", "委托利用量（平台）(t)", "其他转移量(t)", "处置量(t)",
                 "期末贮存量(t)", "核对差额(t)", "说明"]
NOTE_ZH = {"no_declaration": "本月未申报", "no_opening": "未申报期初贮存量", "no_closing": "未申报期末贮存量",
           "opening_differs": "期初与上月期末不符", "unbalanced": "收支不平衡"}


def ledger_workbook(ledger: ProducerLedger) -> bytes:
    """The ledger as XLSX in the guide's table layout: basic information, the monthly flows with their
    reconciliation, the transfers with every ticket, and the other receiving units declared."""
    from ...clock import format_cst
    from .documents import workbook

    org, cp = ledger.organisation, ledger.checkpoint
    info: list[list[Any]] = [
            ["产生单位名称", org.name], ["统一社会信用代码", org.credit_code or org.released_credit_code or ""],
            ["台账期间", ledger.period.label],
            ["保存期限", f"不少于{RETENTION_YEARS}年（生态环境部公告2021年第82号）；导出所依据的记录不可删除"],
            ["平衡核对", "期初贮存量 + 产生量 = 自行利用量 + 委托利用量 + 其他转移量 + 处置量 + 期末贮存量"],
            ["核对结果", "平衡" if ledger.balanced else "不平衡（见核对差额列）"],
            ["利用台账条目（截至序号）", ledger.ledger_head_seq],
            ["签名检查点", f"#{cp.id} seq={cp.seq} root={cp.root} {cp.time}" if cp else "无"]]
    flows = []
    for row in ledger.rows:
        for figures in [*row.months, row.total]:
            label = f"合计 {ledger.period.label}" if figures is row.total else f"{figures.month:%Y-%m}"
            flows.append([label, row.site_name, row.waste_code, row.material_zh,
                          *[float(getattr(figures, name)) for name in FLOWS],
                          "；".join(NOTE_ZH[n] for n in figures.notes)])
    tickets = [[t.agreement_id, t.receiver_name, t.receiver_credit_code, t.use, t.site_name, t.material_code,
                ticket.ticket_no, format_cst(ticket.dispatched_at), ticket.net_kg, ticket.ledger_seq]
               for t in ledger.transfers for ticket in t.tickets]
    others = [[f"{r['month']:%Y-%m}", r["site_name"], r["material_code"], float(r["tonnes"]), r["receivers"]]
              for r in ledger.other_receivers]
    return workbook([
        ("表1 基本信息", ["一般工业固体废物管理台账"], ["项目", "内容"], info),
        ("表2 产生贮存利用处置", [f"一般工业固体废物产生、贮存、利用、处置汇总（{ledger.period.label}）"],
         _FLOW_HEADERS, flows),
        ("表3 委托利用记录", ["委托利用（转移）记录：接收单位、用途及过磅单"],
         ["协议", "接收单位名称", "统一社会信用代码", "用途", "产生设施", "废物", "过磅单号", "发运时间(UTC+8)",
          "净重(kg)", "台账序号"], tickets),
        ("表4 其他接收单位", ["平台外转移（企业申报）"],
         ["月份", "产生设施", "废物", "数量(t)", "接收单位（名称、信用代码、用途）"], others),
    ])
