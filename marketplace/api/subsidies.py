"""The subsidy scheme, baselines and claims."""
from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from ..schemas.common import validate
from ..schemas.subsidies import (
    BaselineDeclaration,
    BaselineOut,
    ClaimEventOut,
    ClaimOut,
    ClaimRequest,
    Review,
    SchemeOut,
    SchemeQuery,
)
from ..services import subsidies
from . import bp
from .common import json_body
from .spec import documented


@bp.get("/subsidy-scheme")
@documented(SchemeOut, 404, 422, query=SchemeQuery, operation_id="subsidy_scheme")
def subsidy_scheme() -> ResponseReturnValue:
    """The scheme in force (for ?year=, or today): base year, bands, cap, exclusions, version"""
    query = validate(SchemeQuery, request.args.to_dict())
    return jsonify(subsidies.scheme_out(subsidies.scheme_in_force(query.year)).dump())


@bp.post("/baselines")
@documented(BaselineOut, 403, 409, 422, status=201, json=BaselineDeclaration, operation_id="declare_baseline")
def declare_baseline() -> ResponseReturnValue:
    """A utiliser declares its base-year utilisation with evidence"""
    body = json_body()
    validate(BaselineDeclaration, body)
    baseline = subsidies.declare_baseline(g.api_user, body.get("year"), body.get("tonnes"), body.get("evidence"))
    return jsonify(subsidies.baseline_out(baseline).dump()), 201


@bp.post("/baselines/<int:baseline_id>/review")
@documented(BaselineOut, 403, 404, 409, 422, json=Review, operation_id="review_baseline")
def review_baseline(baseline_id: int) -> ResponseReturnValue:
    """A regulator verifies or rejects a baseline"""
    body = validate(Review, json_body())
    baseline = subsidies.review_baseline(g.api_user, baseline_id, body.decision, body.reason)
    return jsonify(subsidies.baseline_out(baseline).dump())


@bp.post("/subsidy-claims")
@documented(ClaimOut, 403, 404, 409, 422, status=201, json=ClaimRequest, operation_id="prepare_claim")
def prepare_claim() -> ResponseReturnValue:
    """Prepare a claim (a draft) for a year from the ledger"""
    body = validate(ClaimRequest, json_body())
    claim = subsidies.prepare_claim(g.api_user, body.year)
    return jsonify(subsidies.claim_out(claim).dump()), 201


@bp.get("/subsidy-claims/<int:claim_id>")
@documented(ClaimOut, 404, operation_id="get_claim")
def get_claim(claim_id: int) -> ResponseReturnValue:
    """A claim with its ledger entries and audit trail"""
    claim = subsidies.get_claim(g.api_user, claim_id)
    out = subsidies.claim_out(claim)
    out.ledger_entry_ids = [e.id for e in subsidies.claim_entries(claim)]
    out.ledger_checkpoint_id = claim.ledger_checkpoint_id
    out.events = [ClaimEventOut(action=e.action, at=e.at, user_id=e.user_id) for e in claim.events]
    return jsonify(out.dump())


@bp.post("/subsidy-claims/<int:claim_id>/submit")
@documented(ClaimOut, 403, 404, 409, operation_id="submit_claim")
def submit_claim(claim_id: int) -> ResponseReturnValue:
    """The utiliser submits its draft"""
    return jsonify(subsidies.claim_out(subsidies.submit_claim(g.api_user, claim_id)).dump())


@bp.post("/subsidy-claims/<int:claim_id>/review")
@documented(ClaimOut, 403, 404, 409, 422, json=Review, operation_id="review_claim")
def review_claim(claim_id: int) -> ResponseReturnValue:
    """A regulator approves or rejects a submitted claim (never changes its figures)"""
    body = validate(Review, json_body())
    claim = subsidies.review_claim(g.api_user, claim_id, body.decision, body.reason)
    return jsonify(subsidies.claim_out(claim).dump())
