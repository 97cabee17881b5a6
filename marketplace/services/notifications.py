"""Notifications: `notify(...)` in the same transaction as the event, an in-app list per user, e-mail after commit.

An event is addressed to organisations; each of their active users gets a row of their own (read and marked by
them alone). When an SMTP server is configured (SMTP_HOST), the rows' e-mails are sent by a background job once
the transaction has committed (services/queue.py): never inside the web request, never for a rolled-back event.
The words are labels (labels.NOTIFICATION_KIND) in the reader's language: rows keep only codes and figures."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, select, update

from .. import labels, policy
from ..clock import utcnow
from ..errors import NotFound, ValidationError
from ..extensions import db, rowcount
from ..models import Notification, NotificationKind, User
from . import catalogue, queue
from .values import get_row

log = logging.getLogger(__name__)

#: Notifications shown per page of the list.
PER_PAGE = 20


def notify(kind: NotificationKind, target: Any, organisations: Iterable[int],
           details: Mapping[str, Any] | None = None,
           per_organisation: Mapping[int, Mapping[str, Any]] | None = None) -> list[Notification]:
    """Tell every active user of `organisations` that `kind` happened to `target` (a model instance).

    `details` are the figures the text shows (JSON values); `per_organisation` adds figures of one organisation
    (its count of a round's proposals). Two statements whatever the number of users: the users, one INSERT."""
    org_ids = sorted(set(organisations))
    if not org_ids:
        return []
    users = db.session.execute(select(User.id, User.organisation_id)
                               .where(User.organisation_id.in_(org_ids), User.active.is_(True))).all()
    rows = [Notification(user_id=user_id, organisation_id=org_id, kind=kind,
                         target_type=getattr(target, "__tablename__", ""), target_id=getattr(target, "id", None),
                         details={**(details or {}), **((per_organisation or {}).get(org_id) or {})},
                         created_at=utcnow())
            for user_id, org_id in users]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    if email_enabled():
        queue.enqueue("send_notification_emails", [n.id for n in rows])
    return rows


# --- reading and marking -------------------------------------------------------------------------------

def unread_count_query(user: User) -> Select[int]:
    """How many of the user's notifications are unread: the indexed COUNT of the menu's badge, which sends
    it with its other count (web.menu_counts)."""
    return select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                     Notification.read_at.is_(None))


def page_for(user: User, page: int = 1, unread_only: bool = False) -> Pagination:
    """The user's notifications, newest first, one page of PER_PAGE (two statements). Reading marks nothing."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return db.paginate(query.order_by(Notification.id.desc()), page=page, per_page=PER_PAGE, error_out=False)


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (another user's is not found: 404)."""
    notification = get_row(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(_l("No such notification."))
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read, in one UPDATE; returns how many."""
    result = db.session.execute(update(Notification)
                                .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                                .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return rowcount(result) or 0


def history_read() -> int:
    """Mark read every notification but those of tickets still waiting for their receipt (the demo's history,
    seeded at once, is old news; its trucks on their way are not)."""
    from ..models import Shipment, ShipmentStatus

    waiting = select(Shipment.id).where(Shipment.status == ShipmentStatus.DISPATCHED)
    result = db.session.execute(
        update(Notification).where(Notification.read_at.is_(None),
                                   ~((Notification.kind == NotificationKind.TICKET_TO_CONFIRM)
                                     & Notification.target_id.in_(waiting)))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return rowcount(result) or 0


# --- words ---------------------------------------------------------------------------------------------

def material_names(locale: str) -> dict[str, str]:
    """Material code -> name in `locale` (the catalogue's snapshot)."""
    return {m.code: m.name(locale) for m in catalogue.materials()}


def text(n: Notification, materials: Mapping[str, str], reason: bool = True) -> str:
    """The notification in the current language: the label of its kind with its figures, no codes; with the
    reviewer's reason unless told (an e-mail's subject is one line)."""
    d = dict(n.details or {})
    values = {
        "count": f"{int(d.get('count', 0)):,}", "round": d.get("round", n.target_id),
        "agreement": d.get("agreement", n.target_id), "ticket": d.get("ticket", ""),
        "tonnes": f"{int(d.get('tonnes', 0)):,}", "year": d.get("year", ""),
        "material": materials.get(str(d.get("material", "")), str(d.get("material", ""))),
        "flags": "; ".join(labels.label(labels.SHIPMENT_FLAG, f) for f in d.get("flags", [])),
        "reason": d.get("reason", ""),
    }
    words = str(labels.NOTIFICATION_KIND.get(n.kind.value, n.kind.value)) % values
    if reason and d.get("reason"):
        words = f"{words} {_l('Reason:')} {d['reason']}"
    return words


# --- e-mail --------------------------------------------------------------------------------------------

def email_enabled() -> bool:
    """E-mail is off unless an SMTP server is configured."""
    return bool(policy.setting("SMTP_HOST", ""))


def send_emails(notification_ids: list[int], link: Any = None) -> int:
    """Send the e-mail of each notification (the background job): to its user, in the user's language, unless
    the user turned e-mail off or was deactivated, once (emailed_at). Returns how many were sent."""
    from . import mail

    rows = list(db.session.scalars(select(Notification).join(User, Notification.user_id == User.id)
                                   .where(Notification.id.in_(notification_ids), Notification.emailed_at.is_(None),
                                          User.active.is_(True), User.email_notifications.is_(True))
                                   .order_by(Notification.id)))
    if not rows or not email_enabled():
        return 0
    default = str(policy.setting("BABEL_DEFAULT_LOCALE", "zh"))
    names: dict[str, dict[str, str]] = {}
    messages: list[tuple[Notification, mail.Message]] = []
    for n in rows:
        locale = n.user.locale or default
        if locale not in names:
            names[locale] = material_names(locale)
        with force_locale(locale):
            words = text(n, names[locale])
            subject = text(n, names[locale], reason=False)
            site = str(_l("Ningxia Industrial Solid Waste Exchange"))
            url = link(n) if link is not None else ""
            body = f"{words}\n\n{url}\n" if url else f"{words}\n"
            footer = str(_l("You receive this because your organisation uses the exchange. Turn these e-mails off "
                            "on your account page."))
        message = mail.Message(to=n.user.email, subject=f"[{site}] {subject}", body=f"{body}\n-- \n{footer}\n")
        messages.append((n, message))
    sent_at: datetime = utcnow()
    sent = mail.send_all([m for _, m in messages])
    for (n, _), ok in zip(messages, sent, strict=True):
        if ok:
            n.emailed_at = sent_at
    db.session.flush()
    return sum(sent)


def set_email_settings(user: User, email_notifications: bool, locale: str) -> User:
    """The user's own choice: e-mails on or off, and their language."""
    if locale not in policy.setting("LANGUAGES", ["zh", "en"]):
        raise ValidationError(_l("Choose one of the offered languages."), field="locale")
    user.email_notifications = email_notifications
    user.locale = locale
    db.session.flush()
    return user
