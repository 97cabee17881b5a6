"""Shipments (weighbridge tickets), receipts, anomaly flags and utilisation figures (the ledger itself is
services/ledger.py). Weights are whole kilograms; times are stored in UTC and read in China Standard Time."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import policy
from ..clock import as_utc, cst_year_bounds, to_cst, utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import Agreement, GenerationRecord, LedgerEntry, Organisation, Shipment, Site, SupplyListing, User
from ..schemas.common import validate
from ..schemas.deliveries import ShipmentConfirmation, ShipmentCreate, ShipmentOut
from .agreements import get_agreement
from .ledger import append_entry
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
    if taken.rowcount != 1:
        raise Conflict(_l("This ticket would ship more than the agreement's %(t)s t.", t=f"{agreement.tonnes:,}"),
                       field="gross_kg")
    shipment = Shipment(agreement_id=agreement.id, producer_org_id=actor.organisation_id, ticket_no=ticket,
                        truck_plate=plate, dispatched_at=dispatched, gross_kg=gross, tare_kg=tare, net_kg=net,
                        moisture_pct=moisture, created_by_id=actor.id, status="dispatched")
    db.session.add(shipment)
    try:
        db.session.flush()
    except IntegrityError:  # the same ticket sent twice at the same moment: the database keeps one
        raise Conflict(_l("Ticket %(ticket)s is already recorded.", ticket=ticket), field="ticket_no") from None
    db.session.expire(agreement)
    return shipment


def get_shipment(actor: User, shipment_id: int) -> Shipment:
    shipment = get_row(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(_l("No such shipment."))
    get_agreement(actor, shipment.agreement_id)  # raises NotFound for outsiders
    return shipment


def confirm_shipment(actor: User, shipment_id: int, received_net_kg, now: datetime | None = None) -> Shipment:
    """The utiliser confirms a shipment with its own net weight, once; the ledger records it."""
    shipment = get_shipment(actor, shipment_id)
    agreement = shipment.agreement
    if actor.organisation_id != agreement.consumer_org_id:
        raise PermissionDenied(_l("Only the utiliser of an agreement confirms its receipts."))
    received = validate(ShipmentConfirmation, {"received_net_kg": received_net_kg}).received_net_kg
    now = now or utcnow()
    done = db.session.execute(
        update(Shipment).where(Shipment.id == shipment.id, Shipment.status == "dispatched")
        .values(status="confirmed", received_net_kg=received, confirmed_by_id=actor.id, confirmed_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(_l("This shipment is already confirmed."), field="received_net_kg")
    db.session.expire(shipment)
    append_entry(kind="utilisation", shipment=shipment, agreement=agreement,
                 net_kg=min(shipment.net_kg, received), confirmed_at=now, actor=actor)
    return shipment


def shipment_out(s: Shipment, flags: list[str] | None = None) -> ShipmentOut:
    return ShipmentOut(id=s.id, agreement_id=s.agreement_id, ticket_no=s.ticket_no, truck_plate=s.truck_plate,
                       dispatched_at=s.dispatched_at, gross_kg=s.gross_kg, tare_kg=s.tare_kg, net_kg=s.net_kg,
                       moisture_pct=s.moisture_pct, status=s.status, received_net_kg=s.received_net_kg,
                       confirmed_at=s.confirmed_at, flags=flags or [])


# --- anomaly flags -------------------------------------------------------------------------------------

FLAG_TEXT = {
    "over_payload": _l("Net weight above the legal payload"),
    "plate_too_fast": _l("The same truck on another ticket too soon for the distance between them"),
    "receipt_difference": _l("Received weight differs from the ticket beyond the tolerance"),
    "producer_over_declared": _l("The producer's utilised tonnes exceed what it declared as generated plus stock"),
}


def _km(lat1, lon1, lat2, lon2) -> float:
    import numpy as np

    from .listings import distances_km

    return float(distances_km(float(lat1), float(lon1), np.array([float(lat2)]), np.array([float(lon2)]))[0])


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
        for s in shipments:
            for other in by_plate[s.truck_plate]:
                if other.id == s.id:
                    continue
                a, b = sites[s.agreement_id], sites[other.agreement_id]
                km = _km(a.lat, a.lon, b.lat, b.lon)
                hours = abs((as_utc(s.dispatched_at) - as_utc(other.dispatched_at)).total_seconds()) / 3600
                if km > 0 and km / max(hours, 1e-9) > rules.truck_speed_kmh:
                    flags[s.id].append("plate_too_fast")
                    break
    return dict(flags)


def _dispatch_sites(agreement_ids: set[int]) -> dict[int, Site]:
    rows = db.session.execute(select(Agreement.id, Site).join(SupplyListing, Agreement.supply_listing_id ==
                                                               SupplyListing.id)
                              .join(Site, SupplyListing.site_id == Site.id).where(Agreement.id.in_(agreement_ids)))
    return {agreement_id: site for agreement_id, site in rows}


def producers_over_declared(year: int) -> set[int]:
    """Producers whose utilised tonnes of a material in `year` exceed that year's declared generation plus
    what they declared as stored before."""
    utilised = _ledger_kg_by(year, lambda e, site: (e.producer_org_id, e.material))
    declared: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    rows = db.session.execute(select(Site.organisation_id, GenerationRecord)
                              .join(Site, GenerationRecord.site_id == Site.id)
                              .options(joinedload(GenerationRecord.material))
                              .where(GenerationRecord.month < date(year + 1, 1, 1)))
    for org_id, record in rows:
        key = (org_id, record.material.code)
        declared[key] += record.tonnes_generated if record.month.year == year else record.tonnes_stored
    return {org for (org, material), kg in utilised.items() if Decimal(kg) / 1000 > declared.get((org, material), 0)}


# --- utilisation figures -------------------------------------------------------------------------------

year_bounds = cst_year_bounds  # the name the subsidies import


def _ledger_kg_by(year: int, key) -> dict:
    """Net kilograms of the year's ledger (by dispatch date, reversals included), grouped by key(entry, site)."""
    start, end = year_bounds(year)
    rows = db.session.execute(
        select(LedgerEntry, Site).join(Agreement, LedgerEntry.agreement_id == Agreement.id)
        .join(SupplyListing, Agreement.supply_listing_id == SupplyListing.id)
        .join(Site, SupplyListing.site_id == Site.id)
        .where(LedgerEntry.dispatched_at >= start, LedgerEntry.dispatched_at < end))
    totals: dict = defaultdict(int)
    for entry, site in rows:
        totals[key(entry, site)] += entry.net_kg
    return totals


