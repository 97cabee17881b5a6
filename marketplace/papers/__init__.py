"""The papers the law asks for (issue #15): the producer's solid-waste ledger, the regulator's periodic
report, the claim dossier, as pages, XLSX, PDF and data."""
from flask import Blueprint

bp = Blueprint("papers", __name__)

from . import routes  # noqa: E402,F401
