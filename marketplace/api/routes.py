from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..auth import limits
from ..clock import iso, today_cst
from ..errors import MarketplaceError, NotFound, PermissionDenied, ValidationError, api_error, http_status
from ..extensions import db
from ..models import ProposalStatus
from ..services import (
    accounts,
    agreements,
    catalogue,
    deliveries,
    listings,
    proposals,
    rounds,
    sites,
    subsidies,
    tokens,
)
from ..services import ledger as ledger_service
from ..services.values import parse_int
from . import bp
from .openapi import openapi_document


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("Send a JSON object (Content-Type: application/json)."), field=None)
    return body


def committed(result: object, status: int = 200) -> ResponseReturnValue:
    return jsonify(result), status


@bp.errorhandler(MarketplaceError)
def domain_error(e):
    db.session.rollback()
    status = http_status(e)
    if isinstance(e, ValidationError) and e.field is None:
        status = 400
    return api_error(status, {404: "not_found", 403: "forbidden", 409: "conflict", 400: "bad_request"}
                     .get(status, "invalid"), e.message, e.field)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.post("/auth/token")
@limits.password_attempt
@limits.totp_api_account
def create_token() -> ResponseReturnValue:
    """A token for e-mail and password (and, for regulators and the operator, "totp": the current code)."""
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not email:
        raise ValidationError(_l("This field is required."), field="email")
    if not isinstance(password, str) or not password:
        raise ValidationError(_l("This field is required."), field="password")
    try:
        user = accounts.authenticate(email, password)
    except PermissionDenied as e:  # a deactivated account
        db.session.rollback()
        return api_error(403, "forbidden", e.message, e.field)
    except MarketplaceError as e:
        db.session.rollback()
        limits.mark_failed()  # counts towards the limits that slow guessing down
        return api_error(401, "unauthorised", e.message, e.field)
    if user.needs_totp and not user.totp_secret:
        return api_error(403, "forbidden", _l("Set up two-factor sign-in on your account page first."), "totp")
    if user.totp_secret:
        code = body.get("totp")
        try:
            accounts.verify_totp(user, code if isinstance(code, str) else "")
        except MarketplaceError as e:
            db.session.rollback()
            limits.mark_code_failed()
            return api_error(401, "unauthorised", e.message, "totp")
    days = body.get("days")
    name = body["name"] if isinstance(body.get("name"), str) else "api"
    row, token = tokens.create_token(user, name, days)
    return committed({"token": token, "id": row.id, "prefix": row.prefix, "expires_at": iso(row.expires_at)}, 201)


@bp.get("/materials")
def material_list() -> ResponseReturnValue:
    return jsonify({"items": [{
        "code": m.code, "name_zh": m.name_zh, "name_en": m.name_en, "grades": m.grade_codes,
        "parameters": [{"code": p.code, "unit": p.unit, "name_zh": p.name_zh, "name_en": p.name_en}
                       for p in m.parameters],
        "env_tax_yuan_per_t": f"{m.env_tax_yuan_per_t:.2f}"} for m in catalogue.materials()]})


@bp.get("/sites")
def site_list() -> ResponseReturnValue:
    return jsonify({"items": [{
        "id": s.id, "name": s.name, "lat": str(s.lat), "lon": str(s.lon), "city": s.city, "county": s.county,
        "industrial_park": s.industrial_park, "rail_siding": s.rail_siding, "active": s.active}
        for s in sites.sites_of(g.api_user.organisation_id)]})


def _list(side: str) -> ResponseReturnValue:
    s = listings.search_from_args(request.args, side)
    results = listings.search(g.api_user, side, s)
    return jsonify({"items": [listings.listing_to_dict(item, g.api_user, results.distances.get(item.id))
                              for item in results.items],
                    "total": results.total, "page": results.page, "per_page": results.per_page,
                    "pages": results.pages})


def _create(side: str) -> ResponseReturnValue:
    body = json_body()
    status = body.get("status", "open")
    if not isinstance(status, str):
        raise ValidationError(_l("A new listing is either a draft or open."), field="status")
    listing = listings.create_listing(g.api_user, side, body, status)
    return committed(listings.listing_to_dict(listing, g.api_user), 201)


