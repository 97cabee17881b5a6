"""Accounts: registration, login (password, then a TOTP code where one is enrolled), logout, the user's own
password and second factor."""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

bp = Blueprint("auth", __name__)

#: What a regulator or operator user without a second factor may still open: the set-up and the way out.
ENROL_FIRST_ENDPOINTS = {"auth.account", "auth.enrol_totp", "auth.logout", "main.set_language", "static"}


def init_login(login_manager: LoginManager) -> None:
    from sqlalchemy.orm import joinedload

    from ..models import User
    from ..services.values import get_row

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # with the organisation in the same statement: every page asks who the user works for
        user = (get_row(User, int(user_id), options=[joinedload(User.organisation)])
                if user_id.isascii() and user_id.isdigit() else None)
        # A session made before the user's last logout or password change is over.
        if user is None or session.get("_sv") != user.session_version:
            return None
        return user


@bp.before_app_request
def staff_enrol_first() -> ResponseReturnValue | None:
    """Regulators and the operator approve money: they set up two-factor sign-in before anything else."""
    if request.endpoint in ENROL_FIRST_ENDPOINTS or request.blueprint == "api":
        return None
    if current_user.is_authenticated and current_user.needs_totp and not current_user.totp_secret:
        flash(_("Set up two-factor sign-in first: your organisation approves money."), "info")
        return redirect(url_for("auth.account"))
    return None


from . import routes  # noqa: E402,F401
