"""Accounts: registration, login, logout, the user's own password."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("auth", __name__)


def init_login(login_manager) -> None:
    from ..models import User
    from ..services.values import get_row

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        return get_row(User, int(user_id)) if user_id.isascii() and user_id.isdigit() else None


from . import routes  # noqa: E402,F401
