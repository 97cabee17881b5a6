from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from .. import labels, maps, policy
from ..clock import today_cst
from ..extensions import db
from ..forms_common import choices
from ..models import Agreement, Baseline, LoanProject
from ..models.listing import USES
from ..services import dashboard as dashboard_service
from ..services import deliveries, subsidies
from ..web import flash_form_errors, run_service, spreadsheet, staff_required, year_arg
from . import bp
from .forms import BaselineForm, ClaimForm, LoanForm, ReviewForm, SchemeForm, SettleForm


def _this_year() -> int:
    return today_cst().year


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """A utiliser's baselines, claims, loan projects and recoveries; the regulator's review queue."""
    return _index_page()


def _index_page(status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    """The page; a form that answered with an error is shown again as it was typed (`forms`)."""
    org = current_user.organisation
    scheme = subsidies.scheme_in_force()
    baselines_q = select(Baseline).order_by(Baseline.id.desc())
    loans_q = select(LoanProject).order_by(LoanProject.id.desc())
    if not org.is_staff:
        baselines_q = baselines_q.where(Baseline.organisation_id == org.id)
        loans_q = loans_q.where(LoanProject.organisation_id == org.id)
    forms = {"baseline_form": BaselineForm(formdata=None, year=str(scheme.base_year)),
             "claim_form": ClaimForm(formdata=None, year=str(_this_year() - 1)),
             "loan_form": LoanForm(formdata=None, year=str(_this_year())), **forms}
    return render_template("subsidies/index.html", scheme=scheme, claims=subsidies.claims_for(current_user),
                           baselines=list(db.session.scalars(baselines_q.limit(300))),
                           loans=list(db.session.scalars(loans_q.limit(300))),
                           recoveries=subsidies.recoveries_for(current_user), settle_form=SettleForm(formdata=None),
                           settle_forms=forms.pop("settle_forms", {}),
                           review_form=ReviewForm(), **forms), status


def _back():
    return redirect(url_for("subsidies.index"))


@bp.route("/baselines", methods=["POST"])
@login_required
def declare_baseline() -> ResponseReturnValue:
    form = BaselineForm()
    if form.validate_on_submit():
        if run_service(form, subsidies.declare_baseline, current_user, form.year.data, form.tonnes.data,
                       form.evidence.data) is not None:
            flash(_("Baseline declared; a regulator will verify it."), "success")
            return _back()
    return _index_page(422, baseline_form=form)


@bp.route("/baselines/<int:baseline_id>/review", methods=["POST"])
@login_required
def review_baseline(baseline_id: int) -> ResponseReturnValue:
    subsidies.get_baseline(current_user, baseline_id)
    form = ReviewForm()
    if form.validate_on_submit():
        if run_service(form, subsidies.review_baseline, current_user, baseline_id, form.decision.data,
                       form.reason.data) is not None:
            flash(_("Decision saved."), "success")
    flash_form_errors(form)
    return _back()


@bp.route("/claims", methods=["POST"])
@login_required
def prepare_claim() -> ResponseReturnValue:
    form = ClaimForm()
    if form.validate_on_submit():
        claim = run_service(form, subsidies.prepare_claim, current_user, form.year.data)
        if claim is not None:
            flash(_("Claim prepared: %(amount)s yuan. Check it, then submit it.", amount=f"{claim.amount_yuan:,.2f}"),
                  "success")
            return redirect(url_for("subsidies.claim", claim_id=claim.id))
    return _index_page(422, claim_form=form)


@bp.route("/claims/<int:claim_id>")
@login_required
def claim(claim_id: int) -> ResponseReturnValue:
    """The claim, down to every agreement, shipment and weighbridge ticket, with their flags."""
    c = subsidies.get_claim(current_user, claim_id)
    entries = subsidies.claim_entries(c)
    shipments = [e.shipment for e in entries]
    agreements = {a.id: a for a in db.session.scalars(select(Agreement).where(
        Agreement.id.in_({e.agreement_id for e in entries} or {-1})))}
    return render_template("subsidies/claim.html", c=c, entries=entries, agreements=agreements,
                           offsets=subsidies.offsets_against(c),
                           recoveries=[r for r in subsidies.recoveries_for(current_user, c.year)
                                       if r.claim_id == c.id],
                           flags=deliveries.shipment_flags(shipments) if shipments else {},
                           flag_text=deliveries.FLAG_TEXT, form=ReviewForm())


def _claim_action(claim_id: int, operation: Callable[..., object], *args: object,
                  message: str) -> ResponseReturnValue:
    subsidies.get_claim(current_user, claim_id)
    form = ReviewForm()
    if not form.csrf_token.validate(form):
        abort(400)
    if run_service(form, operation, current_user, claim_id, *args) is not None:
        flash(message, "success")
    flash_form_errors(form)
    return redirect(url_for("subsidies.claim", claim_id=claim_id))


@bp.route("/claims/<int:claim_id>/submit", methods=["POST"])
@login_required
def submit_claim(claim_id: int) -> ResponseReturnValue:
    return _claim_action(claim_id, subsidies.submit_claim, message=_("Claim submitted."))


@bp.route("/claims/<int:claim_id>/review", methods=["POST"])
@login_required
def review_claim(claim_id: int) -> ResponseReturnValue:
    return _claim_action(claim_id, subsidies.review_claim, request.form.get("decision", ""),
                         request.form.get("reason", ""), message=_("Decision saved."))


@bp.route("/claims/<int:claim_id>/paid", methods=["POST"])
@login_required
def mark_paid(claim_id: int) -> ResponseReturnValue:
    return _claim_action(claim_id, subsidies.mark_paid, message=_("Marked as paid."))


@bp.route("/loans", methods=["POST"])
@login_required
def apply_loan() -> ResponseReturnValue:
    form = LoanForm()
    if form.validate_on_submit():
        project = run_service(form, subsidies.submit_loan_project, current_user, form.name.data, form.year.data,
                              form.loan_yuan.data)
        if project is not None:
            flash(_("Applied: an interest subsidy of %(amount)s yuan.", amount=f"{project.subsidy_yuan:,.2f}"),
                  "success")
            return _back()
    return _index_page(422, loan_form=form)


@bp.route("/recoveries/<int:recovery_id>/settle", methods=["POST"])
@login_required
def settle_recovery(recovery_id: int) -> ResponseReturnValue:
    """A regulator records how a recovery was settled (offset against a later payment, or repaid)."""
    if not policy.may_review_subsidies(current_user):
        abort(403)
    form = SettleForm()
    if form.validate_on_submit():
        if run_service(form, subsidies.settle_recovery, current_user, recovery_id, form.settlement.data,
                       form.offset_claim_id.data, form.note.data) is not None:
            flash(_("Recovery settled."), "success")
            return _back()
    return _index_page(422, settle_forms={recovery_id: form})


@bp.route("/loans/<int:project_id>/review", methods=["POST"])
@login_required
def review_loan(project_id: int) -> ResponseReturnValue:
    form = ReviewForm()
    if not current_user.organisation.is_staff:
        abort(403)
    if form.validate_on_submit():
        if run_service(form, subsidies.review_loan_project, current_user, project_id, form.decision.data,
                       form.reason.data) is not None:
            flash(_("Decision saved."), "success")
    flash_form_errors(form)
    return _back()


@bp.route("/scheme", methods=["GET", "POST"])
@login_required
def scheme() -> ResponseReturnValue:
    current = subsidies.scheme_in_force()
    if request.method == "POST" and not policy.may_review_subsidies(current_user):
        abort(403)
    initial = None
    if request.method == "GET":  # the form starts from the version in force
        initial = {
            "name": current.name, "base_year": str(current.base_year), "effective_from": current.effective_from,
            "effective_to": current.effective_to, "mode": current.mode, "cap_yuan": str(current.cap_yuan),
            "bands": [{"from_t": _plain(b["from_t"]), "rate": _plain(b["rate"])} for b in current.bands],
            "exclude_own_waste": bool(current.exclusions.get("own_waste")),
            "excluded_uses": [r["use"] for r in current.exclusions.get("rules", [])],
            "loan_min_yuan": str(current.loan_min_yuan),
            "loan_benchmark_rate_pct": str(current.loan_benchmark_rate_pct)}
    form = SchemeForm(data=initial)
    form.excluded_uses.choices = choices((u, labels.label(labels.USE, u)) for u in USES)
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in (
            "name", "base_year", "effective_from", "effective_to", "mode", "cap_yuan", "exclude_own_waste",
            "excluded_uses", "loan_min_yuan", "loan_benchmark_rate_pct")}
        data["bands"] = [{"from_t": row.from_t.data or "", "rate": row.rate.data or ""} for row in form.bands]
        version = run_service(form, subsidies.set_scheme, current_user, data)
        if version is not None:
            flash(_("Scheme version %(v)d published.", v=version.version), "success")
            return redirect(url_for("subsidies.scheme"))
    versions = list(db.session.scalars(select(subsidies.SubsidyScheme)
                                       .order_by(subsidies.SubsidyScheme.version.desc())))
    return render_template("subsidies/scheme.html", form=form, versions=versions, current=current,
                           can_edit=policy.may_review_subsidies(current_user))


