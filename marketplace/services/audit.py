"""Record and read the audit log of privileged actions.

Services call `record(actor, action, target, details)` in the same transaction as the action itself, so
an action and its audit entry are committed together or not at all. The client's address is set once per
request by the web edge (`request_address`), never read from Flask here."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models.audit import AuditEntry
from ..models.organisation import User

#: The address of the client whose request is being served ("" in the CLI and background jobs).
request_address: ContextVar[str] = ContextVar("request_address", default="")

#: Every action the log knows, so that the audit page can offer them as a filter.
ACTIONS = (
    "organisation.verify",          # the operator verifies, rejects or returns an organisation
    "organisation.release_credit_code",
    "organisation.contact",         # an organisation's contact person for deals changed (from, to)
    "user.add", "user.remove", "user.role", "user.password", "user.totp",
    "token.create", "token.revoke",
    "site.move",
    "ledger.reverse", "ledger.checkpoint",
    "baseline.review", "claim.review", "claim.pay", "recovery.settle", "loan.review",
    "tariff.version", "scheme.version",
    # generation.correct: a monthly declaration corrected, with the figures it replaced (the 台账 cites them)
    "generation.correct", "co2.certificate",
    # calendar.window: a staggered-production window published, corrected (before/after) or withdrawn
    "calendar.window",
)


def record(actor: User | None, action: str, target: Any = None, details: dict | None = None) -> AuditEntry:
    """Append one entry. `target` is a model instance (its table name and id are kept) or None."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTIONS")
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_org_id=actor.organisation_id if actor is not None else None,
        action=action,
        target_type=getattr(target, "__tablename__", "") if target is not None else "",
        target_id=getattr(target, "id", None) if target is not None else None,
        details=_jsonable(details or {}),
        address=request_address.get()[:64],
    )
    db.session.add(entry)
    return entry


def _jsonable(value: Any) -> Any:
    """Details as JSON: Decimals, dates and enums as strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(getattr(value, "value", value))


def query(*, action: str | None = None, actor_org_id: int | None = None, since: datetime | None = None,
          until: datetime | None = None, organisation_id: int | None = None, actor: str | None = None) -> Select:
    """The log, newest first, narrowed by the given filters (for the page and its export), each entry with its
    actor and the actor's organisation (loaded with it: one statement for any number of rows).

    `organisation_id` keeps what the organisation did and what was done to it (its verification, its code);
    `actor` is the acting user's e-mail address or its beginning."""
    # newest first; filtered by who, by an expression no index holds, so that PostgreSQL finds the (few) entries
    # through the actor's and organisation's indexes rather than walking the whole log backwards
    newest = (AuditEntry.id + 0).desc() if (actor or organisation_id or actor_org_id) else AuditEntry.id.desc()
    stmt = (select(AuditEntry).options(joinedload(AuditEntry.actor), joinedload(AuditEntry.actor_org))
            .order_by(newest))
    if actor:
        users = select(User.id).where(User.email.startswith(actor.strip().lower(), autoescape=True))
        stmt = stmt.where(AuditEntry.actor_id.in_(users))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_org_id:
        stmt = stmt.where(AuditEntry.actor_org_id == actor_org_id)
    if organisation_id:
        stmt = stmt.where(or_(AuditEntry.actor_org_id == organisation_id,
                              (AuditEntry.target_type == "organisation") & (AuditEntry.target_id == organisation_id)))
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return stmt
