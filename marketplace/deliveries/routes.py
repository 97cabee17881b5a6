
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import MarketplaceError, ValidationError
from ..extensions import db
from ..forms_common import choices
from ..guard import page_arg
from ..models import LedgerCheck
from ..schemas.common import validate
from ..schemas.ledger import LedgerQuery
from ..services import agreements, catalogue, corrections, deliveries, listing_files
from ..services import ledger as ledger_service
from ..web import run_service, spreadsheet, staff_required, year_arg
from . import bp, qr
from .forms import ConfirmForm, LedgerFilterForm, ReverseForm, ShipmentForm, ShipmentImportForm
from .panel import agreement_panel, ticket_form

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


@bp.route("/agreements/<int:agreement_id>/tickets/new", methods=["GET", "POST"])
@login_required
def ticket_page(agreement_id: int) -> ResponseReturnValue:
    """The ticket form alone, for a phone at the weighbridge (the agreement's QR code opens it)."""
    agreement = agreements.get_agreement(current_user, agreement_id)
    if current_user.organisation_id != agreement.producer_org_id:
        abort(403)
    form = ShipmentForm() if request.method == "POST" else ticket_form()
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in SHIPMENT_COLUMNS}
        shipment = run_service(form, deliveries.record_shipment, current_user, agreement_id, data)
        if shipment is not None:
            flash(_("Ticket %(ticket)s recorded: %(kg)s kg net.", ticket=shipment.ticket_no,
                    kg=f"{shipment.net_kg:,}"), "success")
            return redirect(url_for("deliveries.ticket_page", agreement_id=agreement_id))
    return render_template("deliveries/ticket.html", a=agreement, form=form,
                           progress=agreements.progress(agreement)), 422 if request.method == "POST" else 200


@bp.route("/agreements/<int:agreement_id>/ticket-qr.svg")
@login_required
def agreement_qr(agreement_id: int) -> ResponseReturnValue:
    """A QR code that opens the agreement's ticket form (for the producer's weighbridge clerk)."""
    agreement = agreements.get_agreement(current_user, agreement_id)
    return qr.svg_response(qr.public_url("deliveries.ticket_page", agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/agreement.pdf")
@login_required
def agreement_pdf(agreement_id: int) -> ResponseReturnValue:
    """The agreement as a printable PDF: the parties, their contacts, the terms and the deliveries so far.
    Only the two parties, the operator and regulators (anyone else: 404, as the page)."""
    from ..services.papers.co2 import qr_data_uri
    from ..services.papers.documents import pdf

    agreement = agreements.get_agreement(current_user, agreement_id)
    ticket_url = qr.public_url("deliveries.ticket_page", agreement_id=agreement.id)
    html = render_template("deliveries/agreement_pdf.html", a=agreement, progress=agreements.progress(agreement),
                           ticket_url=ticket_url, qr=qr_data_uri(ticket_url))
    return Response(pdf(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=agreement-{agreement.id}.pdf"})


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


@bp.route("/shipments/<int:shipment_id>/confirm", methods=["GET", "POST"])
@login_required
def confirm(shipment_id: int) -> ResponseReturnValue:
    """GET: the receipt confirmation of one ticket, for a phone at the gate (the ticket's QR code opens it);
    POST: confirm it (from this page or the agreement's table)."""
    shipment = deliveries.get_shipment(current_user, shipment_id)
    if current_user.organisation_id != shipment.agreement.consumer_org_id:
        abort(403)
    form = ConfirmForm()
    if request.method == "GET":
        if shipment.received_net_kg is None:
            form.received_net_kg.data = str(shipment.net_kg)
        return render_template("deliveries/confirm.html", s=shipment, form=form)
    if form.validate_on_submit():
        if run_service(form, deliveries.confirm_shipment, current_user, shipment_id,
                       form.received_net_kg.data) is not None:
            flash(_("Receipt of ticket %(ticket)s confirmed.", ticket=shipment.ticket_no), "success")
            return _back(shipment.agreement_id)
    if request.form.get("page") == "confirm":  # from the phone page: the error beside the field, as typed
        return render_template("deliveries/confirm.html", s=shipment, form=form), 422
    for message in form.received_net_kg.errors:
        flash(message, "error")
    return _back(shipment.agreement_id)


@bp.route("/shipments/<int:shipment_id>/confirm-qr.svg")
@login_required
def shipment_qr(shipment_id: int) -> ResponseReturnValue:
    """A QR code that opens this ticket's receipt confirmation (for the utiliser's gate)."""
    shipment = deliveries.get_shipment(current_user, shipment_id)
    return qr.svg_response(qr.public_url("deliveries.confirm", shipment_id=shipment.id))


def _ledger_page(check: LedgerCheck | None = None) -> ResponseReturnValue:
    """The ledger page, filtered by the query string (validated by the API's schema); a bad filter is shown
    beside its field, with a 400 and no rows."""
    locale = str(get_locale())
    form = LedgerFilterForm(request.args)
    form.material.choices = choices([("", _("All materials"))] + [(m.code, m.name(locale))
                                                                    for m in catalogue.materials()])
    form.org.choices = choices([("", _("All organisations"))] + [
        (str(i), name) for i, name in ledger_service.ledger_organisations(current_user)])
    args = {k: v for k, v in request.args.items() if k in LEDGER_FILTERS and v}
    try:
        filters = ledger_service.ledger_filter(validate(LedgerQuery, args))
    except ValidationError as e:
        field = getattr(form, e.field or "", None)
        if field is not None:
            field.errors = [*field.errors, str(e.message)]
        else:
            flash(str(e.message), "error")
        return render_template("deliveries/ledger.html", page=None, form=ReverseForm(), filter_form=form,
                               args={}, check=check, reversed_ids=set()), 400
    page = ledger_service.ledger_for(current_user, page=page_arg(), filters=filters)
    return render_template("deliveries/ledger.html", page=page, form=ReverseForm(), filter_form=form, args=args,
                           check=check, filtered=filters.active,
                           reversed_ids=ledger_service.reversed_among([e.id for e in page.items]))


#: the query parameters of the ledger page that filter it (the API's too, with page and per_page)
LEDGER_FILTERS = ("material", "org", "since", "until", "q")


@bp.route("/ledger")
@login_required
def ledger() -> ResponseReturnValue:
    return _ledger_page(check=ledger_service.latest_check() if current_user.organisation.is_staff else None)


@bp.route("/ledger/verify", methods=["POST"])
@staff_required
def verify() -> ResponseReturnValue:
    """Verifying reads every entry (tens of seconds at a million): the job worker does it, the page shows it."""
    form = ReverseForm()
    if not form.csrf_token.validate(form):
        abort(400)
    ledger_service.request_check(current_user)
    flash(_("The chain is being verified; the result appears on this page."), "info")
    return redirect(url_for("deliveries.ledger"))


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
