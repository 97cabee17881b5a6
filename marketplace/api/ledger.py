"""The ledger: entries, signed checkpoints and their inclusion and consistency proofs."""
from flask import g, jsonify, request
from flask_babel import lazy_gettext as _l

from ..auth import limits
from ..errors import NotFound, PermissionDenied, ValidationError
from ..services import ledger as ledger_service
from ..services import listings
from . import bp
from .common import optional_id


@bp.get("/ledger")
def ledger():
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
def ledger_checkpoints():
    _ledger_reader()
    return jsonify({"items": [ledger_service.checkpoint_to_dict(cp) for cp in ledger_service.checkpoints()]})


@bp.get("/ledger/public-key")
def ledger_public_key():
    key = ledger_service.public_key()
    if key is None:
        raise NotFound(_l("No checkpoint has been signed yet."))
    return jsonify(ledger_service.public_key_to_dict(key))


@bp.get("/ledger/entries/<int:seq>/proof")
@limits.ledger_proofs
def ledger_inclusion_proof(seq: int):
    _ledger_reader()
    return jsonify(ledger_service.inclusion_proof(g.api_user, seq, optional_id("checkpoint")))


@bp.get("/ledger/consistency")
@limits.ledger_proofs
def ledger_consistency_proof():
    _ledger_reader()
    first, second = optional_id("from"), optional_id("to")
    if first is None or second is None:
        raise ValidationError(_l("Give the ids of two checkpoints: ?from=&to=."),
                              field="from" if first is None else "to")
    return jsonify(ledger_service.consistency_proof(first, second))


@bp.post("/ledger/verify")
def ledger_verify():
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
