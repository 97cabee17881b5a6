from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import required
from ..schemas.common import limits
from ..schemas.deliveries import ShipmentCreate
from ..schemas.ledger import Reversal


class ShipmentForm(FlaskForm):
    """A weighbridge ticket. Its limits are the schema's (schemas.deliveries.ShipmentCreate): the service
    validates through it and its errors land on these fields."""

    ticket_no = StringField(_l("Ticket number"), validators=[required()], render_kw=limits(ShipmentCreate, "ticket_no"))
    truck_plate = StringField(_l("Truck plate"), validators=[required()],
                              render_kw=limits(ShipmentCreate, "truck_plate"))
    dispatched_at = StringField(_l("Dispatched (date and time, China Standard Time)"), validators=[required()],
                                render_kw=limits(ShipmentCreate, "dispatched_at"))
    gross_kg = StringField(_l("Gross (kg)"), validators=[required()])
    tare_kg = StringField(_l("Tare (kg)"), validators=[required()])
    moisture_pct = StringField(_l("Moisture (%)"))
    submit = SubmitField(_l("Record ticket"))


class ShipmentImportForm(FlaskForm):
    file = FileField(_l("CSV (UTF-8 or GBK) or XLSX file of tickets"), validators=[required()])
    submit = SubmitField(_l("Import tickets"))


class ConfirmForm(FlaskForm):
    received_net_kg = StringField(_l("Received net (kg)"), validators=[required()])  # ShipmentConfirmation's
    submit = SubmitField(_l("Confirm receipt"))


class ReverseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[required()], render_kw=limits(Reversal, "reason"))
    submit = SubmitField(_l("Reverse"))
