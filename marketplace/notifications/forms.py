from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField

from ..forms_common import choices


class MarkForm(FlaskForm):
    """Mark one or all read; `next`: the page to go back to (a path on this site, else the list)."""
    next = HiddenField()


class EmailSettingsForm(FlaskForm):
    email_notifications = BooleanField(_l("Also send me notifications by e-mail"))
    locale = SelectField(_l("Language of my e-mails"), choices=choices([("zh", "中文"), ("en", "English")]))
