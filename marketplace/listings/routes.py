from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import gazetteer, labels, maps
from ..errors import MarketplaceError
from ..extensions import db
from ..forms_common import choices
from ..models import DemandListing, SupplyListing
from ..models.listing import USES, AnyListing
from ..schemas import listings as listing_schemas
from ..schemas.common import limits
from ..services import catalogue, listing_files, listings, sites
from ..services.catalogue import CatalogueMaterial
from ..web import run_service, spreadsheet
from . import bp
from .forms import ImportForm, ListingForm, StatusForm

SIDE = "<any(supply, demand):side>"
GRADE_FIELD = {"supply": "grade", "demand": "min_grade"}
PRICE_FIELD = {"supply": "price_yuan_per_t", "demand": "max_delivered_price_yuan_per_t"}
PRICE_LABEL = {"supply": _l("Ex-works price (yuan/t; negative when you pay to be rid of it)"),
               "demand": _l("Maximum delivered price (yuan/t; optional)")}
SEASONAL_FIELDS = ("storage_capacity_t", "storage_stock_t", "holding_yuan_per_t_month")
STATUS_ACTIONS = {"open": _l("Publish"), "draft": _l("Back to draft"), "withdrawn": _l("Withdraw")}


def certificate_folder() -> Path:
    return Path(current_app.instance_path) / "uploads" / "certificates"


def _catalogue() -> tuple[Sequence[CatalogueMaterial], dict[str, list[str]]]:
    materials = catalogue.materials()
    return materials, {m.code: m.grade_codes for m in materials}


def _may_publish(side: str) -> bool:
    org = current_user.organisation
    return org.is_producer if side == "supply" else org.is_consumer


def _listing_form(side: str, materials: Sequence[CatalogueMaterial], obj: AnyListing | None = None) -> ListingForm:
    locale = str(get_locale())
    form = ListingForm(obj=obj)
    own_sites = sites.sites_of(current_user.organisation_id, True)
    form.site_id.choices = choices((str(s.id), s.name) for s in own_sites)
    if obj is None and request.method == "GET":  # a new listing starts at the firm's default site
        default = sites.default_site_id(own_sites)
        form.site_id.data = str(default) if default is not None else None
    form.material.choices = choices((m.code, m.name(locale)) for m in materials)
    form.also_materials.choices = choices((m.code, m.name(locale)) for m in materials)
    grades = sorted({g for m in materials for g in m.grade_codes}, key=lambda g: (len(g), g))
    form.grade.choices = choices([("", "—")] + [(g, g) for g in grades])
    form.price.label.text = PRICE_LABEL[side]
    form.grade.label.text = _("Grade") if side == "supply" else _("Minimum grade")
    form.use.choices = choices((u, labels.label(labels.USE, u)) for u in USES)
    schema = listing_schemas.CREATE[side]  # the limits the service applies, as HTML attributes
    form.notes.render_kw = limits(schema, "notes")
    for name in ("tonnes", "max_haul_km"):
        form[name].render_kw = {"inputmode": "numeric", **{f"data-{k}": v for k, v in limits(schema, name).items()}}
    return form


def _form_values(side: str, form: ListingForm, materials: Sequence[CatalogueMaterial]) -> dict[str, Any]:
    """The form as the API's listing fields, quality inputs included."""
    material = next((m for m in materials if m.code == form.material.data), None)
    data = {"site_id": form.site_id.data, "material": form.material.data, GRADE_FIELD[side]: form.grade.data or None,
            "tonnes": form.tonnes.data, "period_start": form.period_start.data, "period_end": form.period_end.data,
            "max_haul_km": form.max_haul_km.data, "notes": form.notes.data or "", PRICE_FIELD[side]: form.price.data,
            **_seasonal_values(form)}
    params = material.parameters if material else []
    if side == "demand":
        data["use"] = form.use.data or "other"
        data["also_materials"] = list(form.also_materials.data or [])
    code = material.code if material else ""
    if side == "supply":
        data["quality"] = {p.code: request.form.get(f"q-{code}-{p.code}", "").strip() for p in params}
    else:
        data["quality_limits"] = {p.code: {"min": request.form.get(f"qmin-{code}-{p.code}", "").strip(),
                                           "max": request.form.get(f"qmax-{code}-{p.code}", "").strip()}
                                  for p in params}
    return data


def _seasonal_values(form: ListingForm) -> dict[str, Any]:
    """The monthly profile (12 inputs m-1 .. m-12; all blank: none, the service's default) and the yard or silo."""
    months = [request.form.get(f"m-{m}", "").strip() for m in range(1, 13)]
    return {"monthly_tonnes": months if any(months) else None,
            **{name: (form[name].data or "").strip() for name in SEASONAL_FIELDS}}


def month_names() -> list[str]:
    """January .. December, abbreviated in the reader's language."""
    return [format_date(date(2000, m, 1), "MMM") for m in range(1, 13)]


