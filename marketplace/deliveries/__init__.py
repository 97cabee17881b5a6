"""Shipments, receipts, the utilisation ledger and the utilisation figures in the browser."""
from flask import Blueprint

bp = Blueprint("deliveries", __name__)

from . import routes  # noqa: E402,F401
