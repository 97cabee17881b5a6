from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import maps, policy
from ..deliveries.panel import agreement_panel
from ..errors import ValidationError
from ..extensions import db
from ..guard import page_arg
from ..models import ProposalStatus, TariffVersion
from ..models.listing import AnyListing
from ..services import agreements, catalogue, listings, proposals, rounds
from ..services import tariff as tariff_service
from ..web import run_service, staff_required
from . import bp
from .forms import CancelForm, DecisionForm, RoundForm, material_input, tariff_form


@bp.route("/rounds/")
@login_required
def round_list() -> ResponseReturnValue:
    return render_template("matches/rounds.html", rounds=rounds.recent_rounds(current_user), form=RoundForm(),
                           tariff=tariff_service.tariff_in_force())


@bp.route("/rounds/new", methods=["GET", "POST"])
@login_required
def new_round() -> ResponseReturnValue:
    """The round form with the optimiser's options: the operator or a regulator over the market; a firm for one
    of its own listings (?supply_listing_id= or ?demand_listing_id=). A refused value shows on its field, with
    what was typed kept."""
    form = RoundForm()
    if request.method == "GET":
        form.supply_listing_id.data = request.args.get("supply_listing_id", "")
        form.demand_listing_id.data = request.args.get("demand_listing_id", "")
    listing = _round_listing(form)
    if request.method == "POST" and form.validate_on_submit():
        supply_ids = [form.supply_listing_id.data] if form.supply_listing_id.data else None
        demand_ids = [form.demand_listing_id.data] if form.demand_listing_id.data else None
        round_ = run_service(form, rounds.start_round, current_user, supply_ids, demand_ids, form.period_start.data,
                             form.period_end.data, form.min_shipment_t.data, form.max_partners.data,
                             bool(form.compare_greedy.data), objective=form.objective.data,
                             truckloads=bool(form.truckloads.data),
                             max_partners_per_supply=form.max_partners_per_supply.data)
        if round_ is not None:
            flash(_("Round %(id)d is queued: this page follows it.", id=round_.id), "success")
            return redirect(url_for("matches.round_detail", round_id=round_.id))
    status = 422 if form.errors else 200
    return render_template("matches/round_form.html", form=form, listing=listing,
                           tariff=tariff_service.tariff_in_force()), status


def _round_listing(form: RoundForm) -> AnyListing | None:
    """The firm's own listing a private round is for (404 for another's); None for a market round (staff
    only: 403 for a firm)."""
    for side in ("supply", "demand"):
        raw = getattr(form, f"{side}_listing_id").data
        if raw:
            if not str(raw).isdigit() or len(str(raw)) > 12:
                abort(404)
            listing = listings.get_listing(side, int(raw), current_user)
            if listing.organisation_id != current_user.organisation_id:
                abort(404)
            return listing
    if not current_user.organisation.is_staff:
        abort(403)
    return None


@bp.route("/rounds/<int:round_id>")
@login_required
def round_detail(round_id: int) -> ResponseReturnValue:
    round_ = rounds.get_round(current_user, round_id)
    done = round_.status.value == "done"
    offered = rounds.proposals_page(current_user, round_, page_arg(), rounds.ROUND_PAGE_SIZE) if done else None
    return render_template("matches/round.html", round=round_, proposals=offered, form=DecisionForm(),
                           cancel_form=CancelForm(), may_cancel=rounds.may_cancel(current_user, round_),
                           progress=rounds.round_progress(round_),
                           party=lambda p: proposals.party_of(current_user, p))


@bp.route("/rounds/<int:round_id>/status.json")
@login_required
def round_status(round_id: int) -> ResponseReturnValue:
    """Where the round is; the round page polls this (static/js/round_progress.js)."""
    return rounds.round_progress(rounds.get_round(current_user, round_id))


