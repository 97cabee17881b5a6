from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..guard import page_arg
from ..models import Notification, NotificationKind
from ..services import notifications
from ..web import flash_form_errors, is_safe_next, run_service
from . import bp
from .forms import EmailSettingsForm, MarkForm


def link(n: Notification) -> str:
    """Where the notification's matter is dealt with."""
    d = n.details or {}
    kind = n.kind
    if kind == NotificationKind.PROPOSALS_NEW:
        return url_for("matches.proposal_list", status="pending")
    if kind == NotificationKind.AGREEMENT_CONCLUDED:
        return url_for("matches.agreement_detail", agreement_id=n.target_id)
    if kind in (NotificationKind.TICKET_TO_CONFIRM, NotificationKind.RECEIPT_FLAGGED):
        return url_for("matches.agreement_detail", agreement_id=d.get("agreement", 0),
                       _anchor=f"shipment-{n.target_id}")
    if kind in (NotificationKind.CLAIM_APPROVED, NotificationKind.CLAIM_REJECTED):
        return url_for("subsidies.claim", claim_id=n.target_id)
    return url_for("subsidies.index")


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """The list, newest first; reading it marks nothing (GET never writes): marking is a POST."""
    unread_only = request.args.get("unread") == "1"
    page = notifications.page_for(current_user, page_arg(), unread_only)
    names = notifications.material_names(_locale())
    rows = [(n, notifications.text(n, names), link(n)) for n in page.items]
    settings = EmailSettingsForm(formdata=None, email_notifications=current_user.email_notifications,
                                 locale=current_user.locale or _locale())
    return render_template("notifications/list.html", page=page, rows=rows, unread_only=unread_only,
                           mark_form=MarkForm(), settings=settings, email_on=notifications.email_enabled())


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh")


def _back(form: MarkForm) -> ResponseReturnValue:
    target = form.next.data
    return redirect(target if is_safe_next(target) else url_for("notifications.index"))


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int) -> ResponseReturnValue:
    form = MarkForm()
    if not form.validate_on_submit():
        abort(400)
    notifications.mark_read(current_user, notification_id)  # another user's: 404
    return _back(form)


@bp.route("/read-all", methods=["POST"])
@login_required
def mark_all_read() -> ResponseReturnValue:
    form = MarkForm()
    if not form.validate_on_submit():
        abort(400)
    done = notifications.mark_all_read(current_user)
    flash(_("%(count)s notifications marked read.", count=done), "success")
    return _back(form)


@bp.route("/settings", methods=["POST"])
@login_required
def settings() -> ResponseReturnValue:
    form = EmailSettingsForm()
    if form.validate_on_submit():
        if run_service(form, notifications.set_email_settings, current_user, bool(form.email_notifications.data),
                       form.locale.data) is not None:
            flash(_("Your e-mail settings are saved."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("notifications.index"))
