from flask_babel import lazy_gettext as _l
from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from wtforms import SelectField, StringField, SubmitField

from ..forms_common import choices, max_length, required


class VerifyForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=choices([("verified", _l("Verify")), ("rejected", _l("Reject")),
                                                     ("pending", _l("Back to pending"))]),
                           validators=[required()])
    note = StringField(_l("Note or reason"), validators=[max_length(500)])
    submit = SubmitField(_l("Save decision"))
