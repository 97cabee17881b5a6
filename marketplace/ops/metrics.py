"""Prometheus metrics: request latency per Flask endpoint (prometheus-flask-exporter, a kept exporter) and the
platform's own figures, for other modules to use:

- `ROUND_DURATION` (Histogram `round_duration_seconds`, label `phase`): the job worker observes each phase
  of a matching round (`ROUND_DURATION.labels(phase="solving").observe(seconds)`, or `time_phase`);
- `job_queue_depth` (Gauge): read at scrape time from the callback the queue registers with
  `register_queue_depth(fn)`; fn returns the number of waiting jobs;
- `ledger_entries` (Gauge): the ledger head's sequence number, one primary-key read at scrape time.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py and scripts/serve.sh) makes every
worker and the job worker write their samples to files there, which /metrics adds up (prometheus_client's
multiprocess mode). `/metrics` is not public: a bearer METRICS_TOKEN, or 127.0.0.1 when no token is set."""
from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import select

from .health import plain_http_allowed

logger = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

#: How long each phase of a matching round took (queued, building, solving, writing, ...).
ROUND_DURATION = Histogram(
    "round_duration_seconds", "Duration of a phase of a matching round, in seconds", ["phase"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)

_queue_depth: Callable[[], int] | None = None


def register_queue_depth(source: Callable[[], int]) -> None:
    """The job queue says how many jobs wait; called at each scrape."""
    global _queue_depth
    _queue_depth = source


@contextmanager
def time_phase(phase: str) -> Iterator[None]:
    """`with time_phase("solving"): ...` observes the block's duration in round_duration_seconds."""
    started = time.perf_counter()
    try:
        yield
    finally:
        ROUND_DURATION.labels(phase=phase).observe(time.perf_counter() - started)


class ScrapeTimeCollector:
    """Figures read when Prometheus scrapes (in the scraping request, with its app context), so that every
    worker reports the same value and nothing is kept up to date between scrapes."""

    def collect(self) -> Iterator[Metric]:
        from ..extensions import db
        from ..models import LedgerHead

        depth = GaugeMetricFamily("job_queue_depth", "Jobs waiting in the queue")
        if _queue_depth is not None:
            try:
                depth.add_metric([], float(_queue_depth()))
            except Exception:  # the queue is down: /readyz says so; the scrape still answers
                logger.warning("job_queue_depth: the queue did not answer", exc_info=True)
        yield depth
        ledger = GaugeMetricFamily("ledger_entries", "Entries in the utilisation ledger (its head's sequence number)")
        try:
            ledger.add_metric([], float(db.session.scalar(select(LedgerHead.seq).where(LedgerHead.id == 1)) or 0))
        except Exception:
            logger.warning("ledger_entries: the database did not answer", exc_info=True)
        yield ledger


class _Combined:
    """What generate_latest reads: several registries and collectors as one."""

    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def exposition() -> bytes:
    """The text exposition of every metric: from the multiprocess files under gunicorn, else this process."""
    exporter: PrometheusMetrics = current_app.extensions["prometheus_metrics"]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        files = CollectorRegistry()
        MultiProcessCollector(files)
        sources: tuple[Any, ...] = (files, ScrapeTimeCollector())
    else:
        sources = (exporter.registry, REGISTRY, ScrapeTimeCollector())
    return generate_latest(_Combined(*sources))


#: Headers a reverse proxy adds: a request that passed one comes from outside, whatever its address says.
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def scraper_allowed() -> bool:
    """A bearer METRICS_TOKEN when one is set; otherwise a request from this machine only, not relayed by a
    proxy on this machine (whose requests all come from 127.0.0.1)."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    relayed = any(header in request.headers for header in PROXY_HEADERS)
    return request.remote_addr in {"127.0.0.1", "::1"} and not relayed


@bp.route("/metrics")
@plain_http_allowed
def metrics() -> Response:
    """Prometheus' text format, for the scraper only."""
    if not scraper_allowed():
        response = Response("forbidden\n", 403, mimetype="text/plain")
        if current_app.config.get("METRICS_TOKEN"):
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Request latency per endpoint name (never the raw path, which carries ids) and the /metrics route.
    Each app gets its own registry for the exporter's metrics, so a second app (tests, CLI) is measured too."""
    from ..extensions import limiter

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:  # a CLI command run with the server's environment must not fail on a folder not made yet
        os.makedirs(folder, exist_ok=True)
    exporter = PrometheusMetrics(
        app=None, path=None, group_by="endpoint", registry=CollectorRegistry(auto_describe=True),
        excluded_paths=["^/metrics$", "^/healthz$", "^/readyz$", "^/static/"],
    )
    exporter.init_app(app)
    app.extensions["prometheus_metrics"] = exporter
    app.register_blueprint(bp)
    limiter.exempt(bp)
