"""Matching rounds: turn open listings into an optimiser instance, solve it, offer the pairings as
proposals, and make agreements when both parties accept, never promising a tonne twice."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import joinedload

from matching import Instance, InstanceError, SolveOptions, solve

from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (Agreement, DemandListing, ListingStatus, MatchRound, Organisation, Proposal, ProposalStatus,
                      SupplyListing, TariffVersion, User)
from ..models.listing import LIVE_STATUSES
from . import audit
from .listings import coarse_site_position, expire_due
from .values import MAX_ID, get_row, parse_decimal, parse_int, parse_text

SOLVER_TIME_LIMIT_S = 10.0


from ..clock import as_utc, iso, utcnow  # noqa: E402


# --- the tariff ----------------------------------------------------------------------------------------

def tariff_in_force() -> TariffVersion:
    return db.session.scalar(select(TariffVersion).order_by(TariffVersion.version.desc()).limit(1))


TARIFF_FIELDS = {
    # field: (decimal places, minimum, maximum, required)
    "road_yuan_per_t_km": (4, Decimal("0.0001"), Decimal("100"), True),
    "handling_yuan_per_t": (2, Decimal("0"), Decimal("1000"), True),
    "circuity": (3, Decimal("1"), Decimal("3"), True),
    "rail_fixed_yuan_per_t": (2, Decimal("0"), Decimal("1000"), False),
    "rail_yuan_per_t_km": (4, Decimal("0"), Decimal("100"), False),
    "co2_kg_per_t_km": (4, Decimal("0"), Decimal("10"), True),
    "rail_co2_kg_per_t_km": (4, Decimal("0"), Decimal("10"), True),
}


def set_tariff(actor: User, data: dict) -> TariffVersion:
    """The operator publishes a new tariff version; rounds record the version they used."""
    if actor.organisation.kind.value != "operator":
        raise PermissionDenied(_l("Only the operator edits the tariff."))
    values: dict = {}
    for name, (places, low, high, required) in TARIFF_FIELDS.items():
        raw = data.get(name)
        if raw in (None, ""):
            if required:
                raise ValidationError(_l("This field is required."), field=name)
            values[name] = None
            continue
        values[name] = parse_decimal(raw, name, places, low, high)
    if (values["rail_fixed_yuan_per_t"] is None) != (values["rail_yuan_per_t_km"] is None):
        raise ValidationError(_l("Rail needs both its fixed charge and its rate per tonne-km, or neither."),
                              field="rail_yuan_per_t_km")
    values["proposal_lifetime_hours"] = parse_int(data.get("proposal_lifetime_hours"), "proposal_lifetime_hours",
                                                  1, 24 * 60)
    values["note"] = parse_text(data.get("note"), "note", 500)
    current = tariff_in_force()
    tariff = TariffVersion(version=(current.version + 1) if current else 1, created_by_id=actor.id, **values)
    db.session.add(tariff)
    db.session.flush()
    audit.record(actor, "tariff.version", tariff, {"version": tariff.version, **values})
    return tariff


def tariff_json(t: TariffVersion) -> dict:
    out = {"road_yuan_per_t_km": str(t.road_yuan_per_t_km), "handling_yuan_per_t": str(t.handling_yuan_per_t),
           "circuity": float(t.circuity), "co2_kg_per_t_km": float(t.co2_kg_per_t_km),
           "rail_co2_kg_per_t_km": float(t.rail_co2_kg_per_t_km)}
    if t.rail_fixed_yuan_per_t is not None and t.rail_yuan_per_t_km is not None:
        out.update(rail_fixed_yuan_per_t=str(t.rail_fixed_yuan_per_t), rail_yuan_per_t_km=str(t.rail_yuan_per_t_km))
    return out


# --- building and solving a round ----------------------------------------------------------------------

def expire_proposals(now: datetime | None = None) -> int:
    """Pending proposals past their lifetime expire (and so free their tonnes)."""
    result = db.session.execute(
        update(Proposal).where(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at < (now or utcnow()))
        .values(status=ProposalStatus.EXPIRED).execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- reservations --------------------------------------------------------------------------------------
#
# A pending proposal *holds* (reserves) its tonnes, so that later rounds do not offer them again, when:
# - it comes from a market round (the operator's or a regulator's), until it is decided or expires; or
# - it comes from a firm's own *Find matches* round and that firm has accepted it: from then on it holds
#   for FIND_MATCHES_HOLD_HOURS at most (its deadline is brought forward), before that it holds nothing.
# One organisation's holds of a material may not exceed RESERVATION_SHARE_CAP of that material's free
# tonnes on the other side (or RESERVATION_FLOOR_T, whichever is larger): its own rounds are trimmed to what
# is left, and its acceptance that would start a hold beyond it is refused. Withdrawing or editing a listing
# ends its pending proposals (status "withdrawn").

DEFAULTS = {"FIND_MATCHES_HOLD_HOURS": 4, "RESERVATION_SHARE_CAP": "0.20", "RESERVATION_FLOOR_T": 1000}


def _setting(name: str):
    from flask import current_app, has_app_context

    return current_app.config.get(name, DEFAULTS[name]) if has_app_context() else DEFAULTS[name]


#: The side whose tonnes a private round's starter takes: a demand round holds supply, and the reverse.
STARTER_SIDE = {"demand": "consumer", "supply": "producer"}


def _holds(now: datetime):
    """The condition on (Proposal joined with MatchRound) for a proposal that holds its tonnes now."""
    return and_(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at >= now,
                or_(MatchRound.scope == "market",
                    and_(MatchRound.scope == "demand", Proposal.consumer_decision == "accepted"),
                    and_(MatchRound.scope == "supply", Proposal.producer_decision == "accepted")))


def _pending_tonnes(column, ids: list[int]) -> dict[int, int]:
    """Tonnes of each listing held by pending proposals (see the rules above)."""
    if not ids:
        return {}
    rows = db.session.execute(select(column, func.sum(Proposal.tonnes))
                              .join(MatchRound, Proposal.round_id == MatchRound.id)
                              .where(column.in_(ids), _holds(utcnow()))
                              .group_by(column)).all()
    return {listing_id: int(total) for listing_id, total in rows}


def held_by(org_id: int, material_id: int, side: str) -> int:
    """Tonnes of `material_id` that `org_id`'s pending proposals hold on the other side: supply it would take
    as a consumer (side "consumer"), or demand it would fill as a producer (side "producer")."""
    other, own_org = ((SupplyListing, Proposal.consumer_org_id) if side == "consumer"
                      else (DemandListing, Proposal.producer_org_id))
    other_id = Proposal.supply_listing_id if side == "consumer" else Proposal.demand_listing_id
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Proposal.tonnes), 0))
        .join(MatchRound, Proposal.round_id == MatchRound.id).join(other, other.id == other_id)
        .where(own_org == org_id, other.material_id == material_id, _holds(utcnow()))) or 0)


def hold_cap(org_id: int, material_id: int, side: str) -> int:
    """The most tonnes `org_id` may hold of the other side's free `material_id`: RESERVATION_SHARE_CAP of the
    unpromised tonnes of other organisations' live listings, at least RESERVATION_FLOOR_T."""
    other = SupplyListing if side == "consumer" else DemandListing
    free = int(db.session.scalar(
        select(func.coalesce(func.sum(other.tonnes - other.tonnes_promised), 0))
        .where(other.material_id == material_id, other.status.in_(LIVE_STATUSES),
               other.organisation_id != org_id)) or 0)
    share = Decimal(str(_setting("RESERVATION_SHARE_CAP")))
    return max(int(free * share), int(_setting("RESERVATION_FLOOR_T")))


