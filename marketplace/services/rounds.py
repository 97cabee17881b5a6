"""Matching rounds: turn open listings into an optimiser instance, solve it and offer the pairings as
proposals (see proposals.py for what they hold and how parties decide, agreements.py for what follows)."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, insert, literal, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from matching import Instance, InstanceError, Plan, SeasonalError, SolveOptions, SolverError, solve

from ..clock import iso, utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db, in_batches, rowcount
from ..labels import ROUND_ERROR, ROUND_STATUS, label
from ..models import (
    DemandListing,
    MatchRound,
    Objective,
    Organisation,
    Proposal,
    ProposalMonth,
    ProposalStatus,
    RoundScope,
    RoundStatus,
    SupplyListing,
    TariffVersion,
    User,
)
from ..models.listing import AnyListing, ListingModel, live
from ..models.matching import FINISHED_ROUND, RUNNING_ROUND
from ..ops.metrics import time_phase
from ..schemas.common import validate
from ..schemas.matching import RoundOut, RoundRequest
from ..schemas.seasonal import SeasonalRoundRequest
from . import calendar, queue, seasons
from .listings import coarse_site_position
from .proposals import STARTER_SIDE, held_by, hold_cap, pending_tonnes, proposal_out
from .tariff import tariff_in_force, tariff_json
from .values import get_row

log = logging.getLogger(__name__)

SOLVER_TIME_LIMIT_S = 10.0


def _live(model, ids, period_start, period_end):
    query = (select(model).where(live(model))
             .options(joinedload(model.site), joinedload(model.material)))
    if model is DemandListing:
        query = query.options(selectinload(DemandListing.also_materials))
    if ids is not None:
        query = query.where(model.id.in_(ids or [-1]))
    if period_start is not None:
        query = query.where(model.period_end >= period_start)
    if period_end is not None:
        query = query.where(model.period_start <= period_end)
    return list(db.session.scalars(query.order_by(model.id)).unique())


def _floats(values: dict) -> dict:
    return {k: float(v) for k, v in (values or {}).items()}


def build_instance(supplies: Sequence[SupplyListing], demands: Sequence[DemandListing],
                   tariff: TariffVersion) -> tuple[dict[str, Any], dict[Any, SupplyListing], dict[Any, DemandListing]]:
    """The optimiser's JSON instance for these listings' unpromised, unreserved tonnes.

    Every site is placed at the centre of its grid cell (listings.coarse_position), so that proposals'
    distances and prices never tell one party where the other's site is before they agree.

    Returns (instance, supplies by optimiser id, demands by optimiser id)."""
    s_left = pending_tonnes(Proposal.supply_listing_id, [s.id for s in supplies])
    d_left = pending_tonnes(Proposal.demand_listing_id, [d.id for d in demands])
    s_by: dict[Any, SupplyListing] = {}
    d_by: dict[Any, DemandListing] = {}
    s_json: list[dict[str, Any]] = []
    d_json: list[dict[str, Any]] = []
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
            # a need that accepts other materials too is one demand for any mix of them (no grade then)
            accepts = ({"materials": [m.code for m in d.materials]} if d.also_materials
                       else {"material": d.material.code})
            d_json.append({"id": f"D{d.id}", **accepts, "min_grade": d.min_grade,
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


def start_round(actor: User, supply_listing_ids: object = None, demand_listing_ids: object = None,
                period_start: object = None, period_end: object = None, min_shipment_t: object = None,
                max_partners: object = None, compare_greedy: object = False, run_now: bool = False,
                objective: object = None, truckloads: object = False,
                max_partners_per_supply: object = None,
                seasonal: dict[str, Any] | None = None) -> MatchRound:
    """Ask for a round: check who may run it on what, store it queued, and have a worker build, solve and
    write it (`run_queued_round`) once this transaction commits. Nothing here waits on the optimiser.

    The operator or a regulator rounds over the open market (optionally narrowed by listing ids and a
    period); a utiliser over one of its demand listings against all open supply ("find me supply"); a
    producer over one of its supply listings against all open demand. `compare_greedy` also runs the
    cheapest-first comparison (it can take longer than the solve itself on a large market). `objective`,
    `truckloads`, `min_shipment_t`, `max_partners` (per demand) and `max_partners_per_supply` are the
    optimiser's options (matching.options.SolveOptions), stored on the round. `run_now` builds,
    solves and writes it in the caller's transaction instead (seeding the demo; never a web request)."""
    org = actor.organisation
    fields = validate(RoundRequest, {"supply_listing_ids": supply_listing_ids, "demand_listing_ids": demand_listing_ids,
                                     "period_start": period_start, "period_end": period_end,
                                     "min_shipment_t": min_shipment_t, "max_partners": max_partners,
                                     "compare_greedy": compare_greedy, "objective": objective,
                                     "truckloads": truckloads, "max_partners_per_supply": max_partners_per_supply})
    supply_ids, demand_ids = fields.supply_listing_ids, fields.demand_listing_ids
    start, end = fields.period_start, fields.period_end
    if start and end and end < start:
        raise ValidationError(_l("The period ends before it starts."), field="period_end")
    min_t, partners, compare_greedy = fields.min_shipment_t or 0, fields.max_partners, fields.compare_greedy
    scope = _scope(org, supply_ids, demand_ids)
    allowance = None
    if scope != "market":
        own = _own_listing(org, scope, supply_ids, demand_ids, start, end)
        allowance = _allowance(org.id, own, STARTER_SIDE[RoundScope(scope)])
    tariff = tariff_in_force()
    round_ = MatchRound(
        started_by_id=actor.id, organisation_id=org.id, scope=scope, period_start=start, period_end=end,
        parameters={"supply_listing_ids": supply_ids, "demand_listing_ids": demand_ids,
                    "min_shipment_t": min_t, "max_partners": partners, "hold_allowance_t": allowance,
                    "compare_greedy": compare_greedy, **({"seasonal": seasonal} if seasonal else {})},
        objective=fields.objective or Objective.MAX_TONNES, truckloads=fields.truckloads,
        max_partners_per_supply=fields.max_partners_per_supply,
        tariff_version_id=tariff.id, status=RoundStatus.QUEUED, job_id=f"round-{uuid.uuid4().hex}")
    db.session.add(round_)
    db.session.flush()
    if run_now:
        _run_in_place(round_)
    else:
        queue.enqueue("run_round", round_.id, task_id=round_.job_id)
    return round_


