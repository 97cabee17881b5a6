from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import max_length, required


class ShipmentForm(FlaskForm):
    ticket_no = StringField(_l("Ticket number"), validators=[required(), max_length(40)])
    truck_plate = StringField(_l("Truck plate"), validators=[required(), max_length(12)])
    dispatched_at = StringField(_l("Dispatched (date and time, China Standard Time)"),
                                validators=[required(), max_length(30)])
    gross_kg = StringField(_l("Gross (kg)"), validators=[required(), max_length(9)])
    tare_kg = StringField(_l("Tare (kg)"), validators=[required(), max_length(9)])
    moisture_pct = StringField(_l("Moisture (%%)"), validators=[max_length(8)])
    submit = SubmitField(_l("Record ticket"))


class ShipmentImportForm(FlaskForm):
    file = FileField(_l("CSV (UTF-8 or GBK) or XLSX file of tickets"), validators=[required()])
    submit = SubmitField(_l("Import tickets"))


class ConfirmForm(FlaskForm):
    received_net_kg = StringField(_l("Received net (kg)"), validators=[required(), max_length(9)])
    submit = SubmitField(_l("Confirm receipt"))


class ReverseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[required(), max_length(1000)])
    submit = SubmitField(_l("Reverse"))
