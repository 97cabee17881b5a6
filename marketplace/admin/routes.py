import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, select

from .. import labels, policy
from ..clock import CST_LABEL, as_utc, cst_day_bounds, format_cst
from ..errors import ValidationError
from ..extensions import db
from ..guard import page_arg
from ..models import AuditEntry, Organisation, VerificationStatus
from ..schemas.accounts import AuditQuery
from ..schemas.common import validate
from ..services import accounts, audit
from ..services.values import get_row
from ..web import flash_form_errors, role_required, run_service, spreadsheet, staff_required
from . import bp
from .forms import AuditFilterForm, ReleaseCreditCodeForm, VerifyForm

PAGE_SIZE = 50


@bp.route("/organisations")
@staff_required
def organisations() -> ResponseReturnValue:
    status = request.args.get("status", "")
    query = select(Organisation).order_by(
        case((Organisation.verification == VerificationStatus.PENDING, 0), else_=1), Organisation.name)
    if status in {s.value for s in VerificationStatus}:
        query = query.where(Organisation.verification == VerificationStatus(status))
    page = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, error_out=False)
    return render_template("admin/organisations.html", page=page, status=status)


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@staff_required
def organisation(org_id: int) -> ResponseReturnValue:
    org = get_row(Organisation, org_id)
    if org is None:
        abort(404)
    form = VerifyForm(decision=_proposed_decision(org), note=org.verification_note or "")
    if form.validate_on_submit():
        if org.is_staff:
            abort(403)
        result = run_service(form, accounts.set_verification, current_user, org_id, form.decision.data,
                             form.note.data)
        if result is not None:
            flash(_("Decision saved for %(name)s.", name=org.name), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", org=org, form=form,
                           release_form=ReleaseCreditCodeForm(formdata=None))


@bp.route("/organisations/<int:org_id>/release-credit-code", methods=["POST"])
@role_required(policy.may_manage_accounts)
def release_credit_code(org_id: int) -> ResponseReturnValue:
    """The operator frees a squatted credit code (rejected or unverified holder) so the real firm can register."""
    org = get_row(Organisation, org_id)
    if org is None:
        abort(404)
    form = ReleaseCreditCodeForm()
    if form.validate_on_submit():
        if run_service(form, accounts.release_credit_code, current_user, org_id, form.reason.data) is not None:
            flash(_("The credit code is released: the firm it belongs to can now register with it."), "success")
            return redirect(url_for("admin.organisation", org_id=org_id))
    flash_form_errors(form)
    return render_template("admin/organisation.html", org=org, release_form=form,
                           form=VerifyForm(formdata=None, decision=_proposed_decision(org),
                                           note=org.verification_note or "")), 400


def _proposed_decision(org: Organisation) -> str:
    """What the verify form pre-selects: "verify" for an organisation waiting (not "return to pending", which
    would leave it waiting), else its present state."""
    status = org.verification
    return VerificationStatus.VERIFIED.value if status == VerificationStatus.PENDING else status.value


@bp.route("/users/<int:user_id>/reset-two-factor", methods=["POST"])
@role_required(policy.may_manage_accounts)
def reset_totp(user_id: int) -> ResponseReturnValue:
    """The operator clears a user's lost second factor; the user sets up a new one at the next login."""
    form = ReleaseCreditCodeForm()  # any form of this blueprint: only its CSRF token is checked
    if not form.csrf_token.validate(form):
        abort(400)
    user = run_service(form, accounts.reset_totp, current_user, user_id)
    if user is not None:
        flash(_("Two-factor sign-in of %(email)s is reset.", email=user.email), "success")
        return redirect(url_for("admin.organisation", org_id=user.organisation_id))
    abort(400)


AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_MAX = 50_000


def _audit_filters(form: AuditFilterForm) -> dict | None:
    """The query's filters from the query string, validated by AuditQuery (dates are China Standard Time days);
    None, with the message beside its field, for a bad one."""
    args = {k: v for k, v in request.args.items() if k in AuditQuery.model_fields and v}
    try:
        query = validate(AuditQuery, args)
        if query.action and query.action not in audit.ACTIONS:
            raise ValidationError(_("Unknown action."), field="action")
        if query.since and query.until and query.since > query.until:
            raise ValidationError(_("The last day comes before the first."), field="until")
    except ValidationError as e:
        field = getattr(form, e.field or "", None)
        if field is not None:
            field.errors = [*field.errors, str(e.message)]
        return None
    since, until = cst_day_bounds(query.since, query.until)
    return {"action": query.action, "organisation_id": query.org, "actor": query.actor, "since": since,
            "until": until}


def _audit_row(entry: AuditEntry, codes: bool = False) -> dict[str, Any]:
    """An entry as people read it (the page, the exports); `codes` (`?codes=1`) as machines read it."""
    if codes:
        return {"at": as_utc(entry.at), "action": entry.action, "actor": entry.actor.email if entry.actor else "",
                "organisation": entry.actor_org.name if entry.actor_org else "", "target_type": entry.target_type,
                "target_id": entry.target_id, "details": json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
                "address": entry.address}
    return {
        _("Time (%(zone)s)", zone=CST_LABEL): format_cst(entry.at, "%Y-%m-%d %H:%M:%S"),
        _("Action"): labels.label(labels.AUDIT_ACTION, entry.action),
        _("By"): entry.actor.email if entry.actor else "",
        _("Organisation"): entry.actor_org.name if entry.actor_org else "",
        _("Target"): labels.target(entry.target_type, entry.target_id),
        _("Details"): labels.details(entry.details) if isinstance(entry.details, dict) else str(entry.details),
        _("Address"): entry.address,
    }


@bp.route("/audit")
@staff_required
def audit_log() -> ResponseReturnValue:
    """Regulators and the operator read (and export) the log of privileged actions, newest first."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions"))] + [(a, labels.label(labels.AUDIT_ACTION, a))
                                                       for a in audit.ACTIONS]
    form.org.choices = [("", _("All organisations"))] + [
        (str(o.id), o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))]
    filters = _audit_filters(form)
    if filters is None:
        return render_template("admin/audit.html", form=form, page=None, rows=[], args={}), 400
    query = audit.query(**filters)
    args = {k: v for k, v in request.args.items() if k in AuditQuery.model_fields and v}
    fmt = request.args.get("format", "")
    if fmt in ("csv", "xlsx"):
        codes = request.args.get("codes") == "1"
        rows = [_audit_row(e, codes) for e in db.session.scalars(query.limit(AUDIT_EXPORT_MAX))]
        return spreadsheet(rows, fmt, "audit-log", _("Audit log"))
    page = db.paginate(query, page=page_arg(), per_page=AUDIT_PAGE_SIZE, error_out=False)
    return render_template("admin/audit.html", form=form, page=page, rows=[_audit_row(e) for e in page.items],
                           args=args)
