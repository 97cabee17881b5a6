"""Prometheus metrics: latency labelled by Flask endpoint (never a raw path with ids), the platform's own
gauges and histogram, and a /metrics that strangers cannot read."""
import re

import pytest

from marketplace.ops import metrics
from tests.web.deals import make_agreement
from tests.web.test_ops_backup import deliver

STRANGER = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def token(app):
    app.config["METRICS_TOKEN"] = "scrape-secret-token"
    yield "scrape-secret-token"
    app.config["METRICS_TOKEN"] = ""


@pytest.fixture
def queue_depth():
    saved = metrics._queue_depth
    yield metrics.register_queue_depth
    metrics._queue_depth = saved


def scrape(client, **kwargs) -> str:
    r = client.get("/metrics", **kwargs)
    assert r.status_code == 200 and r.mimetype == "text/plain"
    return r.get_data(as_text=True)


def test_latency_is_labelled_by_endpoint_never_by_path(logged_in):
    client, _ = logged_in(kind="producer")
    assert client.get("/listings/supply/987654").status_code == 404
    assert client.get("/materials").status_code == 200
    text = scrape(client)
    assert re.search(r'flask_http_request_duration_seconds_count\{endpoint="main.material_catalogue",'
                     r'method="GET",status="200"\} [1-9]', text)
    assert 'endpoint="listings.detail"' in text
    assert "987654" not in text and "/listings/" not in text
    assert 'endpoint="ops.healthz"' not in text  # probes are not traffic


def test_platform_metrics_are_exported(client, db, make_user, make_site, queue_depth):
    deal = make_agreement(make_user, make_site, tonnes=500)
    deliver(db, deal, 3)
    queue_depth(lambda: 7)
    with metrics.time_phase("solving"):
        pass
    text = scrape(client)
    assert re.search(r"^ledger_entries 3\.0$", text, re.M)
    assert re.search(r"^job_queue_depth 7\.0$", text, re.M)
    assert re.search(r'^round_duration_seconds_count\{phase="solving"\} [1-9]', text, re.M)


def test_a_failing_queue_callback_does_not_break_the_scrape(client, queue_depth):
    queue_depth(lambda: 1 / 0)
    text = scrape(client)
    assert "# TYPE job_queue_depth gauge" in text and not re.search(r"^job_queue_depth ", text, re.M)


@pytest.mark.parametrize("relayed", [{}, {"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
                                     {"Forwarded": "for=203.0.113.9"}])
def test_metrics_refuse_a_stranger_without_a_token(client, relayed):
    """From another machine, or relayed by a proxy on this one (its requests all come from 127.0.0.1)."""
    r = client.get("/metrics", environ_base=STRANGER if not relayed else {}, headers=relayed)
    assert r.status_code == 403 and b"flask_http" not in r.data
    assert scrape(client)  # from the machine itself, when no token is set


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic c2NyYXBl", "Bearer scrape-secret-token-x",
                                    "scrape-secret-token"])
def test_with_a_token_only_the_token_opens_metrics(client, token, header):
    headers = {"Authorization": header} if header else {}
    for environ in ({}, STRANGER):  # not even from localhost without it
        r = client.get("/metrics", headers=headers, environ_base=environ)
        assert r.status_code == 403 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert scrape(client, headers={"Authorization": f"Bearer {token}"}, environ_base=STRANGER)


def test_metrics_set_no_cookie_and_are_not_rate_limited(client):
    for _ in range(30):
        r = client.get("/metrics")
        assert r.status_code == 200
    assert "Set-Cookie" not in r.headers
