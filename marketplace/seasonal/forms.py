from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import max_length, required


class WindowForm(FlaskForm):
    """A staggered-production window; the service (services/calendar.py) checks it through WindowIn."""

    year = StringField(_l("Year"), validators=[required()], render_kw={"inputmode": "numeric", "maxlength": 4})
    city = SelectField(_l("City"), choices=[], validators=[required()])
    use = SelectField(_l("Industry (use)"), choices=[], validators=[required()])
    starts_on = DateField(_l("Stopped from"), validators=[required()])
    ends_on = DateField(_l("Stopped to (included)"), validators=[required()])
    note = StringField(_l("Note"), validators=[max_length(200)])
    submit = SubmitField(_l("Publish"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Withdraw"))


class SeasonalRoundForm(FlaskForm):
    """A round over a horizon of months (services/rounds.py start_seasonal_round checks it)."""

    horizon_start = StringField(_l("From month (YYYY-MM)"), validators=[required()],
                                render_kw={"maxlength": 7, "placeholder": "2027-01"})
    horizon_months = StringField(_l("Months"), default="12", validators=[required()],
                                 render_kw={"inputmode": "numeric", "maxlength": 2})
    supply_listing_id = HiddenField()
    demand_listing_id = HiddenField()
    submit = SubmitField(_l("Plan a seasonal round"))