def _plain(number: object) -> str:
    """A stored band figure as a person types it: 50000.000 -> 50000, 12.50 -> 12.5."""
    text = str(number)
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- the regulator's dashboard -------------------------------------------------------------------------

@bp.route("/dashboard")
@staff_required
def dashboard() -> ResponseReturnValue:
    year = year_arg()
    tables = dashboard_service.tables(current_user, year)
    charts = dashboard_service.charts(tables, today_cst())
    charts["cities"] = [labels.place(city) for city in charts["cities"]]  # the reader's names, not pinyin keys
    charts["months"] = [format_date(date.fromisoformat(f"{month}-01"), "MMM") for month in charts["months"]]
    return render_template("subsidies/dashboard.html", year=year, tables=tables,
                           overall=dashboard_service.overall(tables["city"]), target=dashboard_service.TARGET_RATE,
                           charts=charts)


@bp.route("/dashboard/<any(city, region, park, material, month, unmatched, subsidies, claims, recoveries):table>"
          ".<any(csv, xlsx):fmt>")
@staff_required
def dashboard_export(table: str, fmt: str) -> ResponseReturnValue:
    year = year_arg()
    return spreadsheet(dashboard_service.tables(current_user, year)[table], fmt, f"{table}-{year}",
                       f"{table} {year}", group=table)