def _get(side: str, listing_id: int) -> ResponseReturnValue:
    listing = listings.get_listing(side, listing_id, g.api_user)
    return jsonify(listings.listing_to_dict(listing, g.api_user))


def _patch(side: str, listing_id: int) -> ResponseReturnValue:
    body = json_body()
    status = body.pop("status", None)
    listing = None
    if body:
        listing = listings.update_listing(g.api_user, side, listing_id, body)
    if status is not None:
        if not isinstance(status, str):
            raise ValidationError(_l("Unknown status."), field="status")
        listing = listings.set_status(g.api_user, side, listing_id, status)
    if listing is None:
        listing = listings.own_listing(g.api_user, side, listing_id)
    return committed(listings.listing_to_dict(listing, g.api_user))


def _delete(side: str, listing_id: int) -> ResponseReturnValue:
    listing = listings.set_status(g.api_user, side, listing_id, "withdrawn")
    return committed(listings.listing_to_dict(listing, g.api_user))


for _side, _path in (("supply", "supply-listings"), ("demand", "demand-listings")):
    bp.add_url_rule(f"/{_path}", f"list_{_side}", lambda side=_side: _list(side), methods=["GET"])
    bp.add_url_rule(f"/{_path}", f"create_{_side}", lambda side=_side: _create(side), methods=["POST"])
    bp.add_url_rule(f"/{_path}/<int:listing_id>", f"get_{_side}",
                    lambda listing_id, side=_side: _get(side, listing_id), methods=["GET"])
    bp.add_url_rule(f"/{_path}/<int:listing_id>", f"patch_{_side}",
                    lambda listing_id, side=_side: _patch(side, listing_id), methods=["PATCH"])
    bp.add_url_rule(f"/{_path}/<int:listing_id>", f"delete_{_side}",
                    lambda listing_id, side=_side: _delete(side, listing_id), methods=["DELETE"])


# --- matching rounds, proposals, agreements -------------------------------------------------------------

@bp.post("/match-rounds")
def create_round() -> ResponseReturnValue:
    """Queue a round: 202 with its id and status "queued"; GET /match-rounds/<id> follows it to "done"."""
    body = json_body()
    round_ = rounds.start_round(g.api_user, body.get("supply_listing_ids"), body.get("demand_listing_ids"),
                                body.get("period_start"), body.get("period_end"), body.get("min_shipment_t"),
                                body.get("max_partners"), body.get("compare_greedy", False))
    return jsonify(rounds.round_to_dict(round_, [])), 202


@bp.get("/match-rounds/<int:round_id>")
def get_round(round_id: int) -> ResponseReturnValue:
    round_ = rounds.get_round(g.api_user, round_id)
    done = round_.status.value == "done"
    return jsonify(rounds.round_to_dict(round_, rounds.proposals_in_round(g.api_user, round_) if done else []))


@bp.post("/match-rounds/<int:round_id>/cancel")
def cancel_round(round_id: int):
    """Cancel a queued round, or ask a running one to stop at its next phase boundary."""
    round_ = rounds.cancel_round(g.api_user, round_id)
    return jsonify(rounds.round_to_dict(round_, []))


@bp.get("/proposals")
def proposal_list() -> ResponseReturnValue:
    status = request.args.get("status") or None
    return jsonify({"items": [proposals.proposal_to_dict(p) for p in proposals.proposals_for(g.api_user, status)]})


@bp.get("/proposals/<int:proposal_id>")
def get_proposal(proposal_id: int) -> ResponseReturnValue:
    return jsonify(proposals.proposal_to_dict(proposals.get_proposal(g.api_user, proposal_id)))


def _decide(proposal_id: int, decision: str) -> ResponseReturnValue:
    proposal = proposals.decide(g.api_user, proposal_id, decision)
    if proposal.status == ProposalStatus.LAPSED:
        return api_error(409, "conflict", _l("Both accepted, but a listing no longer has these tonnes: "
                                             "the proposal lapsed."), "tonnes")
    return jsonify(proposals.proposal_to_dict(proposal))


