"""The user's notifications: the in-app list, marking read, e-mail settings."""
from flask import Blueprint

bp = Blueprint("notifications", __name__)

from . import routes  # noqa: E402,F401