def _run_in_place(round_: MatchRound) -> None:
    for phase in (RoundStatus.BUILDING, RoundStatus.SOLVING):
        begin_phase(round_.id, phase)
    work = build_round(round_.id)
    plan = solve_round(work)
    begin_phase(round_.id, RoundStatus.WRITING)
    write_round(round_.id, work, plan)
    store_curve(round_.id, plan)
    db.session.refresh(round_)
    db.session.expire(round_, ["proposals"])


def _scope(org: Organisation, supply_ids: list[int] | None, demand_ids: list[int] | None) -> RoundScope:
    if org.is_staff:
        return RoundScope.MARKET
    if demand_ids is not None and len(demand_ids) == 1 and supply_ids is None and org.is_consumer:
        scope = RoundScope.DEMAND
    elif supply_ids is not None and len(supply_ids) == 1 and demand_ids is None and org.is_producer:
        scope = RoundScope.SUPPLY
    else:
        raise PermissionDenied(_l("Only the operator or a regulator runs market rounds; a utiliser or producer "
                                  "runs a round for one of its own listings."))
    if not org.is_verified:
        raise PermissionDenied(_l("Your organisation must be verified first."))
    return scope


def _own_listing(org: Organisation, scope: str, supply_ids: list[int] | None, demand_ids: list[int] | None,
                 start: date | None, end: date | None) -> AnyListing:
    """The one live listing of the organisation a private round is for."""
    model, ids = (DemandListing, demand_ids) if scope == "demand" else (SupplyListing, supply_ids)
    own = _live(model, ids, start, end)
    if len(own) != 1 or own[0].organisation_id != org.id:
        raise ValidationError(_l("Choose one of your own open listings."),
                              field="demand_listing_ids" if scope == "demand" else "supply_listing_ids")
    return own[0]


