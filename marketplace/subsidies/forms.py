from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import choices, optional, required
from ..schemas.common import limits
from ..schemas.subsidies import MAX_BANDS, BaselineDeclaration, LoanApplication, Review, SchemeVersion, Settlement


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


class BandRowForm(Form):
    """One band of the scheme: from this increment (tonnes) on, this many yuan per tonne."""

    from_t = StringField(_l("From (t of increment)"), render_kw={"inputmode": "decimal", "maxlength": 20})
    rate = StringField(_l("Rate (yuan/t)"), render_kw={"inputmode": "decimal", "maxlength": 20})


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of labelled checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SchemeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[required()], render_kw=limits(SchemeVersion, "name"))
    base_year = StringField(_l("Base year"), validators=[required()])
    effective_from = DateField(_l("In force from"), validators=[required()])
    effective_to = DateField(_l("until"), validators=[optional()])
    # rows (from tonnes, rate) that the service checks: numbers, not negative, the first from 0 t, going up
    bands = FieldList(FormField(BandRowForm), label=_l("Bands"), min_entries=1, max_entries=MAX_BANDS)
    mode = SelectField(_l("Rate applies"), choices=choices([("whole", _l("to the whole increment")),
                                                           ("tiered", _l("tier by tier"))]))
    cap_yuan = StringField(_l("Cap per enterprise and year (yuan)"), validators=[required()])
    exclude_own_waste = BooleanField(_l("Exclude an enterprise's own waste"))
    excluded_uses = CheckboxesField(_l("Uses that earn no subsidy"), choices=[], validate_choice=False,
                                    description=_l("Gangue power generation is excluded for coal gangue only."))
    loan_min_yuan = StringField(_l("Smallest loan of a demonstration project (yuan)"), validators=[required()])
    loan_benchmark_rate_pct = StringField(_l("One-year benchmark rate (%)"), validators=[required()])
    submit = SubmitField(_l("Publish a new scheme version"))
