"""The papers: each firm sees only its own, regulators (staff) every firm's; each as a page, XLSX, PDF, CSV and
JSON. GET only: papers read the records, they never write."""
from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..clock import iso, today_cst
from ..extensions import db
from ..models import Organisation
from ..services import deliveries, subsidies
from ..services.papers import dossier as dossier_service
from ..services.papers import producer_ledger as ledger_service
from ..services.papers import regional_report as report_service
from ..services.papers.documents import pdf
from ..services.papers.periods import Period, parse_period
from ..web import spreadsheet, staff_required
from . import bp
from .forms import PeriodForm

FORMATS = ("html", "xlsx", "pdf", "csv", "json")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _format() -> str:
    fmt = request.args.get("format", "html")
    if fmt not in FORMATS:
        abort(400)
    return fmt


def _period(default: str, kinds: tuple[str, ...] = ("month", "quarter", "half", "year")) -> Period:
    return parse_period(request.args.get("period") or default, kinds)  # ValidationError -> 400 page


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})


def _plain(value: Any) -> Any:
    """Decimals, dates and dataclasses as JSON values (tonnes to the kilogram as strings)."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json(document: dict[str, Any], filename: str) -> Response:
    body = json.dumps(_plain(document), ensure_ascii=False, indent=1).encode("utf-8")
    return _download(body, "application/json", filename)


def _organisation_for(check_own) -> Organisation:
    """The firm whose papers are asked for: one's own (`?org=` of another firm is 404), or for staff the one
    `?org=` names."""
    org_arg = request.args.get("org", "")
    if current_user.organisation.is_staff:
        if not (org_arg.isascii() and org_arg.isdigit()):
            abort(404)
        org = db.session.get(Organisation, int(org_arg))
        if org is None or org.is_staff:
            abort(404)
        return org
    if org_arg and org_arg != str(current_user.organisation_id):
        abort(404)
    if not check_own(current_user.organisation):
        abort(403)
    return current_user.organisation


@bp.route("/")
@login_required
def index():
    """The papers this user may open."""
    producers = []
    if current_user.organisation.is_staff:
        producers = list(db.session.scalars(select(Organisation).where(Organisation.kind.in_(["producer", "both"]))
                                            .order_by(Organisation.name)))
    return render_template("papers/index.html", producers=producers, this_month=f"{today_cst():%Y-%m}")


@bp.route("/ledger")
@login_required
def producer_ledger():
    """The producer's 一般工业固体废物管理台账 for a month, quarter or year."""
    fmt = _format()
    org = _organisation_for(lambda o: o.is_producer)
    period = _period(f"{today_cst():%Y-%m}")
    ledger = ledger_service.producer_ledger(org, period)
    name = f"taizhang-{org.id}-{period.label}"
    if fmt == "xlsx":
        return _download(ledger_service.ledger_workbook(ledger), XLSX, f"{name}.xlsx")
    if fmt == "csv":
        table = request.args.get("table", "flows")
        if table not in ("flows", "tickets"):
            abort(400)
        rows = ledger_service.ledger_rows(ledger) if table == "flows" else ledger_service.transfer_rows(ledger)
        return spreadsheet(rows, "csv", f"{name}-{table}", name)
    if fmt == "json":
        return _json({"organisation": {"name": org.name, "credit_code": org.credit_code},
                      "period": period.label, "balanced": ledger.balanced,
                      "retention_years": ledger_service.RETENTION_YEARS,
                      "ledger_head_seq": ledger.ledger_head_seq,
                      "checkpoint": None if ledger.checkpoint is None else {
                          "id": ledger.checkpoint.id, "seq": ledger.checkpoint.seq, "root": ledger.checkpoint.root,
                          "time": ledger.checkpoint.time},
                      "rows": ledger.rows, "transfers": ledger.transfers,
                      "other_receivers": ledger.other_receivers}, f"{name}.json")
    context = {"ledger": ledger, "org": org, "period": period, "notes": ledger_service.NOTE_ZH,
               "retention_years": ledger_service.RETENTION_YEARS}
    if fmt == "pdf":
        return _download(pdf(render_template("papers/producer_ledger_pdf.html", **context)), "application/pdf",
                         f"{name}.pdf")
    form = PeriodForm(request.args, meta={"csrf": False})
    form.period.data = period.label
    return render_template("papers/producer_ledger.html", form=form, title=_("Solid-waste ledger"), **context)


@bp.route("/report")
@staff_required
def regional_report():
    """The regulator's half-yearly or yearly report by city and category (the dashboard's figures)."""
    fmt = _format()
    period = _period(str(today_cst().year), ("half", "year"))
    report = report_service.regional_report(period)
    name = f"report-{period.label}"
    if fmt == "xlsx":
        return _download(report_service.report_workbook(report), XLSX, f"{name}.xlsx")
    if fmt == "csv":
        table = request.args.get("table", "city")
        if table not in ("city", "category"):
            abort(400)
        return spreadsheet(report.by_city if table == "city" else report.by_category, "csv", f"{name}-{table}", name)
    if fmt == "json":
        return _json({"period": period.label, "by_city": report.by_city, "by_category": report.by_category,
                      "overall": report.overall}, f"{name}.json")
    context = {"report": report, "period": period}
    if fmt == "pdf":
        return _download(pdf(render_template("papers/regional_report_pdf.html", **context)), "application/pdf",
                         f"{name}.pdf")
    form = PeriodForm(request.args, meta={"csrf": False})
    form.period.data = period.label
    return render_template("papers/regional_report.html", form=form, **context)


@bp.route("/claims/<int:claim_id>/dossier")
@login_required
def claim_dossier(claim_id: int):
    """A subsidy claim's dossier (PDF, or its data): the claim's enterprise and regulators only."""
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "json", "html"):
        abort(400)
    claim = subsidies.get_claim(current_user, claim_id)  # NotFound (404) for any other firm
    doc = dossier_service.dossier(claim)
    name = f"claim-{claim.id}-dossier"
    if fmt == "json":
        c = claim
        return _json({"claim": subsidies.claim_to_dict(c),
                      "enterprise": {"name": c.organisation.name, "credit_code": c.organisation.credit_code},
                      "scheme": subsidies.scheme_to_dict(c.scheme),
                      "baseline": {"year": c.baseline.year, "tonnes": c.baseline.tonnes,
                                   "evidence": c.baseline.evidence, "status": c.baseline.status},
                      "by_agreement": [{"agreement": r.agreement.id, "producer": r.agreement.producer.name,
                                        "material": r.agreement.material.code, "use": r.agreement.use,
                                        "tickets": r.tickets, "tonnes": f"{r.tonnes:.3f}"} for r in doc.by_agreement],
                      "flags": [{"ledger_seq": f.entry.seq, "ticket_no": f.entry.ticket_no, "flag": f.flag,
                                 "resolution": f.resolution, "reason": f.reason} for f in doc.flags],
                      "review_trail": [{"at": e.at, "action": e.action, "user": e.user.email if e.user else None,
                                        "details": e.details} for e in doc.events],
                      "checkpoint": None if doc.checkpoint is None else {
                          "id": doc.checkpoint.id, "seq": doc.checkpoint.seq, "root": doc.checkpoint.root,
                          "time": doc.checkpoint.time, "signature": doc.checkpoint.signature}}, f"{name}.json")
    html = render_template("papers/claim_dossier_pdf.html", d=doc, c=claim, flag_text=deliveries.FLAG_TEXT)
    if fmt == "html":
        return html
    return _download(pdf(html), "application/pdf", f"{name}.pdf")