def end_pending_proposals(listing, reason: str = "withdrawn") -> int:
    """End every pending proposal of this listing at once (it was withdrawn or changed): they no longer hold
    anything and can no longer be accepted. Returns how many."""
    column = Proposal.supply_listing_id if listing.side == "supply" else Proposal.demand_listing_id
    result = db.session.execute(
        update(Proposal).where(column == listing.id, Proposal.status == ProposalStatus.PENDING)
        .values(status=ProposalStatus.WITHDRAWN).execution_options(synchronize_session=False))
    return result.rowcount or 0


def _live(model, ids, period_start, period_end):
    query = (select(model).where(model.status.in_(LIVE_STATUSES))
             .options(joinedload(model.site), joinedload(model.material)))
    if ids is not None:
        query = query.where(model.id.in_(ids or [-1]))
    if period_start is not None:
        query = query.where(model.period_end >= period_start)
    if period_end is not None:
        query = query.where(model.period_start <= period_end)
    return list(db.session.scalars(query.order_by(model.id)).unique())


def _ids(value, field: str) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 10_000:
        raise ValidationError(_l("Give a list of listing ids."), field=field)
    return [parse_int(v, field, 1, MAX_ID) for v in value]


def _floats(values: dict) -> dict:
    return {k: float(v) for k, v in (values or {}).items()}


