"""CO2 certificates: avoided emissions from clinker substitution minus transport, per agreement and year or per
organisation and year, from the ledger's entries and tied to the signed checkpoint covering them.

Method (kept as data in reference_factor, with its source): a tonne of fly ash or slag powder that goes into
cement or concrete stands for `co2.clinker_replaced.<material>` tonnes of clinker not burnt, each
`co2.clinker` t CO2 (GB/T 32151.8-2015; about 0.808 t/t dry process). Other materials and uses avoid nothing
by this method. Transport: tonnes x the agreement's distance x the CO2 factor of its mode in the tariff version
the agreement was priced with. Net = avoided - transport.

A certificate is issued once (a POST) and then read: its public page shows the figures, the method, the
ledger entries' sequence numbers and digest, and the checkpoint; never who traded or where."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ... import policy
from ...clock import cst_year_bounds, today_cst
from ...errors import Conflict, NotFound, PermissionDenied, ValidationError
from ...extensions import db
from ...models import Agreement, Co2Certificate, Co2CertifiedEntry, LedgerEntry, Material, Proposal, User
from ...schemas.common import validate
from ...schemas.papers import Co2Request
from .. import audit, ledger
from ..agreements import get_agreement
from .reference import factor, required_factor

KG = Decimal("0.001")
#: uses in which fly ash or slag powder replaces clinker
CLINKER_USES = ("cement", "concrete")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _entries(scope: str, year: int, agreement: Agreement | None, org_id: int | None) -> list[LedgerEntry]:
    start, end = cst_year_bounds(year)
    query = select(LedgerEntry).where(LedgerEntry.dispatched_at >= start, LedgerEntry.dispatched_at < end)
    if scope == "agreement" and agreement is not None:
        query = query.where(LedgerEntry.agreement_id == agreement.id)
    else:
        query = query.where(or_(LedgerEntry.producer_org_id == org_id, LedgerEntry.consumer_org_id == org_id))
    return list(db.session.scalars(query.order_by(LedgerEntry.seq)))


def figures(entries: list[LedgerEntry], on: date) -> dict[str, Any]:
    """Tonnes, avoided, transport and net t CO2 of these entries, and the method as used."""
    agreements = {a.id: a for a in db.session.scalars(
        select(Agreement).where(Agreement.id.in_({e.agreement_id for e in entries} or {-1}))
        .options(joinedload(Agreement.proposal).joinedload(Proposal.round)))}
    clinker = required_factor("co2.clinker", on)
    replaced: dict[str, Any] = {}
    avoided = transport = tonnes = Decimal(0)
    tariffs: dict[int, Any] = {}
    for entry in entries:
        t = Decimal(entry.net_kg) / 1000
        agreement = agreements[entry.agreement_id]
        tonnes += t
        ratio = factor(f"co2.clinker_replaced.{entry.material}", on) if agreement.use in CLINKER_USES else None
        if ratio is not None:
            replaced[entry.material] = ratio
            avoided += t * ratio.value * clinker.value
        tariff = agreement.proposal.round.tariff
        tariffs[tariff.version] = tariff
        per_t_km = tariff.rail_co2_kg_per_t_km if agreement.mode == "rail" else tariff.co2_kg_per_t_km
        transport += t * agreement.distance_km * per_t_km / 1000
    avoided, transport = avoided.quantize(KG), transport.quantize(KG)
    return {
        "tonnes": tonnes.quantize(KG), "avoided_t": avoided, "transport_t": transport, "net_t": avoided - transport,
        "method": {
            "clinker_t_co2_per_t": str(clinker.value.normalize()), "clinker_source": clinker.source,
            "clinker_factor_version": clinker.version,
            "clinker_replaced_t_per_t": {m: str(f.value.normalize()) for m, f in sorted(replaced.items())},
            "replaced_source": sorted({f.source for f in replaced.values()}),
            "uses_counted": list(CLINKER_USES),
            "transport_kg_co2_per_t_km": {str(v): {"road": str(t.co2_kg_per_t_km), "rail": str(t.rail_co2_kg_per_t_km)}
                                          for v, t in sorted(tariffs.items())},
            "formula": "net = Σ t × clinker replaced per t × clinker CO2 − Σ t × km × transport CO2 per t·km",
        }}


ALREADY_CERTIFIED = _l("These deliveries are already certified; the certificate that covers them is on its "
                       "holder's list.")


def entries_digest(entries: list[LedgerEntry]) -> str:
    """SHA-256 over the entries' chain hashes in sequence order: whoever holds the ledger can recompute it."""
    return hashlib.sha256("".join(e.hash for e in entries).encode()).hexdigest()


