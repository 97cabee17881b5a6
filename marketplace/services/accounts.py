"""Organisations, users, login and verification."""
from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .. import policy
from ..clock import utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db, rowcount
from ..identifiers import is_valid_uscc, normalise_uscc
from ..models import ApiToken, Organisation, OrgKind, User, UserRole, VerificationStatus
from ..schemas.accounts import ContactIn, OrganisationIn, UserIn
from ..schemas.common import validate
from . import audit
from .values import get_row

#: Kinds an organisation may choose when it registers itself; regulators and the operator are created
#: by the operator (or the CLI), never by self-registration.
SELF_REGISTER_KINDS = (OrgKind.PRODUCER, OrgKind.CONSUMER, OrgKind.BOTH)
MIN_PASSWORD_LENGTH = 10
#: zxcvbn's score from 0 (guessed at once) to 4; 3 means "safely unguessable" against an online attacker.
MIN_PASSWORD_SCORE = 3
#: zxcvbn's list of the 30,000 passwords most common in leaked password dumps (offline, ships with it).
BREACHED_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])
TOTP_ISSUER = "Ningxia waste exchange"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_strength(password: str, user_inputs: list[str] | tuple = (), field: str = "password") -> None:
    """Refuse short, known-breached and guessable passwords; `user_inputs` (e-mail, names) count as guessable."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
                              field=field)
    if password.lower() in BREACHED_PASSWORDS:
        raise ValidationError(_l("This password appears in lists of leaked passwords. Choose another."),
                              field=field)
    inputs = [str(v) for v in user_inputs if v]
    inputs += [part for v in inputs if "@" in v for part in v.split("@")]
    result = zxcvbn(password[:72], user_inputs=inputs)  # zxcvbn refuses more (and a longer one is no weaker)
    if result["score"] < MIN_PASSWORD_SCORE:
        raise ValidationError(_l("This password is too easy to guess: use a few unrelated words or more "
                                 "characters, and not your e-mail or organisation name."), field=field)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_organisation(name: str, credit_code: str, kind: OrgKind | str,
                        verification: VerificationStatus = VerificationStatus.PENDING) -> Organisation:
    """A new organisation; the credit code must be valid and not registered yet."""
    fields = validate(OrganisationIn, {"org_name": name, "credit_code": credit_code})
    name = fields.org_name
    code = normalise_uscc(fields.credit_code)
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
    fields = validate(UserIn, {"email": email, "password": password, "name": name})
    email, name = normalise_email(fields.email), fields.name
    if "@" not in email:
        raise ValidationError(_l("Enter a valid e-mail address."), field="email")
    if find_user_by_email(email):
        raise Conflict(_l("This e-mail address is already registered."), field="email")
    check_password_strength(password, [email, name, org.name])
    user = User(email=email, name=name, organisation=org, role=UserRole(role), active=True,
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


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or ValidationError.

    An unknown e-mail costs the same hash check as a known one and gets the same answer; the limits and
    the lockout on repeated failures are the edge's (marketplace/auth/limits.py)."""
    user = find_user_by_email(email)
    bad = ValidationError(_l("Wrong e-mail address or password."), field="password")
    if user is None:
        User.check_dummy_password(password or "")
        raise bad
    if not user.check_password(password or ""):
        raise bad
    if not user.active:
        raise PermissionDenied(_l("This account has been deactivated."), field="email")
    return user


# --- sessions and the second factor ---------------------------------------------------------------------