def build_instance(supplies, demands, tariff: TariffVersion) -> tuple[dict, dict, dict]:
    """The optimiser's JSON instance for these listings' unpromised, unreserved tonnes.

    Every site is placed at the centre of its grid cell (listings.coarse_position), so that proposals'
    distances and prices never tell one party where the other's site is before they agree.

    Returns (instance, supplies by optimiser id, demands by optimiser id)."""
    s_left = _pending_tonnes(Proposal.supply_listing_id, [s.id for s in supplies])
    d_left = _pending_tonnes(Proposal.demand_listing_id, [d.id for d in demands])
    s_by, d_by, s_json, d_json = {}, {}, [], []
    for s in supplies:
        tonnes = s.tonnes_remaining - s_left.get(s.id, 0)
        if tonnes > 0:
            s_by[f"S{s.id}"] = s
            lat, lon = coarse_site_position(s.site)
            s_json.append({"id": f"S{s.id}", "material": s.material.code, "grade": s.grade, "tonnes": tonnes,
                           "lat": lat, "lon": lon,
                           "price_yuan_per_t": str(s.price_yuan_per_t), "max_haul_km": s.max_haul_km,
                           "quality": _floats(s.quality), "rail": s.site.rail_siding})
    for d in demands:
        tonnes = d.tonnes_remaining - d_left.get(d.id, 0)
        if tonnes > 0:
            d_by[f"D{d.id}"] = d
            price = d.max_delivered_price_yuan_per_t
            lat, lon = coarse_site_position(d.site)
            d_json.append({"id": f"D{d.id}", "material": d.material.code, "min_grade": d.min_grade,
                           "tonnes": tonnes, "lat": lat, "lon": lon,
                           "max_delivered_price_yuan_per_t": None if price is None else str(price),
                           "max_haul_km": d.max_haul_km, "rail": d.site.rail_siding,
                           "quality_limits": {k: _floats(v) for k, v in (d.quality_limits or {}).items()}})
    return {"supplies": s_json, "demands": d_json, "tariff": tariff_json(tariff)}, s_by, d_by


def _own_pairs(s_by: dict, d_by: dict) -> list[tuple[str, str]]:
    """Pairs inside one organisation: its own waste is not traded on the exchange."""
    by_org: dict[int, tuple[list, list]] = {}
    for sid, s in s_by.items():
        by_org.setdefault(s.organisation_id, ([], []))[0].append(sid)
    for did, d in d_by.items():
        if d.organisation_id in by_org:
            by_org[d.organisation_id][1].append(did)
    return [(sid, did) for sids, dids in by_org.values() for sid in sids for did in dids]


