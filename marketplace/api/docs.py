"""The OpenAPI document of the API."""
from flask import jsonify

from . import bp
from .openapi import openapi_document


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
