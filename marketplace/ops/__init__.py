"""Running the platform in production: logs with a request id, health and readiness, Prometheus metrics,
backups (see README, "Production")."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Logging first (so that everything after logs in the configured format), then the request id,
    health, metrics and the database-down answer."""
    from . import health, metrics
    from .logging import configure_logging, init_request_id

    configure_logging(app)
    init_request_id(app)
    health.init_app(app)
    metrics.init_app(app)