def _save_certificate(listing: AnyListing) -> bool:
    upload = request.files.get("certificate")
    if listing.side != "supply" or upload is None or not upload.filename:
        return True
    data = upload.read(listing_files.CERTIFICATE_MAX_BYTES + 1)
    try:
        with db.session.begin_nested():  # a refused certificate does not undo the listing saved with it
            listing_files.attach_certificate(current_user, listing.id, upload.filename, data, certificate_folder())
        return True
    except MarketplaceError as e:
        flash(str(e.message), "error")
        return False


@bp.route(f"/{SIDE}/new", methods=["GET", "POST"])
@login_required
def new(side: str) -> ResponseReturnValue:
    if not _may_publish(side):
        abort(403)
    materials, grades = _catalogue()
    form = _listing_form(side, materials)
    if request.method == "GET":
        form.max_haul_km.data = "150"
    if form.validate_on_submit():
        status = "draft" if form.save_draft.data else "open"
        listing = run_service(form, listings.create_listing, current_user, side,
                              _form_values(side, form, materials), status)
        if listing is not None:
            _save_certificate(listing)
            flash(_("Listing saved."), "success")
            return redirect(url_for("listings.detail", side=side, listing_id=listing.id))
    return render_template("listings/form.html", form=form, side=side, materials=materials, grades=grades,
                           listing=None, verified=current_user.organisation.is_verified, months=month_names())