class RoundFailed(Exception):
    """A round cannot be finished: `code` for machines (labels.ROUND_ERROR has the words), `detail` for the
    operator."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


@dataclass
class RoundWork:
    """What a round's build phase hands to its solve and write phases."""

    instance_json: dict
    supplies: dict
    demands: dict
    options: SolveOptions
    lifetime_hours: int


#: The phase a round moves to, from the statuses it may come from.
_PHASES = {RoundStatus.BUILDING: (RoundStatus.QUEUED,), RoundStatus.SOLVING: (RoundStatus.BUILDING,),
           RoundStatus.WRITING: (RoundStatus.SOLVING,)}
_PHASE_TIME = {RoundStatus.BUILDING: "building_at", RoundStatus.SOLVING: "solving_at",
               RoundStatus.WRITING: "writing_at"}


def begin_phase(round_id: int, phase: RoundStatus) -> bool:
    """Move the round to `phase` unless it was cancelled (or asked to be): then it ends as cancelled.
    Returns whether the round goes on. One conditional UPDATE: a cancel at the same moment wins or loses
    cleanly."""
    now = utcnow()
    moved = db.session.execute(
        update(MatchRound).where(MatchRound.id == round_id, MatchRound.status.in_(_PHASES[phase]),
                                 MatchRound.cancel_requested.is_(False))
        .values({MatchRound.status: phase, getattr(MatchRound, _PHASE_TIME[phase]): now})
        .execution_options(synchronize_session=False))
    if rowcount(moved) == 1:
        return True
    db.session.execute(
        update(MatchRound).where(MatchRound.id == round_id, MatchRound.status.in_(_PHASES[phase]))
        .values(status=RoundStatus.CANCELLED, finished_at=now).execution_options(synchronize_session=False))
    return False


def build_round(round_id: int) -> RoundWork:
    """The build phase: the live listings of the round's scope, as the optimiser's instance."""
    round_ = db.session.get(MatchRound, round_id)
    if round_ is None:
        raise RoundFailed("internal_error", f"round {round_id} does not exist")
    p = round_.parameters
    start, end = round_.period_start, round_.period_end
    supplies = _live(SupplyListing, p.get("supply_listing_ids"), start, end)
    demands = _live(DemandListing, p.get("demand_listing_ids"), start, end)
    own = None
    if round_.scope != "market":
        own_side = demands if round_.scope == "demand" else supplies
        if len(own_side) != 1:
            raise RoundFailed("listing_gone")
        own = own_side[0]
        if round_.scope == "demand":
            assert isinstance(own, DemandListing)
            accepted = {m.id for m in own.materials}
            supplies = [s for s in _live(SupplyListing, None, start, end) if s.material_id in accepted]
        else:
            demands = [d for d in _live(DemandListing, None, start, end)
                       if own.material_id in {m.id for m in d.materials}]
    tariff = round_.tariff
    instance_json, s_by, d_by = build_instance(supplies, demands, tariff)
    if own is not None:
        try:
            allowance = _trim_to_cap(round_.organisation_id, own, STARTER_SIDE[round_.scope], instance_json)
        except Conflict as e:
            raise RoundFailed("hold_cap", str(e.message)) from e
        p = {**p, "hold_allowance_t": allowance}
    if p.get("seasonal"):  # a seasonal round: profiles and yards/silos over its months (services/seasons.py)
        instance_json = seasons.add_seasons(instance_json, [seasons.month_of(x) for x in p["seasonal"]["periods"]],
                                            s_by, d_by)
    round_.parameters = {**p, "supplies": len(instance_json["supplies"]), "demands": len(instance_json["demands"])}
    options = SolveOptions.make(min_shipment_t=p.get("min_shipment_t") or 0, max_partners=p.get("max_partners"),
                                objective=Objective(round_.objective).value, truckloads=round_.truckloads,
                                max_partners_per_supply=round_.max_partners_per_supply,
                                exclude=_own_pairs(s_by, d_by), time_limit_s=SOLVER_TIME_LIMIT_S,
                                co2_kg_per_t_km=float(tariff.co2_kg_per_t_km),
                                rail_co2_kg_per_t_km=float(tariff.rail_co2_kg_per_t_km),
                                baseline=bool(p.get("compare_greedy")),
                                marginal_curve=False)  # after the proposals are out (store_curve)
    return RoundWork({**instance_json}, {k: v.id for k, v in s_by.items()}, {k: v.id for k, v in d_by.items()},
                     options, tariff.proposal_lifetime_hours)


