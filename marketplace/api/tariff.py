"""The freight tariff: the version in force, and a new version published by the operator."""
from flask import g, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..errors import PermissionDenied
from ..schemas.tariff import TariffOut, TariffVersionIn
from ..services import tariff
from . import bp
from .common import json_body
from .spec import documented


@bp.get("/tariff")
@documented(TariffOut, 403, operation_id="get_tariff")
def get_tariff() -> ResponseReturnValue:
    """The tariff in force (the operator and regulators): freight rates, CO2 factors, and per material the value
    of a tonne moved, the truck payload; the minimum train load"""
    if not g.api_user.organisation.is_staff:
        raise PermissionDenied(_l("Only the operator and regulators see the tariff."))
    return jsonify(tariff.tariff_out(tariff.tariff_in_force()).dump())


@bp.post("/tariff")
@documented(TariffOut, 403, 422, status=201, json=TariffVersionIn, operation_id="publish_tariff")
def publish_tariff() -> ResponseReturnValue:
    """Publish a new tariff version (the operator); rounds started from now on price with it"""
    return jsonify(tariff.tariff_out(tariff.set_tariff(g.api_user, json_body())).dump()), 201
