from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField

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
