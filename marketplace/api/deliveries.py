"""Shipments under an agreement, their confirmation, and the utilisation figures."""
from flask import g, jsonify, request
from flask_babel import lazy_gettext as _l

from ..clock import today_cst
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models import Shipment
from ..services import agreements, deliveries
from ..services.values import parse_int
from . import bp
from .common import json_body


@bp.post("/agreements/<int:agreement_id>/shipments")
def create_shipment(agreement_id: int):
    shipment = deliveries.record_shipment(g.api_user, agreement_id, json_body())
    return jsonify(deliveries.shipment_to_dict(shipment)), 201


@bp.get("/agreements/<int:agreement_id>/shipments")
def shipment_list(agreement_id: int):
    agreements.get_agreement(g.api_user, agreement_id)
    shipments = db.session.scalars(db.select(Shipment).where(Shipment.agreement_id == agreement_id)
                                   .order_by(Shipment.id))
    return jsonify({"items": [deliveries.shipment_to_dict(s) for s in shipments]})


@bp.get("/shipments/<int:shipment_id>")
def get_shipment(shipment_id: int):
    shipment = deliveries.get_shipment(g.api_user, shipment_id)
    flags = deliveries.shipment_flags([shipment]).get(shipment.id, [])
    return jsonify(deliveries.shipment_to_dict(shipment, flags))


@bp.post("/shipments/<int:shipment_id>/confirm")
def confirm_shipment(shipment_id: int):
    body = json_body()
    if body.get("received_net_kg") in (None, ""):
        raise ValidationError(_l("This field is required."), field="received_net_kg")
    shipment = deliveries.confirm_shipment(g.api_user, shipment_id, body.get("received_net_kg"))
    flags = deliveries.shipment_flags([shipment]).get(shipment.id, [])
    return jsonify(deliveries.shipment_to_dict(shipment, flags))


@bp.get("/utilisation")
def utilisation():
    if not g.api_user.organisation.is_staff:
        raise PermissionDenied(_l("Only regulators and the operator see the utilisation figures."))
    year = request.args.get("year", "")
    year = today_cst().year if year == "" else parse_int(year, "year", 2000, 2100)
    group_by = request.args.get("group_by", "region")
    return jsonify({"year": year, "group_by": group_by, "items": deliveries.utilisation(year, group_by)})
