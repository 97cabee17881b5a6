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
    submit = SubmitField(_l("Record"))
