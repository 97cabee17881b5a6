"""Glue shared by the browser blueprints: error pages, template helpers, running a service at the edge."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeGuard, TypeVar

from flask import Flask, Response, abort, flash, g, got_request_exception, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy import literal, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from . import gazetteer, labels, maps, policy
from .clock import CST_LABEL, as_utc, cst_label, to_cst, today_cst
from .errors import MarketplaceError, NotFound, PermissionDenied, api_error, http_status
from .extensions import db
from .labels import decimal_text, percent_text
from .models import enums

if TYPE_CHECKING:
    from .models import User

P = ParamSpec("P")
T = TypeVar("T")


def init_app(app: Flask) -> None:
    from . import guard

    guard.init_app(app)

    @app.before_request
    def remember_client_address() -> None:
        from .services.audit import request_address

        request_address.set(request.remote_addr or "")

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])
        return {
            "locale": locale,
            "city_label": lambda key: gazetteer.city_label(key, locale),
            "county_label": lambda key: gazetteer.county_label(key, locale),
            "park_label": lambda key: gazetteer.park_label(key, locale),
            "kind_label": lambda value: labels.label(labels.ORG_KIND, value),
            "verification_label": lambda value: labels.label(labels.VERIFICATION, value),
            "role_label": lambda value: labels.label(labels.USER_ROLE, value),
            "listing_status_label": lambda value: labels.label(labels.LISTING_STATUS, value),
            "proposal_status_label": lambda value: labels.label(labels.PROPOSAL_STATUS, value),
            "decision_label": lambda value: labels.label(labels.DECISION, value),
            "scope_label": lambda value: labels.label(labels.ROUND_SCOPE, value),
            "round_status_label": lambda value: labels.label(labels.ROUND_STATUS, value),
            "mode_label": lambda value: labels.label(labels.MODE, value),
            "objective_label": lambda value: labels.label(labels.OBJECTIVE, value),
            "listing_action_label": lambda value: labels.label(
                labels.LISTING_ACTION if value in labels.LISTING_ACTION else labels.LISTING_STATUS, value),
            "awaiting_decision": _awaiting_decision,
            "unread_notifications": _unread_notifications,
            "use_label": lambda value: labels.label(labels.USE, value),
            "claim_status_label": lambda value: labels.label(labels.CLAIM_STATUS, value),
            "review_status_label": lambda value: labels.label(labels.REVIEW_STATUS, value),
            "subsidy_measure_label": lambda value: labels.label(labels.SUBSIDY_MEASURE, value),
            "group_label": lambda value: labels.label(labels.UTILISATION_GROUP, value),
            **labels.template_helpers(),
            "totals": _utilisation_totals,
            "column_total": column_total,
            "map_config": maps.config,
            "policy": policy,
            "enums": enums,
        }

    # The one way a template shows a time: Babel renders it in BABEL_DEFAULT_TIMEZONE (Asia/Shanghai), labelled.
    app.add_template_filter(show_datetime, "datetime")
    app.add_template_filter(show_date, "date")

    # Numbers in the page's locale (Babel): grouped, exact (Decimals are never rounded through a float).
    app.add_template_filter(show_tonnes, "tonnes")
    app.add_template_filter(show_kg_as_tonnes, "kg_tonnes")
    app.add_template_filter(show_integer, "integer")
    app.add_template_filter(show_number, "number")
    app.add_template_filter(show_money, "money")
    app.add_template_filter(show_percent, "percent")

    def error_page(status: int, message: object, code: str | None = None,
                   field: str | None = None) -> ResponseReturnValue:
        db.session.rollback()
        if request.path.startswith("/api/"):
            return api_error(status, code or ERROR_CODES.get(status, "error"), message, field)
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError) -> ResponseReturnValue:
        return error_page(400, _l("The form has expired or was not sent from this site. Reload the page and try "
                                  "again."))

    @app.errorhandler(400)
    def bad_request(e: HTTPException) -> ResponseReturnValue:
        from flask import g

        return error_page(400, g.get("guard_message") or _l("The request could not be understood."))

    @app.errorhandler(401)
    def unauthorised(e: HTTPException) -> ResponseReturnValue:
        return error_page(401, _l("Log in first."))

    @app.errorhandler(403)
    def forbidden(e: HTTPException) -> ResponseReturnValue:
        return error_page(403, _l("You are not allowed to do this."))

    @app.errorhandler(404)
    def not_found(e: HTTPException) -> ResponseReturnValue:
        return error_page(404, _l("Page not found."))

    @app.errorhandler(405)
    def method_not_allowed(e: HTTPException) -> ResponseReturnValue:
        return error_page(405, _l("This action is not available here."))

    @app.errorhandler(413)
    def too_large(e: HTTPException) -> ResponseReturnValue:
        return error_page(413, _l("The upload is too large."))

    @app.errorhandler(429)
    def too_many_requests(e: HTTPException) -> ResponseReturnValue:
        # a rate limit (Flask-Limiter) says why in its description
        return error_page(429, e.description or _l("Too many requests. Wait a minute and try again."))

    @app.errorhandler(MarketplaceError)
    def domain_error(e: MarketplaceError) -> ResponseReturnValue:
        status = http_status(e)
        if not request.path.startswith("/api/") and status == 422:
            status = 400
        return error_page(status, e.message, field=e.field)

    @app.errorhandler(IntegrityError)
    def integrity_error(e: IntegrityError | None) -> ResponseReturnValue:
        # A constraint caught what the services' checks could not (two requests racing): no data is lost.
        return error_page(409, _l("Someone else changed this at the same moment. Reload and try again."),
                          code="conflict")

    @app.errorhandler(500)
    def server_error(e: HTTPException) -> ResponseReturnValue:
        return error_page(500, _l("Something went wrong on our side. The team has been told."))

    # --- one transaction per request, committed here and nowhere else --------------------------------------
    # Services only flush. A request that changes something (POST, PUT, PATCH, DELETE) commits once, after its
    # view returned; one whose view raised (a handled or unhandled error) rolls back; a GET, HEAD or OPTIONS
    # never writes: whatever it flushed is rolled back. A view that catches a domain error itself and renders
    # the form again (run_service) has rolled back what the failed call flushed.
    handle_user_exception = app.handle_user_exception

    def failed(e: Exception) -> ResponseReturnValue:
        g.request_failed = True
        return handle_user_exception(e)

    app.handle_user_exception = failed  # type: ignore[method-assign]  # wrapped on this app only
    got_request_exception.connect(lambda sender, **extra: g.__setattr__("request_failed", True), app, weak=False)

    @app.after_request
    def end_transaction(response: Response) -> ResponseReturnValue:
        if request.method in SAFE_METHODS or g.get("request_failed"):
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return integrity_error(None)
        return response


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ERROR_CODES = {400: "bad_request", 401: "unauthorised", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
               429: "too_many_attempts", 500: "server_error"}


def show_datetime(moment: datetime | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """`{{ x|datetime }}`: a stored instant in China Standard Time, labelled ("2026-03-02 04:30 UTC+8").
    SQLite hands back naive datetimes: they are UTC."""
    return "" if moment is None else f"{format_datetime(as_utc(moment), pattern)} {CST_LABEL}"


def show_date(value: date | None, pattern: str = "yyyy-MM-dd") -> str:
    """`{{ x|date }}`: the day of a stored instant in China Standard Time, labelled; a calendar date (a
    listing's period, a declared month) has no zone and is shown as it is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{format_date(as_utc(value), pattern)} {CST_LABEL}"
    return format_date(value, pattern)


def _number(value: object) -> Decimal | None:
    """A figure as an exact Decimal; None for nothing or for text that is not a number (shown as it is)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def show_tonnes(value: object, digits: int = 3) -> str:
    """`{{ x|tonnes }}`: 1234.5 -> '1,234.500' in the page's locale ('' for nothing)."""
    number = _number(value)
    return _as_text(value) if number is None else decimal_text(number, "#,##0." + "0" * digits if digits else "#,##0")


def show_kg_as_tonnes(value: object) -> str:
    """`{{ kg|kg_tonnes }}`: a weighbridge's kilograms as tonnes, beside deals counted in tonnes."""
    number = _number(value)
    return _as_text(value) if number is None else show_tonnes(number / 1000)


def show_integer(value: object) -> str:
    """`{{ x|integer }}`: 4223988 -> '4,223,988'."""
    number = _number(value)
    return _as_text(value) if number is None else decimal_text(number, "#,##0")


def show_number(value: object) -> str:
    """`{{ x|number }}`: grouped, with the decimals it has (up to three): 1200 -> '1,200', 12.5 -> '12.5'."""
    number = _number(value)
    return _as_text(value) if number is None else decimal_text(number, "#,##0.###")


def show_money(value: object) -> str:
    """`{{ x|money }}`: yuan to the fen, grouped: '1,234,567.80'."""
    number = _number(value)
    return _as_text(value) if number is None else decimal_text(number, "#,##0.00")


def show_percent(value: object, digits: int = 1) -> str:
    """`{{ rate|percent }}`: a fraction as a per cent, 0.4231 -> '42.3%' ('—' when there is no rate)."""
    number = _number(value)
    return "—" if number is None else percent_text(number, "#,##0." + "0" * digits + "%" if digits else "#,##0%")


def column_total(rows: Iterable[Any], key: str) -> Decimal:
    """`{{ column_total(rows, 'amount_yuan') }}`: the exact sum of a table's column (dicts or objects)."""
    return sum((_number(row.get(key) if isinstance(row, dict) else getattr(row, key)) or Decimal(0)
                for row in rows), Decimal(0))


def _utilisation_totals(rows: list[dict]) -> dict:
    from .services.dashboard import totals

    return totals(rows)


def menu_counts() -> tuple[int, int]:
    """The navigation's two badges, in one statement once a request: the proposals waiting for the user's
    organisation to decide (none for staff) and the user's unread notifications."""
    counts = g.get("menu_counts")
    if counts is None:
        counts = (0, 0)
        if current_user.is_authenticated:
            from .services.notifications import unread_count_query
            from .services.proposals import awaiting_decision_query

            waiting = (literal(0) if current_user.organisation.is_staff  # staff decide on no proposal
                       else awaiting_decision_query(current_user).scalar_subquery())
            row = db.session.execute(select(waiting, unread_count_query(current_user).scalar_subquery())).one()
            counts = (int(row[0] or 0), int(row[1] or 0))
        g.menu_counts = counts
    return counts


def _awaiting_decision() -> int:
    return menu_counts()[0]


def _unread_notifications() -> int:
    return menu_counts()[1]


def flash_form_errors(form: FlaskForm) -> None:
    """Show a form's field errors as messages (for forms posted from a page that does not re-render them)."""
    for name, errors in form.errors.items():
        for message in errors:
            flash(f"{getattr(form, name).label.text}: {message}", "error")


def run_service(form: FlaskForm, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Call a service; on a domain error roll back what it flushed and show it on the form field at fault.

    Returns the service's result, or None when it failed (the form then carries the message)."""
    try:
        return operation(*args, **kwargs)  # the request commits it at the edge (init_app)
    except (PermissionDenied, NotFound):
        raise
    except MarketplaceError as e:
        db.session.rollback()
        # a form may name the service's fields differently (price for price_yuan_per_t): its FIELD_NAMES say how
        name = getattr(form, "FIELD_NAMES", {}).get(e.field, e.field)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            errors = list(field.errors)
            errors.append(str(e.message))
            field.errors = errors
        else:
            flash(f"{labels.field(e.field)}: {e.message}" if e.field else str(e.message), "error")
        return None


def is_safe_next(target: str | None) -> TypeGuard[str]:
    """Only redirect to a path on this site (see guard.is_safe_next)."""
    from .guard import is_safe_next as check

    return check(target)


def role_required(check: Callable[[User], bool]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: login, then `check(current_user)` must hold, else 403."""
    def decorator(view: Callable[P, T]) -> Callable[P, T]:
        @wraps(view)
        @login_required
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


staff_required = role_required(lambda u: u.organisation.is_staff)
org_admin_required = role_required(lambda u: u.is_org_admin)
producer_required = role_required(lambda u: u.organisation.is_producer)


def spreadsheet(rows: Iterable[dict[str, Any]], fmt: str, name: str, title: str, group: str | None = None) -> Response:
    """A table as a CSV or XLSX download: every export of the platform goes through here. The rows may be a
    generator: they are spooled to a temporary file, the CSV streams, the XLSX is written in write-only mode.

    For people (the default) headers and names are in the page's language and an XLSX holds figures as numbers
    with number formats (rates as per cent); `?codes=1` gives machines the column codes and values as stored.
    `group` names what the table is: a utilisation table's grouping (region, city, park, material, month; its
    "group" column), or "claims" / "listings" (which statuses the "status" column holds)."""
    from flask import Response, send_file

    from .services.exports import Spool, csv_chunks, xlsx_file

    if request.args.get("codes") == "1":
        spool = Spool(rows)
    else:
        spool = Spool(rows, names=lambda column: labels.export_header(column, group), typed=fmt == "xlsx",
                      cell=lambda column, value: labels.export_value(column, value, group, csv=fmt == "csv"))
    filename = f"{name}.{fmt}"
    if fmt == "csv":
        return Response(csv_chunks(spool), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={filename}"})
    return send_file(xlsx_file(spool, title), as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def file_times(rows: list[dict]) -> list[dict]:
    """Every datetime of an export in China Standard Time, its column saying so ("dispatched_at (UTC+8)")."""
    timed = {key for row in rows for key, value in row.items() if isinstance(value, datetime)}
    if not timed:
        return rows
    return [{(cst_label(k) if k in timed else k):
             (("" if v is None else to_cst(v).strftime("%Y-%m-%d %H:%M:%S")) if k in timed else v)
             for k, v in row.items()} for row in rows]


def year_arg() -> int:
    """?year= as a calendar year (400 for nonsense); this year, China Standard Time, when absent."""
    year = request.args.get("year", "")
    if not year:
        return today_cst().year
    if not (year.isascii() and year.isdigit()) or not 2000 <= int(year) <= 2100:
        abort(400)
    return int(year)
