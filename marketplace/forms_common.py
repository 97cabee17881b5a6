"""Validators with messages in the user's language, shared by every form."""
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


def required():
    return DataRequired(message=_l("This field is required."))


def max_length(n: int):
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


def optional():
    return Optional()


def choices(pairs) -> list[SelectChoice]:
    """[(value, label), ...] -> the choice objects WTForms 3.3 wants."""
    return [SelectChoice(value, label) for value, label in pairs]
