"""The home page, the materials catalogue and the language switch."""
from flask import Blueprint

bp = Blueprint("main", __name__)

from . import routes  # noqa: E402,F401
