"""Shipments (weighbridge tickets), receipts, anomaly flags and utilisation figures (the ledger itself is
services/ledger.py). Weights are whole kilograms; times are stored in UTC and read in China Standard Time."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from .. import labels, policy
from ..clock import as_utc, cst_year_bounds, utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db, rowcount
from ..models import (
    Agreement,
    GenerationRecord,
    LedgerKind,
    LedgerMonthTotal,
    Material,
    NotificationKind,
    Organisation,
    Shipment,
    ShipmentStatus,
    Site,
    SupplyListing,
    User,
)
from ..schemas.common import validate
from ..schemas.deliveries import ShipmentConfirmation, ShipmentCreate, ShipmentOut
from .agreements import get_agreement
from .ledger import append_entry
from .notifications import notify
from .values import get_row

PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}$")


@dataclass(frozen=True)
class Rules:
    """Thresholds a deployment configures (see README: RECEIPT_TOLERANCE_PCT, LEGAL_PAYLOAD_KG, ...)."""
    receipt_tolerance_pct: Decimal = Decimal("2")
    legal_payload_kg: int = 35_000
    truck_speed_kmh: int = 80

    @classmethod
    def configured(cls) -> Rules:
        """The running deployment's thresholds (the defaults outside an app)."""
        d = cls()
        return cls(Decimal(str(policy.setting("RECEIPT_TOLERANCE_PCT", d.receipt_tolerance_pct))),
                   int(policy.setting("LEGAL_PAYLOAD_KG", d.legal_payload_kg)),
                   int(policy.setting("TRUCK_SPEED_KMH", d.truck_speed_kmh)))


# --- shipments -----------------------------------------------------------------------------------------

def record_shipment(actor: User, agreement_id: int, data: dict, now: datetime | None = None) -> Shipment:
    """The producer records one truck's weighbridge ticket against an agreement."""
    now = now or utcnow()
    agreement = get_agreement(actor, agreement_id)
    if actor.organisation_id != agreement.producer_org_id:
        raise PermissionDenied(_l("Only the producer of an agreement records its shipments."))
    fields = validate(ShipmentCreate, data)
    ticket = fields.ticket_no
    plate = fields.truck_plate.upper().replace(" ", "").replace("·", "")
    if not PLATE.match(plate):
        raise ValidationError(_l("Enter a plate like 宁A12345 (province, city letter, 5 or 6 letters or digits)."),
                              field="truck_plate")
    dispatched = fields.dispatched_at
    if dispatched > now + timedelta(minutes=5):
        raise ValidationError(_l("The ticket is dated in the future."), field="dispatched_at")
    if dispatched < as_utc(agreement.created_at):
        raise ValidationError(_l("The ticket is dated before the agreement existed."), field="dispatched_at")
    gross, tare = fields.gross_kg, fields.tare_kg
    if tare >= gross:
        raise ValidationError(_l("The tare must be less than the gross weight."), field="tare_kg")
    moisture = fields.moisture_pct
    if db.session.scalar(select(Shipment.id).where(Shipment.producer_org_id == actor.organisation_id,
                                                   Shipment.ticket_no == ticket)):
        raise Conflict(_l("Ticket %(ticket)s is already recorded.", ticket=ticket), field="ticket_no")
    net = gross - tare
    # Take the weight from the agreement in one conditional update: never past its tonnes.
    taken = db.session.execute(
        update(Agreement).where(Agreement.id == agreement.id, Agreement.shipped_kg + net <= Agreement.tonnes * 1000)
        .values(shipped_kg=Agreement.shipped_kg + net).execution_options(synchronize_session=False))
    if rowcount(taken) != 1:
        raise Conflict(_l("This ticket would ship more than the agreement's %(t)s t.", t=f"{agreement.tonnes:,}"),
                       field="gross_kg")
    shipment = Shipment(agreement_id=agreement.id, producer_org_id=actor.organisation_id, ticket_no=ticket,
                        truck_plate=plate, dispatched_at=dispatched, gross_kg=gross, tare_kg=tare, net_kg=net,
                        moisture_pct=moisture, created_by_id=actor.id, status=ShipmentStatus.DISPATCHED)
    db.session.add(shipment)
    try:
        db.session.flush()
    except IntegrityError:  # the same ticket sent twice at the same moment: the database keeps one
        raise Conflict(_l("Ticket %(ticket)s is already recorded.", ticket=ticket), field="ticket_no") from None
    db.session.expire(agreement)
    notify(NotificationKind.TICKET_TO_CONFIRM, shipment, [agreement.consumer_org_id],
           {"ticket": ticket, "agreement": agreement.id})
    return shipment


