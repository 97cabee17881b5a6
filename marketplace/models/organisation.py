"""Organisations (enterprises, regulators, the operator) and their users."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import utcnow
from ..extensions import Model

if TYPE_CHECKING:
    from .site import Site


class OrgKind(enum.StrEnum):
    PRODUCER = "producer"
    CONSUMER = "consumer"
    BOTH = "both"
    REGULATOR = "regulator"
    OPERATOR = "operator"


class VerificationStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class UserRole(enum.StrEnum):
    ADMIN = "admin"  # administers the organisation's users and sites
    MEMBER = "member"


def value_enum(cls: type[enum.StrEnum], name: str, length: int = 20) -> Enum:
    """Store an enum's value ("producer"), not its Python name, as a string with a CHECK on both databases.

    `name` names the CHECK constraint (ck_<table>_<name> by the naming convention): give each column of a
    table its own. Python refuses an unknown string before the database does (`validate_strings`)."""
    return Enum(cls, name=name, values_callable=_values, native_enum=False, validate_strings=True,
                length=length, create_constraint=True)


def _values(cls: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in cls]


class Organisation(Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The firm's public unified social credit code; None once the operator released it from a squatter.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    #: The code this organisation held before the operator released it (kept for the record, not unique).
    released_credit_code: Mapped[str | None] = mapped_column(String(18))
    kind: Mapped[OrgKind] = mapped_column(value_enum(OrgKind, "org_kind"))
    verification: Mapped[VerificationStatus] = mapped_column(
        value_enum(VerificationStatus, "verification_status"), default=VerificationStatus.PENDING
    )
    verification_note: Mapped[str | None] = mapped_column(String(500))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True, name="fk_organisation_verified_by_id_user")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Whom a counterparty calls about a deal: shown to the other party of an agreement (with the name),
    #: never before one (policy.sees_site_of). Optional; the organisation's administrators keep them.
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))

    users: Mapped[list[User]] = relationship(
        back_populates="organisation", foreign_keys="User.organisation_id", order_by="User.id"
    )
    sites: Mapped[list[Site]] = relationship(back_populates="organisation", order_by="Site.id")

    @property
    def is_verified(self) -> bool:
        return self.verification == VerificationStatus.VERIFIED

    @property
    def is_producer(self) -> bool:
        return self.kind in (OrgKind.PRODUCER, OrgKind.BOTH)

    @property
    def is_consumer(self) -> bool:
        return self.kind in (OrgKind.CONSUMER, OrgKind.BOTH)

    @property
    def is_regulator(self) -> bool:
        return self.kind == OrgKind.REGULATOR

    @property
    def is_operator(self) -> bool:
        return self.kind == OrgKind.OPERATOR

    @property
    def is_staff(self) -> bool:
        """Regulators and the operator see the whole market."""
        return self.kind in (OrgKind.REGULATOR, OrgKind.OPERATOR)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.credit_code} {self.kind.value}>"


_DUMMY_HASHES: dict[str, str] = {}


def hash_password(password: str) -> str:
    """The one place that hashes a password, by the config's PASSWORD_HASH_METHOD (scrypt but in tests)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    """A hash of a random password, made with the same method as real users' hashes."""
    import secrets

    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = hash_password(secrets.token_hex(16))
    return _DUMMY_HASHES[method]


class User(UserMixin, Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[UserRole] = mapped_column(value_enum(UserRole, "user_role"), default=UserRole.MEMBER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # No longer read: the lockout lives in the rate limiter's storage, per account and client address
    # (marketplace/auth/limits.py). Kept so that code and tests that set them keep working.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Stored in each session at login; raising it (logout, password change) ends every session of the user.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    #: Base32 TOTP secret once the user has enrolled a second factor; required for regulators and the operator.
    totp_secret: Mapped[str | None] = mapped_column(String(32))
    #: The last TOTP time step accepted, so that a code cannot be used twice within its window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Notifications also by e-mail (when a server is configured); the user may turn it off.
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: The language of the user's e-mails ("zh", "en"), chosen on the notifications page; None: the default.
    locale: Mapped[str | None] = mapped_column(String(5))

    organisation: Mapped[Organisation] = relationship(
        back_populates="users", foreign_keys=[organisation_id]
    )

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_dummy_password(password: str) -> bool:
        """Spend the time a real check takes (same hash method) for an e-mail that has no account."""
        return check_password_hash(_dummy_hash(), password)

    @property
    def needs_totp(self) -> bool:
        """Regulators and the operator approve money: they sign in with a second factor."""
        return self.organisation.is_staff

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def is_org_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
