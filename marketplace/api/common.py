"""What the API's feature modules share: reading the JSON body and optional id parameters."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l

from ..errors import ValidationError
from ..services.values import parse_int


def json_body() -> dict:
    """The request's JSON object; anything else is a 400 naming no field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("Send a JSON object (Content-Type: application/json)."), field=None)
    return body


def optional_id(name: str) -> int | None:
    """A positive id from the query string, or None when the parameter is absent or empty."""
    value = request.args.get(name, "")
    return None if value == "" else parse_int(value, name, 1, 2**31 - 1)
