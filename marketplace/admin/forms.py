from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import choices, max_length, optional, required


class VerifyForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=choices([("verified", _l("Verify")), ("rejected", _l("Reject")),
                                                     ("pending", _l("Back to pending"))]),
                           validators=[required()])
    note = StringField(_l("Note or reason"), validators=[max_length(500)])
    submit = SubmitField(_l("Save decision"))


class ReleaseCreditCodeForm(FlaskForm):
    reason = TextAreaField(_l("Why the code is released (kept in the audit log)"),
                           validators=[required(), max_length(500)])
    submit = SubmitField(_l("Release the credit code"))


class AuditFilterForm(FlaskForm):
    """The audit page's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validators=[optional()])
    org = SelectField(_l("Organisation"), validators=[optional()])
    since = DateField(_l("From (date)"), validators=[optional()])
    until = DateField(_l("Until (date, inclusive)"), validators=[optional()])
