"""The JSON API, /api/v1: bearer tokens, JSON errors, an OpenAPI 3.1 description.

It calls the same services as the pages, with the same authorisation and confidentiality."""
from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..errors import MarketplaceError, ValidationError, api_error, http_status
from ..extensions import db

bp = Blueprint("api", __name__)

#: Endpoints that need no token.
PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi"}


@bp.before_request
def authenticate() -> ResponseReturnValue | None:
    from ..services.tokens import user_for_token

    g.api_user = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    # A token's last use is recorded on writing requests only (a GET never writes): see tokens.user_for_token.
    user = (user_for_token(token.strip(), record_use=request.method not in ("GET", "HEAD", "OPTIONS"))
            if scheme.lower() == "bearer" else None)
    if user is None:
        response, status = api_error(401, "unauthorised", _l("Send a valid token: Authorization: Bearer <token>."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response, status
    g.api_user = user
    return None


@bp.errorhandler(MarketplaceError)
def domain_error(e: MarketplaceError) -> ResponseReturnValue:
    """A refused call answers with the one JSON error body; a ValidationError naming no field is a 400."""
    db.session.rollback()
    status = http_status(e)
    if isinstance(e, ValidationError) and e.field is None:
        status = 400
    return api_error(status, {404: "not_found", 403: "forbidden", 409: "conflict", 400: "bad_request"}
                     .get(status, "invalid"), e.message, e.field)


# One module per feature, each adding its routes to `bp` (Flask's pattern: the package imports them last).
from . import (  # noqa: E402,F401
    accounts,
    catalogue,
    deliveries,
    docs,
    ledger,
    listings,
    rounds,
    seasonal,
    sites,
    subsidies,
    tariff,
)
