"""Supply and demand listings: validation, lifecycle, history, browsing and confidentiality."""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any, cast

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import CTE, ColumnElement, Float, Select, and_, case, func, literal, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import InstrumentedAttribute, contains_eager, joinedload, selectinload

from .. import gazetteer, policy
from ..clock import today_cst
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db, rowcount
from ..labels import FIELD, LISTING_STATUS, label
from ..models import DemandListing, ListingEvent, ListingStatus, Material, Site, SupplyListing, User
from ..models.listing import EXPIRING_STATUSES, AnyListing, ListingModel, demand_listing_material, live, status_is
from ..schemas import listings as listing_schemas
from ..schemas.common import validate, validate_value
from . import calendar
from .catalogue import material_by_code
from .proposals import end_pending_proposals
from .values import MAX_ID, get_row, plain

MODELS: dict[str, type[SupplyListing] | type[DemandListing]] = {"supply": SupplyListing, "demand": DemandListing}
#: Fields an owner may change once part of the listing is promised in agreements.
CHANGEABLE_WHEN_PROMISED = {"tonnes", "period_end", "notes", "price_yuan_per_t", "max_delivered_price_yuan_per_t",
                            "storage_capacity_t", "storage_stock_t", "holding_yuan_per_t_month"}
#: Status moves an owner may make; the others (partly/fully matched, expired) belong to the system.
OWNER_MOVES = {
    ListingStatus.DRAFT: {ListingStatus.OPEN, ListingStatus.WITHDRAWN},
    ListingStatus.OPEN: {ListingStatus.WITHDRAWN, ListingStatus.DRAFT},
    ListingStatus.PARTLY_MATCHED: {ListingStatus.WITHDRAWN},
}


def model_for(side: str) -> ListingModel:
    try:
        return MODELS[side]
    except KeyError:
        raise NotFound(_l("No such kind of listing.")) from None


# --- validation ----------------------------------------------------------------------------------------

