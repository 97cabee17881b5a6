"""Health: `/healthz` (the process answers; touches nothing), `/readyz` (the database answers `SELECT 1` within
a short statement timeout, and every check another module registered passes), and the answer when the
database is down: 503 with Retry-After (JSON on the API, a plain translated page elsewhere), never a 500.

Neither endpoint is rate limited, needs a login, sets a cookie or reads the session; both answer JSON."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..extensions import db

logger = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

#: Seconds a client is told to wait before trying again when the database is down.
RETRY_AFTER_SECONDS = 30

#: name -> check. A check returns normally (anything but False) when its dependency is usable; it returns
#: False or raises when not. A dict it returns is shown in /readyz.
_ready_checks: dict[str, Callable[[], object]] = {}


def register_ready_check(name: str, check: Callable[[], object]) -> None:
    """Add a readiness check (the job queue registers one). A later registration under the same name
    replaces the earlier one."""
    _ready_checks[name] = check


def ready_checks() -> dict[str, Callable[[], object]]:
    """The checks /readyz runs: the database first, then the registered ones."""
    return {"database": database_check, **_ready_checks}


def database_check() -> dict[str, Any]:
    """`SELECT 1` on a fresh pooled connection; on PostgreSQL under a statement timeout of
    READY_CHECK_TIMEOUT_MS, so a database that hangs fails the check rather than the probe."""
    timeout_ms = int(current_app.config.get("READY_CHECK_TIMEOUT_MS", 2000))
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {timeout_ms:d}"))
        conn.execute(text("SELECT 1")).scalar_one()
        conn.rollback()
    return {"dialect": db.engine.dialect.name}


def run_checks() -> tuple[bool, dict[str, dict[str, Any]]]:
    """Every check, each timed; a failure is named by its exception class (messages may carry hosts)."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in ready_checks().items():
        started = time.perf_counter()
        try:
            outcome = check()
            ok = outcome is not False
            result: dict[str, Any] = {"ok": ok}
            if isinstance(outcome, dict):
                result.update(outcome)
        except Exception as e:  # a check that raises has failed; /readyz itself must still answer
            logger.warning("readiness check %s failed: %s", name, e.__class__.__name__, exc_info=True)
            result = {"ok": False, "error": e.__class__.__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = result
    return all(r["ok"] for r in results.values()), results


def plain_http_allowed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Probes and scrapers call the app directly over plain HTTP (inside the host or the cluster): Talisman's
    redirect to https (SESSION_COOKIE_SECURE) would fail them. Its per-view options say so."""
    view.talisman_view_options = {"force_https": False}  # type: ignore[attr-defined]
    return view


@bp.route("/healthz")
@plain_http_allowed
def healthz() -> Response:
    """The process is up and serving. No database, no session: a liveness probe."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
@plain_http_allowed
def readyz() -> Response:
    """Ready for traffic: 200 with each check's result, or 503 when any fails."""
    ok, results = run_checks()
    response = jsonify({"status": "ok" if ok else "unavailable", "checks": results})
    if not ok:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


#: SQLite reports a wrong query as an OperationalError too: these are bugs (500), not an outage.
_SQLITE_QUERY_ERRORS = ("no such table", "no such column", "syntax error", "ambiguous column")


def is_disconnect(error: BaseException) -> bool:
    """The database cannot be reached or the connection broke (not a query the database refused)."""
    if isinstance(error, OperationalError) and str(getattr(error, "orig", "")).startswith(_SQLITE_QUERY_ERRORS):
        return False
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeoutError)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def database_unavailable(error: Exception) -> Response:
    """503 with Retry-After: JSON on /api/, elsewhere a page that needs neither the database nor the
    layout (which asks for the logged-in user)."""
    if not is_disconnect(error):
        raise error  # another database error: the usual 500 path
    logger.warning("database unavailable: %s", error.__class__.__name__, exc_info=True)
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded at teardown anyway
        logger.debug("rollback after a lost connection failed", exc_info=True)
    message = _l("The service is briefly unavailable. Try again in a minute.")
    response: Response
    if request.path.startswith("/api/"):
        from ..web import api_error

        response, _status = api_error(503, "unavailable", message)
        response.status_code = 503
    else:
        # Rendered without the context processors: Flask-Login's loads the signed-in user from the database.
        from flask_babel import get_locale

        page = current_app.jinja_env.get_template("ops/unavailable.html").render(
            message=message, locale=str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]))
        response = Response(page, 503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    from ..extensions import limiter

    app.register_blueprint(bp)
    limiter.exempt(bp)
    app.register_error_handler(DBAPIError, database_unavailable)
    app.register_error_handler(PoolTimeoutError, database_unavailable)