@bp.route(f"/{SIDE}/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(side: str, listing_id: int) -> ResponseReturnValue:
    listing = listings.own_listing(current_user, side, listing_id)
    listings.require_editable(listing)
    materials, grades = _catalogue()
    form = _listing_form(side, materials, obj=listing)
    if request.method == "GET":
        form.site_id.data = str(listing.site_id)
        form.material.data = listing.material.code
        form.grade.data = getattr(listing, GRADE_FIELD[side]) or ""
        form.tonnes.data = str(listing.tonnes)
        form.max_haul_km.data = str(listing.max_haul_km)
        if isinstance(listing, DemandListing):
            form.use.data = listing.use
            form.also_materials.data = [m.code for m in listing.also_materials]
        price = getattr(listing, PRICE_FIELD[side])
        form.price.data = "" if price is None else str(price)
        for name in SEASONAL_FIELDS:
            value = getattr(listing, name)
            form[name].data = "" if value is None else str(value)
    if form.validate_on_submit():
        updated = run_service(form, listings.update_listing, current_user, side, listing_id,
                              _form_values(side, form, materials))
        if updated is not None and _save_certificate(updated):
            flash(_("Listing saved."), "success")
            return redirect(url_for("listings.detail", side=side, listing_id=listing_id))
    return render_template("listings/form.html", form=form, side=side, materials=materials, grades=grades,
                           listing=listing, verified=True, months=month_names())


@bp.route(f"/{SIDE}/<int:listing_id>")
@login_required
def detail(side: str, listing_id: int) -> ResponseReturnValue:
    listing = listings.get_listing(side, listing_id, current_user)
    own = listing.organisation_id == current_user.organisation_id
    moves = [s.value for s in listings.OWNER_MOVES.get(listing.status, ())] if own else []
    return render_template(
        "listings/detail.html", listing=listing, side=side, own=own,
        identity=listings.can_see_identity(current_user, listing),
        history=listings.history(listing) if own or current_user.organisation.is_staff else [],
        moves=moves, actions=STATUS_ACTIONS, form=StatusForm(), months=month_names())


@bp.route(f"/{SIDE}/<int:listing_id>/status", methods=["POST"])
@login_required
def change_status(side: str, listing_id: int) -> ResponseReturnValue:
    listings.own_listing(current_user, side, listing_id)  # 404 / 403 before anything else
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if run_service(form, listings.set_status, current_user, side, listing_id, form.status.data) is not None:
        flash(_("Status changed."), "success")
    return redirect(url_for("listings.detail", side=side, listing_id=listing_id))


@bp.route("/supply/<int:listing_id>/certificate")
@login_required
def certificate(listing_id: int) -> ResponseReturnValue:
    listing = listings.get_listing("supply", listing_id, current_user)
    assert isinstance(listing, SupplyListing)
    if not listing.certificate_path or not listing_files.can_download_certificate(current_user, listing):
        abort(404)
    return send_file(certificate_folder() / listing.certificate_path, mimetype=listing.certificate_type,
                     as_attachment=True, download_name=listing.certificate_name)


@bp.route("/mine")
@login_required
def mine() -> ResponseReturnValue:
    org_id = current_user.organisation_id
    own = {side: listings.search(current_user, side, listings.Search(mine=True, per_page=100)).items
           for side in ("supply", "demand")}
    return render_template("listings/mine.html", own=own, org_id=org_id)


def _browse_search(side: str) -> tuple[listings.Search, MarketplaceError | None]:
    try:
        return listings.search_from_args(request.args, side), None
    except MarketplaceError as e:
        return listings.Search(), e


@bp.route(f"/{SIDE}")
@login_required
def browse(side: str) -> ResponseReturnValue:
    search, error = _browse_search(side)
    if error is not None:
        flash(f"{labels.field(error.field)}: {error.message}" if error.field else str(error.message), "error")
    try:
        results = listings.search(current_user, side, search)
    except MarketplaceError as e:
        flash(str(e.message), "error")
        search = listings.Search()
        results = listings.search(current_user, side, search)
    materials, grades = _catalogue()
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("listings/browse.html", side=side, results=results, search=search, args=args,
                           materials=materials, grades=grades, my_sites=sites.sites_of(current_user.organisation_id),
                           cities=gazetteer.CITIES, counties=gazetteer.COUNTIES.values(),
                           identity=lambda item: listings.can_see_identity(current_user, item),
                           distance=lambda item: listings.shown_distance(current_user, item,
                                                                         results.distances.get(item.id)))


@bp.route(f"/{SIDE}/map.json")
@login_required
def browse_map(side: str) -> ResponseReturnValue:
    """The browse page's map as GeoJSON: the same filters, the current page of results, and the same
    confidentiality as the page (others' listings at their county seat, without organisation, site or notes)."""
    search, _error = _browse_search(side)
    try:
        results = listings.search(current_user, side, search)
    except MarketplaceError:
        results = listings.search(current_user, side, listings.Search())
    locale = str(get_locale())
    price_label = _("Price (yuan/t)") if side == "supply" else _("Maximum delivered price (yuan/t)")
    features = []
    for listing in results.items:
        record = listings.listing_out(listing, current_user).dump()
        popup = [(_("Material"), listing.material.name(locale)),
                 (_("Grade"), record.get("grade") or record.get("min_grade") or "—"),
                 (_("Tonnes available"), f"{listing.tonnes_remaining:,}"),
                 (price_label, record.get(PRICE_FIELD[side]) or "—"),
                 (_("County / district"), gazetteer.county_label(listing.site.county, locale) or "—")]
        if "organisation" in record:
            popup += [(_("Organisation"), record["organisation"]), (_("Site"), record["site_name"]),
                      (_("Notes"), record["notes"] or "—")]
        lat, lon = listings.public_position(listing, current_user)
        features.append(maps.point(
            lat, lon, colour=maps.SUPPLY_COLOUR if side == "supply" else maps.DEMAND_COLOUR,
            radius=6 + min(14, listing.tonnes_remaining ** 0.5 / 40), popup=popup,
            tooltip=[(_("Material"), listing.material.name(locale))],
            link=url_for("listings.detail", side=side, listing_id=listing.id), link_text=_("Details"),
            id=listing.id))
    colour = maps.SUPPLY_COLOUR if side == "supply" else maps.DEMAND_COLOUR
    title = (_("Supply listings, page %(page)d of %(pages)d", page=results.page, pages=max(results.pages, 1))
             if side == "supply" else
             _("Demand listings, page %(page)d of %(pages)d", page=results.page, pages=max(results.pages, 1)))
    legend = [maps.legend("marker", colour, _("A listing: the larger, the more tonnes; others' at their county seat"))]
    return maps.feature_collection(features, title=title, legend=legend)


@bp.route(f"/{SIDE}/export.<any(csv, xlsx):fmt>")
@login_required
def export(side: str, fmt: str) -> ResponseReturnValue:
    """The browse page's results as a spreadsheet: the same filters, the same confidentiality."""
    search, error = _browse_search(side)
    if error is not None:
        raise error
    rows = ({**listing_files.flatten(listings.listing_out(item, current_user, km).dump()),
             "created_at": item.created_at, "updated_at": item.updated_at}  # instants: the file writes them in CST
            for item, km in listings.search_all(current_user, side, search))
    return spreadsheet(rows, fmt, f"{side}-listings", f"{side} listings", group="listings")


@bp.route(f"/{SIDE}/import", methods=["GET", "POST"])
@login_required
def bulk_import(side: str) -> ResponseReturnValue:
    if not _may_publish(side):
        abort(403)
    form = ImportForm()
    errors = []
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(4 * 1024 * 1024 + 1)
        if len(data) > 4 * 1024 * 1024:
            form.file.errors = [_("The file may be at most 4 MB.")]
        else:
            try:
                created = listing_files.import_listings(current_user, side, upload.filename, data)
                flash(_("%(n)d listings imported.", n=len(created)), "success")
                return redirect(url_for("listings.mine"))
            except listing_files.ImportFailed as e:
                db.session.rollback()
                errors = e.errors
                flash(str(e.message), "error")
            except MarketplaceError as e:
                db.session.rollback()
                form.file.errors = [str(e.message)]
    materials, _grades = _catalogue()
    return render_template("listings/import.html", form=form, side=side, errors=errors,
                           columns=listing_files.template_columns(side, materials))


@bp.route(f"/{SIDE}/import-template.csv")
@login_required
def import_template(side: str) -> ResponseReturnValue:
    materials, _grades = _catalogue()
    header = ",".join(listing_files.template_columns(side, materials)) + "\n"
    return Response("\ufeff" + header, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={side}-listings-template.csv"})
