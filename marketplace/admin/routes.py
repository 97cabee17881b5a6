from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, select

from ..extensions import db
from ..guard import page_arg
from ..models import Organisation, VerificationStatus
from ..services import accounts
from ..services.values import get_row
from ..web import run_service, staff_required
from . import bp
from .forms import VerifyForm

PAGE_SIZE = 50


@bp.route("/organisations")
@staff_required
def organisations():
    status = request.args.get("status", "")
    query = select(Organisation).order_by(
        case((Organisation.verification == VerificationStatus.PENDING, 0), else_=1), Organisation.name)
    if status in {s.value for s in VerificationStatus}:
        query = query.where(Organisation.verification == VerificationStatus(status))
    page = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, error_out=False)
    return render_template("admin/organisations.html", page=page, status=status)


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@staff_required
def organisation(org_id: int):
    org = get_row(Organisation, org_id)
    if org is None:
        abort(404)
    form = VerifyForm(decision=org.verification.value, note=org.verification_note or "")
    if form.validate_on_submit():
        if org.is_staff:
            abort(403)
        result = run_service(form, accounts.set_verification, current_user, org_id, form.decision.data,
                             form.note.data)
        if result is not None:
            flash(_("Decision saved for %(name)s.", name=org.name), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", org=org, form=form)
