"""Logs: one line per record, JSON in production (python-json-logger), plain text in debug and tests, each
record carrying the id of the request it belongs to; secrets scrubbed from whatever is written.

Why python-json-logger rather than structlog: it is a `logging.Formatter`, so the records of Flask,
SQLAlchemy, gunicorn, Flask-Limiter and the job queue (all stdlib `logging`) come out as JSON as they are,
without wrapping every logger of the application in another API.

The request id: `X-Request-ID` from the client when it is short and safe ([A-Za-z0-9._-]{1,64}), else a new
one; kept in a context variable for the request, added to every log record by a record factory (so caplog,
gunicorn's error log and any handler see it), echoed in the response header, and logged by gunicorn's
access log (`GunicornLogger` below, named in gunicorn.conf.py)."""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import sys
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, request
from gunicorn.glogging import Logger as _GunicornBaseLogger
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: The id of the request being served in this thread or task ("-" outside a request).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

JSON_FIELDS = ("levelname", "name", "message", "request_id", "process")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

#: What must never reach a log line, whoever logged it: bearer tokens, passwords and other secret fields
#: (form-encoded, JSON or key=value), session and remember cookies.
_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"(?i)([\"']?\b(?:password|passwd|new_password|current_password|secret|secret_key|token|totp|"
                r"csrf_token|api_key|signing_key)\b[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,;}]+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b((?:session|remember_token)=)[^;\s\"']+"), r"\1[redacted]"),
    (re.compile(r"(?i)(://[^:/@\s]+:)[^@/\s]+@"), r"\1[redacted]@"),  # a database URL's password
]


def redact(text: str) -> str:
    """The text with every secret-looking value replaced by [redacted]."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    return value


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, every text field scrubbed of secrets before it is serialised (after,
    JSON's escaped quotes would hide `"password": "..."` from the patterns)."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _redact_value(value) for key, value in super().process_log_record(log_data).items()}


class RedactingTextFormatter(logging.Formatter):
    """The text formatter of debug and tests, its output scrubbed of secrets."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT `json` or `text`."""
    if fmt == "json":
        # "time": ISO 8601 in UTC to the microsecond, whatever the server's zone
        return RedactingJsonFormatter(list(JSON_FIELDS), rename_fields={"levelname": "level"}, timestamp="time")
    return RedactingTextFormatter(TEXT_FORMAT)


_factory_installed = False


def install_record_factory() -> None:
    """Every log record, from any logger, gets `request_id` (once per process)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """The handler configure_logging installs (a second app replaces it instead of adding one). It writes to
    whatever sys.stderr is when a record comes, not when the app was made (test capture, gunicorn): stderr, so
    that commands whose output is data (`flask ledger public-key`, `python -m matching solve` in the same
    process) never have log lines mixed into it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(app: Flask) -> None:
    """Root logging from LOG_LEVEL and LOG_FORMAT: json by default, text in debug and tests."""
    install_record_factory()
    default_format = "text" if (app.debug or app.testing) else "json"
    fmt = (app.config.get("LOG_FORMAT") or default_format).lower()
    level = (app.config.get("LOG_LEVEL") or "INFO").upper()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler()
    handler.setFormatter(make_formatter("json" if fmt == "json" else "text"))
    root.addHandler(handler)
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    app.logger.handlers.clear()  # Flask's default stderr handler would print each record a second time
    app.logger.propagate = True


def init_request_id(app: Flask) -> None:
    """Accept or make the request id before anything else runs, echo it on the response."""

    def take_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        rid = given if SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_id = rid
        g.request_id_token = request_id_var.set(rid)

    def echo_request_id(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        return response

    def forget_request_id(exc: BaseException | None = None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            with contextlib.suppress(ValueError):  # set in another context (a copied one): nothing to undo
                request_id_var.reset(token)

    app.before_request_funcs.setdefault(None, []).insert(0, take_request_id)  # first: every later log has it
    app.after_request(echo_request_id)
    app.teardown_request(forget_request_id)


# --- gunicorn --------------------------------------------------------------------------------------------

class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc,unused-ignore]
    """gunicorn's logger with one structured access record per request: the request id (the X-Request-ID the
    app echoed), method, path without the query string (it may carry tokens), status, size, duration. No
    header, cookie or query value is logged."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_record_factory()
        fmt = os.environ.get("LOG_FORMAT", "json").lower()
        formatter = make_formatter("json" if fmt == "json" else "text")
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        headers = dict((k.lower(), v) for k, v in (resp.headers.items() if hasattr(resp.headers, "items")
                                                    else resp.headers))
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        fields = {
            "remote_addr": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": environ.get("PATH_INFO", "-"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT", "-")[:200],
        }
        message = "{method} {path} {status} {duration_ms}ms".format(**fields)
        # the record factory reads the id from the context: set it for this one record
        token = request_id_var.set(headers.get(REQUEST_ID_HEADER.lower(), "-"))
        try:
            self.access_log.info(message, extra=fields)
        except Exception:  # a log line must never fail a request
            self.error("access log failed", exc_info=True)
        finally:
            request_id_var.reset(token)
