"""The papers: each firm sees only its own, regulators (staff) every firm's; each as a page, XLSX, PDF, CSV and
JSON. GET only: papers read the records, they never write."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..clock import iso, today_cst
from ..extensions import db, limiter
from ..forms_common import choices
from ..models import Co2Certificate, Organisation
from ..services import deliveries, subsidies
from ..services.agreements import agreements_for
from ..services.papers import co2 as co2_service
from ..services.papers import dossier as dossier_service
from ..services.papers import producer_ledger as ledger_service
from ..services.papers import reference
from ..services.papers import regional_report as report_service
from ..services.papers import tax_evidence as tax_service
from ..services.papers.documents import pdf
from ..services.papers.periods import Period, parse_period
from ..services.values import get_row
from ..web import run_service, spreadsheet, staff_required
from . import bp
from .forms import Co2Form, PeriodForm, ProductionMonthForm, ProductLineForm

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


def _organisation_for(check_own: Callable[[Organisation], bool]) -> Organisation:
    """The firm whose papers are asked for: one's own (`?org=` of another firm is 404), or for staff the one
    `?org=` names."""
    org_arg = request.args.get("org", "")
    if current_user.organisation.is_staff:
        if not (org_arg.isascii() and org_arg.isdigit()):
            abort(404)
        org = get_row(Organisation, int(org_arg))  # an id beyond the column's range is simply not found
        if org is None or org.is_staff:
            abort(404)
        return org
    if org_arg and org_arg != str(current_user.organisation_id):
        abort(404)
    own: Organisation = current_user.organisation
    if not check_own(own):
        abort(403)
    return own


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """The papers this user may open."""
    producers = []
    if current_user.organisation.is_staff:
        producers = list(db.session.scalars(select(Organisation).where(Organisation.kind.in_(["producer", "both"]))
                                            .order_by(Organisation.name)))
    return render_template("papers/index.html", producers=producers, this_month=f"{today_cst():%Y-%m}")


@bp.route("/ledger")
@login_required
def producer_ledger() -> ResponseReturnValue:
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
def regional_report() -> ResponseReturnValue:
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
def claim_dossier(claim_id: int) -> ResponseReturnValue:
    """A subsidy claim's dossier (PDF, or its data): the claim's enterprise and regulators only."""
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "json", "html"):
        abort(400)
    claim = subsidies.get_claim(current_user, claim_id)  # NotFound (404) for any other firm
    doc = dossier_service.dossier(claim)
    name = f"claim-{claim.id}-dossier"
    if fmt == "json":
        c = claim
        return _json({"claim": subsidies.claim_out(c).dump(),
                      "enterprise": {"name": c.organisation.name, "credit_code": c.organisation.credit_code},
                      "scheme": subsidies.scheme_out(c.scheme).dump(),
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


# --- tax evidence -------------------------------------------------------------------------------------------

def _tax_context(org: Organisation, period: Period, line_form: ProductLineForm | None = None,
                 month_form: ProductionMonthForm | None = None) -> dict[str, Any]:
    locale = str(get_locale())
    rows = reference.vat_rows(today_cst())
    lines = tax_service.lines_of(org.id)
    line_form = line_form or ProductLineForm(formdata=None)
    line_form.vat_code.choices = choices((r.code, f"{r.product(locale)} (≥{r.min_waste_pct}% → {r.refund_pct}%)")
                                         for r in rows)
    month_form = month_form or ProductionMonthForm(formdata=None)
    month_form.line_id.choices = choices((line.id, line.name) for line in lines)
    return {"org": org, "period": period, "evidence": tax_service.vat_evidence(org, period), "rows": rows,
            "line_form": line_form, "month_form": month_form}


@bp.route("/vat")
@login_required
def vat_evidence() -> ResponseReturnValue:
    """The utiliser's VAT refund evidence: its product lines' months, the waste share its receipts prove."""
    fmt = _format()
    org = _organisation_for(lambda o: o.is_consumer)
    period = _period(str(today_cst().year))
    evidence = tax_service.vat_evidence(org, period)
    name = f"vat-evidence-{org.id}-{period.label}"
    table = tax_service.vat_rows_as_table(evidence)
    if fmt in ("csv", "xlsx"):
        return spreadsheet(table, fmt, name, "VAT evidence")
    if fmt == "json":
        return _json({"organisation": {"name": org.name, "credit_code": org.credit_code}, "period": period.label,
                      "months": table, "receipts": [
                          {"ledger_seq": e.seq, "ticket_no": e.ticket_no, "material": e.material, "net_kg": e.net_kg,
                           "dispatched_at": e.dispatched_at} for e in evidence.receipts]}, f"{name}.json")
    context = _tax_context(org, period)
    if fmt == "pdf":
        return _download(pdf(render_template("papers/vat_evidence_pdf.html", **context)), "application/pdf",
                         f"{name}.pdf")
    return render_template("papers/vat_evidence.html", **context)


def _own_utiliser() -> Organisation:
    org: Organisation = current_user.organisation
    if not org.is_consumer or org.is_staff:
        abort(403)
    return org


@bp.route("/vat/lines", methods=["POST"])
@login_required
def add_product_line() -> ResponseReturnValue:
    org = _own_utiliser()
    form = ProductLineForm()
    form.vat_code.choices = choices((r.code, r.code) for r in reference.vat_rows(today_cst()))
    if form.validate_on_submit() and run_service(form, tax_service.add_product_line, current_user, form.name.data,
                                                 form.vat_code.data):
        flash(_("Product line added."), "success")
        return redirect(url_for("papers.vat_evidence"))
    return render_template("papers/vat_evidence.html",
                           **_tax_context(org, _period(str(today_cst().year)), line_form=form)), 400


@bp.route("/vat/months", methods=["POST"])
@login_required
def declare_production_month() -> ResponseReturnValue:
    org = _own_utiliser()
    form = ProductionMonthForm()
    form.line_id.choices = choices((line.id, line.name) for line in tax_service.lines_of(org.id))
    if form.validate_on_submit():
        record = run_service(form, tax_service.declare_month, current_user, form.line_id.data, form.month.data,
                             form.raw_input_t.data, form.waste_input_t.data, form.output_t.data)
        if record is not None:
            flash(_("Recorded %(month)s.", month=f"{record.month:%Y-%m}"), "success")
            return redirect(url_for("papers.vat_evidence", period=str(record.month.year)))
    return render_template("papers/vat_evidence.html",
                           **_tax_context(org, _period(str(today_cst().year)), month_form=form)), 400


@bp.route("/env-tax")
@login_required
def env_tax_evidence() -> ResponseReturnValue:
    """The producer's environmental protection tax not owed on what the platform's utilisers took."""
    fmt = _format()
    org = _organisation_for(lambda o: o.is_producer)
    period = _period(str(today_cst().year))
    lines = tax_service.env_tax_evidence(org, period)
    name = f"env-tax-{org.id}-{period.label}"
    table = [{"material": line.material, "tonnes": f"{line.tonnes:.3f}", "rate_yuan_per_t": str(line.rate_yuan_per_t),
              "tax_not_owed_yuan": str(line.tax_not_owed_yuan), "rate_version": line.rate_version,
              "rate_source": line.rate_source, "tickets": " ".join(e.ticket_no for e in line.entries)}
             for line in lines]
    if fmt in ("csv", "xlsx"):
        return spreadsheet(table, fmt, name, "Environmental tax")
    if fmt == "json":
        return _json({"organisation": {"name": org.name, "credit_code": org.credit_code}, "period": period.label,
                      "lines": table, "total_yuan": str(sum((line.tax_not_owed_yuan for line in lines), Decimal(0)))},
                     f"{name}.json")
    context = {"org": org, "period": period, "lines": lines,
               "total": sum((line.tax_not_owed_yuan for line in lines), Decimal(0))}
    if fmt == "pdf":
        return _download(pdf(render_template("papers/env_tax_pdf.html", **context)), "application/pdf", f"{name}.pdf")
    return render_template("papers/env_tax.html", **context)


# --- CO2 certificates ---------------------------------------------------------------------------------------

def _co2_page(form: Co2Form, status: int = 200) -> ResponseReturnValue:
    form.agreement_id.choices = choices((a.id, f"#{a.id} {a.material.name(str(get_locale()))} {a.tonnes} t")
                                        for a in agreements_for(current_user)
                                        if current_user.organisation_id in (a.producer_org_id, a.consumer_org_id))
    return render_template("papers/co2_list.html", form=form,
                           certificates=co2_service.certificates_of(current_user)), status


@bp.route("/co2")
@login_required
def co2_list() -> ResponseReturnValue:
    """The certificates this firm holds, and the form to issue one."""
    form = Co2Form(formdata=None)
    form.year.data = str(today_cst().year)
    return _co2_page(form)


@bp.route("/co2", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config.get("CO2_ISSUE_RATE_LIMIT", "20/hour"),
               key_func=lambda: f"co2-issue:{current_user.get_id()}")  # each issue verifies the whole ledger
def co2_issue() -> ResponseReturnValue:
    if current_user.organisation.is_staff:
        abort(403)  # certificates are the trading firms'; staff read them
    form = Co2Form()
    form.agreement_id.choices = choices((a.id, str(a.id)) for a in agreements_for(current_user))
    if form.validate_on_submit():
        certificate = run_service(form, co2_service.issue, current_user, form.scope.data, form.year.data,
                                  form.agreement_id.data)
        if certificate is not None:
            return redirect(url_for("papers.co2_verify", token=certificate.token))
    return _co2_page(form, 400)


def _public(certificate: Co2Certificate, full: bool) -> dict[str, Any]:
    """What a certificate's link discloses: figures, method, ledger evidence; never who or where. Only its
    holders (`full`) see the tonnes and the avoided and transport CO2: with the published transport factors
    those give the haul between the parties to a tenth of a kilometre. Anyone else sees the net avoided CO2,
    rounded to whole tonnes, and the fields of the full figures as null."""
    cp = certificate.checkpoint
    net = certificate.net_t if full else certificate.net_t.quantize(Decimal(1), ROUND_HALF_UP)
    return {"certificate": certificate.token, "scope": certificate.scope, "year": certificate.year,
            "material": certificate.material, "detail": "full" if full else "net",
            "tonnes": certificate.tonnes if full else None, "avoided_t": certificate.avoided_t if full else None,
            "transport_t": certificate.transport_t if full else None, "net_t": net, "method": certificate.method,
            "issued_at": certificate.issued_at, "ledger_entries": certificate.entry_seqs,
            "entries_digest": certificate.entries_digest,
            "checkpoint": {"id": cp.id, "seq": cp.seq, "root": cp.root, "time": cp.time, "signature": cp.signature,
                           "key_id": cp.key_id}}


def _holds(certificate: Co2Certificate) -> bool:
    return bool(current_user.is_authenticated and co2_service.may_hold(current_user, certificate))


@bp.route("/co2/<token>")
def co2_verify(token: str) -> ResponseReturnValue:
    """The public verification page a certificate's QR code opens: no login, nothing confidential."""
    certificate = co2_service.by_token(token)
    holder = _holds(certificate)
    return render_template("papers/co2_verify.html", c=certificate, public=_public(certificate, holder),
                           holder=holder)


@bp.route("/co2/<token>.json")
def co2_json(token: str) -> ResponseReturnValue:
    certificate = co2_service.by_token(token)
    return _json(_public(certificate, _holds(certificate)), f"co2-{token[:8]}.json")


@bp.route("/co2/<token>.pdf")
@login_required
def co2_pdf(token: str) -> ResponseReturnValue:
    certificate = co2_service.by_token(token)
    if not co2_service.may_hold(current_user, certificate):
        abort(404)
    url = url_for("papers.co2_verify", token=certificate.token, _external=True)
    html = render_template("papers/co2_pdf.html", c=certificate, public=_public(certificate, True), url=url,
                           qr=co2_service.qr_data_uri(url))
    return _download(pdf(html), "application/pdf", f"co2-certificate-{certificate.id}.pdf")
