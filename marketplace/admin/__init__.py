"""The operator's and regulators' desk for organisations: verification and oversight."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import routes  # noqa: E402,F401
