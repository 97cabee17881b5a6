from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import gazetteer, labels, policy
from ..forms_common import choices
from ..models.listing import USES
from ..services import calendar, rounds, seasonal_desk
from ..web import run_service, staff_required, year_arg
from . import bp
from .forms import DeleteForm, SeasonalRoundForm, WindowForm


def _window_form(**kwargs: object) -> WindowForm:
    locale = str(get_locale())
    form = WindowForm(**kwargs)
    form.city.choices = choices((key, names[1] if locale.startswith("en") else names[0])
                                for key, names in gazetteer.CITIES.items())
    form.use.choices = choices((u, labels.label(labels.USE, u)) for u in USES)
    return form


def _values(form: WindowForm) -> dict[str, object]:
    return {"year": form.year.data, "city": form.city.data, "use": form.use.data, "starts_on": form.starts_on.data,
            "ends_on": form.ends_on.data, "note": form.note.data or ""}


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar_page() -> ResponseReturnValue:
    """The published staggered-production windows (everyone signed in reads them: they set cement and clinker
    demands' profiles); regulators add windows here."""
    may_edit = policy.may_publish_calendar(current_user)
    if request.method == "POST" and not may_edit:
        abort(403)
    form = _window_form()
    if request.method == "GET":
        form.year.data = str(year_arg())
    if form.validate_on_submit():
        window = run_service(form, calendar.save_window, current_user, _values(form))
        if window is not None:
            flash(_("Window published."), "success")
            return redirect(url_for("seasonal.calendar_page", year=window.year))
    year = request.args.get("year", "")
    shown = calendar.windows(year_arg() if year else None)
    return render_template("seasonal/calendar.html", form=form, windows=shown, may_edit=may_edit,
                           delete_form=DeleteForm(), editing=None)


@bp.route("/calendar/<int:window_id>", methods=["GET", "POST"])
@login_required
def edit_window(window_id: int) -> ResponseReturnValue:
    if not policy.may_publish_calendar(current_user):
        abort(403)
    window = calendar.get_window(window_id)
    form = _window_form(obj=window) if request.method == "GET" else _window_form()  # a POST says every field
    if request.method == "GET":
        form.year.data = str(window.year)
    if form.validate_on_submit():
        saved = run_service(form, calendar.save_window, current_user, _values(form), window_id)
        if saved is not None:
            flash(_("Window corrected."), "success")
            return redirect(url_for("seasonal.calendar_page", year=saved.year))
    return render_template("seasonal/calendar.html", form=form, windows=[], may_edit=True,
                           delete_form=DeleteForm(), editing=window)


@bp.route("/calendar/<int:window_id>/delete", methods=["POST"])
@login_required
def delete_window(window_id: int) -> ResponseReturnValue:
    if not policy.may_publish_calendar(current_user):
        abort(403)
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400)
    calendar.delete_window(current_user, window_id)
    flash(_("Window withdrawn."), "success")
    return redirect(url_for("seasonal.calendar_page"))


@bp.route("/rounds", methods=["POST"])
@login_required
def new_round() -> ResponseReturnValue:
    """Start a seasonal round: the operator or a regulator over the market, a firm for one of its own listings."""
    form = SeasonalRoundForm()
    if not (current_user.organisation.is_staff or form.supply_listing_id.data or form.demand_listing_id.data):
        abort(403)  # a firm plans only for one of its own listings (the service checks which)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
        return redirect(url_for("matches.round_list"))
    supply_ids = [form.supply_listing_id.data] if form.supply_listing_id.data else None
    demand_ids = [form.demand_listing_id.data] if form.demand_listing_id.data else None
    round_ = run_service(form, rounds.start_seasonal_round, current_user, form.horizon_start.data,
                         form.horizon_months.data, supply_ids, demand_ids)
    if round_ is None:
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
        return redirect(url_for("matches.round_list"))
    flash(_("Round %(id)d is queued: this page follows it.", id=round_.id), "success")
    return redirect(url_for("matches.round_detail", round_id=round_.id))


@bp.route("/desk")
@staff_required
def desk() -> ResponseReturnValue:
    """The regulator's seasonal desk: planned and actual utilisation by month, the projected annual rate with and
    without the plan, and the stock in yards and silos over the year."""
    year = year_arg()
    figures = seasonal_desk.figures(year)
    return render_template("seasonal/desk.html", year=year, figures=figures, target=seasonal_desk.TARGET_RATE)
