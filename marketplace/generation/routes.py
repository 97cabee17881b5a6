from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ValidationError
from ..forms_common import choices
from ..guard import page_arg
from ..schemas.common import validate
from ..schemas.sites import GenerationQuery
from ..services import catalogue, generation, sites
from ..web import producer_required, run_service
from . import bp
from .forms import GenerationFilterForm, GenerationForm


@bp.route("/", methods=["GET", "POST"])
@producer_required
def index() -> ResponseReturnValue:
    """A producer's monthly declarations and the form to add or correct one."""
    locale = str(get_locale())
    org = current_user.organisation
    form = GenerationForm()
    own_sites = sites.sites_of(org.id, active_only=True)
    form.site_id.choices = choices((s.id, s.name) for s in own_sites)
    if request.method == "GET":
        form.site_id.data = sites.default_site_id(own_sites)
    form.material.choices = choices((m.code, m.name(locale)) for m in catalogue.materials())
    if form.validate_on_submit():
        record = run_service(form, generation.record_generation, current_user, form.site_id.data,
                             form.material.data, form.month.data, form.tonnes_generated.data,
                             form.tonnes_used_in_house.data or "0", form.tonnes_stored.data or "0",
                             disposed=form.tonnes_disposed.data or "0",
                             transferred_other=form.tonnes_transferred_other.data or "0",
                             other_receivers=form.other_receivers.data or "", stock_opening=form.stock_opening.data,
                             stock_closing=form.stock_closing.data)
        if record is not None:
            flash(_("Recorded %(month)s.", month=f"{record.month:%Y-%m}"), "success")
            return redirect(url_for("generation.index"))
    filter_form = GenerationFilterForm(request.args)
    filter_form.site.choices = choices([("", _("All sites"))] + [(str(s.id), s.name)
                                                                 for s in sites.sites_of(org.id)])
    filter_form.material.choices = choices([("", _("All materials"))] + [
        (m.code, m.name(locale)) for m in catalogue.materials()])
    args = {k: v for k, v in request.args.items() if k in GenerationQuery.model_fields and v}
    try:
        filters = generation.generation_filter(org.id, validate(GenerationQuery, args))
    except ValidationError as e:
        field = getattr(filter_form, e.field or "", None)
        if field is not None:
            field.errors = [*field.errors, str(e.message)]
        return render_template("generation/index.html", form=form, records=None, filter_form=filter_form,
                               args={}, verified=org.is_verified), 400
    records = generation.records_of(org.id, filters, page=page_arg())
    return render_template("generation/index.html", form=form, records=records, filter_form=filter_form,
                           args=args, filtered=filters.active, verified=org.is_verified)
