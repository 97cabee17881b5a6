"""Proposals: what a round offers two parties, what a pending proposal holds, and the parties' decisions.

Reservations. A pending proposal *holds* (reserves) its tonnes, so that later rounds do not offer them again,
when:
- it comes from a market round (the operator's or a regulator's), until it is decided or expires; or
- it comes from a firm's own *Find matches* round and that firm has accepted it: from then on it holds for
  FIND_MATCHES_HOLD_HOURS at most (its deadline is brought forward), before that it holds nothing.
One organisation's holds of a material may not exceed RESERVATION_SHARE_CAP of that material's free tonnes
on the other side (or RESERVATION_FLOOR_T, whichever is larger): its own rounds are trimmed to what is left,
and its acceptance that would start a hold beyond it is refused. Withdrawing or editing a listing ends its
pending proposals (status "withdrawn")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, joinedload
from sqlalchemy.sql import ColumnElement

from .. import policy
from ..clock import as_utc, utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db, in_batches, rowcount
from ..models import (
    Decision,
    DemandListing,
    MatchRound,
    Organisation,
    Proposal,
    ProposalStatus,
    RoundScope,
    SupplyListing,
    Use,
    User,
)
from ..models.listing import AnyListing, live
from ..models.matching import proposal_status_is
from ..schemas.matching import ProposalOut
from .agreements import conclude
from .values import get_row


def expire_proposals(now: datetime | None = None) -> int:
    """Store the expiry of pending proposals past their lifetime (the scheduled job; every read already treats
    them as expired: models.matching and `status_is`)."""
    result = db.session.execute(
        update(Proposal).where(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at < (now or utcnow()))
        .values(status=ProposalStatus.EXPIRED).execution_options(synchronize_session=False))
    return rowcount(result) or 0


DEFAULTS = {"FIND_MATCHES_HOLD_HOURS": 4, "RESERVATION_SHARE_CAP": "0.20", "RESERVATION_FLOOR_T": 1000}


def _setting(name: str) -> Any:
    return policy.setting(name, DEFAULTS[name])


#: The side whose tonnes a private round's starter takes: a demand round holds supply, and the reverse.
STARTER_SIDE = {RoundScope.DEMAND: "consumer", RoundScope.SUPPLY: "producer"}


def _holds(now: datetime) -> ColumnElement[bool]:
    """The condition on (Proposal joined with MatchRound) for a proposal that holds its tonnes now."""
    return and_(Proposal.status == ProposalStatus.PENDING, Proposal.expires_at >= now,
                or_(MatchRound.scope == RoundScope.MARKET,
                    and_(MatchRound.scope == RoundScope.DEMAND, Proposal.consumer_decision == Decision.ACCEPTED),
                    and_(MatchRound.scope == RoundScope.SUPPLY, Proposal.producer_decision == Decision.ACCEPTED)))


def pending_tonnes(column: InstrumentedAttribute[int], ids: list[int]) -> dict[int, int]:
    """Tonnes of each listing held by pending proposals (see the rules above)."""
    now = utcnow()
    return {listing_id: int(total) for batch in in_batches(ids)
            for listing_id, total in db.session.execute(
                select(column, func.sum(Proposal.tonnes)).join(MatchRound, Proposal.round_id == MatchRound.id)
                .where(column.in_(batch), _holds(now)).group_by(column))}


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
        .where(other.material_id == material_id, live(other),
               other.organisation_id != org_id)) or 0)
    share = Decimal(str(_setting("RESERVATION_SHARE_CAP")))
    return max(int(free * share), int(_setting("RESERVATION_FLOOR_T")))


def end_pending_proposals(listing: AnyListing, reason: str = "withdrawn") -> int:
    """End every pending proposal of this listing at once (it was withdrawn or changed): they no longer hold
    anything and can no longer be accepted. Returns how many."""
    column = Proposal.supply_listing_id if listing.side == "supply" else Proposal.demand_listing_id
    result = db.session.execute(
        update(Proposal).where(column == listing.id, Proposal.status == ProposalStatus.PENDING)
        .values(status=ProposalStatus.WITHDRAWN).execution_options(synchronize_session=False))
    return rowcount(result) or 0


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


#: Proposals per page of the proposals page, and the API's default (ProposalQuery allows up to 1,000).
PAGE_SIZE = 100
API_PAGE_SIZE = 500


def proposals_for(viewer: User, status: str | None = None, page: int = 1, per_page: int = PAGE_SIZE) -> Pagination:
    """A page of the proposals to the viewer's organisation (all of them for staff), newest first."""
    query = select(Proposal).options(joinedload(Proposal.supply_listing).joinedload(SupplyListing.material),
                                     # what the list shows of each (terms()): the same statements for any count
                                     joinedload(Proposal.supply_listing).joinedload(SupplyListing.site),
                                     joinedload(Proposal.supply_listing).joinedload(SupplyListing.organisation),
                                     joinedload(Proposal.demand_listing).joinedload(DemandListing.site),
                                     joinedload(Proposal.demand_listing).joinedload(DemandListing.organisation),
                                     joinedload(Proposal.round), joinedload(Proposal.agreement))
    if not viewer.organisation.is_staff:
        org_id = viewer.organisation_id
        query = query.where(or_(Proposal.producer_org_id == org_id, Proposal.consumer_org_id == org_id))
    if status:
        try:
            query = query.where(proposal_status_is(ProposalStatus(status)))
        except ValueError:
            raise ValidationError(_l("Unknown status."), field="status") from None
    return db.paginate(query.order_by(Proposal.id.desc()), page=page, per_page=per_page, error_out=False)


