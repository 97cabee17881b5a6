"""Seasonal planning (issue #14): the production calendar and the regulator's seasonal desk."""
from flask import Blueprint

bp = Blueprint("seasonal", __name__)

from . import routes  # noqa: E402,F401