@bp.post("/proposals/<int:proposal_id>/accept")
def accept_proposal(proposal_id: int) -> ResponseReturnValue:
    return _decide(proposal_id, "accept")


@bp.post("/proposals/<int:proposal_id>/decline")
def decline_proposal(proposal_id: int) -> ResponseReturnValue:
    return _decide(proposal_id, "decline")


@bp.get("/agreements")
def agreement_list() -> ResponseReturnValue:
    return jsonify({"items": [agreements.agreement_to_dict(a) for a in agreements.agreements_for(g.api_user)]})


@bp.get("/agreements/<int:agreement_id>")
def get_agreement(agreement_id: int) -> ResponseReturnValue:
    return jsonify(agreements.agreement_to_dict(agreements.get_agreement(g.api_user, agreement_id)))


# --- shipments, the ledger, utilisation ------------------------------------------------------------------

@bp.post("/agreements/<int:agreement_id>/shipments")
def create_shipment(agreement_id: int) -> ResponseReturnValue:
    shipment = deliveries.record_shipment(g.api_user, agreement_id, json_body())
    return jsonify(deliveries.shipment_to_dict(shipment)), 201


@bp.get("/agreements/<int:agreement_id>/shipments")
def shipment_list(agreement_id: int) -> ResponseReturnValue:
    from ..models import Shipment
    agreements.get_agreement(g.api_user, agreement_id)
    shipments = db.session.scalars(db.select(Shipment).where(Shipment.agreement_id == agreement_id)
                                   .order_by(Shipment.id))
    return jsonify({"items": [deliveries.shipment_to_dict(s) for s in shipments]})


@bp.get("/shipments/<int:shipment_id>")
def get_shipment(shipment_id: int) -> ResponseReturnValue:
    shipment = deliveries.get_shipment(g.api_user, shipment_id)
    flags = deliveries.shipment_flags([shipment]).get(shipment.id, [])
    return jsonify(deliveries.shipment_to_dict(shipment, flags))


@bp.post("/shipments/<int:shipment_id>/confirm")
def confirm_shipment(shipment_id: int) -> ResponseReturnValue:
    body = json_body()
    if body.get("received_net_kg") in (None, ""):
        raise ValidationError(_l("This field is required."), field="received_net_kg")
    shipment = deliveries.confirm_shipment(g.api_user, shipment_id, body.get("received_net_kg"))
    flags = deliveries.shipment_flags([shipment]).get(shipment.id, [])
    return jsonify(deliveries.shipment_to_dict(shipment, flags))


@bp.get("/ledger")
def ledger() -> ResponseReturnValue:
    s = listings.search_from_args({k: v for k, v in request.args.items() if k in ("page", "per_page")}, "supply")
    page = ledger_service.ledger_for(g.api_user, s.page, s.per_page)
    return jsonify({"items": [ledger_service.entry_to_dict(e) for e in page.items], "total": page.total or 0,
                    "page": s.page, "per_page": s.per_page, "pages": max(1, page.pages or 1)})


def _ledger_reader() -> None:
    """Proofs and checkpoints are for verified firms and staff (an unverified sign-up learns nothing of the
    market's volume and cannot make the platform hash its ledger)."""
    org = g.api_user.organisation
    if not (org.is_staff or org.is_verified):
        raise PermissionDenied(_l("Your organisation is not verified yet."))


@bp.get("/ledger/checkpoints")
def ledger_checkpoints() -> ResponseReturnValue:
    _ledger_reader()
    return jsonify({"items": [ledger_service.checkpoint_to_dict(cp) for cp in ledger_service.checkpoints()]})


@bp.get("/ledger/public-key")
def ledger_public_key() -> ResponseReturnValue:
    key = ledger_service.public_key()
    if key is None:
        raise NotFound(_l("No checkpoint has been signed yet."))
    return jsonify(ledger_service.public_key_to_dict(key))


def _optional_id(name: str) -> int | None:
    value = request.args.get(name, "")
    return None if value == "" else parse_int(value, name, 1, 2**31 - 1)


@bp.get("/ledger/entries/<int:seq>/proof")
@limits.ledger_proofs
def ledger_inclusion_proof(seq: int) -> ResponseReturnValue:
    _ledger_reader()
    return jsonify(ledger_service.inclusion_proof(g.api_user, seq, _optional_id("checkpoint")))


