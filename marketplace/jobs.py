"""Background jobs on huey: matching rounds, and the scheduled expiry and ledger checkpoint.

The queue is named by the setting JOBS_URL:

- ``sqlite:///path/jobs.db`` (the default: ``instance/jobs.db``): huey's embedded SQLite queue, no server;
- ``redis://host:6379/0``: Redis (production, several web and worker processes);
- ``postgresql://user:pass@host/db``: huey's PostgreSQL queue (production without Redis);
- ``memory://``: in one process only (a test that runs the queue by hand);
- ``immediate://``: a task runs at once when it is enqueued (the tests' default).

A task is enqueued only once the transaction that asked for it has committed (services/queue.py), so the
worker always finds the rows it is given. Every task is an edge of its own (`_edge`): an app context, one
transaction committed when the task returns and rolled back when it raises, no client address in the audit
log. `flask --app wsgi jobs worker` runs the consumer with its periodic scheduler."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from huey import Huey, crontab
from huey.api import TaskWrapper
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage

from .extensions import db
from .services import queue as _queue  # noqa: F401  (registers the after-commit hook that sends tasks)

log = logging.getLogger(__name__)

#: Listings and proposals past their end are expired this often (minutes); reads never wait for it.
EXPIRY_EVERY_MINUTES = 5
#: The daily ledger checkpoint: 00:05 China Standard Time is 16:05 UTC (huey's schedule runs in UTC).
CHECKPOINT_AT_UTC = {"hour": "16", "minute": "5"}


def make_huey(url: str, name: str = "marketplace") -> Huey:
    """A huey instance for a JOBS_URL (see the module's docstring)."""
    scheme = urlsplit(url).scheme
    if scheme == "immediate":
        return Huey(name, results=False, immediate=True, storage_class=MemoryStorage)
    if scheme == "memory":
        return Huey(name, results=False, storage_class=MemoryStorage)
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return Huey(name, results=False, storage_class=SqliteStorage, filename=str(path))
    if scheme in ("redis", "rediss"):
        return Huey(name, results=False, storage_class=RedisStorage, url=url)
    if scheme.startswith("postgres"):
        return Huey(name, results=False, storage_class=PostgresStorage, dsn=url.replace("+psycopg", "", 1))
    raise ValueError(f"JOBS_URL: unknown queue {url!r} (sqlite:///, redis://, postgresql://, memory://, "
                     "immediate://)")


class Jobs:
    """One app's queue: its huey instance and the tasks registered on it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.huey = make_huey(app.config["JOBS_URL"])
        self.tasks: dict[str, TaskWrapper] = {}
        self.task("run_round")(run_round)
        self.task("verify_ledger")(verify_ledger)
        self.task("send_notification_emails")(send_notification_emails)
        self.huey.periodic_task(crontab(minute=f"*/{EXPIRY_EVERY_MINUTES}"), name="expire_due")(
            self._edge(expire_due))
        self.huey.periodic_task(crontab(**CHECKPOINT_AT_UTC), name="ledger_checkpoint")(
            self._edge(ledger_checkpoint))

    def task(self, name: str) -> Callable[[Callable[..., Any]], TaskWrapper]:
        def register(fn: Callable[..., Any]) -> TaskWrapper:
            wrapper = self.huey.task(name=name)(self._edge(fn))
            self.tasks[name] = wrapper
            return wrapper
        return register

    def _edge(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Run `fn` as an edge: its own app context and transaction, committed at the end."""
        app = self.app

        @wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            from .services.audit import request_address

            with app.app_context():
                address = request_address.set("")
                try:
                    result = fn(*args, **kwargs)
                    db.session.commit()
                    return result
                except BaseException:
                    db.session.rollback()
                    raise
                finally:
                    request_address.reset(address)
        return run

    def run_pending(self, limit: int = 1000) -> int:
        """Dequeue and execute what is waiting (tests and `jobs run-pending`); returns how many ran."""
        done = 0
        while done < limit:
            task = self.huey.dequeue()
            if task is None:
                break
            self.huey.execute(task)
            done += 1
        return done


def init_app(app: Flask) -> None:
    from .ops.health import register_ready_check
    from .ops.metrics import register_queue_depth

    app.extensions["jobs"] = Jobs(app)
    register_ready_check("queue", queue_ready)  # /readyz: 503 when the queue's storage does not answer
    register_queue_depth(queue_depth)  # job_queue_depth at each scrape


def jobs() -> Jobs:
    """The current app's queue."""
    queue: Jobs = current_app.extensions["jobs"]
    return queue


def queue_ready() -> bool:
    """Whether the queue's storage answers (the readiness check)."""
    try:
        jobs().huey.pending_count()
    except Exception:  # any failure of the storage means "not ready"; the check must not raise
        log.exception("job queue not reachable")
        return False
    return True


def queue_depth() -> int:
    """Tasks waiting in the queue (a metric); 0 when the queue cannot be read."""
    try:
        return int(jobs().huey.pending_count())
    except Exception:
        log.exception("job queue not reachable")
        return 0


# --- the tasks -------------------------------------------------------------------------------------------

def run_round(round_id: int) -> str:
    """A matching round, phase by phase; each phase's mark is committed so that the round page shows it."""
    from .services import rounds

    return rounds.run_queued_round(round_id, commit=db.session.commit)


def expire_due() -> dict[str, int]:
    """Store the expiry of listings whose period ended and of proposals past their lifetime (reads already
    treat them as expired; this keeps the stored status in step)."""
    from .services import listings, proposals

    return {"listings": listings.expire_due(), "proposals": proposals.expire_proposals()}


def verify_ledger(check_id: int) -> bool | None:
    """A verification of the chain asked for on the ledger page."""
    from .services import ledger

    check = ledger.run_check(check_id)
    return check.ok if check else None


def send_notification_emails(notification_ids: list[int]) -> int:
    """E-mail the notifications of one committed event to their users (SMTP_HOST; off when it is empty)."""
    from .services import notifications

    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")  # e-mails carry no link without it
    return notifications.send_emails(notification_ids, link=(lambda n: f"{base}/notifications/") if base else None)


def ledger_checkpoint() -> int:
    """The daily signed checkpoint of the ledger's head (it verifies the ledger first)."""
    from .services import ledger

    return ledger.create_checkpoint(None).id
