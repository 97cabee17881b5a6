"""Corrections of the ledger: a regulator or the operator reverses a utilisation entry, with a reason; the
claims that counted it are recomputed (and what was overpaid becomes a recovery)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..clock import utcnow
from ..errors import PermissionDenied, ValidationError
from ..models import LedgerEntry, User
from ..schemas.common import validate
from ..schemas.ledger import Reversal
from . import audit
from .ledger import append_entry, reversible_entry
from .subsidies import on_ledger_reversal


def reverse_entry(actor: User, entry_id: int, reason: str) -> LedgerEntry:
    """A regulator or the operator corrects the ledger by a reversing entry, with a reason."""
    if not actor.organisation.is_staff:
        raise PermissionDenied(_l("Only a regulator or the operator corrects the ledger."))
    reason = validate(Reversal, {"reason": reason}).reason
    if not reason:
        raise ValidationError(_l("Give the reason for the correction."), field="reason")
    original = reversible_entry(entry_id)
    reversal = append_entry("reversal", original.shipment, original.shipment.agreement, -original.net_kg,
                            utcnow(), actor, reverses=original, reason=reason)
    audit.record(actor, "ledger.reverse", original, {"reversal_seq": reversal.seq, "net_kg": original.net_kg,
                                                     "reason": reason})
    on_ledger_reversal(original, reversal, actor)  # claims that counted it: affected, recomputed, recoveries
    return reversal