def solve_round(work: RoundWork) -> Plan:
    """The solve phase: no database, only the optimiser."""
    try:
        plan = solve(Instance.from_json(work.instance_json), work.options)
        return seasons.compare_without_storage(work.instance_json, work.options, plan) if plan.periods else plan
    except (InstanceError, SeasonalError) as e:  # a listing the marketplace accepted but the optimiser does not
        raise RoundFailed("invalid_instance", str(e)) from e
    except SolverError as e:
        raise RoundFailed("solver_failed", str(e)) from e


def write_round(round_id: int, work: RoundWork, plan: Plan) -> int:
    """The write phase: the round's totals and its proposals, in one INSERT of many rows; the round is done.
    A pairing whose listing left the market while the round was solving is not offered. Returns how many
    proposals were written."""
    if plan.periods:
        return write_seasonal_round(round_id, work, plan)
    round_ = db.session.get_one(MatchRound, round_id)
    live_s = _still_live(SupplyListing, set(work.supplies.values()))
    live_d = _still_live(DemandListing, set(work.demands.values()))
    expires = utcnow() + timedelta(hours=work.lifetime_hours)
    rows = []
    for p in plan.pairings:
        s, d = live_s.get(str(p.supply)), live_d.get(str(p.demand))
        if s is None or d is None:
            continue
        rows.append({
            "round_id": round_id, "supply_listing_id": s.id, "demand_listing_id": d.id,
            "producer_org_id": s.organisation_id, "consumer_org_id": d.organisation_id, "tonnes": p.tonnes,
            "distance_km": p.distance_km, "mode": p.mode, "price_yuan_per_t": s.price_yuan_per_t,
            "transport_cost_yuan_per_t": p.transport_cost_yuan_per_t,
            "delivered_price_yuan_per_t": p.delivered_price_yuan_per_t,
            "env_tax_avoided_yuan": p.env_tax_avoided_yuan,
            "co2_kg": Decimal(str(p.co2_kg)).quantize(Decimal("0.001")), "status": ProposalStatus.PENDING,
            "expires_at": expires, "created_at": utcnow()})
    if rows:
        db.session.execute(insert(Proposal), rows)
        _notify_parties(round_, rows)
    round_.delivered_cost_yuan = plan.delivered_cost_yuan
    round_.value_yuan = plan.value_yuan
    round_.marginal_cost_curve = list(plan.marginal_cost_curve)
    _done(round_, plan, {**plan.stats, **({"curve": "pending"} if plan.deferred_curve else {})}, len(rows))
    return len(rows)


def _done(round_: MatchRound, plan: Plan, stats: dict[str, Any], written: int) -> None:
    """The totals every round keeps from its plan, how many proposals it wrote, and its end."""
    round_.solver_status = plan.status
    round_.stats = stats
    round_.baseline = plan.baseline.to_json() if plan.baseline else None
    round_.tonnes_matched = plan.tonnes_matched
    round_.proposal_count = written
    round_.transport_cost_yuan = plan.transport_cost_yuan
    round_.env_tax_avoided_yuan = plan.env_tax_avoided_yuan
    round_.co2_kg = Decimal(str(plan.co2_kg)).quantize(Decimal("0.001"))
    round_.status = RoundStatus.DONE
    round_.finished_at = utcnow()
    db.session.flush()