def issue(actor: User, scope: str, year: object, agreement_id: object = None) -> Co2Certificate:
    """Issue a certificate for one of the actor's agreements and a year, or for the actor's organisation and a
    year. The ledger is verified and a checkpoint covering its head is taken (or signed) first."""
    fields = validate(Co2Request, {"scope": scope, "year": year,
                                   "agreement_id": None if agreement_id in (None, "") else agreement_id})
    scope, year = fields.scope, fields.year
    if not actor.organisation.is_verified:
        raise PermissionDenied(_l("Your organisation must be verified first."))
    if year > today_cst().year:
        raise ValidationError(_l("The year has not begun."), field="year")
    agreement = None
    if scope == "agreement":
        if fields.agreement_id is None:
            raise ValidationError(_l("This field is required."), field="agreement_id")
        agreement = get_agreement(actor, fields.agreement_id)
        if actor.organisation_id not in (agreement.producer_org_id, agreement.consumer_org_id):
            raise NotFound(_l("No such agreement."))
    candidates = _entries(scope, year, agreement, actor.organisation_id)
    if not candidates:  # before the checkpoint: asking for nothing never makes the platform hash its ledger
        raise ValidationError(_l("No confirmed deliveries in %(year)s to certify.", year=year), field="year")
    # A delivery's avoided CO2 is certified once, whoever asks first (the utiliser for an agreement, or either
    # party for a year): a second certificate over the same ledger entries would count the same tonnes twice.
    certified = set(db.session.scalars(select(Co2CertifiedEntry.entry_seq).where(
        Co2CertifiedEntry.entry_seq.between(candidates[0].seq, candidates[-1].seq))))
    candidates = [e for e in candidates if e.seq not in certified]
    if not candidates:
        raise Conflict(ALREADY_CERTIFIED, field="year")
    checkpoint = ledger.checkpoint_for_claim(actor)  # verifies the chain; covers every entry now in the ledger
    entries = [e for e in candidates if e.seq <= checkpoint.seq]
    if not entries:
        raise ValidationError(_l("No confirmed deliveries in %(year)s to certify.", year=year), field="year")
    result = figures(entries, date(year, 12, 31))
    names = {m.code: m.name_zh for m in db.session.scalars(select(Material))}
    certificate = Co2Certificate(
        token=secrets.token_urlsafe(32), scope=scope, agreement_id=agreement.id if agreement else None,
        organisation_id=actor.organisation_id, year=year,
        material="、".join(names.get(code, code) for code in sorted({e.material for e in entries})),
        tonnes=result["tonnes"], avoided_t=result["avoided_t"], transport_t=result["transport_t"],
        net_t=result["net_t"], method=result["method"], entry_seqs=[e.seq for e in entries],
        entries_digest=entries_digest(entries), checkpoint_id=checkpoint.id, issued_by_id=actor.id)
    db.session.add(certificate)
    db.session.flush()
    try:
        with db.session.begin_nested():  # the primary key refuses an entry another certificate took meanwhile
            db.session.add_all(Co2CertifiedEntry(entry_seq=e.seq, certificate_id=certificate.id) for e in entries)
    except IntegrityError:
        raise Conflict(ALREADY_CERTIFIED, field="year") from None
    audit.record(actor, "co2.certificate", certificate, {"scope": scope, "year": year, "net_t": result["net_t"]})
    return certificate


def by_token(token: str) -> Co2Certificate:
    """The certificate a public link names (404 for anything else: the token is the only key)."""
    certificate: Co2Certificate | None = None
    if TOKEN.match(token or ""):
        certificate = db.session.scalar(select(Co2Certificate).where(Co2Certificate.token == token))
    if certificate is None:
        raise NotFound(_l("No such certificate."))
    return certificate


def may_hold(viewer: User, certificate: Co2Certificate) -> bool:
    """Who may list it and download its PDF: the issuing organisation, the agreement's parties, staff."""
    if viewer.organisation.is_staff or viewer.organisation_id == certificate.organisation_id:
        return True
    if certificate.agreement_id is None:
        return False
    agreement = db.session.get(Agreement, certificate.agreement_id)
    return agreement is not None and policy.sees_agreement(viewer, agreement)


def certificates_of(viewer: User) -> list[Co2Certificate]:
    query = select(Co2Certificate).order_by(Co2Certificate.id.desc())
    if not viewer.organisation.is_staff:
        own = select(Agreement.id).where(or_(Agreement.producer_org_id == viewer.organisation_id,
                                             Agreement.consumer_org_id == viewer.organisation_id))
        query = query.where(or_(Co2Certificate.organisation_id == viewer.organisation_id,
                                Co2Certificate.agreement_id.in_(own)))
    return list(db.session.scalars(query.limit(500)))


def qr_data_uri(url: str) -> str:
    """The verification URL as a QR code (segno), an SVG data: URI a PDF embeds."""
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=4)
