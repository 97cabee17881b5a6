"""A user's own organisation: its users and its sites."""
from flask import Blueprint

bp = Blueprint("org", __name__)

from . import routes  # noqa: E402,F401
