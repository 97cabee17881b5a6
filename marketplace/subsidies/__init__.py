"""Baselines, subsidy claims, the scheme, loan-interest subsidies; the regulator's dashboard."""
from flask import Blueprint

bp = Blueprint("subsidies", __name__)

from . import routes  # noqa: E402,F401