def start_round(actor: User, supply_listing_ids=None, demand_listing_ids=None, period_start=None,
                period_end=None, min_shipment_t=None, max_partners=None) -> MatchRound:
    """Solve a round and store it with its proposals.

    The operator or a regulator rounds over the open market (optionally narrowed by listing ids and a
    period); a utiliser over one of its demand listings against all open supply ("find me supply"); a
    producer over one of its supply listings against all open demand."""
    org = actor.organisation
    supply_ids = _ids(supply_listing_ids, "supply_listing_ids")
    demand_ids = _ids(demand_listing_ids, "demand_listing_ids")
    start = None if period_start in (None, "") else _date(period_start, "period_start")
    end = None if period_end in (None, "") else _date(period_end, "period_end")
    if start and end and end < start:
        raise ValidationError(_l("The period ends before it starts."), field="period_end")
    min_t = 0 if min_shipment_t in (None, "") else parse_int(min_shipment_t, "min_shipment_t", 0, 100_000)
    partners = None if max_partners in (None, "") else parse_int(max_partners, "max_partners", 1, 1000)

    expire_due()
    expire_proposals()
    if org.is_staff:
        scope = "market"
    elif demand_ids is not None and len(demand_ids) == 1 and supply_ids is None and org.is_consumer:
        scope = "demand"
    elif supply_ids is not None and len(supply_ids) == 1 and demand_ids is None and org.is_producer:
        scope = "supply"
    else:
        raise PermissionDenied(_l("Only the operator or a regulator runs market rounds; a utiliser or producer "
                                  "runs a round for one of its own listings."))
    if scope != "market" and not org.is_verified:
        raise PermissionDenied(_l("Your organisation must be verified first."))
    supplies = _live(SupplyListing, supply_ids, start, end)
    demands = _live(DemandListing, demand_ids, start, end)
    if scope != "market":
        own = demands if scope == "demand" else supplies
        if len(own) != 1 or own[0].organisation_id != org.id:
            raise ValidationError(_l("Choose one of your own open listings."),
                                  field="demand_listing_ids" if scope == "demand" else "supply_listing_ids")
        if scope == "demand":
            supplies = [s for s in _live(SupplyListing, None, start, end) if s.material_id == own[0].material_id]
        else:
            demands = [d for d in _live(DemandListing, None, start, end) if d.material_id == own[0].material_id]
    tariff = tariff_in_force()
    instance_json, s_by, d_by = build_instance(supplies, demands, tariff)
    allowance = None
    if scope != "market":
        allowance = _trim_to_cap(org.id, own[0], STARTER_SIDE[scope], instance_json)
    options = SolveOptions.make(min_shipment_t=min_t, max_partners=partners, exclude=_own_pairs(s_by, d_by),
                                time_limit_s=SOLVER_TIME_LIMIT_S,
                                co2_kg_per_t_km=float(tariff.co2_kg_per_t_km),
                                rail_co2_kg_per_t_km=float(tariff.rail_co2_kg_per_t_km))
    try:
        plan = solve(Instance.from_json(instance_json), options)
    except InstanceError as e:  # a listing the marketplace accepted but the optimiser does not: a bug
        raise Conflict(_l("The listings could not be matched: %(reason)s", reason=str(e))) from e

    round_ = MatchRound(
        started_by_id=actor.id, organisation_id=org.id, scope=scope, period_start=start, period_end=end,
        parameters={"supply_listing_ids": supply_ids, "demand_listing_ids": demand_ids,
                    "min_shipment_t": min_t, "max_partners": partners, "hold_allowance_t": allowance,
                    "supplies": len(instance_json["supplies"]), "demands": len(instance_json["demands"])},
        tariff_version_id=tariff.id, solver_status=plan.status, stats=plan.stats,
        baseline=plan.baseline.to_json() if plan.baseline else None, tonnes_matched=plan.tonnes_matched,
        transport_cost_yuan=plan.transport_cost_yuan, env_tax_avoided_yuan=plan.env_tax_avoided_yuan,
        co2_kg=Decimal(str(plan.co2_kg)).quantize(Decimal("0.001")))
    db.session.add(round_)
    db.session.flush()
    expires = utcnow() + timedelta(hours=tariff.proposal_lifetime_hours)
    for p in plan.pairings:
        s, d = s_by[p.supply], d_by[p.demand]
        db.session.add(Proposal(
            round_id=round_.id, supply_listing_id=s.id, demand_listing_id=d.id,
            producer_org_id=s.organisation_id, consumer_org_id=d.organisation_id, tonnes=p.tonnes,
            distance_km=p.distance_km, mode=p.mode, price_yuan_per_t=s.price_yuan_per_t,
            transport_cost_yuan_per_t=p.transport_cost_yuan_per_t,
            delivered_price_yuan_per_t=p.delivered_price_yuan_per_t, env_tax_avoided_yuan=p.env_tax_avoided_yuan,
            co2_kg=Decimal(str(p.co2_kg)).quantize(Decimal("0.001")), status=ProposalStatus.PENDING,
            expires_at=expires))
    db.session.flush()
    return round_


