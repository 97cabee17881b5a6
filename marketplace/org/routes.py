from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import gazetteer
from ..forms_common import choices
from ..models import Site
from ..region import Zone, zone_of
from ..services import accounts, sites
from ..web import org_admin_required, run_service
from . import bp
from .forms import ConfirmForm, ContactForm, SiteForm, UserEditForm, UserForm


@bp.route("/")
@login_required
def overview() -> ResponseReturnValue:
    org = current_user.organisation
    return render_template("org/overview.html", org=org, sites=sites.sites_of(org.id), form=ConfirmForm())


@bp.route("/contact", methods=["GET", "POST"])
@org_admin_required
def contact() -> ResponseReturnValue:
    """The contact person agreed counterparties see on the agreement page and its PDF."""
    org = current_user.organisation
    form = ContactForm(obj=org)
    if form.validate_on_submit():
        data = {name: form[name].data for name in ("contact_name", "contact_phone", "contact_email")}
        if run_service(form, accounts.set_contact, current_user, data) is not None:
            flash(_("Contact saved."), "success")
            return redirect(url_for("org.overview"))
    return render_template("org/contact.html", form=form), 422 if form.errors else 200


# --- users -------------------------------------------------------------------------------------------

@bp.route("/users", methods=["GET", "POST"])
@org_admin_required
def users() -> ResponseReturnValue:
    form = UserForm()
    if form.validate_on_submit():
        user = run_service(form, accounts.add_org_user, current_user, form.email.data, form.password.data,
                           form.name.data, form.role.data)
        if user is not None:
            flash(_("User %(email)s added.", email=user.email), "success")
            return redirect(url_for("org.users"))
    members = current_user.organisation.users
    edit_forms = {u.id: UserEditForm(prefix=f"u{u.id}", role=u.role.value, active=u.active) for u in members}
    return render_template("org/users.html", form=form, members=members, edit_forms=edit_forms)


@bp.route("/users/<int:user_id>", methods=["POST"])
@org_admin_required
def edit_user(user_id: int) -> ResponseReturnValue:
    accounts.get_org_user(current_user, user_id)  # 404 before anything else for a stranger
    form = UserEditForm(prefix=f"u{user_id}")
    if not form.validate_on_submit():
        flash(_("The change could not be saved."), "error")
        return redirect(url_for("org.users"))
    if run_service(form, accounts.update_org_user, current_user, user_id, form.role.data,
                   form.active.data) is not None:
        flash(_("Saved."), "success")
    for message in form.role.errors:
        flash(message, "error")
    return redirect(url_for("org.users"))


# --- sites -------------------------------------------------------------------------------------------

PLACES_DATA = {p.key: {"lat": str(p.lat), "lon": str(p.lon), "county": p.county, "park": p.park}
               for p in gazetteer.PLACES.values()}


def _site_form(obj: Site | None = None) -> SiteForm:
    locale = str(get_locale())
    form = SiteForm(obj=obj)
    form.place.choices = choices([("", "—")] + [(p.key, p.label(locale)) for p in gazetteer.PLACES.values()])
    form.county.choices = choices([("", "—")] + [
        (c.key, f"{gazetteer.city_label(c.city, locale)} · {c.label(locale)}") for c in gazetteer.COUNTIES.values()])
    form.industrial_park.choices = choices([("", "—")] + [(p.park, p.label(locale))
                                                          for p in gazetteer.PARKS.values()])
    return form


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _fill_from_place(form: SiteForm) -> None:
    """A place picked without coordinates gives its own (the browser normally fills them in already)."""
    form.lat.data, form.lon.data = _text(form.lat.data), _text(form.lon.data)
    place = gazetteer.PLACES.get(form.place.data or "")
    if place is None:
        return
    if not form.lat.data and not form.lon.data:
        form.lat.data, form.lon.data = str(place.lat), str(place.lon)
    form.county.data = form.county.data or place.county
    form.industrial_park.data = form.industrial_park.data or place.park


def _save_site(form: SiteForm, operation: Callable[..., tuple[Site, bool]], *args: object) -> tuple[Site, bool] | None:
    _fill_from_place(form)
    missing = [field for field in (form.lat, form.lon) if not field.data]
    if missing:  # said once, on the first coordinate missing (not once per coordinate)
        missing[0].errors = [*missing[0].errors, _("Pick a place or enter the coordinates.")]
    if form.lat.errors or form.lon.errors:
        return None
    result = run_service(form, operation, current_user, *args, form.name.data, form.lat.data, form.lon.data,
                         form.county.data or "", form.industrial_park.data or "", form.rail_siding.data,
                         confirm_outside=form.confirm_outside.data)
    if result is not None:
        site, in_ningxia = result
        if not in_ningxia:
            flash(_("Note: %(name)s lies outside Ningxia, in a neighbouring region.", name=site.name), "warning")
        flash(_("Site %(name)s saved.", name=site.name), "success")
    return result


@bp.route("/sites")
@login_required
def site_list() -> ResponseReturnValue:
    return redirect(url_for("org.overview"))


@bp.route("/sites/new", methods=["GET", "POST"])
@login_required
def new_site() -> ResponseReturnValue:
    form = _site_form()
    if form.validate_on_submit() and _save_site(form, sites.create_site) is not None:
        return redirect(url_for("org.overview"))
    return render_template("org/site_form.html", form=form, places_data=PLACES_DATA, site=None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@login_required
def edit_site(site_id: int) -> ResponseReturnValue:
    site = sites.get_own_site(current_user, site_id)
    form = _site_form(obj=site)
    if request.method == "GET":
        form.lat.data, form.lon.data = str(site.lat), str(site.lon)
        form.confirm_outside.data = zone_of(site.lat, site.lon) == Zone.NEIGHBOUR  # confirmed when it was saved
    if form.validate_on_submit() and _save_site(form, sites.update_site, site_id) is not None:
        return redirect(url_for("org.overview"))
    return render_template("org/site_form.html", form=form, places_data=PLACES_DATA, site=site)


@bp.route("/sites/<int:site_id>/archive", methods=["POST"])
@login_required
def archive_site(site_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    site = sites.get_own_site(current_user, site_id)
    run_service(form, sites.set_site_active, current_user, site_id, not site.active)
    return redirect(url_for("org.overview"))


@bp.route("/sites/<int:site_id>/default", methods=["POST"])
@login_required
def default_site(site_id: int) -> ResponseReturnValue:
    """Make this site the firm's default: its listing and generation forms pre-select it."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    site = run_service(form, sites.set_default_site, current_user, site_id)
    if site is not None:
        flash(_("%(name)s is now your default site.", name=site.name), "success")
    return redirect(url_for("org.overview"))


@bp.route("/sites/<int:site_id>/delete", methods=["POST"])
@login_required
def delete_site(site_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    name = run_service(form, sites.delete_site, current_user, site_id)
    if name is not None:
        flash(_("Site %(name)s deleted.", name=name), "success")
    return redirect(url_for("org.overview"))

