"""Supply and demand listings in the browser: post, edit, withdraw, import, browse, map, export."""
from flask import Blueprint

bp = Blueprint("listings", __name__)

from . import routes  # noqa: E402,F401