@bp.route("/rounds/<int:round_id>/cancel", methods=["POST"])
@login_required
def cancel_round(round_id: int) -> ResponseReturnValue:
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    round_ = run_service(form, rounds.cancel_round, current_user, round_id)
    if round_ is not None:
        flash(_("The round is cancelled.") if round_.status.value == "cancelled"
              else _("The round stops at its next step."), "success")
    return redirect(url_for("matches.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/map.json")
@login_required
def round_map(round_id: int) -> ResponseReturnValue:
    """The round's proposals as GeoJSON: supplies, demands and flow lines whose weight shows tonnes; the
    same proposals as the round page, others' sites at their county seat and nameless before an agreement.
    At most maps.MAX_FLOWS of them, the largest; the collection says how many more there are ("omitted")."""
    round_ = rounds.get_round(current_user, round_id)
    offered = rounds.proposals_in_round(current_user, round_, largest=maps.MAX_FLOWS)
    omitted = rounds.proposal_count(current_user, round_) - len(offered) if len(offered) == maps.MAX_FLOWS else 0
    locale = str(get_locale())
    markers, flows = {}, []
    biggest = max([p.tonnes for p in offered] or [1])
    # words once, not once per flow (a market round's map draws MAX_FLOWS of them)
    material_, tonnes_, organisation_, details_, km_ = (_("Material"), _("Tonnes"), _("Organisation"),
                                                         _("Details"), _("Distance (km)"))
    for p in offered:
        ends = []
        for listing, colour in ((p.supply_listing, maps.SUPPLY_COLOUR), (p.demand_listing, maps.DEMAND_COLOUR)):
            position = listings.public_position(listing, current_user)
            ends.append(position)
            key = (listing.side, listing.id)
            if key in markers:
                continue
            popup = [(material_, listing.material.name(locale)), (tonnes_, f"{listing.tonnes:,}")]
            if listings.can_see_identity(current_user, listing):
                popup.insert(0, (organisation_, listing.organisation.name))
            markers[key] = maps.point(*position, colour=colour, radius=7, popup=popup,
                                      link=url_for("listings.detail", side=listing.side, listing_id=listing.id),
                                      link_text=details_)
        flows.append(maps.line(ends, weight=2 + 10 * p.tonnes / biggest,
                               tooltip=[(tonnes_, f"{p.tonnes:,}"), (km_, p.distance_km)]))
    legend = [maps.legend("marker", maps.SUPPLY_COLOUR, _("Supply")),
              maps.legend("marker", maps.DEMAND_COLOUR, _("Demand")),
              maps.legend("line", maps.FLOW_COLOUR, _("Proposed delivery (the wider, the more tonnes)"))]
    title = _("Round #%(id)d: proposed deliveries", id=round_.id)
    if omitted:
        title = _("Round #%(id)d: the %(n)d largest proposed deliveries", id=round_.id, n=len(offered))
    return maps.feature_collection(flows + list(markers.values()), omitted=omitted, title=title, legend=legend)


@bp.route("/proposals/")
@login_required
def proposal_list() -> ResponseReturnValue:
    status = request.args.get("status", "")
    try:
        items = proposals.proposals_for(current_user, status or None, page_arg(), proposals.PAGE_SIZE)
    except ValidationError:
        abort(400)
    return render_template("matches/proposals.html", proposals=items, form=DecisionForm(), status=status,
                           party=lambda p: proposals.party_of(current_user, p),
                           terms=lambda p: proposals.terms(current_user, p))


@bp.route("/proposals/<int:proposal_id>")
@login_required
def proposal_detail(proposal_id: int) -> ResponseReturnValue:
    """Everything accepting commits to, before the party accepts: the counterpart's county (its name and site
    only once an agreement reveals them), material, grade, use, tonnes, period and prices per tonne and in total."""
    proposal = proposals.get_proposal(current_user, proposal_id)
    return render_template("matches/proposal.html", p=proposal, t=proposals.terms(current_user, proposal),
                           form=DecisionForm())


@bp.route("/proposals/<int:proposal_id>/decide", methods=["POST"])
@login_required
def decide(proposal_id: int) -> ResponseReturnValue:
    proposal = proposals.get_proposal(current_user, proposal_id)  # 404 before anything else
    if proposals.party_of(current_user, proposal) is None:
        abort(403)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    decided = run_service(form, proposals.decide, current_user, proposal_id, form.decision.data)
    if decided is not None:
        if decided.agreement is not None:
            flash(_("Both parties accepted: agreement %(id)d is made.", id=decided.agreement.id), "success")
            return redirect(url_for("matches.agreement_detail", agreement_id=decided.agreement.id))
        if decided.status == ProposalStatus.LAPSED:
            flash(_("Both accepted, but a listing no longer has these tonnes: the proposal lapsed."), "error")
        else:
            flash(_("Your decision is recorded."), "success")
    for message in form.decision.errors:
        flash(message, "error")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("matches.proposal_list"))


@bp.route("/agreements/")
@login_required
def agreement_list() -> ResponseReturnValue:
    return render_template("matches/agreements.html", agreements=agreements.agreements_for(current_user))


@bp.route("/agreements/<int:agreement_id>")
@login_required
def agreement_detail(agreement_id: int) -> ResponseReturnValue:
    agreement = agreements.get_agreement(current_user, agreement_id)
    return render_template("matches/agreement.html", a=agreement, **agreement_panel(agreement))


@bp.route("/tariff", methods=["GET", "POST"])
@staff_required
def tariff() -> ResponseReturnValue:
    current = tariff_service.tariff_in_force()
    if request.method == "POST" and not policy.may_edit_tariff(current_user):
        abort(403)
    materials = catalogue.materials()
    form = tariff_form(materials)
    if request.method == "GET" and current is not None:
        for name in [*tariff_service.TARIFF_FIELDS, "proposal_lifetime_hours"]:
            value = getattr(current, name)
            getattr(form, name).data = "" if value is None else str(value)
        for (figure, code), name in form.MATERIAL_INPUTS.items():
            value = (getattr(current, figure) or {}).get(code)
            getattr(form, name).data = "" if value is None else str(value)
    if form.validate_on_submit():
        data = {name: getattr(form, name).data
                for name in [*tariff_service.TARIFF_FIELDS, "proposal_lifetime_hours", "note"]}
        for figure in tariff_service.MATERIAL_FIELDS:  # an empty input leaves the material to the default
            data[figure] = {code: getattr(form, name).data for (f, code), name in form.MATERIAL_INPUTS.items()
                            if f == figure and (getattr(form, name).data or "").strip()}
        version = run_service(form, tariff_service.set_tariff, current_user, data)
        if version is not None:
            flash(_("Tariff version %(v)d is in force.", v=version.version), "success")
            return redirect(url_for("matches.tariff"))
    versions = list(db.session.scalars(select(TariffVersion).order_by(TariffVersion.version.desc())))
    return render_template("matches/tariff.html", form=form, versions=versions, materials=materials,
                           material_names={m.code: m.name(str(get_locale())) for m in materials},
                           material_input=material_input, can_edit=policy.may_edit_tariff(current_user))
