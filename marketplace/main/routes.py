from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..clock import today_cst
from ..services import home
from ..services.catalogue import materials
from ..services.deliveries import FLAG_TEXT
from ..web import is_safe_next
from . import bp


@bp.route("/")
def index() -> ResponseReturnValue:
    """The home page: for a signed-in user, what waits for them and this year's figures with a small chart."""
    if not current_user.is_authenticated:
        return render_template("main/index.html")
    from datetime import date

    figures = home.figures(current_user)
    months = [format_date(date(figures.year, m, 1), "MMM") for m in figures.months]
    if figures.year == today_cst().year and months:  # the current month is not over: say so, not a drop
        months[-1] = _("%(month)s (so far)", month=months[-1])
    chart = {"months": months,
             "series": {key: [float(v) for v in values] for key, values in figures.series.items()},
             "target": float(figures.target * 100) if figures.rate is not None else None,
             "rate": float(figures.rate * 100) if figures.rate is not None else None}
    todo = home.todo(current_user)
    return render_template("main/index.html", todo=todo, nothing_to_do=not any(t.count for t in todo),
                           figures=figures, chart=chart, flag_text=FLAG_TEXT, expiry_days=home.EXPIRY_DAYS,
                           flag_days=home.FLAG_DAYS)


@bp.route("/materials")
def material_catalogue() -> ResponseReturnValue:
    return render_template("main/materials.html", materials=materials())


@bp.route("/lang/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """The language switch: remember the choice in the session and go back where the user was."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else url_for("main.index"))
