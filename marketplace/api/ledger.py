"""The ledger: entries, signed checkpoints and their inclusion and consistency proofs."""
from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..auth import limits
from ..errors import NotFound, PermissionDenied, ValidationError
from ..schemas.common import validate
from ..schemas.ledger import (
    CheckpointList,
    ConsistencyProofOut,
    ConsistencyQuery,
    InclusionProofOut,
    LedgerPage,
    LedgerQuery,
    ProofQuery,
    PublicKeyOut,
    VerifyOut,
    VerifyRequest,
)
from ..services import ledger as ledger_service
from . import bp
from .spec import documented


@bp.get("/ledger")
@documented(LedgerPage, 422, query=LedgerQuery, operation_id="ledger")
def ledger() -> ResponseReturnValue:
    """Ledger entries, newest first (all for regulators and the operator, else the caller's), filtered by material,
    organisation, days of dispatch and ticket or agreement number"""
    query = validate(LedgerQuery, {k: v for k, v in request.args.items() if k in LedgerQuery.model_fields})
    page_no, per_page = query.page or 1, query.per_page or 25
    page = ledger_service.ledger_for(g.api_user, page_no, per_page, ledger_service.ledger_filter(query))
    return jsonify(LedgerPage(items=[ledger_service.entry_out(e) for e in page.items], total=page.total or 0,
                              page=page_no, per_page=per_page, pages=max(1, page.pages or 1)).dump())


def _ledger_reader() -> None:
    """Proofs and checkpoints are for verified firms and staff (an unverified sign-up learns nothing of the
    market's volume and cannot make the platform hash its ledger)."""
    org = g.api_user.organisation
    if not (org.is_staff or org.is_verified):
        raise PermissionDenied(_l("Your organisation is not verified yet."))


@bp.get("/ledger/checkpoints")
@documented(CheckpointList, 403, operation_id="ledger_checkpoints")
def ledger_checkpoints() -> ResponseReturnValue:
    """Every signed checkpoint of the ledger, oldest first"""
    _ledger_reader()
    return jsonify(CheckpointList(items=[ledger_service.checkpoint_out(cp)
                                         for cp in ledger_service.checkpoints()]).dump())


@bp.get("/ledger/public-key")
@documented(PublicKeyOut, 404, operation_id="ledger_public_key",
            descriptions={404: "No checkpoint has been signed yet"})
def ledger_public_key() -> ResponseReturnValue:
    """The platform's Ed25519 public key that signs the checkpoints"""
    key = ledger_service.public_key()
    if key is None:
        raise NotFound(_l("No checkpoint has been signed yet."))
    return jsonify(ledger_service.public_key_out(key).dump())


@bp.get("/ledger/entries/<int:seq>/proof")
@limits.ledger_proofs
@documented(InclusionProofOut, 403, 404, 409, 422, 429, query=ProofQuery, operation_id="ledger_inclusion_proof",
            descriptions={409: "No checkpoint covers this entry yet"})
def ledger_inclusion_proof(seq: int) -> ResponseReturnValue:
    """Inclusion proof (RFC 9162 §2.1.3) of entry `seq` in a checkpoint's tree: hashes only. The entry's
    producer and utiliser, regulators and the operator may ask."""
    _ledger_reader()
    query = validate(ProofQuery, request.args.to_dict())
    return jsonify(InclusionProofOut.model_validate(
        ledger_service.inclusion_proof(g.api_user, seq, query.checkpoint)).dump())


@bp.get("/ledger/consistency")
@limits.ledger_proofs
@documented(ConsistencyProofOut, 403, 404, 422, 429, query=ConsistencyQuery, operation_id="ledger_consistency_proof")
def ledger_consistency_proof() -> ResponseReturnValue:
    """Consistency proof (RFC 9162 §2.1.4) that checkpoint `to`'s tree extends checkpoint `from`'s: hashes only.
    `from` and `to` are checkpoint ids (not sizes), so that both roots are signed."""
    _ledger_reader()
    args = request.args.to_dict()
    for name in ("from", "to"):
        if args.get(name, "") == "":
            raise ValidationError(_l("Give the ids of two checkpoints: ?from=&to=."), field=name)
    query = validate(ConsistencyQuery, args)
    return jsonify(ConsistencyProofOut.model_validate(
        ledger_service.consistency_proof(query.from_, query.to)).dump())


@bp.post("/ledger/verify")
@documented(VerifyOut, 403, 422, json=VerifyRequest, operation_id="ledger_verify")
def ledger_verify() -> ResponseReturnValue:
    """Regulators and the operator: stream the ledger and check the chain, the head and every signed
    checkpoint, stored or given"""
    if not g.api_user.organisation.is_staff:
        raise PermissionDenied(_l("Only regulators and the operator run the ledger check."))
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise ValidationError(_l("Send a JSON object (Content-Type: application/json)."), field=None)
    checkpoint = validate(VerifyRequest, body).checkpoint
    given = [ledger_service.parse_checkpoint(checkpoint)] if checkpoint is not None else []
    check = ledger_service.verify_ledger(given)
    return jsonify(VerifyOut(ok=check.ok, entries=check.entries, first_bad_seq=check.first_bad_seq,
                             problem=check.problem, checkpoints_checked=check.checkpoints,
                             root=check.root if check.ok else None).dump())
