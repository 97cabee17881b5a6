import functools
from collections.abc import Sequence
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField

from ..forms_common import SafeForm as FlaskForm  # control characters and absurd dates are field errors
from ..forms_common import choices, optional, required
from ..labels import OBJECTIVE
from ..schemas.common import limits
from ..schemas.tariff import TariffVersionIn
from ..services.catalogue import CatalogueMaterial


class RoundForm(FlaskForm):
    period_start = DateField(_l("Listings valid from"), validators=[optional()])
    period_end = DateField(_l("to"), validators=[optional()])
    objective = SelectField(_l("Objective"), choices=choices(OBJECTIVE.items()), default="max_tonnes",
                            validate_choice=False)  # the service refuses an unknown one, on the field
    truckloads = BooleanField(_l("Whole truckloads only (the tariff's payload per material)"))
    min_shipment_t = StringField(_l("Minimum shipment per pairing (t)"),
                                 description=_l("For example a truckload, 30 t. Empty: no minimum."))
    max_partners = StringField(_l("At most this many suppliers per demand"))
    max_partners_per_supply = StringField(_l("At most this many utilisers per supply"))
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
    min_train_t = StringField(_l("Minimum train load (t)"), description=_l("Empty or 0: no minimum."))
    note = StringField(_l("Note (source of the figures)"), render_kw=limits(TariffVersionIn, "note"))
    submit = SubmitField(_l("Publish a new tariff version"))

    #: the per-material inputs: (figure, material code) -> the form's field name
    MATERIAL_INPUTS: ClassVar[dict[tuple[str, str], str]] = {}


def material_input(figure: str, code: str) -> str:
    return f"{figure}__{code}"


def tariff_form(materials: Sequence[CatalogueMaterial]) -> TariffForm:
    """The tariff form with one value and one payload input per material of the catalogue; a service error
    on `value_yuan_per_t.fly_ash` shows on that material's input (FIELD_NAMES)."""
    form: TariffForm = _tariff_form_class(tuple(m.code for m in materials))()
    return form


@functools.cache
def _tariff_form_class(codes: tuple[str, ...]) -> type[TariffForm]:
    """One class per catalogue (made once: SafeForm's request guard knows its fields by its subclasses)."""
    inputs = {(figure, code): material_input(figure, code)
              for code in codes for figure in ("value_yuan_per_t", "payload_t")}
    fields = {name: StringField(_l("Value (yuan per tonne)") if figure == "value_yuan_per_t"
                                else _l("Truck payload (t)"))
              for (figure, _code), name in inputs.items()}
    names = {f"{figure}.{code}": name for (figure, code), name in inputs.items()}
    return type("MaterialTariffForm", (TariffForm,), {**fields, "MATERIAL_INPUTS": inputs, "FIELD_NAMES": names})
