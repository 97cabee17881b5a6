"""The subsidy scheme, baselines and claims."""
from flask import g, jsonify, request

from ..clock import iso
from ..services import subsidies
from ..services.values import parse_int
from . import bp
from .common import json_body


@bp.get("/subsidy-scheme")
def subsidy_scheme():
    year = request.args.get("year", "")
    scheme = subsidies.scheme_in_force(None if year == "" else parse_int(year, "year", 2000, 2100))
    return jsonify(subsidies.scheme_to_dict(scheme))


@bp.post("/baselines")
def declare_baseline():
    body = json_body()
    baseline = subsidies.declare_baseline(g.api_user, body.get("year"), body.get("tonnes"), body.get("evidence"))
    return jsonify(subsidies.baseline_to_dict(baseline)), 201


@bp.post("/baselines/<int:baseline_id>/review")
def review_baseline(baseline_id: int):
    body = json_body()
    baseline = subsidies.review_baseline(g.api_user, baseline_id, body.get("decision"), body.get("reason", ""))
    return jsonify(subsidies.baseline_to_dict(baseline))


@bp.post("/subsidy-claims")
def prepare_claim():
    claim = subsidies.prepare_claim(g.api_user, json_body().get("year"))
    return jsonify(subsidies.claim_to_dict(claim)), 201


@bp.get("/subsidy-claims/<int:claim_id>")
def get_claim(claim_id: int):
    claim = subsidies.get_claim(g.api_user, claim_id)
    out = subsidies.claim_to_dict(claim)
    out["ledger_entry_ids"] = [e.id for e in subsidies.claim_entries(claim)]
    out["ledger_checkpoint_id"] = claim.ledger_checkpoint_id
    out["events"] = [{"action": e.action, "at": iso(e.at), "user_id": e.user_id} for e in claim.events]
    return jsonify(out)


@bp.post("/subsidy-claims/<int:claim_id>/submit")
def submit_claim(claim_id: int):
    return jsonify(subsidies.claim_to_dict(subsidies.submit_claim(g.api_user, claim_id)))


@bp.post("/subsidy-claims/<int:claim_id>/review")
def review_claim(claim_id: int):
    body = json_body()
    claim = subsidies.review_claim(g.api_user, claim_id, body.get("decision"), body.get("reason", ""))
    return jsonify(subsidies.claim_to_dict(claim))
