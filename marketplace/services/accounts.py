"""Organisations, users, login and verification."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..clock import as_utc, utcnow
from ..errors import AccountLocked, Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..identifiers import is_valid_uscc, normalise_uscc
from ..models import Organisation, OrgKind, User, UserRole, VerificationStatus
from .values import get_row

#: Kinds an organisation may choose when it registers itself; regulators and the operator are created
#: by the operator (or the CLI), never by self-registration.
SELF_REGISTER_KINDS = (OrgKind.PRODUCER, OrgKind.CONSUMER, OrgKind.BOTH)
MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
                              field="password")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_organisation(name: str, credit_code: str, kind: OrgKind | str,
                        verification: VerificationStatus = VerificationStatus.PENDING) -> Organisation:
    """A new organisation; the credit code must be valid and not registered yet."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("The organisation needs a name."), field="org_name")
    code = normalise_uscc(credit_code)
    if not is_valid_uscc(code):
        raise ValidationError(
            _l("This is not a valid unified social credit code (18 characters, check character last)."),
            field="credit_code")
    if db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(_l("An organisation with this credit code is already registered."), field="credit_code")
    try:
        kind = OrgKind(kind)
    except ValueError:
        raise ValidationError(_l("Unknown kind of organisation."), field="kind") from None
    org = Organisation(name=name, credit_code=code, kind=kind, verification=verification)
    db.session.add(org)
    db.session.flush()
    return org


def create_user(org: Organisation, email: str, password: str, name: str = "",
                role: UserRole | str = UserRole.MEMBER) -> User:
    """A user of `org`; the e-mail must be free."""
    email = normalise_email(email)
    if not email or "@" not in email:
        raise ValidationError(_l("Enter a valid e-mail address."), field="email")
    if find_user_by_email(email):
        raise Conflict(_l("This e-mail address is already registered."), field="email")
    check_password_strength(password)
    user = User(email=email, name=(name or "").strip(), organisation=org, role=UserRole(role), active=True,
                failed_logins=0)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def register_organisation(org_name: str, credit_code: str, kind: OrgKind | str, email: str,
                          password: str, user_name: str = "") -> User:
    """Self-registration: a producer/consumer organisation, pending verification, and its first user."""
    try:
        kind_value = OrgKind(kind)
    except ValueError:
        raise ValidationError(_l("Unknown kind of organisation."), field="kind") from None
    if kind_value not in SELF_REGISTER_KINDS:
        raise ValidationError(_l("Regulators and the operator cannot register themselves."), field="kind")
    org = create_organisation(org_name, credit_code, kind_value)
    return create_user(org, email, password, user_name, role=UserRole.ADMIN)


def authenticate(email: str, password: str, max_failures: int, lockout_minutes: int,
                 now: datetime | None = None) -> User:
    """The user with these credentials, or ValidationError. Repeated failures lock the account a while."""
    now = now or utcnow()
    user = find_user_by_email(email)
    bad = ValidationError(_l("Wrong e-mail address or password."), field="password")
    if user is None:
        raise bad
    locked_until = None if user.locked_until is None else as_utc(user.locked_until)  # SQLite drops the zone
    if locked_until is not None and locked_until > now:
        raise AccountLocked(_l("Too many failed attempts. Try again in a few minutes."), field="password")
    if not user.check_password(password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
        raise bad
    if not user.active:
        raise PermissionDenied(_l("This account has been deactivated."), field="email")
    user.failed_logins = 0
    user.locked_until = None
    return user


def require_staff(actor: User) -> None:
    if not actor.organisation.is_staff:
        raise PermissionDenied(_l("Only the operator or a regulator may do this."))


def set_verification(actor: User, org_id: int, status: VerificationStatus | str, note: str = "") -> Organisation:
    """The operator or a regulator verifies (or rejects) an organisation."""
    require_staff(actor)
    org = get_row(Organisation, org_id)
    if org is None:
        raise NotFound(_l("No such organisation."))
    if org.is_staff:
        raise PermissionDenied(_l("Regulators and the operator are not verified through this desk."))
    status = VerificationStatus(status)
    if status == VerificationStatus.REJECTED and not (note or "").strip():
        raise ValidationError(_l("Give a reason for the rejection."), field="note")
    org.verification = status
    org.verification_note = (note or "").strip() or None
    org.verified_at = utcnow()
    org.verified_by_id = actor.id
    db.session.flush()
    return org


def get_org_user(actor: User, user_id: int) -> User:
    """A user of the actor's own organisation, for its administrator; NotFound for anyone else's."""
    if not actor.is_org_admin:
        raise PermissionDenied(_l("Only an administrator of your organisation may manage its users."))
    user = get_row(User, user_id)
    if user is None or user.organisation_id != actor.organisation_id:
        raise NotFound(_l("No such user in your organisation."))
    return user


def _active_admins(org_id: int) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.organisation_id == org_id, User.role == UserRole.ADMIN,
                                          User.active.is_(True))
    ) or 0


def add_org_user(actor: User, email: str, password: str, name: str, role: UserRole | str) -> User:
    """An organisation administrator adds a colleague."""
    if not actor.is_org_admin:
        raise PermissionDenied(_l("Only an administrator of your organisation may manage its users."))
    return create_user(actor.organisation, email, password, name, role)


def update_org_user(actor: User, user_id: int, role: UserRole | str, active: bool) -> User:
    """Change a colleague's role or (de)activate them; an organisation keeps at least one active admin."""
    user = get_org_user(actor, user_id)
    role = UserRole(role)
    losing_admin = user.role == UserRole.ADMIN and user.active and (role != UserRole.ADMIN or not active)
    if losing_admin and _active_admins(user.organisation_id) <= 1:
        raise Conflict(_l("The organisation must keep at least one active administrator."), field="role")
    user.role = role
    user.active = bool(active)
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> User:
    if not user.check_password(current):
        raise ValidationError(_l("The current password is wrong."), field="current_password")
    check_password_strength(new)
    user.set_password(new)
    db.session.flush()
    return user
