"""Matching rounds, proposals and agreements in the browser; the operator's tariff."""
from flask import Blueprint

bp = Blueprint("matches", __name__)

from . import routes  # noqa: E402,F401
