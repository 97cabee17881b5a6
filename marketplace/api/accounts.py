"""API tokens: e-mail, password and (for staff) a TOTP code in, a bearer token out."""
from flask import jsonify
from flask_babel import lazy_gettext as _l

from ..auth import limits
from ..clock import iso
from ..errors import MarketplaceError, PermissionDenied, ValidationError, api_error
from ..extensions import db
from ..services import accounts, tokens
from . import bp
from .common import json_body


@bp.post("/auth/token")
@limits.password_attempt
@limits.totp_api_account
def create_token():
    """A token for e-mail and password (and, for regulators and the operator, "totp": the current code)."""
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not email:
        raise ValidationError(_l("This field is required."), field="email")
    if not isinstance(password, str) or not password:
        raise ValidationError(_l("This field is required."), field="password")
    try:
        user = accounts.authenticate(email, password)
    except PermissionDenied as e:  # a deactivated account
        db.session.rollback()
        return api_error(403, "forbidden", e.message, e.field)
    except MarketplaceError as e:
        db.session.rollback()
        limits.mark_failed()  # counts towards the limits that slow guessing down
        return api_error(401, "unauthorised", e.message, e.field)
    if user.needs_totp and not user.totp_secret:
        return api_error(403, "forbidden", _l("Set up two-factor sign-in on your account page first."), "totp")
    if user.totp_secret:
        code = body.get("totp")
        try:
            accounts.verify_totp(user, code if isinstance(code, str) else "")
        except MarketplaceError as e:
            db.session.rollback()
            limits.mark_code_failed()
            return api_error(401, "unauthorised", e.message, "totp")
    days = body.get("days")
    name = body.get("name") if isinstance(body.get("name"), str) else "api"
    row, token = tokens.create_token(user, name, days)
    return jsonify({"token": token, "id": row.id, "prefix": row.prefix, "expires_at": iso(row.expires_at)}), 201
