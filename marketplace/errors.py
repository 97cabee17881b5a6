"""Domain exceptions. Services raise them; the edges (views, CLI, API) turn them into messages."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Response


class MarketplaceError(Exception):
    """Base of every business-rule failure. `field` names the input at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(MarketplaceError):
    """Input that breaks a rule (a value out of range, an unknown code)."""


class NotFound(MarketplaceError):
    """The object does not exist, or the caller may not know that it does."""


class PermissionDenied(MarketplaceError):
    """The caller may see the object but not do this to it."""


class Conflict(MarketplaceError):
    """The request clashes with the current state (a duplicate, a record still in use)."""


def http_status(error: MarketplaceError) -> int:
    """The HTTP status an error answers with at the edge (422 for invalid input)."""
    for kind, status in ((NotFound, 404), (PermissionDenied, 403), (Conflict, 409)):
        if isinstance(error, kind):
            return status
    return 422


class AccountLocked(PermissionDenied):
    """Too many failed logins: the account refuses logins for a while."""


def api_error(status: int, code: str, message: object, field: str | None = None) -> tuple[Response, int]:
    """The API's one error shape: {"error": {"code", "message", "field"}}."""
    from flask import jsonify

    return jsonify({"error": {"code": code, "message": str(message), "field": field}}), status