def _trim_to_cap(org_id: int, own, side: str, instance_json: dict) -> int:
    """Offer no more of one's own listing than the organisation may still hold of the other side: a round
    refuses when nothing is left under the cap, and otherwise trims. Returns the tonnes it may still hold."""
    allowance = hold_cap(org_id, own.material_id, side) - held_by(org_id, own.material_id, side)
    if allowance <= 0:
        raise Conflict(_l("Your organisation's accepted proposals already hold as much of this material as one "
                          "organisation may (%(cap)s t). Wait until they are decided or their hold ends.",
                          cap=f"{hold_cap(org_id, own.material_id, side):,}"))
    key, node_id = ("demands", f"D{own.id}") if side == "consumer" else ("supplies", f"S{own.id}")
    for node in instance_json[key]:
        if node["id"] == node_id:
            node["tonnes"] = min(node["tonnes"], allowance)
    return allowance


def _date(value, field: str) -> date:
    from .values import parse_date

    return parse_date(value, field)


# --- who sees what -------------------------------------------------------------------------------------

def can_see_round(viewer: User, round_: MatchRound) -> bool:
    """Staff see every round; others the rounds they started or that propose something to them."""
    org_id = viewer.organisation_id
    if viewer.organisation.is_staff or round_.organisation_id == org_id:
        return True
    return db.session.scalar(select(Proposal.id).where(
        Proposal.round_id == round_.id,
        or_(Proposal.producer_org_id == org_id, Proposal.consumer_org_id == org_id)).limit(1)) is not None


def get_round(viewer: User, round_id: int) -> MatchRound:
    round_ = get_row(MatchRound, round_id)
    if round_ is None or not can_see_round(viewer, round_):
        raise NotFound(_l("No such round."))
    return round_


def proposals_in_round(viewer: User, round_: MatchRound) -> list[Proposal]:
    """All of them for staff and the round's starter (a private round is about its own listing), otherwise
    those that concern the viewer."""
    query = (select(Proposal).where(Proposal.round_id == round_.id)
             .options(joinedload(Proposal.supply_listing).joinedload(SupplyListing.site),
                      joinedload(Proposal.supply_listing).joinedload(SupplyListing.material),
                      joinedload(Proposal.supply_listing).joinedload(SupplyListing.organisation),
                      joinedload(Proposal.demand_listing).joinedload(DemandListing.site),
                      joinedload(Proposal.demand_listing).joinedload(DemandListing.material),
                      joinedload(Proposal.demand_listing).joinedload(DemandListing.organisation),
                      joinedload(Proposal.agreement))
             .order_by(Proposal.id))
    org_id = viewer.organisation_id
    if not (viewer.organisation.is_staff or round_.organisation_id == org_id):
        query = query.where(or_(Proposal.producer_org_id == org_id, Proposal.consumer_org_id == org_id))
    return list(db.session.scalars(query).unique())


def party_of(viewer: User, proposal: Proposal) -> str | None:
    """'producer', 'consumer' or None: which side of the proposal the viewer's organisation is on."""
    if viewer.organisation_id == proposal.producer_org_id:
        return "producer"
    if viewer.organisation_id == proposal.consumer_org_id:
        return "consumer"
    return None


