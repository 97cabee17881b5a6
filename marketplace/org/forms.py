from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import Email

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import choices, optional, required
from ..schemas.accounts import ContactIn, UserIn
from ..schemas.common import limits
from ..schemas.sites import SiteIn


class SiteForm(FlaskForm):
    name = StringField(_l("Site name"), validators=[required()], render_kw=limits(SiteIn, "name"))  # SiteIn's limits
    place = SelectField(_l("Pick a place"), choices=choices([]), validate_choice=False, validators=[optional()],
                        description=_l("Fills in the position, county and park; adjust the coordinates if you know "
                                       "them."))
    lat = StringField(_l("Latitude (°N, WGS-84)"), validators=[optional()])
    lon = StringField(_l("Longitude (°E, WGS-84)"), validators=[optional()])
    county = SelectField(_l("County / district"), choices=choices([]), validators=[optional()])
    industrial_park = SelectField(_l("Industrial park"), choices=choices([]), validators=[optional()])
    rail_siding = BooleanField(_l("Has a rail siding"))
    confirm_outside = BooleanField(_l("The site lies outside Ningxia, in a neighbouring region: the coordinates "
                                      "are right"))
    submit = SubmitField(_l("Save site"))


class UserForm(FlaskForm):
    """Limits: the schema's (schemas.accounts.UserIn), reported by the service on the field."""

    name = StringField(_l("Name"), validators=[required()], render_kw=limits(UserIn, "name"))
    email = EmailField(_l("E-mail"), validators=[required(), Email(message=_l("Enter a valid e-mail address."))],
                       render_kw=limits(UserIn, "email"))
    password = PasswordField(_l("Initial password"), validators=[required()], render_kw=limits(UserIn, "password"),
                             description=_l("At least 10 characters; ask the colleague to change it."))
    role = SelectField(_l("Role"), choices=choices([("member", _l("Member")), ("admin", _l("Administrator"))]))
    submit = SubmitField(_l("Add user"))


class UserEditForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices([("member", _l("Member")), ("admin", _l("Administrator"))]))
    active = BooleanField(_l("Active"))
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    """An empty form: a button that posts with a CSRF token."""
    submit = SubmitField(_l("Confirm"))


class ContactForm(FlaskForm):
    """Whom counterparties call about a deal; limits are ContactIn's (the service validates through it)."""

    contact_name = StringField(_l("Contact person"), validators=[optional()],
                               render_kw=limits(ContactIn, "contact_name"))
    contact_phone = StringField(_l("Phone"), validators=[optional()],
                                render_kw={**limits(ContactIn, "contact_phone"), "type": "tel"})
    contact_email = StringField(_l("E-mail"), validators=[optional()],
                                render_kw={**limits(ContactIn, "contact_email"), "type": "email"})
    submit = SubmitField(_l("Save contact"))
