"""Matching rounds, the proposals they make and the agreements concluded from them."""
from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..errors import api_error
from ..models import ProposalStatus, RoundStatus
from ..schemas.common import validate
from ..schemas.matching import (
    AgreementList,
    AgreementOut,
    ProposalList,
    ProposalOut,
    ProposalQuery,
    RoundOut,
    RoundQuery,
    RoundRequest,
)
from ..services import agreements, proposals, rounds
from . import bp
from .common import json_body
from .spec import documented


@bp.post("/match-rounds")
@documented(RoundOut, 403, 409, 422, status=202, json=RoundRequest, operation_id="create_round")
def create_round() -> ResponseReturnValue:
    """Queue a matching round: the operator or a regulator over the market (narrowed by listing ids and a
    period); a utiliser for one of its demand listings; a producer for one supply listing; with the optimiser's
    options (objective, truckloads, minimum shipment, partner caps on both sides). Answers 202 with
    the round's id and status "queued"; GET /match-rounds/{round_id} follows it to "done"."""
    body = validate(RoundRequest, json_body())
    round_ = rounds.start_round(g.api_user, body.supply_listing_ids, body.demand_listing_ids, body.period_start,
                                body.period_end, body.min_shipment_t, body.max_partners, body.compare_greedy,
                                objective=body.objective, truckloads=body.truckloads,
                                max_partners_per_supply=body.max_partners_per_supply)
    return jsonify(rounds.round_out(round_).dump()), 202


@bp.get("/match-rounds/<int:round_id>")
@documented(RoundOut, 404, 422, query=RoundQuery, operation_id="get_round")
def get_round(round_id: int) -> ResponseReturnValue:
    """A round, where it is, and once it is done a page of the proposals the caller may see (500 a page
    unless ?per_page= says otherwise, at most 1,000; proposals_total counts them all)"""
    query = validate(RoundQuery, request.args.to_dict())
    round_ = rounds.get_round(g.api_user, round_id)
    if round_.status != RoundStatus.DONE:
        return jsonify(rounds.round_out(round_).dump())
    page = rounds.proposals_page(g.api_user, round_, query.page or 1, query.per_page or rounds.API_ROUND_PAGE_SIZE)
    return jsonify(rounds.round_out(round_, page).dump())


@bp.post("/match-rounds/<int:round_id>/cancel")
@documented(RoundOut, 403, 404, 409, operation_id="cancel_round")
def cancel_round(round_id: int) -> ResponseReturnValue:
    """Cancel a queued round, or ask a running one to stop at its next phase boundary"""
    round_ = rounds.cancel_round(g.api_user, round_id)
    return jsonify(rounds.round_out(round_).dump())


@bp.get("/proposals")
@documented(ProposalList, 422, query=ProposalQuery, operation_id="list_proposals")
def proposal_list() -> ResponseReturnValue:
    """Proposals to the caller's organisation (all of them for regulators and the operator), newest first, a
    page at a time (500 unless ?per_page= says otherwise, at most 1,000; ?page=)"""
    query = validate(ProposalQuery, request.args.to_dict())
    status = query.status.value if query.status else None
    page = proposals.proposals_for(g.api_user, status, query.page or 1, query.per_page or proposals.API_PAGE_SIZE)
    return jsonify(ProposalList(items=[proposals.proposal_out(p) for p in page.items], total=page.total or 0,
                                page=page.page, per_page=page.per_page, pages=page.pages).dump())


@bp.get("/proposals/<int:proposal_id>")
@documented(ProposalOut, 404, operation_id="get_proposal")
def get_proposal(proposal_id: int) -> ResponseReturnValue:
    """One proposal"""
    return jsonify(proposals.proposal_out(proposals.get_proposal(g.api_user, proposal_id)).dump())


def _decide(proposal_id: int, decision: str) -> ResponseReturnValue:
    proposal = proposals.decide(g.api_user, proposal_id, decision)
    if proposal.status == ProposalStatus.LAPSED:
        return api_error(409, "conflict", _l("Both accepted, but a listing no longer has these tonnes: "
                                             "the proposal lapsed."), "tonnes")
    return jsonify(proposals.proposal_out(proposal).dump())


@bp.post("/proposals/<int:proposal_id>/accept")
@documented(ProposalOut, 403, 404, 409, 422, operation_id="accept_proposal")
def accept_proposal(proposal_id: int) -> ResponseReturnValue:
    """Accept a proposal (its producer or its utiliser; both accepting make an agreement)"""
    return _decide(proposal_id, "accept")


@bp.post("/proposals/<int:proposal_id>/decline")
@documented(ProposalOut, 403, 404, 409, 422, operation_id="decline_proposal")
def decline_proposal(proposal_id: int) -> ResponseReturnValue:
    """Decline a proposal (its producer or its utiliser)"""
    return _decide(proposal_id, "decline")


@bp.get("/agreements")
@documented(AgreementList, operation_id="list_agreements")
def agreement_list() -> ResponseReturnValue:
    """The caller's agreements"""
    return jsonify(AgreementList(items=[agreements.agreement_out(a)
                                        for a in agreements.agreements_for(g.api_user)]).dump())


@bp.get("/agreements/<int:agreement_id>")
@documented(AgreementOut, 404, operation_id="get_agreement")
def get_agreement(agreement_id: int) -> ResponseReturnValue:
    """One agreement"""
    return jsonify(agreements.agreement_out(agreements.get_agreement(g.api_user, agreement_id)).dump())
