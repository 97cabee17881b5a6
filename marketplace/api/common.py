"""What the API's feature modules share: reading the JSON body."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from ..errors import ValidationError


def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 naming no field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("Send a JSON object (Content-Type: application/json)."), field=None)
    return body

