"""Shipments under an agreement, their confirmation, and the utilisation figures."""
from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..clock import today_cst
from ..errors import PermissionDenied
from ..extensions import db
from ..models import Shipment
from ..schemas.common import validate
from ..schemas.deliveries import (
    ShipmentConfirmation,
    ShipmentCreate,
    ShipmentList,
    ShipmentOut,
    UtilisationOut,
    UtilisationQuery,
    UtilisationRow,
)
from ..services import agreements, deliveries
from . import bp
from .common import json_body
from .spec import documented


@bp.post("/agreements/<int:agreement_id>/shipments")
@documented(ShipmentOut, 403, 404, 409, 422, status=201, json=ShipmentCreate, operation_id="create_shipment")
def create_shipment(agreement_id: int) -> ResponseReturnValue:
    """A weighbridge ticket from the producer (its weighbridge system)"""
    body = json_body()
    validate(ShipmentCreate, body)
    shipment = deliveries.record_shipment(g.api_user, agreement_id, body)
    return jsonify(deliveries.shipment_out(shipment).dump()), 201


@bp.get("/agreements/<int:agreement_id>/shipments")
@documented(ShipmentList, 404, operation_id="list_shipments")
def shipment_list(agreement_id: int) -> ResponseReturnValue:
    """The agreement's shipments"""
    agreements.get_agreement(g.api_user, agreement_id)
    shipments = db.session.scalars(db.select(Shipment).where(Shipment.agreement_id == agreement_id)
                                   .order_by(Shipment.id))
    return jsonify(ShipmentList(items=[deliveries.shipment_out(s) for s in shipments]).dump())


@bp.get("/shipments/<int:shipment_id>")
@documented(ShipmentOut, 404, operation_id="get_shipment")
def get_shipment(shipment_id: int) -> ResponseReturnValue:
    """One shipment with its anomaly flags"""
    shipment = deliveries.get_shipment(g.api_user, shipment_id)
    flags = deliveries.shipment_flags([shipment]).get(shipment.id, [])
    return jsonify(deliveries.shipment_out(shipment, flags).dump())


@bp.post("/shipments/<int:shipment_id>/confirm")
@documented(ShipmentOut, 403, 404, 409, 422, json=ShipmentConfirmation, operation_id="confirm_shipment")
def confirm_shipment(shipment_id: int) -> ResponseReturnValue:
    """The utiliser confirms receipt with its own net weight (once)"""
    body = validate(ShipmentConfirmation, json_body())
    shipment = deliveries.confirm_shipment(g.api_user, shipment_id, body.received_net_kg)
    flags = deliveries.shipment_flags([shipment]).get(shipment.id, [])
    return jsonify(deliveries.shipment_out(shipment, flags).dump())


@bp.get("/utilisation")
@documented(UtilisationOut, 403, 422, query=UtilisationQuery, operation_id="utilisation")
def utilisation() -> ResponseReturnValue:
    """Generated, used in-house, utilised through the platform, stored, and the rate"""
    if not g.api_user.organisation.is_staff:
        raise PermissionDenied(_l("Only regulators and the operator see the utilisation figures."))
    query = validate(UtilisationQuery, request.args.to_dict())
    year = query.year or today_cst().year
    group_by = query.group_by or "region"
    rows = [UtilisationRow(**row) for row in deliveries.utilisation(year, group_by)]
    return jsonify(UtilisationOut(year=year, group_by=group_by, items=rows).dump())
