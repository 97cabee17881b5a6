from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import max_length, required


class GenerationForm(FlaskForm):
    site_id = SelectField(_l("Site"), coerce=int, choices=[], validators=[required()])
    material = SelectField(_l("Material"), choices=[], validators=[required()])
    month = StringField(_l("Month (YYYY-MM)"), validators=[required(), max_length(7)])
    tonnes_generated = StringField(_l("Generated (t)"), validators=[required(), max_length(20)])
    tonnes_used_in_house = StringField(_l("Used in-house (t)"), default="0", validators=[max_length(20)])
    tonnes_stored = StringField(_l("Put into storage (t)"), default="0", validators=[max_length(20)])
    tonnes_disposed = StringField(_l("Disposed (t)"), default="0", validators=[max_length(20)])
    tonnes_transferred_other = StringField(_l("Handed to units outside the platform (t)"), default="0",
                                           validators=[max_length(20)])
    other_receivers = StringField(_l("Those units: name, credit code, use"), validators=[max_length(500)])
    stock_opening = StringField(_l("Stock at the month's start (t; blank: last month's closing)"),
                                validators=[max_length(20)])
    stock_closing = StringField(_l("Stock at the month's end (t)"), validators=[max_length(20)])
    submit = SubmitField(_l("Record"))