@bp.get("/ledger/consistency")
@limits.ledger_proofs
def ledger_consistency_proof() -> ResponseReturnValue:
    _ledger_reader()
    first, second = _optional_id("from"), _optional_id("to")
    if first is None or second is None:
        raise ValidationError(_l("Give the ids of two checkpoints: ?from=&to=."),
                              field="from" if first is None else "to")
    return jsonify(ledger_service.consistency_proof(first, second))


@bp.post("/ledger/verify")
def ledger_verify() -> ResponseReturnValue:
    if not g.api_user.organisation.is_staff:
        raise PermissionDenied(_l("Only regulators and the operator run the ledger check."))
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise ValidationError(_l("Send a JSON object (Content-Type: application/json)."), field=None)
    given = [ledger_service.parse_checkpoint(body["checkpoint"])] if body.get("checkpoint") is not None else []
    check = ledger_service.verify_ledger(given)
    return jsonify({"ok": check.ok, "entries": check.entries, "first_bad_seq": check.first_bad_seq,
                    "problem": check.problem, "checkpoints_checked": check.checkpoints,
                    "root": check.root if check.ok else None})


@bp.get("/utilisation")
def utilisation() -> ResponseReturnValue:
    if not g.api_user.organisation.is_staff:
        raise PermissionDenied(_l("Only regulators and the operator see the utilisation figures."))
    given = request.args.get("year", "")
    year = today_cst().year if given == "" else parse_int(given, "year", 2000, 2100)
    group_by = request.args.get("group_by", "region")
    return jsonify({"year": year, "group_by": group_by, "items": deliveries.utilisation(year, group_by)})


# --- subsidies -------------------------------------------------------------------------------------------

@bp.get("/subsidy-scheme")
def subsidy_scheme() -> ResponseReturnValue:
    year = request.args.get("year", "")
    scheme = subsidies.scheme_in_force(None if year == "" else parse_int(year, "year", 2000, 2100))
    return jsonify(subsidies.scheme_to_dict(scheme))


@bp.post("/baselines")
def declare_baseline() -> ResponseReturnValue:
    body = json_body()
    baseline = subsidies.declare_baseline(g.api_user, body.get("year"), body.get("tonnes"), body.get("evidence"))
    return committed(subsidies.baseline_to_dict(baseline), 201)


@bp.post("/baselines/<int:baseline_id>/review")
def review_baseline(baseline_id: int) -> ResponseReturnValue:
    body = json_body()
    baseline = subsidies.review_baseline(g.api_user, baseline_id, body.get("decision"), body.get("reason", ""))
    return committed(subsidies.baseline_to_dict(baseline))


@bp.post("/subsidy-claims")
def prepare_claim() -> ResponseReturnValue:
    claim = subsidies.prepare_claim(g.api_user, json_body().get("year"))
    return committed(subsidies.claim_to_dict(claim), 201)


@bp.get("/subsidy-claims/<int:claim_id>")
def get_claim(claim_id: int) -> ResponseReturnValue:
    claim = subsidies.get_claim(g.api_user, claim_id)
    out = subsidies.claim_to_dict(claim)
    out["ledger_entry_ids"] = [e.id for e in subsidies.claim_entries(claim)]
    out["ledger_checkpoint_id"] = claim.ledger_checkpoint_id
    out["events"] = [{"action": e.action, "at": iso(e.at), "user_id": e.user_id} for e in claim.events]
    return jsonify(out)


@bp.post("/subsidy-claims/<int:claim_id>/submit")
def submit_claim(claim_id: int) -> ResponseReturnValue:
    return committed(subsidies.claim_to_dict(subsidies.submit_claim(g.api_user, claim_id)))


@bp.post("/subsidy-claims/<int:claim_id>/review")
def review_claim(claim_id: int) -> ResponseReturnValue:
    body = json_body()
    claim = subsidies.review_claim(g.api_user, claim_id, body.get("decision"), body.get("reason", ""))
    return committed(subsidies.claim_to_dict(claim))