def can_see_proposal(viewer: User, proposal: Proposal) -> bool:
    return party_of(viewer, proposal) is not None or viewer.organisation.is_staff \
        or proposal.round.organisation_id == viewer.organisation_id


def get_proposal(viewer: User, proposal_id: int) -> Proposal:
    proposal = get_row(Proposal, proposal_id)
    if proposal is None or not can_see_proposal(viewer, proposal):
        raise NotFound(_l("No such proposal."))
    return proposal


def proposals_for(viewer: User, status: str | None = None, limit: int = 500) -> list[Proposal]:
    """Proposals to the viewer's organisation (all of them for staff), newest first."""
    query = select(Proposal).options(joinedload(Proposal.supply_listing).joinedload(SupplyListing.material),
                                     joinedload(Proposal.demand_listing), joinedload(Proposal.agreement))
    if not viewer.organisation.is_staff:
        org_id = viewer.organisation_id
        query = query.where(or_(Proposal.producer_org_id == org_id, Proposal.consumer_org_id == org_id))
    if status:
        try:
            query = query.where(Proposal.status == ProposalStatus(status))
        except ValueError:
            raise ValidationError(_l("Unknown status."), field="status") from None
    return list(db.session.scalars(query.order_by(Proposal.id.desc()).limit(limit)).unique())


def awaiting_decision(viewer: User) -> int:
    """How many pending proposals wait for the viewer's organisation to decide (the navigation badge)."""
    org_id = viewer.organisation_id
    return db.session.scalar(select(func.count(Proposal.id)).where(
        Proposal.status == ProposalStatus.PENDING, Proposal.expires_at >= utcnow(),
        or_(and_(Proposal.producer_org_id == org_id, Proposal.producer_decision.is_(None)),
            and_(Proposal.consumer_org_id == org_id, Proposal.consumer_decision.is_(None))))) or 0


# --- acceptance ----------------------------------------------------------------------------------------

def decide(actor: User, proposal_id: int, decision: str) -> Proposal:
    """The producer or the consumer accepts or declines. When both have accepted, an agreement takes the
    tonnes from both listings, or, if a listing no longer has them, the proposal lapses.

    Every step is a conditional UPDATE, so two parties deciding at the same moment, or proposals of
    overlapping rounds accepted together, can never promise more than a listing has left."""
    if decision not in ("accept", "decline"):
        raise ValidationError(_l("Decide accept or decline."), field="decision")
    proposal = get_proposal(actor, proposal_id)
    side = party_of(actor, proposal)
    if side is None:
        raise PermissionDenied(_l("Only the producer and the utiliser of a proposal decide on it."))
    expire_proposals()
    column = Proposal.producer_decision if side == "producer" else Proposal.consumer_decision
    by = Proposal.producer_decided_by_id if side == "producer" else Proposal.consumer_decided_by_id
    at = Proposal.producer_decided_at if side == "producer" else Proposal.consumer_decided_at
    value = "accepted" if decision == "accept" else "declined"
    changes = {column: value, by: actor.id, at: utcnow()}
    if decision == "decline":
        changes[Proposal.status] = ProposalStatus.DECLINED
    elif STARTER_SIDE.get(proposal.round.scope) == side and proposal.round.organisation_id == actor.organisation_id:
        other = proposal.consumer_decision if side == "producer" else proposal.producer_decision
        own = proposal.producer_decision if side == "producer" else proposal.consumer_decision
        # Not concluded at once: the hold starts now, short and within the cap (a proposal no longer open or
        # already decided gets its own answer from the conditional UPDATE below).
        if other != "accepted" and own is None and proposal.status == ProposalStatus.PENDING:
            _check_hold(actor, proposal, side)
            changes[Proposal.expires_at] = min(
                as_utc(proposal.expires_at), utcnow() + timedelta(hours=int(_setting("FIND_MATCHES_HOLD_HOURS"))))
    done = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == ProposalStatus.PENDING,
                               column.is_(None)).values(changes).execution_options(synchronize_session=False))
    db.session.expire(proposal)
    if done.rowcount != 1:
        if proposal.status != ProposalStatus.PENDING:
            raise Conflict(_l("This proposal is no longer open."), field="status")
        raise Conflict(_l("Your organisation has already decided on this proposal."), field="decision")
    if decision == "accept" and proposal.producer_decision == "accepted" and proposal.consumer_decision == "accepted":
        _conclude(proposal)
    return proposal


