"""The whole suite's clock: `--now` (or TEST_NOW) runs every test as if the clock read another instant.

A test must pass whatever the date: CI may run tomorrow, in January, or after 16:00 UTC, when the day in
Ningxia (CST) is already the next one. `pytest --now 2026-12-31T17:00Z` moves the clock there (it keeps
ticking) for the whole session, so a test that holds only on the day it was written fails at once.
All time in the product is read through Python (marketplace/clock.py); the database's own clock is never
used, so moving Python's clock moves everything."""
from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--now", default=os.environ.get("TEST_NOW"),
                     help="run the suite as if the clock read this instant (ISO 8601; UTC when no zone is given)")


def pytest_configure(config: pytest.Config) -> None:
    now = config.getoption("--now")
    if not now:
        return
    import time_machine

    moment = datetime.fromisoformat(now)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    now = config.getoption("--now")
    return f"clock moved to {now} (--now)" if now else None