def awaiting_decision_query(viewer: User) -> Select[int]:
    """How many pending proposals wait for the viewer's organisation to decide: the COUNT of the menu's
    badge, which sends it with its other count (web.menu_counts)."""
    org_id = viewer.organisation_id
    return select(func.count(Proposal.id)).where(
        Proposal.status == ProposalStatus.PENDING, Proposal.expires_at >= utcnow(),
        or_(and_(Proposal.producer_org_id == org_id, Proposal.producer_decision.is_(None)),
            and_(Proposal.consumer_org_id == org_id, Proposal.consumer_decision.is_(None))))


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
    now = utcnow()
    column = Proposal.producer_decision if side == "producer" else Proposal.consumer_decision
    by = Proposal.producer_decided_by_id if side == "producer" else Proposal.consumer_decided_by_id
    at = Proposal.producer_decided_at if side == "producer" else Proposal.consumer_decided_at
    value = Decision.ACCEPTED if decision == "accept" else Decision.DECLINED
    changes: dict[Any, object] = {column: value, by: actor.id, at: utcnow()}
    if decision == "decline":
        changes[Proposal.status] = ProposalStatus.DECLINED
    elif STARTER_SIDE.get(proposal.round.scope) == side and proposal.round.organisation_id == actor.organisation_id:
        other = proposal.consumer_decision if side == "producer" else proposal.producer_decision
        own = proposal.producer_decision if side == "producer" else proposal.consumer_decision
        # Not concluded at once: the hold starts now, short and within the cap (a proposal no longer open or
        # already decided gets its own answer from the conditional UPDATE below).
        if other != Decision.ACCEPTED and own is None and proposal.status == ProposalStatus.PENDING:
            _check_hold(actor, proposal, side)
            changes[Proposal.expires_at] = min(
                as_utc(proposal.expires_at), utcnow() + timedelta(hours=int(_setting("FIND_MATCHES_HOLD_HOURS"))))
    done = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == ProposalStatus.PENDING,
                               Proposal.expires_at >= now, column.is_(None))
        .values(changes).execution_options(synchronize_session=False))
    db.session.expire(proposal)
    if rowcount(done) != 1:
        if proposal.status != ProposalStatus.PENDING:
            raise Conflict(_l("This proposal is no longer open."), field="status")
        raise Conflict(_l("Your organisation has already decided on this proposal."), field="decision")
    if (decision == "accept" and proposal.producer_decision == Decision.ACCEPTED
            and proposal.consumer_decision == Decision.ACCEPTED):
        conclude(proposal)
        policy.forget_counterparties()  # the two parties now see each other
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