def _grade(material: Material, value: object, field_name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value not in material.grade_codes:
        if not material.grade_codes:
            raise ValidationError(_l("%(material)s has no grades.", material=material.code), field=field_name)
        raise ValidationError(_l("Not a grade of %(material)s (grades: %(grades)s).", material=material.code,
                                 grades=", ".join(material.grade_codes)), field=field_name)
    return value


def _quality(material: Material, values: object, field_name: str = "quality") -> dict[str, str]:
    if values in (None, ""):
        return {}
    if not isinstance(values, dict):
        raise ValidationError(_l("Give quality as {parameter: value}."), field=field_name)
    known = {p.code for p in material.parameters}
    out = {}
    for code, value in values.items():
        if code not in known:
            raise ValidationError(_l("%(param)s is not a quality parameter of %(material)s.", param=code,
                                     material=material.code), field=f"{field_name}.{code}")
        if value in (None, ""):
            continue
        out[code] = plain(validate_value(listing_schemas.QualityValue, value, f"{field_name}.{code}"))
    return out


def _quality_limits(material: Material, values: object) -> dict[str, dict[str, str]]:
    if values in (None, ""):
        return {}
    if not isinstance(values, dict):
        raise ValidationError(_l("Give quality limits as {parameter: {\"min\": x, \"max\": y}}."),
                              field="quality_limits")
    known = {p.code for p in material.parameters}
    out = {}
    for code, bounds in values.items():
        where = f"quality_limits.{code}"
        if code not in known:
            raise ValidationError(_l("%(param)s is not a quality parameter of %(material)s.", param=code,
                                     material=material.code), field=where)
        if not isinstance(bounds, dict) or set(bounds) - {"min", "max"}:
            raise ValidationError(_l("Give quality limits as {parameter: {\"min\": x, \"max\": y}}."), field=where)
        clean = {k: plain(validate_value(listing_schemas.QualityValue, v, f"{where}.{k}"))
                 for k, v in bounds.items() if v not in (None, "")}
        if "min" in clean and "max" in clean and Decimal(clean["min"]) > Decimal(clean["max"]):
            raise ValidationError(_l("The minimum is above the maximum."), field=where)
        if clean:
            out[code] = clean
    return out


def _also_materials(material: Material, codes: list[str]) -> list[Material]:
    """The other materials a demand accepts, from their codes (the demand's own material and repeats left out)."""
    out: list[Material] = []
    for code in codes:
        other = material_by_code(code)
        if other is None:
            raise ValidationError(_l("Unknown material: %(code)s.", code=code[:40]), field="also_materials")
        if other.id != material.id and other not in out:
            out.append(other)
    return sorted(out, key=lambda m: m.code)  # as the relationship orders them


def _one_material_rules(values: dict[str, Any], existing: AnyListing | None) -> None:
    """A minimum grade and quality limits belong to one material: a need that accepts others has neither (the
    optimiser refuses a grade on such a demand, and another material's supply lacks the parameters)."""
    also = values.get("also_materials", getattr(existing, "also_materials", []))
    if not also:
        return
    if values.get("min_grade", getattr(existing, "min_grade", None)) or \
            values.get("quality_limits", getattr(existing, "quality_limits", None)):
        raise ValidationError(_l("A minimum grade and quality limits belong to one material: leave them empty "
                                 "when the need accepts other materials too."), field="also_materials")


def clean_listing(actor: User, side: str, data: dict[str, Any], existing: AnyListing | None = None) -> dict[str, Any]:
    """Validate the input of a new listing (or of a change to `existing`) and return clean column values.

    `data` uses the API's field names. The schema (schemas/listings.py) checks each field; this adds the
    rules that need the database: the poster's own active site, a catalogue material, its grades and quality
    parameters, and a sensible period. Only the keys present are checked for a change."""
    schema = (listing_schemas.UPDATE if existing is not None else listing_schemas.CREATE)[side]
    given_fields = validate(schema, data)
    present = given_fields.model_fields_set if existing is not None else set(schema.model_fields)
    fields = {name: getattr(given_fields, name) for name in present if name != "status"}

    def given(name: str) -> bool:
        return name in fields

    values: dict = {}
    if given("site_id"):
        site = db.session.get(Site, fields["site_id"])
        if site is None or site.organisation_id != actor.organisation_id:
            raise ValidationError(_l("Choose one of your sites."), field="site_id")
        if not site.active:
            raise ValidationError(_l("This site is archived."), field="site_id")
        values["site_id"] = site.id
    if given("material"):
        material = material_by_code(fields["material"])
        if material is None:
            raise ValidationError(_l("Unknown material."), field="material")
        values["material_id"] = material.id
    else:
        assert existing is not None  # given() holds for every field of a new listing
        material = existing.material
    grade_field = "grade" if side == "supply" else "min_grade"
    if given(grade_field) or ("material_id" in values and existing is not None):
        values[grade_field] = _grade(material, fields.get(grade_field, getattr(existing, grade_field, None)),
                                     grade_field)
    if side == "supply":
        if given("quality") or ("material_id" in values and existing is not None):
            values["quality"] = _quality(material, fields.get("quality", getattr(existing, "quality", None)))
        if given("price_yuan_per_t"):
            values["price_yuan_per_t"] = fields["price_yuan_per_t"]
    else:
        if given("quality_limits") or ("material_id" in values and existing is not None):
            values["quality_limits"] = _quality_limits(
                material, fields.get("quality_limits", getattr(existing, "quality_limits", None)))
        if given("use"):
            values["use"] = fields["use"] or "other"
        if given("max_delivered_price_yuan_per_t"):
            values["max_delivered_price_yuan_per_t"] = fields["max_delivered_price_yuan_per_t"]
        if given("also_materials") or ("material_id" in values and existing is not None):
            codes = fields.get("also_materials") if given("also_materials") else \
                [m.code for m in getattr(existing, "also_materials", [])]
            values["also_materials"] = _also_materials(material, codes or [])
        _one_material_rules(values, existing)
    for name in ("tonnes", "max_haul_km", "period_start", "period_end", "notes", "monthly_tonnes",
                 "storage_capacity_t", "storage_stock_t", "holding_yuan_per_t_month"):
        if given(name):
            values[name] = fields[name]
    _check_storage(values, existing)

    start = values.get("period_start", getattr(existing, "period_start", None))
    end = values.get("period_end", getattr(existing, "period_end", None))
    if start and end and end < start:
        raise ValidationError(_l("The period ends before it starts."), field="period_end")
    if "period_end" in values and values["period_end"] < today_cst():
        raise ValidationError(_l("The period has already ended."), field="period_end")
    if start and end and (end - start).days > 3 * 366:
        raise ValidationError(_l("A listing covers at most three years."), field="period_end")
    return values


def _check_storage(values: dict[str, Any], existing: AnyListing | None) -> None:
    """The yard or silo: a stock and a holding cost need a capacity, and the stock fits in it."""
    names = ("storage_capacity_t", "storage_stock_t", "holding_yuan_per_t_month")
    if not any(name in values for name in names):
        return
    capacity, stock, holding = (values.get(n, getattr(existing, n, None)) for n in names)
    if capacity == 0:
        raise ValidationError(_l("A yard or silo holds at least one tonne (leave it blank if there is none)."),
                              field="storage_capacity_t")
    if capacity is None and (stock or holding):
        raise ValidationError(_l("Give the capacity of the yard or silo first."), field="storage_capacity_t")
    if capacity is not None:
        values.setdefault("storage_stock_t", stock if stock is not None else 0)
        if values["storage_stock_t"] is None:
            values["storage_stock_t"] = 0
        values.setdefault("holding_yuan_per_t_month", holding if holding is not None else Decimal("0.00"))
        if values["holding_yuan_per_t_month"] is None:
            values["holding_yuan_per_t_month"] = Decimal("0.00")
        if values["storage_stock_t"] > capacity:
            raise ValidationError(_l("The stock cannot exceed the capacity (%(n)s t).", n=f"{capacity:,}"),
                                  field="storage_stock_t")
    else:
        values["storage_stock_t"] = values["holding_yuan_per_t_month"] = None


def _default_profile(side: str, values: dict[str, Any]) -> list[int] | None:
    """A new listing without its own monthly profile: a supply takes its site's declared generation, a cement
    or clinker demand the production calendar of its city (the firm may correct either afterwards)."""
    if side == "supply":
        return calendar.supply_profile(values["site_id"], values["material_id"], values["tonnes"],
                                       values["period_start"], values["period_end"])
    site = db.session.get_one(Site, values["site_id"])
    return calendar.demand_profile(site.city, str(values.get("use") or "other"), values["tonnes"],
                                   values["period_start"], values["period_end"])


# --- lifecycle -----------------------------------------------------------------------------------------

def _snapshot(listing: AnyListing) -> dict[str, Any]:
    keys = ["status", "site_id", "material_id", "tonnes", "tonnes_promised", "period_start", "period_end",
            "max_haul_km", "notes", "monthly_tonnes", "storage_capacity_t", "storage_stock_t",
            "holding_yuan_per_t_month"]
    keys += (["grade", "quality", "price_yuan_per_t"] if listing.side == "supply"
             else ["min_grade", "quality_limits", "max_delivered_price_yuan_per_t", "use"])
    out = {k: _jsonable(getattr(listing, k)) for k in keys}
    if isinstance(listing, DemandListing):
        out["also_materials"] = [m.code for m in listing.also_materials]
    return out


def _jsonable(value):
    if isinstance(value, (Decimal, date)):
        return str(value)
    if hasattr(value, "value"):
        return value.value
    return value


def _record(listing: AnyListing, actor: User | None, action: str, changes: dict[str, Any]) -> None:
    key = "supply_listing_id" if listing.side == "supply" else "demand_listing_id"
    db.session.add(ListingEvent(**{key: listing.id}, user_id=actor.id if actor else None, action=action,
                                changes=changes))


def _require_publisher(actor: User, side: str) -> None:
    org = actor.organisation
    if side == "supply" and not org.is_producer:
        raise PermissionDenied(_l("Only producers offer waste."))
    if side == "demand" and not org.is_consumer:
        raise PermissionDenied(_l("Only utilisers post needs."))
    if not org.is_verified:
        raise PermissionDenied(_l("Your organisation must be verified first."))


def check_new_listing(actor: User, side: str, data: dict,
                      status: str | ListingStatus = ListingStatus.OPEN) -> tuple[dict, ListingStatus]:
    """Every check of a new listing, writing nothing: (clean column values, status)."""
    _require_publisher(actor, side)
    data = {"status": getattr(status, "value", status), **data}
    status = ListingStatus(validate(listing_schemas.CREATE[side], data).model_dump()["status"])
    values = clean_listing(actor, side, data)
    if values.get("monthly_tonnes") is None:
        values["monthly_tonnes"] = _default_profile(side, values)
    return values, status


def insert_listing(actor: User, side: str, values: dict[str, Any], status: ListingStatus) -> AnyListing:
    """Store a listing whose values check_new_listing has cleaned."""
    listing = model_for(side)(organisation_id=actor.organisation_id, created_by_id=actor.id, status=status,
                              tonnes_promised=0, **values)
    db.session.add(listing)
    db.session.flush()
    _record(listing, actor, "created", _snapshot(listing))
    return listing


def create_listing(actor: User, side: str, data: dict[str, Any],
                   status: str | ListingStatus = ListingStatus.OPEN) -> AnyListing:
    """A new listing of the actor's organisation, open at once unless asked to be a draft."""
    values, status = check_new_listing(actor, side, data, status)
    return insert_listing(actor, side, values, status)


def get_listing(side: str, listing_id: int, viewer: User | None = None, for_update: bool = False) -> AnyListing:
    """The listing, if the viewer may see it: its owner and staff always; others only while it is live."""
    model = model_for(side)
    if not 0 < listing_id <= MAX_ID:
        raise NotFound(_l("No such listing."))
    query = select(model).where(model.id == listing_id)
    if for_update:
        query = query.with_for_update()
    listing = cast("AnyListing | None", db.session.scalar(query))
    if listing is None:
        raise NotFound(_l("No such listing."))
    if viewer is not None and not can_see_listing(viewer, listing):
        raise NotFound(_l("No such listing."))
    return listing


def own_listing(actor: User, side: str, listing_id: int) -> AnyListing:
    listing = get_listing(side, listing_id, actor, for_update=True)
    if listing.organisation_id != actor.organisation_id:
        raise PermissionDenied(_l("Only the organisation that posted a listing may change it."))
    return listing


def require_editable(listing: AnyListing) -> None:
    if listing.status not in OWNER_MOVES:
        raise Conflict(_l("A listing that is %(status)s can no longer be changed.",
                          status=label(LISTING_STATUS, listing.status)), field="status")


def update_listing(actor: User, side: str, listing_id: int, data: dict[str, Any]) -> AnyListing:
    """Change what is not yet promised; every change goes into the history."""
    listing = own_listing(actor, side, listing_id)
    _require_publisher(actor, side)
    require_editable(listing)
    values = clean_listing(actor, side, data, existing=listing)
    if listing.tonnes_promised:
        frozen = set(values) - CHANGEABLE_WHEN_PROMISED - {"quality", "quality_limits", "grade", "min_grade"}
        changed = [k for k in frozen if _jsonable(values[k]) != _jsonable(getattr(listing, k))]
        if changed:
            raise Conflict(_l("Part of this listing is promised; %(field)s can no longer change.",
                              field=label(FIELD, changed[0])), field=changed[0])
        if values.get("tonnes", listing.tonnes) < listing.tonnes_promised:
            raise Conflict(_l("%(n)s t are already promised; the listing cannot offer fewer.",
                              n=listing.tonnes_promised), field="tonnes")
    before = _snapshot(listing)
    for key, value in values.items():
        setattr(listing, key, value)
    db.session.flush()
    after = _snapshot(listing)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        _record(listing, actor, "updated", changes)
        _end_proposals(listing)  # they were priced and accepted on what the listing said before
    return listing


def _end_proposals(listing: AnyListing) -> None:
    end_pending_proposals(listing)


def set_status(actor: User, side: str, listing_id: int, status: str) -> AnyListing:
    """Publish a draft, take an open listing back to draft, or withdraw what is not promised."""
    listing = own_listing(actor, side, listing_id)
    try:
        target = ListingStatus(status)
    except ValueError:
        raise ValidationError(_l("Unknown status."), field="status") from None
    if target == listing.status:
        return listing
    if target not in OWNER_MOVES.get(listing.status, set()):
        raise Conflict(_l("A listing cannot go from %(old)s to %(new)s.", old=label(LISTING_STATUS, listing.status),
                          new=label(LISTING_STATUS, target)), field="status")
    if target == ListingStatus.OPEN:
        _require_publisher(actor, side)
        if listing.period_end < today_cst():
            raise Conflict(_l("The period has already ended."), field="period_end")
    old = listing.status
    listing.status = target
    db.session.flush()
    _record(listing, actor, target.value, {"status": [old.value, target.value]})
    if target in (ListingStatus.WITHDRAWN, ListingStatus.DRAFT):
        _end_proposals(listing)  # a listing taken off the market holds nothing and can be agreed no more
    return listing


def expire_due(today: date | None = None) -> int:
    """Store the expiry of drafts and live listings whose period has ended (the scheduled job; every read
    already treats them as expired: models.listing); returns how many."""
    today = today or today_cst()
    count = 0
    for model in MODELS.values():
        result = db.session.execute(
            update(model).where(model.period_end < today, model.status.in_(EXPIRING_STATUSES))
            .values(status=ListingStatus.EXPIRED).execution_options(synchronize_session=False))
        count += rowcount(result) or 0
    return count


def history(listing: AnyListing) -> list[ListingEvent]:
    key = ListingEvent.supply_listing_id if listing.side == "supply" else ListingEvent.demand_listing_id
    return list(db.session.scalars(select(ListingEvent).where(key == listing.id)
                                   .options(joinedload(ListingEvent.user)).order_by(ListingEvent.id)))


# --- confidentiality -----------------------------------------------------------------------------------

def can_see_listing(viewer: User, listing: AnyListing) -> bool:
    """Its owner and staff always; others while it is live; the other party of a deal on it always, whatever
    its state (closed, withdrawn, expired, fully promised): the buyer keeps what it bought."""
    return (listing.organisation_id == viewer.organisation_id or viewer.organisation.is_staff
            or listing.is_live or _party_to_a_deal_on(viewer, listing))


def _party_to_a_deal_on(viewer: User, listing: AnyListing) -> bool:
    from sqlalchemy import or_

    from ..models import Agreement

    on = Agreement.supply_listing_id if listing.side == "supply" else Agreement.demand_listing_id
    org = viewer.organisation_id
    return db.session.scalar(select(Agreement.id).where(
        on == listing.id, or_(Agreement.producer_org_id == org, Agreement.consumer_org_id == org)).limit(1)) is not None


def can_see_identity(viewer: User, listing: AnyListing) -> bool:
    """Who offers or needs it, the exact site and the notes: the owner, staff, and agreed counterparties."""
    return policy.sees_site_of(viewer, listing.organisation_id)


# --- coarse positions ----------------------------------------------------------------------------------
#
# Until two organisations have an agreement, neither may learn where the other's sites are to better than
# one cell of a fixed grid (about 11 km a side). Every distance, filter, sort and price that involves a site
# hidden from the viewer is computed from the centre of that site's cell, never from the site itself: no
# number of queries, rounds or moves of one's own sites can then tell two places inside one cell apart.

#: Cell size in degrees (latitude, longitude): 0.1 x 0.125 degrees is 11.1 km x 10.4-11.5 km in 34-41.5 N.
DEFAULT_CELL_DEG = ("0.1", "0.125")
#: Distances to hidden sites are shown, filtered and sorted in steps of this many km.
HIDDEN_DISTANCE_STEP_KM = 5


def _cell_size() -> tuple[Decimal, Decimal]:
    lat = policy.setting("LOCATION_CELL_LAT_DEG", DEFAULT_CELL_DEG[0])
    lon = policy.setting("LOCATION_CELL_LON_DEG", DEFAULT_CELL_DEG[1])
    return Decimal(str(lat)), Decimal(str(lon))


def coarse_position(lat: Decimal, lon: Decimal) -> tuple[float, float]:
    """The centre of the grid cell that holds (lat, lon): what others see of a site before an agreement.

    Computed in Decimal from the stored six-place coordinates, so a point is always in the same cell."""
    dlat, dlon = _cell_size()
    row = (Decimal(str(lat)) / dlat).to_integral_value(ROUND_FLOOR)
    col = (Decimal(str(lon)) / dlon).to_integral_value(ROUND_FLOOR)
    return float((row + Decimal("0.5")) * dlat), float((col + Decimal("0.5")) * dlon)


def coarse_site_position(site: Site) -> tuple[float, float]:
    """coarse_position of a site (for maps and the optimiser's instance)."""
    return coarse_position(site.lat, site.lon)


def distances_from(viewer: User, lat0: float | Decimal, lon0: float | Decimal,
                   rows: Iterable[tuple[int, int, Decimal, Decimal]]) -> dict[int, float]:
    """Distances in km from (lat0, lon0) to each (key, organisation id, lat, lon) row, as the viewer may know
    them: exact to 0.1 km for sites it may see, else from the hidden site's cell centre in 5 km steps."""
    rows = list(rows)
    if not rows:
        return {}
    visible = np.array([policy.sees_site_of(viewer, org_id) for _key, org_id, _lat, _lon in rows])
    # the cell centre (Decimal arithmetic) only where the site is hidden
    places = [(float(lat), float(lon)) if v else coarse_position(lat, lon)
              for (_key, _org, lat, lon), v in zip(rows, visible, strict=True)]
    lats = np.array([p[0] for p in places])
    lons = np.array([p[1] for p in places])
    km = distances_km(float(lat0), float(lon0), lats, lons)
    step = HIDDEN_DISTANCE_STEP_KM
    shown = np.where(visible, np.round(km, 1), step * np.round(km / step))
    return {row[0]: float(d) for row, d in zip(rows, shown, strict=True)}


# --- browsing ------------------------------------------------------------------------------------------

SORTS = listing_schemas.SORTS


@dataclass
class Search:
    material: str = ""
    grade: str = ""
    city: str = ""
    county: str = ""
    min_tonnes: int | None = None
    max_price: Decimal | None = None
    min_price: Decimal | None = None
    near_site_id: int | None = None
    within_km: int | None = None
    mine: bool = False
    status: str = ""
    q: str = ""  # a listing's number, or words of the notes the viewer may read
    sort: str = "newest"
    page: int = 1
    per_page: int = 25


@dataclass
class Results:
    items: list
    total: int
    page: int
    per_page: int
    distances: dict = field(default_factory=dict)  # listing id -> km from the chosen site

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


EARTH_RADIUS_KM = 6371.009


def distances_km(lat0: float | np.ndarray, lon0: float | np.ndarray, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances from one point to many (haversine), in km; arrays broadcast (a matrix of pairs)."""
    phi0, phis = np.radians(lat0), np.radians(lats)
    dphi, dlmb = phis - phi0, np.radians(lons - lon0)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi0) * np.cos(phis) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _cell_micro() -> tuple[int, int]:
    """The cell size in millionths of a degree (the stored coordinates' unit), so that SQL can place a site in
    its cell with exact integer arithmetic, as coarse_position does in Decimal."""
    out = []
    for size in _cell_size():
        micro = size * 1_000_000
        if micro != micro.to_integral_value() or micro <= 0:
            raise ValueError(f"location cell size {size} is not a whole number of millionths of a degree")
        out.append(int(micro))
    return out[0], out[1]


def _sql_cell_centre(coordinate: ColumnElement[Any] | InstrumentedAttribute[Any], micro: int) -> ColumnElement[Any]:
    """SQL for the centre of the cell holding `coordinate` (degrees, six places), as coarse_position computes it:
    the cell's index is an exact integer division of whole millionths, and the centre (2 row + 1) * size / 2 is
    one correctly rounded division, so it equals float(Decimal centre) bit for bit."""
    whole = func.round(sql_cast(coordinate, Float) * 1_000_000)
    row = func.floor(whole / float(micro))
    return ((2 * row + 1) * micro) / 2_000_000.0


def _sql_km(lat0: float, lon0: float, lat: ColumnElement[Any], lon: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL haversine from (lat0, lon0), the same float operations as distances_km (numpy)."""
    rad = math.pi / 180  # numpy's deg2rad factor
    phi0 = lat0 * rad
    phi = lat * rad
    half_dphi = (phi - phi0) / 2.0
    half_dlmb = ((lon - lon0) * rad) / 2.0
    a = (func.sin(half_dphi) * func.sin(half_dphi)
         + math.cos(phi0) * func.cos(phi) * (func.sin(half_dlmb) * func.sin(half_dlmb)))
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(case((a > 1.0, 1.0), else_=a)))


def shown_distance_sql(viewer: User, lat0: Decimal | float, lon0: Decimal | float) -> ColumnElement[Any]:
    """SQL for the distance in km from (lat0, lon0) to a joined Site as the viewer may know it (distances_from):
    exact to 0.1 km for sites it may see, else from the hidden site's cell centre in 5 km steps."""
    lat0, lon0 = float(lat0), float(lon0)
    mlat, mlon = _cell_micro()
    exact = _sql_km(lat0, lon0, sql_cast(Site.lat, Float), sql_cast(Site.lon, Float))
    coarse = _sql_km(lat0, lon0, _sql_cell_centre(Site.lat, mlat), _sql_cell_centre(Site.lon, mlon))
    exact_shown = func.round(exact * 10.0) / 10.0
    step = float(HIDDEN_DISTANCE_STEP_KM)
    coarse_shown = step * func.round(coarse / step)
    org = viewer.organisation
    if org.is_staff:
        return exact_shown
    seen = sorted({org.id} | policy.counterparties(org.id))  # organisation ids, a handful
    return case((Site.organisation_id.in_(seen), exact_shown), else_=coarse_shown)


def _box(lat0: Decimal | float, lon0: Decimal | float, km: float) -> list[ColumnElement[bool]]:
    """A bounding box on the indexed site coordinates holding every site whose shown distance can be <= km
    (a hidden site may lie half a cell from its centre and its distance is rounded by up to half a step)."""
    dlat, dlon = (float(d) for d in _cell_size())
    reach = km + HIDDEN_DISTANCE_STEP_KM / 2 + 1
    lat0, lon0 = float(lat0), float(lon0)
    dlat_deg = reach / 110.5 + dlat
    top = min(89.9, abs(lat0) + dlat_deg)
    dlon_deg = min(180.0, reach / (111.0 * math.cos(math.radians(top))) + dlon)

    def dec(x: float, up: bool) -> Decimal:
        return Decimal(math.ceil(x * 1e6) if up else math.floor(x * 1e6)).scaleb(-6)

    return [Site.lat >= dec(lat0 - dlat_deg, False), Site.lat <= dec(lat0 + dlat_deg, True),
            Site.lon >= dec(lon0 - dlon_deg, False), Site.lon <= dec(lon0 + dlon_deg, True)]


@dataclass
class _Filtered:
    """What a search selects: the listing model, its conditions, the distance shown (if measured), the order."""
    model: Any
    where: list[ColumnElement[bool]]
    needs_site: bool
    near: CTE | None  # (site_id, km) of the sites within reach, when distances are measured
    order: list[Any]

    @property
    def distance(self) -> ColumnElement[Any] | None:
        return None if self.near is None else self.near.c.km

    def _joined(self, query: Select[Any]) -> Select[Any]:
        if self.near is not None:
            query = query.join(self.near, self.model.site_id == self.near.c.site_id)
        return query

    def narrow(self, *columns: Any) -> Select[Any]:
        """The filtered rows on the narrowest join (the site only when a condition needs it)."""
        query = select(*columns).select_from(self.model)
        if self.needs_site:
            query = query.join(Site, self.model.site_id == Site.id)
        return self._joined(query).where(*self.where)

    def full(self, *columns: Any, near: bool = True) -> Select[Any]:
        """The listings with site, material and organisation loaded (and joined to the distances if `near`)."""
        model = self.model
        query = select(model, *columns).join(Site, model.site_id == Site.id)
        query = ((self._joined(query) if near else query)
                 .options(contains_eager(model.site), joinedload(model.material), joinedload(model.organisation)))
        if model is DemandListing:
            query = query.options(selectinload(DemandListing.also_materials))
        return query


def _text_match(viewer: User, model: Any, q: str) -> ColumnElement[bool]:
    """A listing by its number (12 or #12), or by words of its notes, case-insensitively: notes only of the
    listings whose notes the viewer may read (its own, its agreed counterparties', all for staff), so that the
    search reveals no more than the page shows. No index serves '%words%': the other filters and the page
    bound it."""
    matches: list[ColumnElement[bool]] = []
    number = q.removeprefix("#").strip()
    if number.isascii() and number.isdigit() and int(number) <= MAX_ID:
        matches.append(model.id == int(number))
    in_notes = model.notes.icontains(q, autoescape=True)
    if viewer.organisation.is_staff:
        matches.append(in_notes)
    else:
        readable = sorted({viewer.organisation_id} | policy.counterparties(viewer.organisation_id))
        matches.append(and_(model.organisation_id.in_(readable), in_notes))
    return or_(*matches)


def _filtered(viewer: User, side: str, s: Search) -> _Filtered:
    model: Any = model_for(side)  # either side's class: the side picks its columns below
    price = model.price_yuan_per_t if side == "supply" else model.max_delivered_price_yuan_per_t
    where: list[ColumnElement[bool]] = []
    if s.mine:
        where.append(model.organisation_id == viewer.organisation_id)
        if s.status:
            where.append(status_is(model, ListingStatus(s.status)))
    elif viewer.organisation.is_staff and s.status:
        where.append(status_is(model, ListingStatus(s.status)))
    else:
        where.append(live(model))
    if s.material:
        material_id = select(Material.id).where(Material.code == s.material).scalar_subquery()
        if side == "demand":  # a need that accepts the material among others is found too
            also = (select(demand_listing_material.c.demand_listing_id)
                    .where(demand_listing_material.c.material_id == material_id))
            where.append(or_(model.material_id == material_id, model.id.in_(also)))
        else:
            where.append(model.material_id == material_id)
    if s.grade:
        where.append((model.grade if side == "supply" else model.min_grade) == s.grade)
    if s.city:
        where.append(Site.city == s.city)
    if s.county:
        where.append(Site.county == s.county)
    if s.min_tonnes is not None:
        where.append(model.tonnes - model.tonnes_promised >= s.min_tonnes)
    if s.max_price is not None:
        where.append(price <= s.max_price)
    if s.min_price is not None:
        where.append(price >= s.min_price)
    if s.q:
        where.append(_text_match(viewer, model, s.q))

    near: CTE | None = None
    if s.near_site_id is not None:
        origin = get_row(Site, s.near_site_id)
        if origin is None or origin.organisation_id != viewer.organisation_id:
            raise ValidationError(_l("Choose one of your sites."), field="near_site_id")
        # The filter and the sort compare the very value that is shown: coarse for hidden sites. Measured once
        # per site (in the bounding box when the distance is limited), then joined to the sites' listings.
        km = shown_distance_sql(viewer, origin.lat, origin.lon)
        sites = select(Site.id.label("site_id"), km.label("km"))
        if s.within_km is not None:
            sites = sites.where(*_box(origin.lat, origin.lon, s.within_km))
        # materialised: each site's distance computed once, not again for each listing row that sorts on it
        near = sites.cte("near").prefix_with("MATERIALIZED")
        if s.within_km is not None:
            where.append(near.c.km <= s.within_km)
    orders: dict[str, list[Any]] = {
              "newest": [model.id.desc()], "price": [price.asc(), model.id], "-price": [price.desc(), model.id],
              "tonnes": [model.tonnes.asc(), model.id], "-tonnes": [model.tonnes.desc(), model.id]}
    order = orders.get(s.sort, orders["newest"])
    if near is not None and s.sort == "distance":
        order = [near.c.km, model.id]
    return _Filtered(model, where, bool(s.city or s.county), near, order)


def search(viewer: User, side: str, s: Search) -> Results:
    """Listings the viewer may see, filtered, sorted and paginated like the browse page and the API.

    Three statements whatever the page size or the number of listings: the origin site (when measuring
    distances), the count, and the page (its ids chosen on the narrowest join, then loaded with site,
    material and organisation). Distances are computed, filtered and sorted in the database. When they are
    measured, every matching row is measured and sorted anyway, so the page's statement counts them too
    (a window count) instead of a second statement measuring them all again."""
    f = _filtered(viewer, side, s)
    model = f.model
    keys = [model.id.label("id")] + ([f.distance.label("km")] if f.distance is not None else [])
    counted = f.distance is not None
    if counted:
        keys.append(func.count().over().label("total"))
    else:
        total = db.session.scalar(f.narrow(func.count())) or 0
    page = f.narrow(*keys).order_by(*f.order).offset((s.page - 1) * s.per_page).limit(s.per_page).subquery()
    extra = [page.c.km if f.distance is not None else literal(None)] + ([page.c.total] if counted else [])
    query = f.full(*extra, near=False).join(page, model.id == page.c.id)
    if f.distance is not None and s.sort == "distance":
        query = query.order_by(page.c.km, model.id)
    else:
        query = query.order_by(*f.order)
    rows = db.session.execute(query).all()
    if counted:  # past the last page no row carries the count: count on its own then
        total = rows[0][2] if rows else (db.session.scalar(f.narrow(func.count())) or 0 if s.page > 1 else 0)
    items = [row[0] for row in rows]
    distances = {row[0].id: float(row[1]) for row in rows if row[1] is not None}
    return Results(items=items, total=total, page=s.page, per_page=s.per_page, distances=distances)


def search_all(viewer: User, side: str, s: Search, batch: int = 1_000) -> Iterator[tuple[Any, float | None]]:
    """Every listing of a search (all pages), in its order, with its shown distance: one statement streamed
    in batches (a server-side cursor on PostgreSQL), so an export holds `batch` listings at a time."""
    f = _filtered(viewer, side, s)
    query = (f.full(f.distance if f.distance is not None else literal(None)).where(*f.where).order_by(*f.order)
             .execution_options(yield_per=batch))
    for listing, km in db.session.execute(query):
        yield listing, None if km is None else float(km)


# --- presentation --------------------------------------------------------------------------------------

def listing_out(listing: AnyListing, viewer: User, distance_km: float | None = None) -> listing_schemas.ListingOut:
    """The listing as the API and exports show it to this viewer: identity only to those allowed."""
    site = listing.site
    out: dict[str, Any] = {
           "id": listing.id, "side": listing.side, "status": listing.status, "material": listing.material.code,
           "tonnes": listing.tonnes, "tonnes_promised": listing.tonnes_promised,
           "tonnes_remaining": listing.tonnes_remaining, "period_start": listing.period_start,
           "period_end": listing.period_end, "max_haul_km": listing.max_haul_km, "city": site.city,
           "county": site.county, "created_at": listing.created_at, "updated_at": listing.updated_at,
           "monthly_tonnes": listing.monthly_tonnes, "storage_capacity_t": listing.storage_capacity_t,
           "storage_stock_t": listing.storage_stock_t, "holding_yuan_per_t_month": listing.holding_yuan_per_t_month}
    if isinstance(listing, SupplyListing):
        out.update(grade=listing.grade, quality=dict(listing.quality or {}),
                   price_yuan_per_t=listing.price_yuan_per_t, has_certificate=bool(listing.certificate_path))
    else:
        out.update(min_grade=listing.min_grade, quality_limits=dict(listing.quality_limits or {}),
                   max_delivered_price_yuan_per_t=listing.max_delivered_price_yuan_per_t, use=listing.use,
                   also_materials=[m.code for m in listing.also_materials])
    if distance_km is not None:
        out["distance_km"] = shown_distance(viewer, listing, distance_km)
    if can_see_identity(viewer, listing):
        out.update(site_id=listing.site_id, site_name=site.name, lat=site.lat, lon=site.lon,
                   organisation=listing.organisation.name, notes=listing.notes)
    return listing_schemas.OUT[listing.side](**out)


def shown_distance(viewer: User, listing: AnyListing, km: float | None) -> float | None:
    """The distance a viewer is shown. `search` already measures hidden sites from their cell centre in 5 km
    steps (see distances_from); this only keeps a hidden site's figure on that step."""
    if km is None or can_see_identity(viewer, listing):
        return km
    return float(HIDDEN_DISTANCE_STEP_KM * round(km / HIDDEN_DISTANCE_STEP_KM))


def public_position(listing: AnyListing, viewer: User) -> tuple[float, float]:
    """Where a map may put the listing: the exact site for those allowed, else its county's seat."""
    site = listing.site
    if can_see_identity(viewer, listing):
        return float(site.lat), float(site.lon)
    county = gazetteer.COUNTIES.get(site.county)
    if county is not None:
        return float(county.lat), float(county.lon)
    # A site outside the gazetteer: the centre of its grid cell, the same coarse place distances use (a
    # second, offset grid would halve the cell where the two overlap).
    return coarse_site_position(site)


def search_from_args(args: Mapping[str, str], side: str) -> Search:
    """A Search from query-string arguments (the browse page's and the API's), validated: each value by the
    schema (schemas/listings.py ListingQuery), the catalogue and the gazetteer here."""
    q = validate(listing_schemas.ListingQuery, {k: args.get(k) for k in args})
    s = Search()
    if q.material:
        m = material_by_code(q.material)
        if m is None:
            raise ValidationError(_l("Unknown material."), field="material")
        s.material = q.material
        if q.grade:
            s.grade = _grade(m, q.grade, "grade") or ""
    elif q.grade:
        raise ValidationError(_l("Choose a material to filter by grade."), field="grade")
    if q.city and q.city not in gazetteer.CITIES:
        raise ValidationError(_l("Unknown city."), field="city")
    if q.county and q.county not in gazetteer.COUNTIES:
        raise ValidationError(_l("Unknown county."), field="county")
    s.city, s.county = q.city or "", q.county or ""
    s.min_tonnes, s.min_price, s.max_price = q.min_tonnes, q.min_price, q.max_price
    if q.near_site_id is not None:
        s.near_site_id, s.within_km = q.near_site_id, q.within_km
    elif q.within_km is not None:
        raise ValidationError(_l("Choose one of your sites to measure the distance from."), field="near_site_id")
    s.mine = q.mine in ("1", "true", "yes")
    s.status = q.status.value if q.status else ""
    s.q = (q.q or "").strip()
    sort = q.sort or ("distance" if s.near_site_id else "newest")
    if sort == "distance" and s.near_site_id is None:
        raise ValidationError(_l("Choose one of your sites to measure the distance from."), field="near_site_id")
    s.sort = sort
    s.page = q.page or s.page
    s.per_page = q.per_page or s.per_page
    return s