def _notify_parties(round_: MatchRound, rows: list[dict]) -> None:
    """Each organisation offered proposals by the round hears of them once, with its count (both sides)."""
    from collections import Counter

    from ..models import NotificationKind
    from .notifications import notify

    counts = Counter(org for r in rows for org in {r["producer_org_id"], r["consumer_org_id"]})
    notify(NotificationKind.PROPOSALS_NEW, round_, counts, {"round": round_.id},
           per_organisation={org: {"count": n} for org, n in counts.items()})


@dataclass(frozen=True)
class _Party:
    """What a proposal takes from its listing when it is written."""
    id: int
    organisation_id: int
    price_yuan_per_t: Decimal | None  # the supply's ex-works price


def _still_live(model: ListingModel, ids: set[int]) -> dict[str, _Party]:
    """The listings among `ids` still in the market, by optimiser id ("S12", "D7"): three columns each, not
    tens of thousands of loaded listings."""
    supply = model is SupplyListing
    price = SupplyListing.price_yuan_per_t if supply else literal(None)
    out: dict[str, _Party] = {}
    for batch in in_batches(ids):
        for i, org, pr in db.session.execute(select(model.id, model.organisation_id, price)
                                             .where(model.id.in_(batch), live(model))):
            out[f"{'S' if supply else 'D'}{i}"] = _Party(i, org, pr)
    return out


def fail_round(round_id: int, code: str, detail: str = "") -> None:
    """Mark an unfinished round failed with its reason."""
    db.session.execute(
        update(MatchRound).where(MatchRound.id == round_id, MatchRound.status.not_in(FINISHED_ROUND))
        .values(status=RoundStatus.FAILED, error=code, error_detail=detail[:500], finished_at=utcnow())
        .execution_options(synchronize_session=False))


def run_queued_round(round_id: int, commit: Callable[[], None]) -> str:
    """A queued round through its phases (the job's body); `commit` ends each phase's transaction, so the
    round page sees the phase, and no transaction stays open while the optimiser works. Returns the status
    the round ended in."""
    try:
        if not begin_phase(round_id, RoundStatus.BUILDING):
            return _ended(round_id, commit)
        commit()
        with time_phase("building"):
            work = build_round(round_id)
        if not begin_phase(round_id, RoundStatus.SOLVING):
            return _ended(round_id, commit)
        commit()
        with time_phase("solving"):
            plan = solve_round(work)
        if not begin_phase(round_id, RoundStatus.WRITING):
            return _ended(round_id, commit)
        commit()
        with time_phase("writing"):
            write_round(round_id, work, plan)
        commit()
        with time_phase("curve"):
            store_curve(round_id, plan)
        commit()
        return RoundStatus.DONE.value
    except RoundFailed as e:
        db.session.rollback()
        fail_round(round_id, e.code, e.detail)
    except Exception as e:  # a bug: the round must not stay "solving" for ever; the log has the trace
        log.exception("round %s failed", round_id)
        db.session.rollback()
        fail_round(round_id, "internal_error", f"{type(e).__name__}: {e}")
    return _ended(round_id, commit)


def store_curve(round_id: int, plan: Plan) -> None:
    """The marginal cost curve of a done round, computed once its proposals are out: the parties need not
    wait for the operator's figure (four more flows, as long as the solve itself). A curve that cannot be
    computed leaves the round done, its curve marked failed (the log has why)."""
    if plan.deferred_curve is None:
        return
    try:  # before touching the database: no transaction stays open while the flows run
        curve, state = plan.deferred_curve(), "done"
    except Exception:
        log.exception("round %s: marginal cost curve failed", round_id)
        curve, state = [], "failed"
    round_ = db.session.get_one(MatchRound, round_id)
    round_.marginal_cost_curve = list(curve)
    round_.stats = {**(round_.stats or {}), "curve": state}
    db.session.flush()


def _ended(round_id: int, commit: Callable[[], None]) -> str:
    commit()
    return db.session.execute(select(MatchRound.status).where(MatchRound.id == round_id)).scalar_one().value