def get_shipment(actor: User, shipment_id: int) -> Shipment:
    shipment = get_row(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(_l("No such shipment."))
    get_agreement(actor, shipment.agreement_id)  # raises NotFound for outsiders
    return shipment


def confirm_shipment(actor: User, shipment_id: int, received_net_kg: object,
                     now: datetime | None = None) -> Shipment:
    """The utiliser confirms a shipment with its own net weight, once; the ledger records it."""
    shipment = get_shipment(actor, shipment_id)
    agreement = shipment.agreement
    if actor.organisation_id != agreement.consumer_org_id:
        raise PermissionDenied(_l("Only the utiliser of an agreement confirms its receipts."))
    received = validate(ShipmentConfirmation, {"received_net_kg": received_net_kg}).received_net_kg
    now = now or utcnow()
    done = db.session.execute(
        update(Shipment).where(Shipment.id == shipment.id, Shipment.status == ShipmentStatus.DISPATCHED)
        .values(status=ShipmentStatus.CONFIRMED, received_net_kg=received, confirmed_by_id=actor.id, confirmed_at=now)
        .execution_options(synchronize_session=False))
    if rowcount(done) != 1:
        raise Conflict(_l("This shipment is already confirmed."), field="received_net_kg")
    db.session.expire(shipment)
    append_entry(kind=LedgerKind.UTILISATION, shipment=shipment, agreement=agreement,
                 net_kg=min(shipment.net_kg, received), confirmed_at=now, actor=actor)
    flags = shipment_flags([shipment]).get(shipment.id)
    if flags:  # both parties hear of it: a flag never blocks, but someone should look
        notify(NotificationKind.RECEIPT_FLAGGED, shipment, {agreement.producer_org_id, agreement.consumer_org_id},
               {"ticket": shipment.ticket_no, "agreement": agreement.id, "flags": flags})
    return shipment


def shipment_out(s: Shipment, flags: list[str] | None = None) -> ShipmentOut:
    return ShipmentOut(id=s.id, agreement_id=s.agreement_id, ticket_no=s.ticket_no, truck_plate=s.truck_plate,
                       dispatched_at=s.dispatched_at, gross_kg=s.gross_kg, tare_kg=s.tare_kg, net_kg=s.net_kg,
                       moisture_pct=s.moisture_pct, status=s.status, received_net_kg=s.received_net_kg,
                       confirmed_at=s.confirmed_at, flags=flags or [])


# --- anomaly flags -------------------------------------------------------------------------------------

FLAG_TEXT = labels.SHIPMENT_FLAG  # the flags' words (notifications show them too)


def shipments_of(agreement: Agreement) -> list[Shipment]:
    return list(db.session.scalars(select(Shipment).where(Shipment.agreement_id == agreement.id)
                                   .order_by(Shipment.dispatched_at)))


def shipment_flags(shipments: list[Shipment], rules: Rules | None = None) -> dict[int, list[str]]:
    """Flags shown beside each shipment (never blocking anything), by the deployment's rules unless given."""
    rules = rules or Rules.configured()
    flags: dict[int, list[str]] = defaultdict(list)
    for s in shipments:
        if s.net_kg > rules.legal_payload_kg:
            flags[s.id].append("over_payload")
        if s.received_net_kg is not None and abs(s.received_net_kg - s.net_kg) * 100 > \
                rules.receipt_tolerance_pct * s.net_kg:
            flags[s.id].append("receipt_difference")
    plates = {s.truck_plate for s in shipments}
    if plates:
        others = list(db.session.scalars(select(Shipment).where(Shipment.truck_plate.in_(plates))
                                         .options(joinedload(Shipment.agreement))))
        sites = _dispatch_sites({s.agreement_id for s in others} | {s.agreement_id for s in shipments})
        by_plate: dict[str, list[Shipment]] = defaultdict(list)
        for other in others:
            by_plate[other.truck_plate].append(other)
        for s_id in _too_fast(shipments, by_plate, sites, rules.truck_speed_kmh):
            flags[s_id].append("plate_too_fast")
    return dict(flags)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROWS_AT_ONCE = 256  # shipments of one plate compared at a time (a matrix of 256 x the plate's trips)


def _too_fast(shipments: list[Shipment], by_plate: dict[str, list[Shipment]], sites: dict[int, Site],
              speed_kmh: int) -> set[int]:
    """Ids of the shipments whose truck would have had to drive faster than `speed_kmh` between its dispatch
    site and the site of another trip of the same plate: per plate, one numpy matrix of every pair's haversine
    distance and hours (the figures the pairwise loop computed, element by element), not one call per pair."""
    from .listings import distances_km

    def columns(rows: list[Shipment]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lat = np.array([float(sites[r.agreement_id].lat) for r in rows])
        lon = np.array([float(sites[r.agreement_id].lon) for r in rows])
        micro = np.array([(as_utc(r.dispatched_at) - _EPOCH) // timedelta(microseconds=1) for r in rows],
                         dtype=np.int64)
        return lat, lon, micro, np.array([r.id for r in rows])

    mine_by_plate: dict[str, list[Shipment]] = defaultdict(list)
    for s in shipments:
        mine_by_plate[s.truck_plate].append(s)
    fast: set[int] = set()
    for plate, mine in mine_by_plate.items():
        lat_o, lon_o, t_o, id_o = columns(by_plate[plate])
        for start in range(0, len(mine), _ROWS_AT_ONCE):
            lat_m, lon_m, t_m, id_m = columns(mine[start:start + _ROWS_AT_ONCE])
            km = distances_km(lat_m[:, None], lon_m[:, None], lat_o[None, :], lon_o[None, :])
            hours = np.abs(t_m[:, None] - t_o[None, :]) / 1e6 / 3600
            too_fast = (km > 0) & (km / np.maximum(hours, 1e-9) > speed_kmh) & (id_m[:, None] != id_o[None, :])
            fast.update(int(i) for i in id_m[too_fast.any(axis=1)])
    return fast


def _dispatch_sites(agreement_ids: set[int]) -> dict[int, Site]:
    rows = db.session.execute(select(Agreement.id, Site).join(SupplyListing, Agreement.supply_listing_id ==
                                                               SupplyListing.id)
                              .join(Site, SupplyListing.site_id == Site.id).where(Agreement.id.in_(agreement_ids)))
    return {agreement_id: site for agreement_id, site in rows}


def producers_over_declared(year: int) -> set[int]:
    """Producers whose utilised tonnes of a material in `year` exceed that year's declared generation plus
    what they declared as stored before. Two aggregates: the ledger's monthly summary, the generation records."""
    utilised = db.session.execute(
        select(LedgerMonthTotal.producer_org_id, LedgerMonthTotal.material, func.sum(LedgerMonthTotal.net_kg))
        .where(LedgerMonthTotal.month >= date(year, 1, 1), LedgerMonthTotal.month < date(year + 1, 1, 1))
        .group_by(LedgerMonthTotal.producer_org_id, LedgerMonthTotal.material)).all()
    this_year = GenerationRecord.month >= date(year, 1, 1)
    declared_kg = func.sum(func.round(case((this_year, GenerationRecord.tonnes_generated),
                                           else_=GenerationRecord.tonnes_stored) * 1000))
    declared = {(org, material): Decimal(int(kg or 0)) / 1000 for org, material, kg in db.session.execute(
        select(Site.organisation_id, Material.code, declared_kg)
        .join(Site, GenerationRecord.site_id == Site.id).join(Material, GenerationRecord.material_id == Material.id)
        .where(GenerationRecord.month < date(year + 1, 1, 1)).group_by(Site.organisation_id, Material.code))}
    return {org for org, material, kg in utilised
            if Decimal(int(kg or 0)) / 1000 > declared.get((org, material), 0)}


# --- utilisation figures -------------------------------------------------------------------------------

year_bounds = cst_year_bounds  # the name the subsidies import


GROUPS = ("region", "city", "park", "material", "organisation", "month")


def flows(year: int, largest: int) -> tuple[list[tuple[Any, Any, Any, Any, int]], int]:
    """The year's delivered kilograms per (dispatch site position, receiving site position), the `largest`
    positive ones, and how many more there are: from the ledger's monthly summary, not its entries."""
    supply_site, demand_site = aliased(Site), aliased(Site)
    kg = func.sum(LedgerMonthTotal.net_kg)
    grouped = (select(supply_site.lat, supply_site.lon, demand_site.lat, demand_site.lon, kg.label("kg"))
               .join(supply_site, LedgerMonthTotal.site_id == supply_site.id)
               .join(demand_site, LedgerMonthTotal.consumer_site_id == demand_site.id)
               .where(LedgerMonthTotal.month >= date(year, 1, 1), LedgerMonthTotal.month < date(year + 1, 1, 1))
               .group_by(supply_site.lat, supply_site.lon, demand_site.lat, demand_site.lon).having(kg > 0))
    rows = [(a, b, c, d, int(k)) for a, b, c, d, k in
            db.session.execute(grouped.order_by(kg.desc()).limit(largest)).all()]
    more = 0
    if len(rows) == largest:
        more = int(db.session.scalar(select(func.count()).select_from(grouped.subquery())) or 0) - largest
    return rows, more


def _group_columns(group_by: str, site_org: Any, material: Any, month: Any) -> list[Any]:
    """The columns a utilisation group is made of (its display key is built from them in Python)."""
    return {"region": [Site.county], "city": [Site.city], "park": [Site.industrial_park], "material": [material],
            "organisation": [site_org], "month": [month]}[group_by]


def _milli(column: Any) -> Any:
    """SUM of a three-place tonnes column in whole kilograms: exact on SQLite's floats as on numeric."""
    return func.sum(func.round(column * 1000))


def utilisation(year: int, group_by: str, months: tuple[int, int] = (1, 12)) -> list[dict[str, Any]]:
    """Generated, used in-house, utilised through the platform, stored, disposed, the utilisation rate and the
    platform's share, per group, for a calendar year (China Standard Time), or its months first..last.

    The utilisation rate is (generated - stored - disposed) / generated: what was neither put into storage nor
    disposed of was used, in-house, through the platform or elsewhere (as the region's statistics count it).
    The platform's share is the
    confirmed ledger tonnes / generated. Two aggregate statements: the generation records grouped in the
    database, and the ledger's kilograms from its monthly summary (LedgerMonthTotal), never the entries."""
    if group_by not in GROUPS:
        raise ValidationError(_l("Group by one of: %(groups)s.", groups=", ".join(GROUPS)), field="group_by")
    org_names: dict[int, str] = {}

    def key_of(value: Any) -> str:
        if group_by == "organisation":
            return org_names.get(value, str(value))
        if group_by == "month":
            return f"{year}-{value.month:02d}"
        if group_by == "material":
            return str(value)
        return str(value or "—")

    first, last = months
    since = date(year, first, 1)
    until = date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)
    generated_cols = _group_columns(group_by, Site.organisation_id, Material.code, GenerationRecord.month)
    generation = db.session.execute(
        select(*generated_cols, _milli(GenerationRecord.tonnes_generated),
               _milli(GenerationRecord.tonnes_used_in_house), _milli(GenerationRecord.tonnes_stored),
               _milli(GenerationRecord.tonnes_disposed))
        .join(Site, GenerationRecord.site_id == Site.id).join(Material, GenerationRecord.material_id == Material.id)
        .where(GenerationRecord.month >= since, GenerationRecord.month < until)
        .group_by(*generated_cols)).all()
    ledger_cols = _group_columns(group_by, LedgerMonthTotal.producer_org_id, LedgerMonthTotal.material,
                                 LedgerMonthTotal.month)
    platform = db.session.execute(
        select(*ledger_cols, func.sum(LedgerMonthTotal.net_kg)).join(Site, LedgerMonthTotal.site_id == Site.id)
        .where(LedgerMonthTotal.month >= since, LedgerMonthTotal.month < until)
        .group_by(*ledger_cols)).all()
    if group_by == "organisation":
        ids = {row[0] for row in generation} | {row[0] for row in platform}
        org_names.update(db.session.execute(select(Organisation.id, Organisation.name)
                                            .where(Organisation.id.in_(ids))).all())

    def tonnes(kg: Any) -> Decimal:
        return Decimal(int(kg or 0)) / 1000

    table: dict[str, dict[str, Any]] = defaultdict(lambda: {"generated": Decimal(0), "in_house": Decimal(0),
                                                            "platform_kg": 0, "stored": Decimal(0),
                                                            "disposed": Decimal(0)})
    for value, generated, in_house, stored, disposed in (tuple(r) for r in generation):
        row = table[key_of(value)]
        row["generated"] += tonnes(generated)
        row["in_house"] += tonnes(in_house)
        row["stored"] += tonnes(stored)
        row["disposed"] += tonnes(disposed)
    for value, kg in (tuple(r) for r in platform):
        table[key_of(value)]["platform_kg"] += int(kg or 0)
    out = []
    for key in sorted(table, key=str):
        row = table[key]
        platform_t = Decimal(row["platform_kg"]) / 1000
        generated = row["generated"]
        used = generated - row["stored"] - row["disposed"]
        rate = (used / generated).quantize(Decimal("0.0001")) if generated else None
        share = (platform_t / generated).quantize(Decimal("0.0001")) if generated else None
        out.append({"group": key, "generated_t": f"{generated:.3f}", "used_in_house_t": f"{row['in_house']:.3f}",
                    "utilised_platform_t": f"{platform_t:.3f}", "stored_t": f"{row['stored']:.3f}",
                    "disposed_t": f"{row['disposed']:.3f}",
                    "utilisation_rate": None if rate is None else str(rate),
                    "platform_share": None if share is None else str(share)})
    return out
