"""Producers' monthly generation declarations."""
from flask import Blueprint

bp = Blueprint("generation", __name__)

from . import routes  # noqa: E402,F401