def _check_hold(actor: User, proposal: Proposal, side: str) -> None:
    """Refuse an acceptance that would make the organisation hold more than its cap of the material."""
    # Serialise one organisation's acceptances, so that two at once cannot both pass the check.
    db.session.execute(select(Organisation.id).where(Organisation.id == actor.organisation_id).with_for_update())
    material_id = proposal.supply_listing.material_id
    cap = hold_cap(actor.organisation_id, material_id, side)
    if held_by(actor.organisation_id, material_id, side) + proposal.tonnes > cap:
        raise Conflict(_l("Accepting would hold more of this material than one organisation may (%(cap)s t). "
                          "Wait until your other accepted proposals are decided or their hold ends.",
                          cap=f"{cap:,}"), field="decision")


def _promise(model, listing_id: int, tonnes: int) -> bool:
    """Take `tonnes` from a live listing if it still has them, in one conditional UPDATE."""
    result = db.session.execute(
        update(model).where(model.id == listing_id, model.status.in_(LIVE_STATUSES),
                            model.tonnes - model.tonnes_promised >= tonnes)
        .values(tonnes_promised=model.tonnes_promised + tonnes,
                status=case((model.tonnes_promised + tonnes == model.tonnes, ListingStatus.FULLY_MATCHED.value),
                            else_=ListingStatus.PARTLY_MATCHED.value))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _release(model, listing_id: int, tonnes: int) -> None:
    db.session.execute(
        update(model).where(model.id == listing_id)
        .values(tonnes_promised=model.tonnes_promised - tonnes,
                status=case((model.tonnes_promised - tonnes == 0, ListingStatus.OPEN.value),
                            else_=ListingStatus.PARTLY_MATCHED.value))
        .execution_options(synchronize_session=False))


def _conclude(proposal: Proposal) -> None:
    # Claim the proposal first: exactly one transaction turns it into an agreement.
    claimed = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == ProposalStatus.PENDING)
        .values(status=ProposalStatus.AGREED).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.expire(proposal)
        return
    tonnes = proposal.tonnes
    supply_ok = _promise(SupplyListing, proposal.supply_listing_id, tonnes)
    demand_ok = supply_ok and _promise(DemandListing, proposal.demand_listing_id, tonnes)
    if not demand_ok:
        if supply_ok:
            _release(SupplyListing, proposal.supply_listing_id, tonnes)
        db.session.execute(update(Proposal).where(Proposal.id == proposal.id)
                           .values(status=ProposalStatus.LAPSED).execution_options(synchronize_session=False))
        db.session.expire(proposal)
        return
    supply = db.session.get(SupplyListing, proposal.supply_listing_id)
    demand = db.session.get(DemandListing, proposal.demand_listing_id)
    db.session.expire(supply)
    db.session.expire(demand)
    db.session.add(Agreement(
        proposal_id=proposal.id, supply_listing_id=supply.id, demand_listing_id=demand.id,
        producer_org_id=proposal.producer_org_id, consumer_org_id=proposal.consumer_org_id,
        material_id=supply.material_id, tonnes=tonnes, price_yuan_per_t=proposal.price_yuan_per_t,
        transport_cost_yuan_per_t=proposal.transport_cost_yuan_per_t,
        delivered_price_yuan_per_t=proposal.delivered_price_yuan_per_t, distance_km=proposal.distance_km,
        mode=proposal.mode, use=demand.use, period_start=max(supply.period_start, demand.period_start),
        period_end=min(supply.period_end, demand.period_end)))
    db.session.flush()
    db.session.expire(proposal)
    from flask import g, has_app_context

    if has_app_context():
        g.pop("_counterparties", None)  # the two parties now see each other


