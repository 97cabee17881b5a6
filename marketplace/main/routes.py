from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ..services.catalogue import materials
from ..web import is_safe_next
from . import bp


@bp.route("/")
def index() -> ResponseReturnValue:
    return render_template("main/index.html")


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
