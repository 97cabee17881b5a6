import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..clock import CST_LABEL
from ..errors import MarketplaceError
from ..extensions import db
from ..models import User
from ..services import accounts
from ..services import tokens as token_service
from ..services.values import get_row
from ..web import is_safe_next, run_service
from . import bp, limits
from .forms import LoginForm, PasswordForm, RegisterForm, TokenForm, TotpEnrolForm, TotpForm

#: Seconds a password-checked login may wait for its second factor.
PENDING_SECONDS = 300
#: The session key of an authenticator app being set up (the secret, until a first code confirms it).
SETUP_KEY = "_totp_setup"


def sign_in(user: User) -> None:
    """Start a session for `user`, tied to their session version (logout and password change end it)."""
    session.pop(limits.PENDING_KEY, None)
    login_user(user)
    session["_sv"] = user.session_version


def _next_url(target: str | None) -> str:
    return target if is_safe_next(target) else url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
@limits.password_attempt
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except MarketplaceError as e:
            db.session.rollback()
            if e.field == "password":
                limits.mark_failed()
            form.password.errors = [str(e.message)]
        else:
            target = request.args.get("next")
            if user.totp_secret:
                session[limits.PENDING_KEY] = {"uid": user.id, "sv": user.session_version,
                                               "at": int(time.time()), "next": target if is_safe_next(target) else None}
                return redirect(url_for("auth.login_totp"))
            sign_in(user)
            if user.needs_totp:
                return redirect(url_for("auth.account"))
            return redirect(_next_url(target))
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limits.totp_attempt
def login_totp() -> ResponseReturnValue:
    """The second step of a login: the password was right, now the code from the authenticator app."""
    pending = session.get(limits.PENDING_KEY) or {}
    user = get_row(User, pending["uid"]) if isinstance(pending.get("uid"), int) else None
    if user is None or not user.active or user.session_version != pending.get("sv") \
            or not user.totp_secret or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(limits.PENDING_KEY, None)
        flash(_("Log in again, please."), "info")
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        try:
            accounts.verify_totp(user, form.code.data)
        except MarketplaceError as e:
            db.session.rollback()
            limits.mark_failed()
            form.code.errors = [str(e.message)]
        else:
            sign_in(user)
            return redirect(_next_url(pending.get("next")))
    return render_template("auth/totp.html", form=form)


@bp.errorhandler(429)
def too_many_attempts(e):
    """A login refused by a limit shows the form again, with what was typed and why."""
    db.session.rollback()
    if request.endpoint == "auth.login":
        form = LoginForm()
        form.password.errors = [str(e.description)]
        return render_template("auth/login.html", form=form), 429
    return render_template("error.html", status=429, message=str(e.description)), 429


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    accounts.end_sessions(current_user)  # a copy of this session's cookie stops working too
    logout_user()
    session.pop("_sv", None)
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@limits.registration
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = run_service(form, accounts.register_organisation, form.org_name.data, form.credit_code.data,
                           form.kind.data, form.email.data, form.password.data, form.name.data)
        if user is not None:
            sign_in(user)
            flash(_("Your organisation is registered. The operator will verify it before it can publish."),
                  "success")
            return redirect(url_for("org.overview"))
    return render_template("auth/register.html", form=form)


def _totp_setup() -> tuple[str, str]:
    """The secret being set up in this session (made on first sight) and its otpauth URI."""
    secret = session.get(SETUP_KEY)
    if not secret:
        secret = session[SETUP_KEY] = accounts.new_totp_secret()
    return secret, accounts.totp_uri(current_user, secret)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    form = PasswordForm()
    if form.validate_on_submit():
        if run_service(form, accounts.change_password, current_user, form.current_password.data,
                       form.password.data) is not None:
            session["_sv"] = current_user.session_version  # this session goes on; every other one ended
            flash(_("Your password has been changed. Your other sessions and your API tokens have ended."),
                  "success")
            return redirect(url_for("auth.account"))
    return _account_page(form, TotpEnrolForm(formdata=None))


def _account_page(form: PasswordForm, totp_form: TotpEnrolForm, setting_up: bool = False) -> str:
    setting_up = setting_up or not current_user.totp_secret or request.args.get("totp") == "new"
    secret, uri = _totp_setup() if setting_up else (None, None)
    return render_template("auth/account.html", form=form, totp_form=totp_form, totp_secret=secret, totp_uri=uri)


@bp.route("/account/two-factor", methods=["POST"])
@login_required
def enrol_totp() -> ResponseReturnValue:
    """Confirm a new authenticator app with its first code; it replaces any earlier one."""
    totp_form = TotpEnrolForm()
    if totp_form.validate_on_submit():
        if run_service(totp_form, accounts.enrol_totp, current_user, session.get(SETUP_KEY, ""),
                       totp_form.code.data, current_password=totp_form.account_password.data) is not None:
            session.pop(SETUP_KEY, None)
            flash(_("Two-factor sign-in is on: from now on you log in with a code from your app."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(PasswordForm(formdata=None), totp_form, setting_up=True), 400


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        result = run_service(form, token_service.create_token, current_user, form.name.data, form.days.data)
        if result is not None:
            new_token = result[1]
            form = TokenForm(formdata=None)
    return render_template("auth/tokens.html", form=form, tokens=token_service.tokens_of(current_user),
                           new_token=new_token, is_expired=token_service.is_expired, cst_label=CST_LABEL)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    form = TokenForm()
    if not form.csrf_token.validate(form):
        abort(400)
    if run_service(form, token_service.revoke_token, current_user, token_id) is not None:
        flash(_("Token revoked."), "success")
    return redirect(url_for("auth.tokens"))