def may_cancel(viewer: User, round_: MatchRound) -> bool:
    """The organisation that started a round; staff for a market round."""
    return round_.organisation_id == viewer.organisation_id or (
        viewer.organisation.is_staff and round_.scope == "market")


def cancel_round(actor: User, round_id: int) -> MatchRound:
    """A queued round is cancelled and taken off the queue; a running one is asked to stop at its next phase
    boundary (its status says so once it has)."""
    round_ = get_round(actor, round_id)
    if not may_cancel(actor, round_):
        raise PermissionDenied(_l("Only the organisation that started a round may cancel it."))
    cancelled = db.session.execute(
        update(MatchRound).where(MatchRound.id == round_.id, MatchRound.status == RoundStatus.QUEUED)
        .values(status=RoundStatus.CANCELLED, cancel_requested=True, finished_at=utcnow())
        .execution_options(synchronize_session=False))
    if rowcount(cancelled) == 1:
        if round_.job_id:
            queue.revoke(round_.job_id)
    else:
        asked = db.session.execute(
            update(MatchRound).where(MatchRound.id == round_.id, MatchRound.status.in_(RUNNING_ROUND))
            .values(cancel_requested=True).execution_options(synchronize_session=False))
        if rowcount(asked) != 1:
            db.session.refresh(round_)
            raise Conflict(_l("This round has already finished."), field="status")
    db.session.refresh(round_)
    return round_


def _allowance(org_id: int, own: AnyListing, side: str) -> int:
    """What the organisation may still hold of the other side; a Conflict when nothing is left under the cap."""
    allowance = hold_cap(org_id, own.material_id, side) - held_by(org_id, own.material_id, side)
    if allowance <= 0:
        raise Conflict(_l("Your organisation's accepted proposals already hold as much of this material as one "
                          "organisation may (%(cap)s t). Wait until they are decided or their hold ends.",
                          cap=f"{hold_cap(org_id, own.material_id, side):,}"))
    return allowance


def _trim_to_cap(org_id: int, own: AnyListing, side: str, instance_json: dict[str, Any]) -> int:
    """Offer no more of one's own listing than the organisation may still hold of the other side: a round
    refuses when nothing is left under the cap, and otherwise trims. Returns the tonnes it may still hold."""
    allowance = _allowance(org_id, own, side)
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


def recent_rounds(viewer: User, limit: int = 200) -> list[MatchRound]:
    """The latest rounds the viewer started (all of them for staff); each knows how many proposals it wrote
    (`proposal_count`), so that the list counts nothing."""
    query = select(MatchRound).order_by(MatchRound.id.desc()).limit(limit)
    if not viewer.organisation.is_staff:
        query = query.where(MatchRound.organisation_id == viewer.organisation_id)
    return list(db.session.scalars(query))


#: Proposals per page of a round: its page, and the API's default (a market round makes tens of thousands).
ROUND_PAGE_SIZE = 100
API_ROUND_PAGE_SIZE = 500


def _round_proposals(viewer: User, round_: MatchRound) -> Select[Proposal]:
    """All of them for staff and the round's starter (a private round is about its own listing), otherwise
    those that concern the viewer; with what a row shows loaded in the same statement."""
    query = (select(Proposal).where(Proposal.round_id == round_.id)
             .options(joinedload(Proposal.supply_listing).joinedload(SupplyListing.site),
                      joinedload(Proposal.supply_listing).joinedload(SupplyListing.material),
                      joinedload(Proposal.supply_listing).joinedload(SupplyListing.organisation),
                      joinedload(Proposal.demand_listing).joinedload(DemandListing.site),
                      joinedload(Proposal.demand_listing).joinedload(DemandListing.material),
                      joinedload(Proposal.demand_listing).joinedload(DemandListing.organisation),
                      joinedload(Proposal.agreement)))
    org_id = viewer.organisation_id
    if not (viewer.organisation.is_staff or round_.organisation_id == org_id):
        query = query.where(or_(Proposal.producer_org_id == org_id, Proposal.consumer_org_id == org_id))
    return query


