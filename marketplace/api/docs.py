"""The OpenAPI document of the API (public: it names no data)."""
from flask import jsonify
from flask.typing import ResponseReturnValue

from . import bp
from .spec import AnyObject, documented, openapi_document


@bp.get("/openapi.json")
@documented(AnyObject, public=True, operation_id="openapi")
def openapi() -> ResponseReturnValue:
    """This description (OpenAPI 3.1)"""
    return jsonify(openapi_document())
