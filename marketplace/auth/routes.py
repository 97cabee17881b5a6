from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import MarketplaceError
from ..extensions import db
from ..services import accounts
from ..web import is_safe_next, run_service
from . import bp
from .forms import LoginForm, PasswordForm, RegisterForm


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data,
                                         current_app.config["LOGIN_MAX_FAILURES"],
                                         current_app.config["LOGIN_LOCKOUT_MINUTES"])
        except MarketplaceError as e:
            db.session.commit()  # keep the failure count
            form.password.errors = [str(e.message)]
        else:
            db.session.commit()
            login_user(user)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = run_service(form, accounts.register_organisation, form.org_name.data, form.credit_code.data,
                           form.kind.data, form.email.data, form.password.data, form.name.data)
        if user is not None:
            login_user(user)
            flash(_("Your organisation is registered. The operator will verify it before it can publish."),
                  "success")
            return redirect(url_for("org.overview"))
    return render_template("auth/register.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordForm()
    if form.validate_on_submit():
        if run_service(form, accounts.change_password, current_user, form.current_password.data,
                       form.password.data) is not None:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    from ..listings.forms import TokenForm
    from ..services import tokens as token_service

    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        result = run_service(form, token_service.create_token, current_user, form.name.data)
        if result is not None:
            new_token = result[1]
            form = TokenForm(formdata=None)
    return render_template("auth/tokens.html", form=form, tokens=token_service.tokens_of(current_user),
                           new_token=new_token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    from ..listings.forms import TokenForm
    from ..services import tokens as token_service

    form = TokenForm()
    if not form.csrf_token.validate(form):
        abort(400)
    if run_service(form, token_service.revoke_token, current_user, token_id) is not None:
        flash(_("Token revoked."), "success")
    return redirect(url_for("auth.tokens"))
