from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import choices, optional, required
from ..schemas.common import limits
from ..schemas.subsidies import BaselineDeclaration, LoanApplication, Review, SchemeVersion, Settlement


class BaselineForm(FlaskForm):
    year = StringField(_l("Base year"), validators=[required()])
    tonnes = StringField(_l("Tonnes utilised in that year"), validators=[required()])
    evidence = TextAreaField(_l("Evidence"), validators=[required()], render_kw=limits(BaselineDeclaration, "evidence"),
                             description=_l("Invoices, statistical returns, the resource utilisation evaluation."))
    submit = SubmitField(_l("Declare baseline"))


class ClaimForm(FlaskForm):
    year = StringField(_l("Year"), validators=[required()])
    submit = SubmitField(_l("Prepare claim"))


class ReviewForm(FlaskForm):
    decision = HiddenField(validators=[required()])
    reason = StringField(_l("Reason"), render_kw=limits(Review, "reason"))
    submit = SubmitField(_l("Confirm"))


class LoanForm(FlaskForm):
    name = StringField(_l("Demonstration project"), validators=[required()], render_kw=limits(LoanApplication, "name"))
    year = StringField(_l("Year"), validators=[required()])
    loan_yuan = StringField(_l("Loan (yuan)"), validators=[required()])
    submit = SubmitField(_l("Apply"))


class SettleForm(FlaskForm):
    settlement = SelectField(_l("Settled by"), choices=choices([("offset", _l("offset against a later payment")),
                                                                 ("repaid", _l("repaid"))]))
    offset_claim_id = StringField(_l("Claim it is offset against"))
    note = StringField(_l("Note (transfer reference, date)"), render_kw=limits(Settlement, "note"))
    submit = SubmitField(_l("Record the settlement"))


class SchemeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[required()], render_kw=limits(SchemeVersion, "name"))
    base_year = StringField(_l("Base year"), validators=[required()])
    effective_from = DateField(_l("In force from"), validators=[required()])
    effective_to = DateField(_l("until"), validators=[optional()])
    bands = StringField(_l("Bands (increment from tonnes : yuan per tonne)"), validators=[required()],
                        render_kw=limits(SchemeVersion, "bands"))
    mode = SelectField(_l("Rate applies"), choices=choices([("whole", _l("to the whole increment")),
                                                           ("tiered", _l("tier by tier"))]))
    cap_yuan = StringField(_l("Cap per enterprise and year (yuan)"), validators=[required()])
    exclude_own_waste = BooleanField(_l("Exclude an enterprise's own waste"))
    excluded_uses = StringField(_l("Excluded uses"),
                                description=_l("Comma-separated: gangue_power (coal gangue only), mine_backfill, ..."))
    loan_min_yuan = StringField(_l("Smallest loan of a demonstration project (yuan)"), validators=[required()])
    loan_benchmark_rate_pct = StringField(_l("One-year benchmark rate (%)"), validators=[required()])
    submit = SubmitField(_l("Publish a new scheme version"))
