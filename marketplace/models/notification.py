"""Notifications: what happened that a user should know of (in-app, and by e-mail when a server is set)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .organisation import Organisation, User, value_enum


class NotificationKind(enum.StrEnum):
    """What a notification says (its words are labels.NOTIFICATION_KIND, in the reader's language)."""
    PROPOSALS_NEW = "proposals_new"            # a round offered the firm new proposals (about: the round)
    AGREEMENT_CONCLUDED = "agreement_concluded"  # both parties accepted (about: the agreement)
    TICKET_TO_CONFIRM = "ticket_to_confirm"    # a truck was weighed out to the utiliser (about: the shipment)
    RECEIPT_FLAGGED = "receipt_flagged"        # a confirmed receipt carries flags (about: the shipment)
    BASELINE_APPROVED = "baseline_approved"
    BASELINE_REJECTED = "baseline_rejected"
    CLAIM_APPROVED = "claim_approved"
    CLAIM_REJECTED = "claim_rejected"


class Notification(Model):
    """One notice to one user. An event addressed to an organisation gives each of its active users a row of
    their own, so that each reads and marks it for themself."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: the organisation the event was addressed to (the user's, when it was sent)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[NotificationKind] = mapped_column(value_enum(NotificationKind, "kind", length=30))
    #: what it is about: a table name and a row id (a round, an agreement, a shipment, a baseline, a claim)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    #: the figures its text shows (counts, ticket number, year, flags), as JSON values
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: when the e-mail went out (None: not sent, e-mail off, or the user opted out)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind.value} user={self.user_id} {self.target_type}:{self.target_id}>"
