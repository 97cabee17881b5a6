"""Logs: a request id on every record of a request (taken from a safe X-Request-ID, else made), echoed in the
response and in gunicorn's access log; JSON in production, text in tests; no password, token or session
cookie in any line."""
import io
import json
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest

from marketplace.ops import health
from marketplace.ops.logging import GunicornLogger, configure_logging, make_formatter, redact
from tests.web.conftest import PASSWORD, login, token_request


@pytest.fixture
def failing_check():
    """A readiness check that fails and logs a warning (a record written inside the request)."""
    saved = dict(health._ready_checks)
    health.register_ready_check("queue", lambda: 1 / 0)
    yield
    health._ready_checks.clear()
    health._ready_checks.update(saved)


@pytest.mark.parametrize("given", ["abc-123", "A.b_c-9", "x" * 64])
def test_a_safe_request_id_is_kept_and_echoed(client, given):
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["x" * 65, "a b", "id;drop", "<script>", "ä", "a\tb", ""])
def test_an_unsafe_or_missing_request_id_is_replaced(client, given):
    r = client.get("/healthz", headers={"X-Request-ID": given} if given else {})
    rid = r.headers["X-Request-ID"]
    assert rid != given and len(rid) == 32 and int(rid, 16) >= 0


def test_every_record_of_a_request_carries_its_id(client, caplog, failing_check):
    with caplog.at_level(logging.INFO):
        r = client.get("/readyz", headers={"X-Request-ID": "probe-7"})
    assert r.status_code == 503
    ours = [rec for rec in caplog.records if rec.name.startswith("marketplace")]
    assert ours and all(rec.request_id == "probe-7" for rec in ours)
    line = json.loads(make_formatter("json").format(ours[0]))
    assert line["request_id"] == "probe-7" and line["level"] == "WARNING" and "queue" in line["message"]
    # outside a request the id is "-", never the last request's
    assert logging.getLogger("marketplace.x").makeRecord("x", 20, "f", 1, "m", (), None).request_id == "-"


def test_production_logs_are_json_and_tests_text(app):
    from flask import Flask

    root = logging.getLogger()
    prod = Flask("prod")
    configure_logging(prod)  # neither debug nor testing, no LOG_FORMAT: JSON
    try:
        handlers = [h for h in root.handlers if type(h).__name__ == "_OurHandler"]
        assert len(handlers) == 1
        record = logging.LogRecord("marketplace", logging.INFO, "f", 1, "hello %s", ("宁夏",), None)
        record.request_id = "r1"
        line = json.loads(handlers[0].format(record))
        assert (line["message"], line["request_id"], line["level"]) == ("hello 宁夏", "r1", "INFO")
        assert line["time"].endswith("+00:00")  # ISO 8601, UTC
    finally:
        configure_logging(app)  # back to the test app's text logs
    handlers = [h for h in root.handlers if type(h).__name__ == "_OurHandler"]
    assert len(handlers) == 1 and not handlers[0].formatter.format(record).startswith("{")


def test_no_password_token_or_session_cookie_reaches_the_logs(app, client, make_user, caplog, failing_check):
    user = make_user(kind="producer")
    with caplog.at_level(logging.DEBUG):
        login(client, user)
        cookie = client.get_cookie("session").value
        r = client.post("/api/v1/auth/token", json=token_request(user))
        token = r.json["token"]
        client.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
        client.post("/auth/login", data={"email": user.email, "password": PASSWORD + "-wrong"})
        client.get("/readyz")
        # and a careless log call that would print them all
        logging.getLogger("marketplace.careless").warning(
            "login password=%s with Authorization: Bearer %s cookie session=%s url postgresql://app:%s@db/app "
            "json {\"password\": \"%s\", \"totp\": \"123456\"}", PASSWORD, token, cookie, "pg-secret", PASSWORD)
    formatters = [make_formatter("json"), make_formatter("text")]
    written = "\n".join(f.format(rec) for rec in caplog.records for f in formatters)
    assert "marketplace.careless" in written and "[redacted]" in written
    for secret in (PASSWORD, token, cookie, "pg-secret", "123456"):
        assert secret not in written


@pytest.mark.parametrize("text,secret", [
    ("password=hunter2&email=a@b.c", "hunter2"), ('{"new_password": "hunter2"}', "hunter2"),
    ("Authorization: Bearer nx_abc.def", "nx_abc.def"), ("Cookie: session=eyJhbGc.x; lang=en", "eyJhbGc.x"),
    ("postgresql+psycopg://app:s3cret@db:5432/app", "s3cret"), ("csrf_token=IjQ5", "IjQ5"),
    ("remember_token=1|abc", "1|abc"),
])
def test_redact_removes_secrets(text, secret):
    assert secret not in redact(text) and "[redacted]" in redact(text)


def test_gunicorn_access_log_is_json_with_the_request_id_and_no_secrets(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    cfg = SimpleNamespace(accesslog="-", errorlog="-", loglevel="info", logconfig=None, logconfig_dict={},
                          logconfig_json=None, syslog=False, disable_redirect_access_to_syslog=False,
                          capture_output=False, access_log_format="", syslog_addr=None, syslog_prefix=None,
                          syslog_facility="user", user=0, group=0)
    log = GunicornLogger(cfg)
    out = io.StringIO()
    for handler in log.access_log.handlers:
        handler.setStream(out)
    resp = SimpleNamespace(status="200 OK", sent=512, headers=[("Content-Type", "text/html"),
                                                               ("X-Request-ID", "abc123"),
                                                               ("Set-Cookie", "session=COOKIE-SECRET")])
    environ = {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "GET", "PATH_INFO": "/listings/supply/12",
               "QUERY_STRING": "token=QUERY-SECRET", "RAW_URI": "/listings/supply/12?token=QUERY-SECRET",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "curl/8", "HTTP_COOKIE": "session=COOKIE-SECRET",
               "HTTP_AUTHORIZATION": "Bearer AUTH-SECRET"}
    req = SimpleNamespace(headers=[("Cookie", "session=COOKIE-SECRET"), ("Authorization", "Bearer AUTH-SECRET")])
    log.access(resp, req, environ, timedelta(milliseconds=12, microseconds=345))
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == "abc123" and line["status"] == 200 and line["path"] == "/listings/supply/12"
    assert line["method"] == "GET" and line["duration_ms"] == 12.345 and line["bytes"] == 512
    assert "SECRET" not in out.getvalue()
