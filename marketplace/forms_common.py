"""Validators with messages in the user's language, shared by every form."""
from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


def required():
    return DataRequired(message=_l("This field is required."))


def max_length(n: int) -> Length:
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


def optional():
    return Optional()


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """[(value, label), ...] -> the choice objects WTForms 3.3 wants."""
    return [SelectChoice(value, label) for value, label in pairs]


# --- every form refuses control characters and dates outside 2000-2100 --------------------------------------

from datetime import date  # noqa: E402

from flask_wtf import FlaskForm  # noqa: E402
from wtforms.fields import FieldList, FormField, PasswordField, TextAreaField  # noqa: E402
from wtforms.fields.core import UnboundField  # noqa: E402

from .services.values import CONTROL, CONTROL_IN_TEXT, MAX_YEAR, MIN_YEAR  # noqa: E402


def _refuse_unsafe(multi_line: bool) -> Callable[[object], object]:
    """A WTForms filter: a control character or lone surrogate is a field error (the input is kept), and so
    is a date outside MIN_YEAR..MAX_YEAR."""

    pattern = CONTROL_IN_TEXT if multi_line else CONTROL

    def check(value: object) -> object:
        text = getattr(value, "filename", value)  # an upload: its file name
        if isinstance(text, str) and pattern.search(text):
            raise ValueError(_l("This field contains characters that are not allowed."))
        if isinstance(value, date) and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(_l("Enter a date between %(lo)d and %(hi)d.", lo=MIN_YEAR, hi=MAX_YEAR))
        return value

    return check


class SafeForm(FlaskForm):
    """The base of every form: each field refuses control characters (tab, CR and LF are allowed in text
    areas and passwords) and dates outside 2000-2100, as a field error that keeps what was typed."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, (FieldList, FormField)):  # no filters: their fields have them
                return super().bind_field(form, unbound_field, options)
            multi_line = issubclass(unbound_field.field_class, (TextAreaField, PasswordField))
            filters = [_refuse_unsafe(multi_line), *unbound_field.kwargs.get("filters", ())]
            unbound_field = UnboundField(unbound_field.field_class, *unbound_field.args,
                                         **{**unbound_field.kwargs, "filters": filters})
            return super().bind_field(form, unbound_field, options)


def declared_fields() -> set[str]:
    """Every field name a SafeForm subclass declares (the request guard leaves those to the form)."""
    names = {"csrf_token"}
    pending = list(SafeForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        names.update(name for name in dir(cls) if isinstance(getattr(cls, name, None), UnboundField))
    return names
