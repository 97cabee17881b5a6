from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField, TextAreaField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import choices, max_length, required


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

    # shown with their errors here; schemas.accounts.AuditQuery validates the values
    action = SelectField(_l("Action"), validate_choice=False)
    org = SelectField(_l("Organisation"), validate_choice=False)
    actor = StringField(_l("By (e-mail or its beginning)"), render_kw={"maxlength": 254})
    since = StringField(_l("From (date)"), render_kw={"type": "date"})
    until = StringField(_l("Until (date, inclusive)"), render_kw={"type": "date"})