def end_sessions(user: User) -> None:
    """Every session of the user stops working (logout, password change): their stored version is stale."""
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (typed in or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code`, within one step of now either way (clock drift), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_totp(user: User, code: str, now: datetime | None = None) -> None:
    """Accept the user's current code once: a code (or an older one) already used is refused."""
    bad = ValidationError(_l("This code is not right, or was already used. Wait for the next one."), field="code")
    if not user.totp_secret:
        raise bad
    step = _matching_step(user.totp_secret, code, now or utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise bad
    # Only one request may use this step: the UPDATE succeeds for the first of two racing requests.
    used = db.session.execute(
        update(User).where(User.id == user.id,
                           (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step))
    if rowcount(used) != 1:
        raise bad


def enrol_totp(user: User, secret: str, code: str, now: datetime | None = None,
               current_password: str | None = None) -> User:
    """Set (or replace) the user's TOTP secret once they prove their app has it with a first code.

    Replacing a second factor also needs the current password: a session left open on a shared computer
    must not be enough to move someone's second factor to another phone."""
    if user.totp_secret is not None and not user.check_password(current_password or ""):
        raise ValidationError(_l("Enter your current password to move two-factor sign-in to a new phone."),
                              field="account_password")
    if not secret or len(secret) > 32:
        raise ValidationError(_l("Start the set-up again."), field="code")
    step = _matching_step(secret, code, now or utcnow())
    if step is None:
        raise ValidationError(_l("This code is not right. Check the time on your phone and try again."),
                              field="code")
    replaced = user.totp_secret is not None
    user.totp_secret = secret
    user.totp_last_step = step
    audit.record(user, "user.totp", user, {"event": "replaced" if replaced else "enrolled"})
    db.session.flush()
    return user


def reset_totp(actor: User, user_id: int) -> User:
    """The operator clears a user's second factor (a lost phone); the user enrols again at the next login."""
    if not policy.may_manage_accounts(actor):
        raise PermissionDenied(_l("Only the operator may reset a second factor."))
    user = get_row(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    user.totp_secret = None
    user.totp_last_step = None
    end_sessions(user)
    # a token was issued with the old factor: whoever holds the lost phone may hold the token too
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    audit.record(actor, "user.totp", user, {"event": "reset", "email": user.email})
    db.session.flush()
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
    if status == VerificationStatus.VERIFIED and org.credit_code is None:
        raise Conflict(_l("This organisation's credit code was released: it cannot be verified."), field="decision")
    if status == VerificationStatus.REJECTED and not (note or "").strip():
        raise ValidationError(_l("Give a reason for the rejection."), field="note")
    previous = org.verification
    org.verification = status
    org.verification_note = (note or "").strip() or None
    org.verified_at = utcnow()
    org.verified_by_id = actor.id
    audit.record(actor, "organisation.verify", org, {"from": previous, "to": status,
                                                      "note": org.verification_note or ""})
    db.session.flush()
    return org


def release_credit_code(actor: User, org_id: int, reason: str) -> Organisation:
    """The operator frees the credit code of a rejected or unverified organisation (a squatter's, or a
    mistake), so that the firm it belongs to can register. The organisation keeps it as released_credit_code."""
    if not policy.may_manage_accounts(actor):
        raise PermissionDenied(_l("Only the operator may release a credit code."))
    org = get_row(Organisation, org_id)
    if org is None:
        raise NotFound(_l("No such organisation."))
    if org.is_staff or org.verification == VerificationStatus.VERIFIED:
        raise Conflict(_l("Only a rejected or unverified organisation's credit code can be released."),
                       field="reason")
    if org.credit_code is None:
        raise Conflict(_l("This organisation holds no credit code."), field="reason")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason for releasing the credit code."), field="reason")
    code = org.credit_code
    org.released_credit_code = code
    org.credit_code = None
    if org.verification == VerificationStatus.PENDING:  # it can no longer be verified under that code
        org.verification = VerificationStatus.REJECTED
        org.verification_note = reason[:500]
    audit.record(actor, "organisation.release_credit_code", org, {"credit_code": code, "reason": reason})
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
    user = create_user(actor.organisation, email, password, name, role)
    audit.record(actor, "user.add", user, {"email": user.email, "role": user.role})
    return user


def set_contact(actor: User, data: dict) -> Organisation:
    """An organisation administrator sets whom counterparties call about a deal (name, phone, e-mail)."""
    if not actor.is_org_admin:
        raise PermissionDenied(_l("Only an administrator of your organisation may change its contact."))
    contact = validate(ContactIn, data)
    org = actor.organisation
    before = {"name": org.contact_name, "phone": org.contact_phone, "email": org.contact_email}
    org.contact_name, org.contact_phone, org.contact_email = (
        contact.contact_name, contact.contact_phone, contact.contact_email)
    db.session.flush()
    audit.record(actor, "organisation.contact", org, {
        "from": before, "to": {"name": org.contact_name, "phone": org.contact_phone, "email": org.contact_email}})
    return org


def update_org_user(actor: User, user_id: int, role: UserRole | str, active: bool) -> User:
    """Change a colleague's role or (de)activate them; an organisation keeps at least one active admin."""
    user = get_org_user(actor, user_id)
    role = UserRole(role)
    losing_admin = user.role == UserRole.ADMIN and user.active and (role != UserRole.ADMIN or not active)
    if losing_admin and _active_admins(user.organisation_id) <= 1:
        raise Conflict(_l("The organisation must keep at least one active administrator."), field="role")
    if role != user.role:
        audit.record(actor, "user.role", user, {"email": user.email, "from": user.role, "to": role})
    if bool(active) != bool(user.active):
        audit.record(actor, "user.remove" if not active else "user.add", user,
                     {"email": user.email, "active": bool(active)})
    user.role = role
    user.active = bool(active)
    if not user.active:
        end_sessions(user)
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> User:
    """A new password ends every session of the user and revokes their API tokens."""
    if not user.check_password(current):
        raise ValidationError(_l("The current password is wrong."), field="current_password")
    check_password_strength(new, [user.email, user.name, user.organisation.name])
    user.set_password(new)
    revoked = rowcount(db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                                                 ApiToken.revoked_at.is_(None))
                                          .values(revoked_at=utcnow())))
    end_sessions(user)
    audit.record(user, "user.password", user, {"tokens_revoked": revoked})
    db.session.flush()
    return user