@bp.route("/dashboard/flows.json")
@staff_required
def flows_map() -> ResponseReturnValue:
    """Delivered flows of the year: a line from each producer's site to each utiliser's site, weighted by tonnes.
    From the ledger's monthly summary, the largest maps.MAX_FLOWS flows ("omitted" says how many more)."""
    year = year_arg()
    rows, omitted = deliveries.flows(year, maps.MAX_FLOWS)
    biggest = max([r[4] for r in rows] or [1])
    features = []
    for slat, slon, dlat, dlon, kg in rows:
        if kg <= 0:
            continue
        tonnes = f"{Decimal(kg) / 1000:,.1f} t"
        features.append(maps.line([(slat, slon), (dlat, dlon)], colour=maps.SUPPLY_COLOUR,
                                  weight=2 + 10 * kg / biggest, tooltip=[(_("Delivered"), tonnes)]))
        features.append(maps.point(slat, slon, colour=maps.SUPPLY_COLOUR, radius=4))
        features.append(maps.point(dlat, dlon, colour=maps.DEMAND_COLOUR, radius=4))
    title = (_("Delivered flows in %(year)d, the %(n)d largest", year=year, n=len(rows)) if omitted
             else _("Delivered flows in %(year)d", year=year))
    legend = [maps.legend("line", maps.SUPPLY_COLOUR, _("Delivered (the wider, the more tonnes)")),
              maps.legend("marker", maps.SUPPLY_COLOUR, _("Producer's site")),
              maps.legend("marker", maps.DEMAND_COLOUR, _("Utiliser's site"))]
    return maps.feature_collection(features, omitted=omitted, title=title, legend=legend)
