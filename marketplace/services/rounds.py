"""Matching rounds: turn open listings into an optimiser instance, solve it and offer the pairings as
proposals (see proposals.py for what they hold and how parties decide, agreements.py for what follows)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from matching import Instance, InstanceError, SolveOptions, solve

from ..clock import utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import DemandListing, MatchRound, Proposal, ProposalStatus, SupplyListing, TariffVersion, User
from ..models.listing import LIVE_STATUSES
from ..schemas.common import validate
from ..schemas.matching import RoundOut, RoundRequest
from .listings import coarse_site_position, expire_due
from .proposals import STARTER_SIDE, expire_proposals, held_by, hold_cap, pending_tonnes, proposal_out
from .tariff import tariff_in_force, tariff_json
from .values import get_row

SOLVER_TIME_LIMIT_S = 10.0


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


def _floats(values: dict) -> dict:
    return {k: float(v) for k, v in (values or {}).items()}


def build_instance(supplies, demands, tariff: TariffVersion) -> tuple[dict, dict, dict]:
    """The optimiser's JSON instance for these listings' unpromised, unreserved tonnes.

    Every site is placed at the centre of its grid cell (listings.coarse_position), so that proposals'
    distances and prices never tell one party where the other's site is before they agree.

    Returns (instance, supplies by optimiser id, demands by optimiser id)."""
    s_left = pending_tonnes(Proposal.supply_listing_id, [s.id for s in supplies])
    d_left = pending_tonnes(Proposal.demand_listing_id, [d.id for d in demands])
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
    fields = validate(RoundRequest, {"supply_listing_ids": supply_listing_ids, "demand_listing_ids": demand_listing_ids,
                                     "period_start": period_start, "period_end": period_end,
                                     "min_shipment_t": min_shipment_t, "max_partners": max_partners})
    supply_ids, demand_ids = fields.supply_listing_ids, fields.demand_listing_ids
    start, end = fields.period_start, fields.period_end
    if start and end and end < start:
        raise ValidationError(_l("The period ends before it starts."), field="period_end")
    min_t, partners = fields.min_shipment_t or 0, fields.max_partners

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


def round_out(r: MatchRound, proposals: list[Proposal]) -> RoundOut:
    return RoundOut(id=r.id, scope=r.scope, created_at=r.created_at, period_start=r.period_start,
                    period_end=r.period_end, parameters=r.parameters, tariff_version=r.tariff.version,
                    solver_status=r.solver_status, stats=r.stats, tonnes_matched=r.tonnes_matched,
                    transport_cost_yuan=r.transport_cost_yuan, env_tax_avoided_yuan=r.env_tax_avoided_yuan,
                    co2_kg=float(r.co2_kg), baseline=r.baseline, proposals=[proposal_out(p) for p in proposals])