def proposals_in_round(viewer: User, round_: MatchRound, largest: int) -> list[Proposal]:
    """The `largest` proposals by tonnes that the viewer sees (a map draws at most so many)."""
    query = _round_proposals(viewer, round_).order_by(Proposal.tonnes.desc(), Proposal.id).limit(largest)
    return list(db.session.scalars(query).unique())


def proposals_page(viewer: User, round_: MatchRound, page: int, per_page: int) -> Pagination:
    """One page of the proposals the viewer sees, in the order they were made (a count and a page)."""
    return db.paginate(_round_proposals(viewer, round_).order_by(Proposal.id), page=page, per_page=per_page,
                       error_out=False)


def round_progress(r: MatchRound) -> dict:
    """Where the round is (the API's status fields, and what the round page polls)."""
    return {"id": r.id, "status": r.status.value, "status_label": str(label(ROUND_STATUS, r.status.value)),
            "finished": r.finished, "cancel_requested": r.cancel_requested,
            "error": None if r.error is None else {"code": r.error, "message": str(label(ROUND_ERROR, r.error))},
            "queued_at": iso(r.created_at), "building_at": iso(r.building_at), "solving_at": iso(r.solving_at),
            "writing_at": iso(r.writing_at), "finished_at": iso(r.finished_at)}


def proposal_count(viewer: User, round_: MatchRound) -> int:
    """How many proposals of the round the viewer sees (proposals_in_round's rule), counted in the database."""
    query = select(func.count()).select_from(Proposal).where(Proposal.round_id == round_.id)
    org_id = viewer.organisation_id
    if not (viewer.organisation.is_staff or round_.organisation_id == org_id):
        query = query.where(or_(Proposal.producer_org_id == org_id, Proposal.consumer_org_id == org_id))
    return int(db.session.scalar(query) or 0)


def round_out(r: MatchRound, page: Pagination | None = None) -> RoundOut:
    """The round with its progress; its results and a page of its proposals once it is done."""
    proposals = list(page.items) if page is not None else []
    paging = ({"proposals_total": page.total or 0, "page": page.page, "per_page": page.per_page,
               "pages": page.pages} if page is not None
              else {"proposals_total": 0, "page": 1, "per_page": API_ROUND_PAGE_SIZE, "pages": 0})
    return RoundOut(**round_progress(r), **paging, scope=r.scope, created_at=r.created_at, period_start=r.period_start,
                    period_end=r.period_end, parameters=r.parameters, **round_options(r),
                    tariff_version=r.tariff.version, solver_status=r.solver_status, stats=r.stats,
                    tonnes_matched=r.tonnes_matched, transport_cost_yuan=r.transport_cost_yuan,
                    env_tax_avoided_yuan=r.env_tax_avoided_yuan, delivered_cost_yuan=r.delivered_cost_yuan,
                    value_yuan=r.value_yuan, net_value_yuan=net_value_yuan(r),
                    marginal_cost_curve=r.marginal_cost_curve or [], co2_kg=float(r.co2_kg), baseline=r.baseline,
                    proposals=[proposal_out(p) for p in proposals])


def round_options(r: MatchRound) -> dict[str, Any]:
    """The optimiser's options the round was asked for, named as in matching.options.SolveOptions."""
    p = r.parameters or {}
    return {"objective": Objective(r.objective), "truckloads": r.truckloads,
            "min_shipment_t": p.get("min_shipment_t") or 0, "max_partners": p.get("max_partners"),
            "max_partners_per_supply": r.max_partners_per_supply}


def net_value_yuan(r: MatchRound) -> Decimal | None:
    """What the tonnes matched are worth net of their transport (None for a round from before values)."""
    return None if r.value_yuan is None else r.value_yuan - r.transport_cost_yuan


# --- seasonal rounds (issue #14) -----------------------------------------------------------------------------

