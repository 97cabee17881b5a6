"""The papers' forms: a period (and for staff, the organisation) chosen by GET, so they carry no CSRF token."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ..forms_common import max_length


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET that reads: nothing to forge

    period = StringField(_l("Period (2026-11, 2026-Q4, 2026-H2 or 2026)"), validators=[max_length(10)])
    org = SelectField(_l("Organisation"), coerce=int, choices=[], validate_choice=False)