def proposal_out(p: Proposal) -> ProposalOut:
    return ProposalOut(id=p.id, round_id=p.round_id, status=p.status, supply_listing_id=p.supply_listing_id,
                       demand_listing_id=p.demand_listing_id, tonnes=p.tonnes, distance_km=float(p.distance_km),
                       mode=p.mode, price_yuan_per_t=p.price_yuan_per_t,
                       transport_cost_yuan_per_t=p.transport_cost_yuan_per_t,
                       delivered_price_yuan_per_t=p.delivered_price_yuan_per_t,
                       env_tax_avoided_yuan=p.env_tax_avoided_yuan, co2_kg=float(p.co2_kg),
                       producer_decision=p.producer_decision, consumer_decision=p.consumer_decision,
                       expires_at=p.expires_at, agreement_id=p.agreement.id if p.agreement else None,
                       **({"schedule": [{"month": f"{m.month:%Y-%m}", "tonnes": m.tonnes} for m in p.schedule]}
                          if p.schedule else {}))


@dataclass(frozen=True)
class Counterpart:
    """The other side of a proposal as the viewer may see it: its county always (public on every listing),
    its name and site only where an agreement already reveals them (policy.sees_site_of)."""

    role: str  # "producer" | "consumer"
    city: str
    county: str
    name: str | None
    site_name: str | None


@dataclass(frozen=True)
class Terms:
    """What accepting a proposal commits to, for the viewer: who (as far as they may know), what, how much,
    when and at what price, per tonne and in total."""

    side: str | None  # the viewer's side, None for staff and a round's starter who is not a party
    counterparts: list[Counterpart]
    grade: str | None
    use: Use
    period_start: date
    period_end: date
    ex_works_total: Decimal
    transport_total: Decimal
    delivered_total: Decimal
    other_accepted: bool
    own_decision: Decision | None
    #: Accepting a proposal of one's own *Find matches* round holds its tonnes for this many hours at most.
    hold_hours: int | None


def _counterpart(viewer: User, listing: AnyListing, role: str) -> Counterpart:
    visible = policy.sees_site_of(viewer, listing.organisation_id)
    return Counterpart(role=role, city=listing.site.city, county=listing.site.county,
                       name=listing.organisation.name if visible else None,
                       site_name=listing.site.name if visible else None)


def terms(viewer: User, proposal: Proposal) -> Terms:
    """The proposal's terms as the viewer may see them (see Terms); the period is the one an agreement would
    take: the overlap of the two listings' periods (services.agreements.conclude)."""
    side = party_of(viewer, proposal)
    supply, demand = proposal.supply_listing, proposal.demand_listing
    if side == "producer":
        others = [_counterpart(viewer, demand, "consumer")]
    elif side == "consumer":
        others = [_counterpart(viewer, supply, "producer")]
    else:
        others = [_counterpart(viewer, supply, "producer"), _counterpart(viewer, demand, "consumer")]
    own = {"producer": proposal.producer_decision, "consumer": proposal.consumer_decision}.get(side or "")
    other = {"producer": proposal.consumer_decision, "consumer": proposal.producer_decision}.get(side or "")
    tonnes = Decimal(proposal.tonnes)
    starter = (side is not None and STARTER_SIDE.get(proposal.round.scope) == side
               and proposal.round.organisation_id == viewer.organisation_id)
    return Terms(side=side, counterparts=others, grade=supply.grade, use=demand.use,
                 period_start=max(supply.period_start, demand.period_start),
                 period_end=min(supply.period_end, demand.period_end),
                 ex_works_total=proposal.price_yuan_per_t * tonnes,
                 transport_total=proposal.transport_cost_yuan_per_t * tonnes,
                 delivered_total=proposal.delivered_price_yuan_per_t * tonnes,
                 other_accepted=other == Decision.ACCEPTED, own_decision=own,
                 hold_hours=int(_setting("FIND_MATCHES_HOLD_HOURS")) if starter else None)