GROUPS = ("region", "city", "park", "material", "organisation", "month")


def utilisation(year: int, group_by: str) -> list[dict]:
    """Generated, used in-house, utilised through the platform, stored, the utilisation rate and the
    platform's share, per group, for a calendar year (China Standard Time).

    The utilisation rate is (generated - stored) / generated: what was not put into storage was used, in-house,
    through the platform or elsewhere (as the region's statistics count it). The platform's share is the
    confirmed ledger tonnes / generated."""
    if group_by not in GROUPS:
        raise ValidationError(_l("Group by one of: %(groups)s.", groups=", ".join(GROUPS)), field="group_by")
    orgs = {o.id: o.name for o in db.session.scalars(select(Organisation))}

    def key_of(site: Site, material: str, org_id: int, month: int):
        return {"region": site.county or "—", "city": site.city or "—", "park": site.industrial_park or "—",
                "material": material, "organisation": orgs.get(org_id, str(org_id)),
                "month": f"{year}-{month:02d}"}[group_by]

    table: dict = defaultdict(lambda: {"generated": Decimal(0), "in_house": Decimal(0), "platform_kg": 0,
                                       "stored": Decimal(0)})
    rows = db.session.execute(
        select(GenerationRecord, Site).join(Site, GenerationRecord.site_id == Site.id)
        .options(joinedload(GenerationRecord.material))
        .where(GenerationRecord.month >= date(year, 1, 1), GenerationRecord.month < date(year + 1, 1, 1)))
    for record, site in rows:
        row = table[key_of(site, record.material.code, site.organisation_id, record.month.month)]
        row["generated"] += record.tonnes_generated
        row["in_house"] += record.tonnes_used_in_house
        row["stored"] += record.tonnes_stored
    platform = _ledger_kg_by(year, lambda e, site: key_of(site, e.material, e.producer_org_id,
                                                         to_cst(e.dispatched_at).month))
    for key, kg in platform.items():
        table[key]["platform_kg"] += kg
    out = []
    for key in sorted(table, key=str):
        row = table[key]
        platform_t = Decimal(row["platform_kg"]) / 1000
        generated = row["generated"]
        rate = ((generated - row["stored"]) / generated).quantize(Decimal("0.0001")) if generated else None
        share = (platform_t / generated).quantize(Decimal("0.0001")) if generated else None
        out.append({"group": key, "generated_t": f"{generated:.3f}", "used_in_house_t": f"{row['in_house']:.3f}",
                    "utilised_platform_t": f"{platform_t:.3f}", "stored_t": f"{row['stored']:.3f}",
                    "utilisation_rate": None if rate is None else str(rate),
                    "platform_share": None if share is None else str(share)})
    return out
