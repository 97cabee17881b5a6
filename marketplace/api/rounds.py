"""Matching rounds, the proposals they make and the agreements concluded from them."""
from flask import g, jsonify, request
from flask_babel import lazy_gettext as _l

from ..errors import api_error
from ..services import agreements, proposals, rounds
from . import bp
from .common import json_body


@bp.post("/match-rounds")
def create_round():
    body = json_body()
    round_ = rounds.start_round(g.api_user, body.get("supply_listing_ids"), body.get("demand_listing_ids"),
                                body.get("period_start"), body.get("period_end"), body.get("min_shipment_t"),
                                body.get("max_partners"))
    return jsonify(rounds.round_to_dict(round_, rounds.proposals_in_round(g.api_user, round_))), 201


@bp.get("/match-rounds/<int:round_id>")
def get_round(round_id: int):
    round_ = rounds.get_round(g.api_user, round_id)
    return jsonify(rounds.round_to_dict(round_, rounds.proposals_in_round(g.api_user, round_)))


@bp.get("/proposals")
def proposal_list():
    proposals.expire_proposals()
    status = request.args.get("status") or None
    return jsonify({"items": [proposals.proposal_to_dict(p) for p in proposals.proposals_for(g.api_user, status)]})


@bp.get("/proposals/<int:proposal_id>")
def get_proposal(proposal_id: int):
    return jsonify(proposals.proposal_to_dict(proposals.get_proposal(g.api_user, proposal_id)))


def _decide(proposal_id: int, decision: str):
    proposal = proposals.decide(g.api_user, proposal_id, decision)
    if proposal.status.value == "lapsed":
        return api_error(409, "conflict", _l("Both accepted, but a listing no longer has these tonnes: "
                                             "the proposal lapsed."), "tonnes")
    return jsonify(proposals.proposal_to_dict(proposal))


@bp.post("/proposals/<int:proposal_id>/accept")
def accept_proposal(proposal_id: int):
    return _decide(proposal_id, "accept")


@bp.post("/proposals/<int:proposal_id>/decline")
def decline_proposal(proposal_id: int):
    return _decide(proposal_id, "decline")


@bp.get("/agreements")
def agreement_list():
    return jsonify({"items": [agreements.agreement_to_dict(a) for a in agreements.agreements_for(g.api_user)]})


@bp.get("/agreements/<int:agreement_id>")
def get_agreement(agreement_id: int):
    return jsonify(agreements.agreement_to_dict(agreements.get_agreement(g.api_user, agreement_id)))
