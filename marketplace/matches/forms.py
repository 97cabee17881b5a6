from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import optional, required
from ..schemas.common import limits
from ..schemas.tariff import TariffVersionIn


class RoundForm(FlaskForm):
    period_start = DateField(_l("Listings valid from"), validators=[optional()])
    period_end = DateField(_l("to"), validators=[optional()])
    min_shipment_t = StringField(_l("Minimum shipment per pairing (t)"),
                                 description=_l("For example a truckload, 30 t. Empty: no minimum."))
    max_partners = StringField(_l("At most this many suppliers per demand"))
    compare_greedy = BooleanField(_l("Also compare with cheapest-first pairing (slower on a large market)"))
    supply_listing_id = HiddenField()
    demand_listing_id = HiddenField()
    submit = SubmitField(_l("Run a matching round"))


class CancelForm(FlaskForm):
    submit = SubmitField(_l("Cancel the round"))


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[required()])
    submit = SubmitField(_l("Confirm"))


class TariffForm(FlaskForm):
    road_yuan_per_t_km = StringField(_l("Road freight (yuan per tonne-km)"), validators=[required()])
    handling_yuan_per_t = StringField(_l("Handling (yuan per tonne)"), validators=[required()])
    circuity = StringField(_l("Circuity (road distance / straight line)"), validators=[required()])
    rail_fixed_yuan_per_t = StringField(_l("Rail, fixed charge (yuan per tonne)"))
    rail_yuan_per_t_km = StringField(_l("Rail, rate (yuan per tonne-km)"))
    co2_kg_per_t_km = StringField(_l("Road CO2 (kg per tonne-km)"), validators=[required()])
    rail_co2_kg_per_t_km = StringField(_l("Rail CO2 (kg per tonne-km)"), validators=[required()])
    proposal_lifetime_hours = StringField(_l("Proposals expire after (hours)"), validators=[required()])
    note = StringField(_l("Note (source of the figures)"), render_kw=limits(TariffVersionIn, "note"))
    submit = SubmitField(_l("Publish a new tariff version"))
