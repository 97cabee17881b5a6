"""A subsidy claim's dossier, as a regulator files it: the enterprise, the scheme version, the baseline and its
evidence, the year's tonnes by agreement, every flag and how it was resolved, the review trail, and the signed
ledger checkpoint the claim rests on."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from ...extensions import db
from ...models import Agreement, ClaimEvent, LedgerCheckpoint, LedgerEntry, SubsidyClaim
from .. import deliveries, ledger, subsidies


@dataclass
class AgreementTonnes:
    agreement: Agreement
    tickets: int
    kg: int

    @property
    def tonnes(self) -> Decimal:
        return Decimal(self.kg) / 1000


@dataclass
class FlagResolution:
    entry: LedgerEntry
    flag: str
    #: "reversed" (the entry was taken out of the ledger, with its reason) or "counted_smaller" (a receipt
    #: difference: the ledger counts the smaller of the two weights) or "kept" (the entry stands, reviewed)
    resolution: str
    reason: str


@dataclass
class Dossier:
    claim: SubsidyClaim
    by_agreement: list[AgreementTonnes]
    flags: list[FlagResolution]
    events: list[ClaimEvent]
    checkpoint: LedgerCheckpoint | None
    entries: list[LedgerEntry]


def dossier(claim: SubsidyClaim) -> Dossier:
    """The dossier of a claim the caller may see (subsidies.get_claim decides that)."""
    entries = subsidies.claim_entries(claim)
    agreements = {a.id: a for a in db.session.scalars(select(Agreement).where(
        Agreement.id.in_({e.agreement_id for e in entries} or {-1})))}
    by_agreement: dict[int, AgreementTonnes] = {}
    for entry in entries:
        row = by_agreement.setdefault(entry.agreement_id, AgreementTonnes(agreements[entry.agreement_id], 0, 0))
        row.tickets += entry.kind == "utilisation"
        row.kg += entry.net_kg
    shipments = [e.shipment for e in entries]
    flags = deliveries.shipment_flags(shipments) if shipments else {}
    reversed_ids = ledger.reversed_among([e.id for e in entries])
    reasons = {r.reverses_id: r.reason for r in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.reverses_id.in_(reversed_ids or {-1})))}
    resolutions = []
    for entry in entries:
        for flag in flags.get(entry.shipment_id, []):
            if entry.id in reversed_ids:
                resolutions.append(FlagResolution(entry, flag, "reversed", reasons.get(entry.id, "")))
            elif flag == "receipt_difference":
                resolutions.append(FlagResolution(entry, flag, "counted_smaller", ""))
            else:
                resolutions.append(FlagResolution(entry, flag, "kept", claim.reason))
    checkpoint = (db.session.get(LedgerCheckpoint, claim.ledger_checkpoint_id)
                  if claim.ledger_checkpoint_id else None)
    return Dossier(claim, sorted(by_agreement.values(), key=lambda r: r.agreement.id), resolutions,
                   list(claim.events), checkpoint, entries)
