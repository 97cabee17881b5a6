"""The papers' forms: a period (and for staff, the organisation) chosen by GET, so they carry no CSRF token."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField

from ..forms_common import SafeForm, choices, max_length, required


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET that reads: nothing to forge

    period = StringField(_l("Period (2026-11, 2026-Q4, 2026-H2 or 2026)"), validators=[max_length(10)])
    org = SelectField(_l("Organisation"), coerce=int, choices=[], validate_choice=False)


class ProductLineForm(SafeForm):
    name = StringField(_l("Product line"), validators=[required(), max_length(200)])
    vat_code = SelectField(_l("Row of the VAT catalogue"), choices=[], validators=[required()])
    submit = SubmitField(_l("Add the line"))


class ProductionMonthForm(SafeForm):
    line_id = SelectField(_l("Product line"), coerce=int, choices=[], validators=[required()])
    month = StringField(_l("Month (YYYY-MM)"), validators=[required(), max_length(7)])
    raw_input_t = StringField(_l("Raw materials in (t)"), validators=[required(), max_length(20)])
    waste_input_t = StringField(_l("Of which listed waste (t)"), validators=[required(), max_length(20)])
    output_t = StringField(_l("Output (t)"), validators=[required(), max_length(20)])
    submit = SubmitField(_l("Declare the month"))


class Co2Form(SafeForm):
    scope = SelectField(_l("Certificate for"), choices=choices([("agreement", _l("One agreement")),
                                                                 ("year", _l("All our deliveries of a year"))]),
                        validators=[required()])
    agreement_id = SelectField(_l("Agreement"), coerce=int, choices=[], validate_choice=False)
    year = StringField(_l("Year"), validators=[required(), max_length(4)])
    submit = SubmitField(_l("Issue the certificate"))