# --- agreements ----------------------------------------------------------------------------------------

def agreements_for(viewer: User, limit: int = 500) -> list[Agreement]:
    query = select(Agreement).options(joinedload(Agreement.producer), joinedload(Agreement.consumer),
                                      joinedload(Agreement.material))
    if not viewer.organisation.is_staff:
        org_id = viewer.organisation_id
        query = query.where(or_(Agreement.producer_org_id == org_id, Agreement.consumer_org_id == org_id))
    return list(db.session.scalars(query.order_by(Agreement.id.desc()).limit(limit)).unique())


def get_agreement(viewer: User, agreement_id: int) -> Agreement:
    agreement = get_row(Agreement, agreement_id)
    if agreement is None or not (viewer.organisation.is_staff
                                 or viewer.organisation_id in (agreement.producer_org_id, agreement.consumer_org_id)):
        raise NotFound(_l("No such agreement."))
    return agreement


def counterparties(org_id: int) -> set[int]:
    """Organisations that have an agreement with `org_id`."""
    rows = db.session.execute(select(Agreement.producer_org_id, Agreement.consumer_org_id).where(
        or_(Agreement.producer_org_id == org_id, Agreement.consumer_org_id == org_id))).all()
    return {o for pair in rows for o in pair} - {org_id}


# --- JSON ----------------------------------------------------------------------------------------------

def proposal_to_dict(p: Proposal) -> dict:
    return {"id": p.id, "round_id": p.round_id, "status": p.status.value, "supply_listing_id": p.supply_listing_id,
            "demand_listing_id": p.demand_listing_id, "tonnes": p.tonnes, "distance_km": float(p.distance_km),
            "mode": p.mode, "price_yuan_per_t": f"{p.price_yuan_per_t:.2f}",
            "transport_cost_yuan_per_t": f"{p.transport_cost_yuan_per_t:.2f}",
            "delivered_price_yuan_per_t": f"{p.delivered_price_yuan_per_t:.2f}",
            "env_tax_avoided_yuan": f"{p.env_tax_avoided_yuan:.2f}", "co2_kg": float(p.co2_kg),
            "producer_decision": p.producer_decision, "consumer_decision": p.consumer_decision,
            "expires_at": iso(p.expires_at),
            "agreement_id": p.agreement.id if p.agreement else None}


def round_to_dict(r: MatchRound, proposals: list[Proposal]) -> dict:
    return {"id": r.id, "scope": r.scope, "created_at": iso(r.created_at),
            "period_start": r.period_start.isoformat() if r.period_start else None,
            "period_end": r.period_end.isoformat() if r.period_end else None,
            "parameters": r.parameters, "tariff_version": r.tariff.version, "solver_status": r.solver_status,
            "stats": r.stats, "tonnes_matched": r.tonnes_matched,
            "transport_cost_yuan": f"{r.transport_cost_yuan:.2f}",
            "env_tax_avoided_yuan": f"{r.env_tax_avoided_yuan:.2f}", "co2_kg": float(r.co2_kg),
            "baseline": r.baseline, "proposals": [proposal_to_dict(p) for p in proposals]}


def agreement_to_dict(a: Agreement) -> dict:
    return {"id": a.id, "proposal_id": a.proposal_id, "supply_listing_id": a.supply_listing_id,
            "demand_listing_id": a.demand_listing_id, "producer": a.producer.name, "consumer": a.consumer.name,
            "material": a.material.code, "tonnes": a.tonnes, "price_yuan_per_t": f"{a.price_yuan_per_t:.2f}",
            "transport_cost_yuan_per_t": f"{a.transport_cost_yuan_per_t:.2f}",
            "delivered_price_yuan_per_t": f"{a.delivered_price_yuan_per_t:.2f}",
            "distance_km": float(a.distance_km), "mode": a.mode, "period_start": a.period_start.isoformat(),
            "period_end": a.period_end.isoformat(), "created_at": iso(a.created_at)}
