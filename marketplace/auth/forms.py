from flask_babel import lazy_gettext as _l
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields import Field
from wtforms.validators import Email, EqualTo, ValidationError

from ..forms_common import SafeForm as FlaskForm
from ..forms_common import choices, max_length, required
from ..identifiers import is_valid_uscc, normalise_uscc  # control characters and absurd dates are field errors
from ..schemas.accounts import DEFAULT_DAYS, OrganisationIn, TokenSettings, UserIn
from ..schemas.common import limits


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[required(), max_length(254)])
    password = PasswordField(_l("Password"), validators=[required(), max_length(200)])
    submit = SubmitField(_l("Log in"))


def valid_credit_code(form: FlaskForm, field: Field) -> None:
    """The check character is tested with the other fields, so that its error shows on the first submit (the
    service tests it again, with the register of codes already taken)."""
    if field.data and not is_valid_uscc(normalise_uscc(field.data)):
        raise ValidationError(_l("This is not a valid unified social credit code (18 characters, check character "
                                 "last)."))


class RegisterForm(FlaskForm):
    """Limits: the schemas' (schemas.accounts OrganisationIn, UserIn), reported by the service on the field."""

    org_name = StringField(_l("Organisation name"), validators=[required()],
                           render_kw=limits(OrganisationIn, "org_name"))
    credit_code = StringField(_l("Unified social credit code"), validators=[required(), valid_credit_code],
                              render_kw=limits(OrganisationIn, "credit_code"),
                              description=_l("18 characters, as on the business licence."))
    kind = SelectField(_l("The organisation"), choices=choices([
        ("producer", _l("produces industrial solid waste")),
        ("consumer", _l("uses industrial solid waste")),
        ("both", _l("produces and uses industrial solid waste")),
    ]), validators=[required()])
    name = StringField(_l("Your name"), validators=[required()], render_kw=limits(UserIn, "name"))
    email = EmailField(_l("E-mail"), validators=[required(), Email(message=_l("Enter a valid e-mail address."))],
                       render_kw=limits(UserIn, "email"))
    password = PasswordField(_l("Password"), validators=[required()], render_kw=limits(UserIn, "password"),
                             description=_l("At least 10 characters, hard to guess: a few unrelated words work well."))
    confirm = PasswordField(_l("Repeat the password"), validators=[
        required(), EqualTo("password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Register"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[required(), max_length(200)])
    password = PasswordField(_l("New password"), validators=[required(), max_length(200)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        required(), EqualTo("password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Change password"))


class TotpForm(FlaskForm):
    """The second step of a login, and the confirmation of a new authenticator app."""
    code = StringField(_l("Six-digit code from your authenticator app"),
                       validators=[required(), max_length(10)])
    submit = SubmitField(_l("Confirm"))


class TotpEnrolForm(TotpForm):
    """Confirming a new authenticator app; replacing one also asks for the password."""
    account_password = PasswordField(_l("Current password"), validators=[max_length(200)])


class TokenForm(FlaskForm):
    """Name and lifetime; their limits are the schema's (schemas.accounts.TokenSettings), reported by the service."""

    name = StringField(_l("What the token is for"), validators=[required()], render_kw=limits(TokenSettings, "name"))
    days = IntegerField(_l("Valid for (days)"), default=DEFAULT_DAYS, validators=[required()],
                        render_kw=limits(TokenSettings, "days"))
    submit = SubmitField(_l("Create token"))
