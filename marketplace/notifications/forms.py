from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from ..forms_common import choices


class MarkForm(FlaskForm):
    """Mark one or all read: the CSRF token is the whole form."""


class EmailSettingsForm(FlaskForm):
    email_notifications = BooleanField(_l("Also send me notifications by e-mail"))
    locale = SelectField(_l("Language of my e-mails"), choices=choices([("zh", "中文"), ("en", "English")]))
