from typing import ClassVar

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import max_length, optional, required


class ListingForm(FlaskForm):
    """The fields both sides share; quality inputs are rendered per material parameter by the template.

    The limits (tonnes, distance, price, notes) are the schema's (schemas/listings.py): the service validates
    through it and its errors land on these fields; the HTML attributes come from it too (listings.routes)."""

    #: The service's field names that this form calls otherwise.
    FIELD_NAMES: ClassVar[dict[str, str]] = {"price_yuan_per_t": "price", "max_delivered_price_yuan_per_t": "price",
                                             "min_grade": "grade"}
    site_id = SelectField(_l("Site"), choices=[], validators=[required()])
    material = SelectField(_l("Material"), choices=[], validators=[required()])
    grade = SelectField(_l("Grade"), choices=[], validate_choice=False, validators=[optional()])
    tonnes = StringField(_l("Tonnes (whole tonnes)"), validators=[required()])
    period_start = DateField(_l("From"), validators=[required()])
    period_end = DateField(_l("To"), validators=[required()])
    price = StringField(_l("Price (yuan/t)"))
    max_haul_km = StringField(_l("Maximum haul distance (km)"), validators=[required()])
    use = SelectField(_l("Used for"), choices=[], validators=[optional()])
    also_materials = SelectMultipleField(_l("Also accepts (one tonnage, any mix; no minimum grade or quality limits)"),
                                         choices=[], validate_choice=False)  # the service names an unknown one
    notes = TextAreaField(_l("Notes"))
    #: The 12 month inputs (m-1 .. m-12) are rendered by the template; this field carries their errors.
    monthly_tonnes = StringField(_l("Tonnes per month"))
    storage_capacity_t = StringField(_l("Yard or silo capacity (t)"))
    storage_stock_t = StringField(_l("Stock now (t)"))
    holding_yuan_per_t_month = StringField(_l("Holding cost (yuan per t and month)"))
    certificate = FileField(_l("Lab certificate (PDF, PNG or JPEG, at most 5 MB)"))
    save_draft = SubmitField(_l("Save as draft"))
    publish = SubmitField(_l("Publish"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV (UTF-8 or GBK) or XLSX file"), validators=[required()])
    submit = SubmitField(_l("Import"))


class StatusForm(FlaskForm):
    status = StringField(validators=[required(), max_length(20)])
    submit = SubmitField(_l("Confirm"))


