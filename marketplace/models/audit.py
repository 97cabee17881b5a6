"""The audit log: every privileged action, append-only (who, when, what, from which address)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .organisation import Organisation, User


class AuditEntry(Model):
    """One privileged action. Rows are only ever inserted (on PostgreSQL a trigger refuses the rest)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    #: A dotted name from marketplace.services.audit.ACTIONS, e.g. "organisation.verify".
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    address: Mapped[str] = mapped_column(String(64), default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    actor_org: Mapped[Organisation | None] = relationship(foreign_keys=[actor_org_id])

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.target_type}:{self.target_id}>"
