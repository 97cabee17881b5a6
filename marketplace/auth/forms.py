from flask_babel import lazy_gettext as _l
from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import Email, EqualTo

from ..forms_common import choices, max_length, required


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[required(), max_length(254)])
    password = PasswordField(_l("Password"), validators=[required(), max_length(200)])
    submit = SubmitField(_l("Log in"))


class RegisterForm(FlaskForm):
    org_name = StringField(_l("Organisation name"), validators=[required(), max_length(200)])
    credit_code = StringField(_l("Unified social credit code"), validators=[required(), max_length(30)],
                              description=_l("18 characters, as on the business licence."))
    kind = SelectField(_l("The organisation"), choices=choices([
        ("producer", _l("produces industrial solid waste")),
        ("consumer", _l("uses industrial solid waste")),
        ("both", _l("produces and uses industrial solid waste")),
    ]), validators=[required()])
    name = StringField(_l("Your name"), validators=[required(), max_length(100)])
    email = EmailField(_l("E-mail"), validators=[required(), max_length(254),
                                                 Email(message=_l("Enter a valid e-mail address."))])
    password = PasswordField(_l("Password"), validators=[required(), max_length(200)],
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("Repeat the password"), validators=[
        required(), EqualTo("password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Register"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[required(), max_length(200)])
    password = PasswordField(_l("New password"), validators=[required(), max_length(200)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        required(), EqualTo("password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Change password"))
