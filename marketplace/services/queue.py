"""Asking for background work from a service: sent once the transaction commits, forgotten on rollback.

The queue itself (huey, its tasks and worker) lives in marketplace/jobs.py, which calls the services; the
services only name a task here, so the arrows keep pointing one way (jobs -> services)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

#: Where a session keeps what it asked for until it commits.
_PENDING = "after_commit"


def after_commit(action: Callable[[], Any]) -> None:
    """Do `action` once the current transaction has committed; never if it rolls back."""
    db.session().info.setdefault(_PENDING, []).append(action)


def enqueue(name: str, *args: Any, task_id: str | None = None) -> None:
    """Ask for task `name` (registered in marketplace/jobs.py). It is sent when the current transaction
    commits, so a worker never looks for rows that do not exist yet (or never will); `task_id` names it, so
    that it can be revoked."""
    queue = current_app.extensions["jobs"]
    after_commit(lambda: queue.huey.enqueue(queue.tasks[name].s(*args, id=task_id)))


def revoke(task_id: str) -> None:
    """Once the current transaction commits, take a queued task off the queue (a cancelled round)."""
    queue = current_app.extensions["jobs"]
    after_commit(lambda: queue.huey.revoke_by_id(task_id))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_PENDING, []):
        action()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
