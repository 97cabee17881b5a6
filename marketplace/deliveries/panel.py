"""The deliveries part of an agreement's page (shown by matches.agreement_detail and re-shown here when a
ticket is refused): its tickets, their flags and the forms to add and confirm them."""
from __future__ import annotations

from typing import Any

from flask_login import current_user

from ..clock import cst_input, utcnow
from ..models import Agreement
from ..services import agreements, deliveries, seasons
from .forms import ConfirmForm, ShipmentForm, ShipmentImportForm


def ticket_form() -> ShipmentForm:
    """An empty ticket form: a new ticket is usually being typed soon after the truck left, so now, in CST."""
    return ShipmentForm(data={"dispatched_at": cst_input(utcnow())})


def agreement_panel(agreement: Agreement, shipment_form: ShipmentForm | None = None) -> dict[str, Any]:
    """Template context; a ticket form that was refused comes back as it was typed."""
    if shipment_form is None:
        shipment_form = ticket_form()
    shipments = deliveries.shipments_of(agreement)
    return {"shipments": shipments, "flags": deliveries.shipment_flags(shipments),
            "flag_text": deliveries.FLAG_TEXT, "shipment_form": shipment_form, "import_form": ShipmentImportForm(),
            "confirm_form": ConfirmForm(),
            "is_producer": current_user.organisation_id == agreement.producer_org_id,
            "is_consumer": current_user.organisation_id == agreement.consumer_org_id,
            "confirmed_kg": (progress := agreements.progress(agreement)).confirmed_kg,  # the ledger's, net
            "progress": progress,
            "schedule": seasons.schedule_of(agreement, shipments)}