def start_seasonal_round(actor: User, horizon_start: object, horizon_months: object,
                         supply_listing_ids: object = None, demand_listing_ids: object = None,
                         run_now: bool = False) -> MatchRound:
    """A round over a horizon of months (e.g. 12 from a chosen month): each listing offers or takes its monthly
    profile, its yard or silo carries stock from month to month, and each proposal carries its delivery schedule
    by month. Who may run it is as for `start_round` (the operator or a regulator over the market, a firm for
    one of its own listings); lot rules (minimum shipment, partner caps) do not apply to it."""
    fields = validate(SeasonalRoundRequest, {"horizon_start": horizon_start, "horizon_months": horizon_months,
                                             "supply_listing_ids": supply_listing_ids,
                                             "demand_listing_ids": demand_listing_ids})
    months = seasons.horizon(fields.horizon_start, fields.horizon_months)
    return start_round(actor, fields.supply_listing_ids, fields.demand_listing_ids, months[0].isoformat(),
                       calendar.month_end(months[-1]).isoformat(), run_now=run_now,
                       seasonal={"periods": [seasons.label(m) for m in months]})


def write_seasonal_round(round_id: int, work: RoundWork, plan: Plan) -> int:
    """The write phase of a seasonal round: one proposal per supply, demand and mode, with its schedule by month
    (the plan's pairings of that pair, one per period); the stock of yards and silos per month in the round's
    stats. Returns how many proposals were written."""
    round_ = db.session.get_one(MatchRound, round_id)
    live_s = _still_live(SupplyListing, set(work.supplies.values()))
    live_d = _still_live(DemandListing, set(work.demands.values()))
    expires = utcnow() + timedelta(hours=work.lifetime_hours)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for pairing in plan.pairings:
        if str(pairing.supply) in live_s and str(pairing.demand) in live_d:
            groups.setdefault((str(pairing.supply), str(pairing.demand), str(pairing.mode)), []).append(pairing)
    written = []
    for (sid, did, _mode), pairings in groups.items():
        s, d, first = live_s[sid], live_d[did], pairings[0]
        proposal = Proposal(
            round_id=round_id, supply_listing_id=s.id, demand_listing_id=d.id, producer_org_id=s.organisation_id,
            consumer_org_id=d.organisation_id, tonnes=sum(p.tonnes for p in pairings),
            distance_km=first.distance_km, mode=first.mode, price_yuan_per_t=s.price_yuan_per_t,
            transport_cost_yuan_per_t=first.transport_cost_yuan_per_t,
            delivered_price_yuan_per_t=first.delivered_price_yuan_per_t,
            env_tax_avoided_yuan=sum((Decimal(str(p.env_tax_avoided_yuan)) for p in pairings), Decimal(0)),
            co2_kg=Decimal(str(sum(p.co2_kg for p in pairings))).quantize(Decimal("0.001")),
            status=ProposalStatus.PENDING, expires_at=expires, created_at=utcnow())
        db.session.add(proposal)
        written.append((proposal, pairings))
    db.session.flush()
    months: list[dict[str, Any]] = []
    for proposal, pairings in written:
        by_month: dict[date, int] = {}
        for p in pairings:
            month = seasons.month_of(str(p.period))
            by_month[month] = by_month.get(month, 0) + p.tonnes
        months += [{"proposal_id": proposal.id, "month": m, "tonnes": t} for m, t in sorted(by_month.items()) if t]
    if months:
        db.session.execute(insert(ProposalMonth), months)
    _notify_parties(round_, [{"producer_org_id": p.producer_org_id, "consumer_org_id": p.consumer_org_id}
                             for p, _ in written])
    periods = list(plan.periods or [])
    stock = {side: [0] * len(periods) for side in ("supply", "demand")}
    for level in plan.storage:
        stock[level.side][periods.index(level.period)] += level.end_stock_t
    _done(round_, plan, {**plan.stats, "seasonal": {
        "periods": periods, "stock_t": stock,
        "holding_cost_yuan": None if plan.holding_cost_yuan is None else f"{plan.holding_cost_yuan:.2f}",
        "total_cost_yuan": None if plan.total_cost_yuan is None else f"{plan.total_cost_yuan:.2f}"}}, len(written))
    return len(written)
