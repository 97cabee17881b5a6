from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import required
from ..schemas.common import limits
from ..schemas.deliveries import ShipmentCreate
from ..schemas.ledger import LedgerQuery, Reversal


class ShipmentForm(FlaskForm):
    """A weighbridge ticket. Its limits are the schema's (schemas.deliveries.ShipmentCreate): the service
    validates through it and its errors land on these fields."""

    ticket_no = StringField(_l("Ticket number"), validators=[required()], render_kw=limits(ShipmentCreate, "ticket_no"))
    truck_plate = StringField(_l("Truck plate"), validators=[required()],
                              render_kw={**limits(ShipmentCreate, "truck_plate"), "autocapitalize": "characters"})
    dispatched_at = StringField(_l("Dispatched (date and time, China Standard Time)"), validators=[required()],
                                render_kw=limits(ShipmentCreate, "dispatched_at"))
    # a phone shows its number pad for these (inputmode), and the page keeps what was typed on an error
    gross_kg = StringField(_l("Gross (kg)"), validators=[required()], render_kw={"inputmode": "numeric"})
    tare_kg = StringField(_l("Tare (kg)"), validators=[required()], render_kw={"inputmode": "numeric"})
    moisture_pct = StringField(_l("Moisture (%)"), render_kw={"inputmode": "decimal"})
    submit = SubmitField(_l("Record ticket"))


class ShipmentImportForm(FlaskForm):
    file = FileField(_l("CSV (UTF-8 or GBK) or XLSX file of tickets"), validators=[required()])
    submit = SubmitField(_l("Import tickets"))


class ConfirmForm(FlaskForm):
    received_net_kg = StringField(_l("Received net (kg)"), validators=[required()],  # ShipmentConfirmation's
                                  render_kw={"inputmode": "numeric"})
    submit = SubmitField(_l("Confirm receipt"))


class ReverseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[required()], render_kw=limits(Reversal, "reason"))
    submit = SubmitField(_l("Reverse"))


class LedgerFilterForm(FlaskForm):
    """The ledger page's filters, read from the query string (a GET form: no CSRF token). It only shows them
    and their errors: the values are validated by schemas.ledger.LedgerQuery, the API's query schema."""

    class Meta:
        csrf = False

    q = StringField(_l("Ticket or agreement number"), render_kw=limits(LedgerQuery, "q"))
    material = SelectField(_l("Material"), validate_choice=False)
    org = SelectField(_l("Organisation"), validate_choice=False)
    since = StringField(_l("Dispatched from"), render_kw={"type": "date"})
    until = StringField(_l("until (inclusive)"), render_kw={"type": "date"})
