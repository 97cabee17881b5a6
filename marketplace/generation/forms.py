from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import required
from ..schemas.common import limits
from ..schemas.sites import GenerationFigures


class GenerationForm(FlaskForm):
    site_id = SelectField(_l("Site"), coerce=int, choices=[], validators=[required()])
    material = SelectField(_l("Material"), choices=[], validators=[required()])
    month = StringField(_l("Month (YYYY-MM)"), validators=[required()], render_kw=limits(GenerationFigures, "month"))
    tonnes_generated = StringField(_l("Generated (t)"), validators=[required()])  # GenerationFigures' limits
    tonnes_used_in_house = StringField(_l("Used in-house (t)"), default="0")
    tonnes_stored = StringField(_l("Put into storage (t)"), default="0")
    tonnes_disposed = StringField(_l("Disposed (t)"), default="0")
    tonnes_transferred_other = StringField(_l("Handed to units outside the platform (t)"), default="0")
    other_receivers = StringField(_l("Those units: name, credit code, use"),
                                  render_kw=limits(GenerationFigures, "other_receivers"))
    stock_opening = StringField(_l("Stock at the month's start (t; blank: last month's closing)"))
    stock_closing = StringField(_l("Stock at the month's end (t)"))
    submit = SubmitField(_l("Record"))


class GenerationFilterForm(FlaskForm):
    """The declarations' filters, read from the query string (a GET form: no CSRF token). It only shows them and
    their errors: schemas.sites.GenerationQuery validates the values."""

    class Meta:
        csrf = False

    year = StringField(_l("Year"), id="filter-year", render_kw={"inputmode": "numeric", "maxlength": 4})
    site = SelectField(_l("Site"), id="filter-site", validate_choice=False)
    material = SelectField(_l("Material"), id="filter-material", validate_choice=False)
