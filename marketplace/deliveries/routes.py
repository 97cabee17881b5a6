
from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import MarketplaceError
from ..extensions import db
from ..guard import page_arg
from ..services import agreements, corrections, deliveries, listing_files
from ..services import ledger as ledger_service
from ..web import run_service, spreadsheet, staff_required, year_arg
from . import bp
from .forms import ConfirmForm, ReverseForm, ShipmentForm, ShipmentImportForm
from .panel import agreement_panel

SHIPMENT_COLUMNS = ["ticket_no", "truck_plate", "dispatched_at", "gross_kg", "tare_kg", "moisture_pct"]


def _back(agreement_id: int) -> ResponseReturnValue:
    return redirect(url_for("matches.agreement_detail", agreement_id=agreement_id))


@bp.route("/agreements/<int:agreement_id>/shipments", methods=["POST"])
@login_required
def new_shipment(agreement_id: int) -> ResponseReturnValue:
    agreement = agreements.get_agreement(current_user, agreement_id)
    if current_user.organisation_id != agreement.producer_org_id:
        abort(403)
    form = ShipmentForm()
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in SHIPMENT_COLUMNS}
        shipment = run_service(form, deliveries.record_shipment, current_user, agreement_id, data)
        if shipment is not None:
            flash(_("Ticket %(ticket)s recorded: %(kg)s kg net.", ticket=shipment.ticket_no,
                    kg=f"{shipment.net_kg:,}"), "success")
            return _back(agreement_id)
    # Refused: the page again, with the ticket as typed and each error beside its field.
    return render_template("matches/agreement.html", a=agreement, **agreement_panel(agreement, form)), 422


@bp.route("/agreements/<int:agreement_id>/shipments/import", methods=["POST"])
@login_required
def import_shipments(agreement_id: int) -> ResponseReturnValue:
    """Many tickets at once; a file with any bad row saves nothing and names each bad row."""
    agreement = agreements.get_agreement(current_user, agreement_id)
    if current_user.organisation_id != agreement.producer_org_id:
        abort(403)
    form = ShipmentImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a file."), "error")
        return _back(agreement_id)
    upload = form.file.data
    try:
        rows = listing_files.read_table(upload.filename, upload.read(4 * 1024 * 1024 + 1))
        problems = []
        for line, row in rows:
            try:
                deliveries.record_shipment(current_user, agreement_id, row)
            except MarketplaceError as e:
                problems.append(f"{_('line')} {line}, {e.field or ''}: {e.message}")
        if problems:
            db.session.rollback()
            for problem in problems[:20]:
                flash(problem, "error")
            flash(_("%(n)d rows have errors; nothing was saved.", n=len(problems)), "error")
        else:
            flash(_("%(n)d tickets imported.", n=len(rows)), "success")
    except MarketplaceError as e:
        db.session.rollback()
        flash(str(e.message), "error")
    return _back(agreement_id)


@bp.route("/shipments/<int:shipment_id>/confirm", methods=["POST"])
@login_required
def confirm(shipment_id: int) -> ResponseReturnValue:
    shipment = deliveries.get_shipment(current_user, shipment_id)
    if current_user.organisation_id != shipment.agreement.consumer_org_id:
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit():
        if run_service(form, deliveries.confirm_shipment, current_user, shipment_id,
                       form.received_net_kg.data) is not None:
            flash(_("Receipt of ticket %(ticket)s confirmed.", ticket=shipment.ticket_no), "success")
    for message in form.received_net_kg.errors:
        flash(message, "error")
    return _back(shipment.agreement_id)


@bp.route("/ledger")
@login_required
def ledger() -> ResponseReturnValue:
    page = ledger_service.ledger_for(current_user, page=page_arg())
    return render_template("deliveries/ledger.html", page=page, form=ReverseForm(), check=None,
                           reversed_ids=ledger_service.reversed_among([e.id for e in page.items]))


@bp.route("/ledger/verify", methods=["POST"])
@staff_required
def verify() -> ResponseReturnValue:
    form = ReverseForm()
    if not form.csrf_token.validate(form):
        abort(400)
    check = ledger_service.verify_ledger()
    page = ledger_service.ledger_for(current_user)
    return render_template("deliveries/ledger.html", page=page, form=ReverseForm(), check=check,
                           reversed_ids=ledger_service.reversed_among([e.id for e in page.items]))


@bp.route("/ledger/<int:entry_id>/reverse", methods=["GET", "POST"])
@staff_required
def reverse(entry_id: int) -> ResponseReturnValue:
    """Confirm a reversal: the page names the entry and the subsidy claims it touches, and asks the reason."""
    from ..services import subsidies

    entry = ledger_service.reversible_entry(entry_id)
    form = ReverseForm()
    if form.validate_on_submit():
        reversal = run_service(form, corrections.reverse_entry, current_user, entry_id, form.reason.data)
        if reversal is not None:
            flash(_("Entry reversed by entry %(seq)d.", seq=reversal.seq), "success")
            return redirect(url_for("deliveries.ledger"))
    return render_template("deliveries/reverse.html", entry=entry, form=form,
                           claims=subsidies.claims_counting(entry)), 422 if request.method == "POST" else 200


@bp.route("/utilisation")
@staff_required
def utilisation() -> ResponseReturnValue:
    year, group_by = year_arg(), request.args.get("group_by", "region")
    if group_by not in deliveries.GROUPS:
        abort(400)
    rows = deliveries.utilisation(year, group_by)
    return render_template("deliveries/utilisation.html", rows=rows, year=year, group_by=group_by,
                           groups=deliveries.GROUPS, over=deliveries.producers_over_declared(year))


@bp.route("/utilisation.<any(csv, xlsx):fmt>")
@staff_required
def utilisation_export(fmt: str) -> ResponseReturnValue:
    year, group_by = year_arg(), request.args.get("group_by", "region")
    if group_by not in deliveries.GROUPS:
        abort(400)
    return spreadsheet(deliveries.utilisation(year, group_by), fmt, f"utilisation-{year}-{group_by}",
                       f"utilisation {year}", group=group_by)
