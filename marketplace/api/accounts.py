"""API tokens: e-mail, password and (for staff) a TOTP code in, a bearer token out."""
from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..auth import limits
from ..errors import MarketplaceError, PermissionDenied, api_error
from ..extensions import db
from ..schemas.accounts import TokenOut, TokenRequest
from ..schemas.common import validate
from ..services import accounts, tokens
from . import bp
from .common import json_body
from .spec import documented


@bp.post("/auth/token")
@limits.password_attempt
@limits.totp_api_account
@documented(TokenOut, 401, 403, 422, 429, status=201, json=TokenRequest, public=True, operation_id="create_token",
            descriptions={401: "Wrong e-mail, password or code",
                          403: "Account deactivated, or two-factor sign-in not set up",
                          429: "Too many failed attempts; try again later"})
def create_token() -> ResponseReturnValue:
    """Exchange e-mail and password for a bearer token (and, for regulators and the operator, "totp": the
    current code)"""
    body = validate(TokenRequest, json_body())
    try:
        user = accounts.authenticate(body.email, body.password)
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
        try:
            accounts.verify_totp(user, body.totp or "")
        except MarketplaceError as e:
            db.session.rollback()
            limits.mark_code_failed()
            return api_error(401, "unauthorised", e.message, "totp")
    row, token = tokens.create_token(user, body.name or "api", body.days)
    return jsonify(TokenOut(token=token, id=row.id, prefix=row.prefix, expires_at=row.expires_at).dump()), 201
