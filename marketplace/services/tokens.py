"""API tokens: created and revoked by their user, stored as SHA-256 hashes only."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from ..clock import as_utc, utcnow
from ..errors import NotFound
from ..extensions import db
from ..models import ApiToken, User
from ..schemas.accounts import DEFAULT_DAYS, TokenSettings
from ..schemas.common import validate
from . import audit
from .values import get_row

PREFIX = "nxw_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`, valid `days` days (90 by default, at most 365); returns the row and the
    token itself, which is shown this once only."""
    settings = validate(TokenSettings, {"name": name, "days": days})
    days = DEFAULT_DAYS if settings.days is None else settings.days
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_id=user.id, name=settings.name or "", token_hash=_hash(token),
                   prefix=token[:10], created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record(user, "token.create", row, {"name": row.name, "prefix": row.prefix, "days": days})
    return row, token


#: A token's last use is stored at most this often: requests sharing a token do not queue on its row.
LAST_USE_RESOLUTION = timedelta(minutes=1)


def user_for_token(token: str, record_use: bool = False) -> User | None:
    """The active user a live (not revoked, not expired) token belongs to, or None: one query.

    With `record_use` (a writing request), the token's `last_used_at` is stored when it is a minute old or
    more: a conditional UPDATE that matches no row (and so waits on no lock) for the rest of that minute.
    Reads never record it: `last_used_at` is the last *writing* use, to the minute."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    now = utcnow()
    found = db.session.execute(
        select(ApiToken, User).join(User, ApiToken.user_id == User.id)
        .options(joinedload(User.organisation))  # every request asks who the caller works for
        .where(ApiToken.token_hash == _hash(token), ApiToken.revoked_at.is_(None), ApiToken.expires_at > now,
               User.active.is_(True))
    ).first()
    if found is None:
        return None
    row, user = found
    if record_use:
        db.session.execute(
            update(ApiToken).where(ApiToken.id == row.id, or_(ApiToken.last_used_at.is_(None),
                                                              ApiToken.last_used_at < now - LAST_USE_RESOLUTION))
            .values(last_used_at=now).execution_options(synchronize_session=False))
    return user


def is_expired(row: ApiToken) -> bool:
    return as_utc(row.expires_at) <= utcnow()


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(user: User, token_id: int) -> ApiToken:
    row = get_row(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_l("No such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(user, "token.revoke", row, {"name": row.name, "prefix": row.prefix})
    db.session.flush()
    return row
