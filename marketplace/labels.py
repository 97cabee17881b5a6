"""Display names, in the user's language, of the values stored as codes."""
import functools
from collections.abc import Mapping
from typing import Any

from babel import Locale
from babel.numbers import LC_NUMERIC, NumberPattern, parse_pattern
from flask_babel import lazy_gettext as _l

ORG_KIND = {
    "producer": _l("Producer"),
    "consumer": _l("Utiliser"),
    "both": _l("Producer and utiliser"),
    "regulator": _l("Regulator"),
    "operator": _l("Operator"),
}
VERIFICATION = {
    "pending": _l("Waiting for verification"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
}
LISTING_STATUS = {
    "draft": _l("Draft"),
    "open": _l("Open"),
    "partly_matched": _l("Partly matched"),
    "fully_matched": _l("Fully matched"),
    "expired": _l("Expired"),
    "withdrawn": _l("Withdrawn"),
}
PROPOSAL_STATUS = {
    "pending": _l("Waiting for decisions"),
    "agreed": _l("Agreed"),
    "declined": _l("Declined"),
    "expired": _l("Expired"),
    "lapsed": _l("Lapsed (tonnes no longer available)"),
    "withdrawn": _l("Ended (the listing was withdrawn or changed)"),
}
DECISION = {"accepted": _l("You accepted"), "declined": _l("You declined")}
ROUND_SCOPE = {"market": _l("Whole market"), "demand": _l("For one demand"), "supply": _l("For one supply")}
MODE = {"road": _l("Road"), "rail": _l("Rail")}
#: What a matching round optimises (matching.options.OBJECTIVES).
OBJECTIVE = {"max_tonnes": _l("Most tonnes, then least transport cost"),
             "net_value": _l("Most value net of transport (no tonne at a loss)"),
             "delivered_cost": _l("Most tonnes, then least delivered cost (price + transport)")}
ROUND_STATUS = {"queued": _l("Waiting for a worker"), "building": _l("Gathering the listings"),
                "solving": _l("Solving"), "writing": _l("Writing the proposals"), "done": _l("Done"),
                "failed": _l("Failed"), "cancelled": _l("Cancelled")}
#: Why a round failed, by its code (the API gives the code and these words).
ROUND_ERROR = {"invalid_instance": _l("A listing could not be read by the optimiser."),
               "solver_failed": _l("The optimiser found no answer in its time limit."),
               "hold_cap": _l("Your organisation already holds as much of this material as one organisation may."),
               "listing_gone": _l("The listing of this round is no longer open."),
               "internal_error": _l("Something went wrong on our side. The team has been told.")}
LISTING_ACTION = {"created": _l("Listing created"), "updated": _l("Changed"),
                  "certificate": _l("Certificate uploaded")}
UTILISATION_GROUP = {"region": _l("County / district"), "city": _l("City"), "park": _l("Industrial park"),
                     "material": _l("Material"), "organisation": _l("Organisation"), "month": _l("Month")}
USE = {"cement": _l("Cement and clinker"), "concrete": _l("Concrete and mortar"),
       "bricks_blocks": _l("Bricks and blocks"), "plasterboard": _l("Plasterboard"), "road_base": _l("Road base"),
       "mine_backfill": _l("Mine backfill"), "gangue_power": _l("Gangue power generation"), "other": _l("Other use")}
CLAIM_STATUS = {"draft": _l("Draft"), "prepared": _l("Prepared"), "submitted": _l("Submitted"),
                "approved": _l("Approved"), "rejected": _l("Rejected"), "paid": _l("Paid"),
                "affected": _l("Affected by a reversal"), "recomputed": _l("Computed again")}
REVIEW_STATUS = {"pending": _l("Waiting for review"), "submitted": _l("Waiting for review"),
                 "approved": _l("Approved"), "rejected": _l("Rejected")}
SUBSIDY_MEASURE = {"claimed": _l("claimed"), "approved": _l("approved"), "paid": _l("paid"),
                   "to_recover": _l("to recover"), "recovered": _l("recovered"), "net": _l("net of recoveries")}
#: The flags a shipment may carry (services/deliveries.shipment_flags): never blocking, for people to look at.
SHIPMENT_FLAG = {
    "over_payload": _l("Net weight above the legal payload"),
    "plate_too_fast": _l("The same truck on another ticket too soon for the distance between them"),
    "receipt_difference": _l("Received weight differs from the ticket beyond the tolerance"),
    "producer_over_declared": _l("The producer's utilised tonnes exceed what it declared as generated plus stock"),
}
#: What a notification says, by its kind; the %(...)s are its figures (services/notifications.text).
NOTIFICATION_KIND = {
    "proposals_new": _l("%(count)s new proposals for your organisation (matching round %(round)s)"),
    "agreement_concluded": _l("Agreement %(agreement)s concluded: %(tonnes)s t of %(material)s"),
    "ticket_to_confirm": _l("Ticket %(ticket)s is on its way: confirm the receipt (agreement %(agreement)s)"),
    "receipt_flagged": _l("The receipt of ticket %(ticket)s is flagged: %(flags)s"),
    "baseline_approved": _l("Your baseline for %(year)s was approved"),
    "baseline_rejected": _l("Your baseline for %(year)s was rejected"),
    "claim_approved": _l("Your subsidy claim for %(year)s was approved"),
    "claim_rejected": _l("Your subsidy claim for %(year)s was rejected"),
}
USER_ROLE = {"admin": _l("Administrator"), "member": _l("Member")}


def label(table: Mapping[Any, object], value: object) -> str:
    key = getattr(value, "value", value)
    return str(table.get(key, key))


# --- names of data: materials, places, fields, actions, units (issue #13) --------------------------------
#: Units as a reader writes them.
UNIT = {"t": _l("t"), "kg": _l("kg"), "yuan": _l("yuan"), "yuan_per_t": _l("yuan/t"), "km": _l("km"),
        "percent": _l("%")}
#: The fields of listings, claims and their histories, by their stored names.
FIELD = {
    "also_materials": _l("Also accepts"), "starts_on": _l("Stopped from"), "ends_on": _l("Stopped to (included)"),
    "storage_capacity_t": _l("Yard or silo capacity (t)"), "storage_stock_t": _l("Stock now (t)"),
    "until": _l("Until (date, inclusive)"), "locale": _l("Language of my e-mails"),
    "confirm_outside": _l("The site lies outside Ningxia, in a neighbouring region: the coordinates are right"),
    "status": _l("Status"), "site_id": _l("Site"), "material_id": _l("Material"), "material": _l("Material"),
    "tonnes": _l("Tonnes"), "tonnes_promised": _l("Tonnes promised"), "period_start": _l("Available from"),
    "period_end": _l("Available until"), "max_haul_km": _l("Longest haul (km)"), "notes": _l("Notes"),
    "grade": _l("Grade"), "min_grade": _l("Lowest grade accepted"), "quality": _l("Quality"),
    "quality_limits": _l("Quality limits"), "price_yuan_per_t": _l("Price (yuan/t)"),
    "max_delivered_price_yuan_per_t": _l("Highest delivered price (yuan/t)"), "use": _l("Used for"),
    "certificate": _l("Certificate"), "reason": _l("Reason"), "decision": _l("Decision"),
    "entries": _l("Ledger entries counted"), "eligible_kg": _l("Eligible tonnes of this claim"),
    "year_eligible_kg": _l("Eligible tonnes of the year"), "year_total_yuan": _l("Subsidy for the year (yuan)"),
    "previously_approved_yuan": _l("Already approved (yuan)"), "amount_yuan": _l("Amount (yuan)"),
    "amount_before_yuan": _l("Amount before (yuan)"), "scheme_version": _l("Scheme version"),
    "reversal_seq": _l("Reversal (ledger entry)"), "should_have_yuan": _l("Should have been (yuan)"),
    "recovery_yuan": _l("To recover (yuan)"), "offset_yuan": _l("Offset against recoveries (yuan)"),
    "moisture_pct": _l("Moisture (%)"), "site": _l("Site"), "tonnes_remaining": _l("Tonnes available"),
    "county": _l("County / district"), "city": _l("City"), "park": _l("Industrial park"),
    "organisation": _l("Organisation"), "listing": _l("Listing"), "group": _l("Group"),
    "generated_t": _l("Generated (t)"), "used_in_house_t": _l("Used in-house (t)"),
    "utilised_platform_t": _l("Utilised through the platform (t)"), "stored_t": _l("Put into storage (t)"),
    "disposed_t": _l("Disposed of (t)"), "utilisation_rate": _l("Utilisation rate"),
    "platform_share": _l("Share through the platform"), "measure": _l("Measure"), "yuan": _l("Yuan"),
    "id": _l("Number"), "year": _l("Year"), "increment_tonnes": _l("Increment (t)"),
    "baseline_tonnes": _l("Baseline (t)"), "rate_yuan_per_t": _l("Rate (yuan/t)"),
    "claim_id": _l("Claim"), "created_at": _l("Created"), "submitted_at": _l("Submitted"),
    "decided_at": _l("Decided"), "paid_at": _l("Paid"), "affected": _l("Affected by a reversal"),
    # the fields the services name in their errors (a form without such a field flashes "Label: message")
    "near_site_id": _l("Near my site"), "credit_code": _l("Unified social credit code"), "email": _l("E-mail"),
    "password": _l("Password"), "current_password": _l("Current password"), "account_password": _l("Password"),
    "org_name": _l("Organisation name"), "name": _l("Name"), "kind": _l("Kind"), "role": _l("Role"),
    "lat": _l("Latitude"), "lon": _l("Longitude"), "industrial_park": _l("Industrial park"),
    "gross_kg": _l("Gross (kg)"), "tare_kg": _l("Tare (kg)"), "received_net_kg": _l("Received net (kg)"),
    "net_kg": _l("Net (kg)"), "ticket_no": _l("Ticket"), "truck_plate": _l("Truck"),
    "dispatched_at": _l("Dispatched"), "month": _l("Month"), "bands": _l("Bands"),
    "excluded_uses": _l("Excluded uses"), "loan_yuan": _l("Loan (yuan)"), "file": _l("File"),
    "group_by": _l("Group by"), "tonnes_stored": _l("Put into storage (t)"), "note": _l("Note"),
    "code": _l("Code"), "from": _l("From"), "evidence": _l("Evidence"), "settlement": _l("Settlement"),
    "offset_claim_id": _l("Claim to offset against"), "demand_listing_ids": _l("Demands"),
    "effective_to": _l("In force until"), "checkpoint": _l("Checkpoint"), "other_receivers": _l("Other receivers"),
    "rail_yuan_per_t_km": _l("Rail (yuan per t·km)"), "max_price": _l("Highest price (yuan/t)"),
    "agreement_id": _l("Agreement"), "period": _l("Period"), "raw_input_t": _l("Raw material input (t)"),
    "waste_input_t": _l("Waste input (t)"), "vat_code": _l("VAT refund catalogue item"),
}
#: Every action of the audit log (services/audit.ACTIONS), as a sentence's verb.
AUDIT_ACTION = {
    "organisation.verify": _l("Organisation verified, rejected or returned"),
    "organisation.release_credit_code": _l("Credit code released"),
    "user.add": _l("User added"), "user.remove": _l("User removed"), "user.role": _l("User's role changed"),
    "user.password": _l("Password changed"), "user.totp": _l("Second factor changed"),
    "token.create": _l("API token created"), "token.revoke": _l("API token revoked"),
    "site.move": _l("Site moved"), "ledger.reverse": _l("Ledger entry reversed"),
    "ledger.checkpoint": _l("Ledger checkpoint signed"), "baseline.review": _l("Baseline reviewed"),
    "claim.review": _l("Claim reviewed"), "claim.pay": _l("Claim paid"), "recovery.settle": _l("Recovery settled"),
    "loan.review": _l("Loan project reviewed"), "tariff.version": _l("New tariff version"),
    "scheme.version": _l("New subsidy scheme version"), "generation.correct": _l("Declaration corrected"),
    "co2.certificate": _l("CO2 certificate issued"),
}
#: The tables a change or an audit entry points at.
TARGET = {"organisation": _l("Organisation"), "user": _l("User"), "api_token": _l("API token"), "site": _l("Site"),
          "ledger_entry": _l("Ledger entry"), "ledger_checkpoint": _l("Ledger checkpoint"), "baseline": _l("Baseline"),
          "subsidy_claim": _l("Claim"), "subsidy_recovery": _l("Recovery"), "loan_project": _l("Loan project"),
          "tariff_version": _l("Tariff version"), "subsidy_scheme": _l("Subsidy scheme"),
          "generation_record": _l("Declaration"), "co2_certificate": _l("CO2 certificate"),
          "supply_listing": _l("Supply listing"), "demand_listing": _l("Demand listing"),
          "agreement": _l("Agreement"), "proposal": _l("Proposal"), "match_round": _l("Matching round")}
#: Kinds of label a template can ask `code_label(kind, value)` for.
KINDS: dict[str, Mapping[Any, object]] = {
    "org_kind": ORG_KIND, "verification": VERIFICATION, "listing_status": LISTING_STATUS,
    "proposal_status": PROPOSAL_STATUS, "decision": DECISION, "scope": ROUND_SCOPE, "mode": MODE,
    "round_status": ROUND_STATUS, "use": USE, "claim_status": CLAIM_STATUS, "review_status": REVIEW_STATUS,
    "subsidy_measure": SUBSIDY_MEASURE, "group": UTILISATION_GROUP, "role": USER_ROLE, "unit": UNIT,
    "field": FIELD, "audit_action": AUDIT_ACTION, "target": TARGET,
}


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh")


def material(code: object) -> str:
    """A material's name in the page's language, from the catalogue (its names are data, in both languages)."""
    from flask import g, has_app_context

    key = str(getattr(code, "value", code) or "")
    if not key or not has_app_context():
        return key
    from .models.catalogue import in_language

    names = g.get("_material_names")
    if names is None:
        from .services import catalogue

        names = g._material_names = catalogue.names()
    zh, en = names.get(key, (key, key))
    return in_language(zh, en, _locale())


def material_grade(code: object, grade: object) -> str:
    """"Fly ash I": a grade is only a name beside its material (I and II exist for several materials)."""
    return f"{material(code)} {grade}" if grade else material(code)


def place(key: object) -> str:
    """A county, city or industrial park (gazetteer keys, "park:Ningdong" for a park) in the page's language."""
    from . import gazetteer

    text, locale = str(key or ""), _locale()
    if text.startswith("park:"):
        return gazetteer.park_label(text[5:], locale)
    if text in gazetteer.CITIES:
        return gazetteer.city_label(text, locale)
    if text in gazetteer.COUNTIES:
        return gazetteer.county_label(text, locale)
    return gazetteer.park_label(text, locale)


def group_value(group: str, value: object) -> str:
    """The first cell of a utilisation row: a place, a material or a month, by the table's grouping."""
    if group in ("region", "county"):
        return place(value)
    if group == "city":
        return place(value)
    if group == "park":
        return place(f"park:{value}") if value and value != "—" else str(_l("Outside the industrial parks"))
    if group == "material":
        return material(value)
    return str(value)


def field(name: object) -> str:
    return label(FIELD, name)


def decimal_text(number: Any, pattern: str) -> str:
    """A number as people read it, in the page's locale, rounded half up (四舍五入).

    Babel rounds half to even; a spreadsheet shows the same cell half up (0.4545 as 45.5 %), and so do
    Chinese statistics. Every figure shown to people goes through here or `percent_text`. Babel's own
    format_decimal parses the pattern at every call, a third of its time on a page of figures: each
    pattern is parsed once (`_number_pattern`) and applied as Babel does."""
    from decimal import ROUND_HALF_UP, localcontext

    from flask_babel import get_locale

    with localcontext(rounding=ROUND_HALF_UP):
        return str(_number_pattern(pattern).apply(number, Locale.parse(get_locale() or LC_NUMERIC)))


def percent_text(number: Any, pattern: str) -> str:
    """A fraction as a per cent ("#,##0.0%": the pattern's % multiplies by 100), rounded half up like
    `decimal_text`."""
    if "%" not in pattern:
        raise ValueError(f"not a per cent pattern: {pattern!r}")
    return decimal_text(number, pattern)


@functools.lru_cache(maxsize=128)
def _number_pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


def change_value(name: str, value: object) -> str:
    """A value in a listing's or a claim's history as a reader wants it: names for codes and ids, tonnes for
    kilograms, "—" for nothing."""
    from decimal import Decimal, InvalidOperation

    if value is None or value == "":
        return "—"
    if name == "status":
        return label(LISTING_STATUS, value)
    if name == "use":
        return label(USE, value)
    if name in ("material", "material_id"):
        return _material_by_id(value) if name == "material_id" else material(value)
    if name == "site_id":
        return _site_name(value)
    if name == "certificate":
        return str(_l("uploaded"))
    if name.endswith("_yuan") or name == "yuan":
        try:
            return f"{decimal_text(Decimal(str(value)), '#,##0.00')} {UNIT['yuan']}"
        except InvalidOperation:
            return str(value)
    if name.endswith("_kg"):
        try:
            return f"{decimal_text(Decimal(str(value)) / 1000, '#,##0.000')} {UNIT['t']}"
        except InvalidOperation:
            return str(value)
    if isinstance(value, dict):
        return "; ".join(f"{field(k)}: {change_value(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(change_value(name, v) for v in value)
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    return str(value)


def details(values: Mapping[str, object]) -> str:
    """An audit entry's or a claim event's details as "Field: value; ..." in the page's language."""
    return "; ".join(f"{field(k)}: {change_value(k, v)}" for k, v in values.items())


def target(kind: str, ident: object) -> str:
    """What an audit entry points at: "Claim #12"."""
    return f"{label(TARGET, kind)} #{ident}" if kind else ""


def _material_by_id(value: object) -> str:
    from .extensions import db
    from .models import Material

    found = db.session.get(Material, int(str(value))) if str(value).isdigit() else None
    return material(found.code) if found else str(value)


def _site_name(value: object) -> str:
    from .extensions import db
    from .models import Site

    found = db.session.get(Site, int(str(value))) if str(value).isdigit() else None
    return found.name if found else str(value)


#: Which statuses an export's "status" column holds, by the table (the `group` of web.spreadsheet).
STATUS_OF_TABLE: dict[str, Mapping[Any, object]] = {"claims": CLAIM_STATUS, "listings": LISTING_STATUS}


def export_header(column: str, group: str | None = None) -> str:
    """A column's header in an export for people: the field's name, or the column as it is when it has none;
    a utilisation table's "group" column is named by what it groups (City, Material, ...)."""
    if column == "group" and group in UTILISATION_GROUP:
        return str(UTILISATION_GROUP[group])
    return str(FIELD.get(column, column))


def export_value(column: str, value: object, group: str | None = None, csv: bool = False) -> object:
    """A cell of an export for people: names instead of codes; a CSV writes a rate as a per cent ("42.3%"),
    an XLSX keeps the fraction and formats it."""
    if value is None or value == "":
        return value
    if column == "group" and group:
        return group_value(group, value)
    if column in ("material", "material_code"):
        return material(value)
    if column in ("county", "region", "city"):
        return place(value)
    if column == "park":
        return place(f"park:{value}")
    if column == "status" and group in STATUS_OF_TABLE:
        return label(STATUS_OF_TABLE[group], value)
    if column == "mode":
        return label(MODE, value)
    if column == "measure":
        return label(SUBSIDY_MEASURE, value)
    if column == "use":
        return label(USE, value)
    if csv and column.endswith(("_rate", "_share")):
        from decimal import Decimal, InvalidOperation

        try:
            return percent_text(Decimal(str(value)), "#,##0.0#%")
        except InvalidOperation:
            return value
    return value


def template_helpers() -> dict[str, Any]:
    """The label helpers every template gets (registered once in web.py)."""
    return {
        "code_label": lambda kind, value: label(KINDS[kind], value),
        "material_label": material,
        "material_grade_label": material_grade,
        "place_label": place,
        "group_value_label": group_value,
        "field_label": field,
        "change_value": change_value,
        "audit_action_label": lambda value: label(AUDIT_ACTION, value),
        "unit_label": lambda value: label(UNIT, value),
    }
