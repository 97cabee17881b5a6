"""Subsidies for new utilisation, computed from the ledger under the scheme in force (data, versioned),
against a verified baseline; the review workflow with its audit trail; loan-interest subsidies."""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import policy
from ..clock import today_cst, utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    Agreement,
    Baseline,
    BaselineStatus,
    ClaimEntry,
    ClaimEvent,
    ClaimStatus,
    LedgerEntry,
    LoanProject,
    LoanStatus,
    NotificationKind,
    Recovery,
    RecoveryStatus,
    SchemeMode,
    SubsidyClaim,
    SubsidyScheme,
    User,
)
from ..models import Settlement as SettlementEnum
from ..models.listing import USES
from ..schemas.common import validate, validate_value
from ..schemas.subsidies import (
    BandFrom,
    BandOut,
    BandRate,
    BaselineDeclaration,
    BaselineOut,
    ClaimOut,
    ClaimRequest,
    LoanApplication,
    RecoveryOut,
    Review,
    SchemeOut,
    SchemeVersion,
    Settlement,
)
from . import audit, ledger
from .deliveries import year_bounds
from .notifications import notify
from .values import get_row

FEN = Decimal("0.01")
KG = Decimal("0.001")

#: claims whose entries count for their year (a rejection releases its entries; a draft is not yet a claim)
COUNTING = (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.PAID)
#: claims whose amount was granted
GRANTED = (ClaimStatus.APPROVED, ClaimStatus.PAID)
#: baselines that stand or may yet stand (a second one for the year is refused)
LIVE_BASELINES = (BaselineStatus.PENDING, BaselineStatus.APPROVED)


def _regulator(actor: User) -> None:
    if not policy.may_review_subsidies(actor):
        raise PermissionDenied(_l("Only a regulator may do this."))


# --- the scheme ----------------------------------------------------------------------------------------

def scheme_in_force(year: int | None = None) -> SubsidyScheme:
    """The newest version whose effective period covers (part of) `year`; today's when no year is given."""
    query = select(SubsidyScheme).order_by(SubsidyScheme.version.desc())
    if year is not None:
        query = query.where(SubsidyScheme.effective_from <= date(year, 12, 31),
                            or_(SubsidyScheme.effective_to.is_(None), SubsidyScheme.effective_to >= date(year, 1, 1)))
    scheme = db.session.scalar(query.limit(1))
    if scheme is None:
        raise NotFound(_l("No subsidy scheme is in force for %(year)s.", year=year) if year is not None
                       else _l("No subsidy scheme is in force."))
    return scheme


def scheme_out(s: SubsidyScheme) -> SchemeOut:
    return SchemeOut(version=s.version, name=s.name, base_year=s.base_year, effective_from=s.effective_from,
                     effective_to=s.effective_to,
                     bands=[BandOut(from_t=b["from_t"], rate_yuan_per_t=b["rate"]) for b in s.bands], mode=s.mode,
                     cap_yuan=s.cap_yuan, exclusions=s.exclusions, loan_min_yuan=s.loan_min_yuan,
                     loan_benchmark_rate_pct=str(s.loan_benchmark_rate_pct))


def parse_bands(value: object) -> list[dict[str, str]]:
    """Bands (lower bound in tonnes of increment, yuan per tonne) from rows [{"from_t": "0", "rate": "10"}, ...]
    (the scheme form; rows left wholly blank are skipped) or from text '0:10, 50000:20, 100000:25, 200000:30'.
    Each figure is an exact decimal, not negative; the first band starts at 0 t and the bands go up."""
    format_error = ValidationError(_l("Write bands as from_tonnes:rate, separated by commas."), field="bands")
    if value is None:
        value = ""
    if isinstance(value, str):
        rows: list[Any] = []
        for part in value.split(","):
            if not part.strip():
                continue
            if ":" not in part:
                raise format_error
            low, rate = part.split(":", 1)
            rows.append({"from_t": low.strip(), "rate": rate.strip()})
    elif isinstance(value, list):
        rows = [row for row in value if not (isinstance(row, dict) and not str(row.get("from_t") or "").strip()
                                             and not str(row.get("rate") or "").strip())]
    else:
        raise format_error
    bands = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise format_error
        try:
            bands.append({"from_t": str(validate_value(BandFrom, _stripped(row.get("from_t")), "bands")),
                          "rate": str(validate_value(BandRate, _stripped(row.get("rate")), "bands"))})
        except ValidationError as e:
            raise ValidationError(_l("Band %(n)d: %(problem)s", n=n, problem=e.message), field="bands") from None
    if not bands or Decimal(bands[0]["from_t"]) != 0:
        raise ValidationError(_l("The first band starts at 0 t."), field="bands")
    if any(Decimal(a["from_t"]) >= Decimal(b["from_t"]) for a, b in itertools.pairwise(bands)):
        raise ValidationError(_l("Bands must go up: each starts above the one before."), field="bands")
    return bands


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def set_scheme(actor: User, data: dict) -> SubsidyScheme:
    """A regulator publishes a new version of the scheme; every claim records the version it used."""
    _regulator(actor)
    fields = validate(SchemeVersion, data)
    name, mode, effective_from, effective_to = fields.name, fields.mode, fields.effective_from, fields.effective_to
    if effective_to and effective_to < effective_from:
        raise ValidationError(_l("The period ends before it starts."), field="effective_to")
    uses = fields.excluded_uses or []
    if isinstance(uses, str):
        uses = [u.strip() for u in uses.split(",") if u.strip()]
    if not isinstance(uses, list) or any(u not in USES for u in uses):
        raise ValidationError(_l("Unknown use."), field="excluded_uses")
    rules = [{"use": u} for u in uses if u != "gangue_power"]
    if "gangue_power" in uses:
        rules.append({"material": "coal_gangue", "use": "gangue_power"})
    current = db.session.scalar(select(func.max(SubsidyScheme.version))) or 0
    scheme = SubsidyScheme(
        version=current + 1, name=name, base_year=fields.base_year, effective_from=effective_from,
        effective_to=effective_to, bands=parse_bands(fields.bands), mode=mode, cap_yuan=fields.cap_yuan,
        exclusions={"own_waste": fields.exclude_own_waste, "rules": rules}, loan_min_yuan=fields.loan_min_yuan,
        loan_benchmark_rate_pct=fields.loan_benchmark_rate_pct,
        created_by_id=actor.id)
    db.session.add(scheme)
    db.session.flush()
    audit.record(actor, "scheme.version", scheme, {"version": scheme.version, "base_year": scheme.base_year,
                                                   "bands": scheme.bands, "mode": mode,
                                                   "cap_yuan": scheme.cap_yuan})
    return scheme


@dataclass(frozen=True)
class Amount:
    rate_yuan_per_t: Decimal  # the band's rate (whole) or the effective average rate (tiered)
    amount_yuan: Decimal
    capped: bool


def compute_amount(increment_t: Decimal, bands: list[dict], mode: str, cap_yuan: Decimal) -> Amount:
    """The subsidy for an increment of `increment_t` tonnes, to the fen, capped."""
    if increment_t <= 0:
        return Amount(Decimal("0.00"), Decimal("0.00"), False)
    lows = [Decimal(b["from_t"]) for b in bands]
    rates = [Decimal(b["rate"]) for b in bands]
    if mode == SchemeMode.WHOLE:
        rate = next(r for low, r in reversed(list(zip(lows, rates, strict=True))) if increment_t >= low)
        amount = increment_t * rate
    else:
        amount = Decimal(0)
        for i, (low, r) in enumerate(zip(lows, rates, strict=True)):
            high = lows[i + 1] if i + 1 < len(lows) else None
            if increment_t <= low:
                break
            amount += (min(increment_t, high) - low if high is not None else increment_t - low) * r
        rate = amount / increment_t
    amount = amount.quantize(FEN, rounding=ROUND_HALF_UP)
    capped = amount > cap_yuan
    return Amount(rate.quantize(FEN, rounding=ROUND_HALF_UP), min(amount, cap_yuan).quantize(FEN), capped)


# --- baselines -----------------------------------------------------------------------------------------

def declare_baseline(actor: User, year: object, tonnes: object, evidence: object) -> Baseline:
    org = actor.organisation
    if not org.is_consumer or not org.is_verified:
        raise PermissionDenied(_l("Only verified utilisers declare a baseline."))
    fields = validate(BaselineDeclaration, {"year": year, "tonnes": tonnes, "evidence": evidence})
    year, tonnes, evidence = fields.year, fields.tonnes, fields.evidence
    base_years = sorted(set(db.session.scalars(select(SubsidyScheme.base_year).where(
        or_(SubsidyScheme.effective_to.is_(None), SubsidyScheme.effective_to >= today_cst())))))
    if year not in base_years:
        raise ValidationError(_l("A baseline is declared for the scheme's base year (%(years)s), not for %(year)s.",
                                 years=", ".join(str(y) for y in base_years) or "—", year=year), field="year")
    if not evidence:
        raise ValidationError(_l("Describe the evidence (invoices, statistics returns, audit reports)."),
                              field="evidence")
    if db.session.scalar(select(Baseline.id).where(Baseline.organisation_id == org.id, Baseline.year == year,
                                                   Baseline.status.in_(LIVE_BASELINES))):
        raise Conflict(_l("A baseline for %(year)s is already declared.", year=year), field="year")
    baseline = Baseline(organisation_id=org.id, year=year, tonnes=tonnes, evidence=evidence,
                        status=BaselineStatus.PENDING,
                        submitted_by_id=actor.id)
    db.session.add(baseline)
    db.session.flush()
    return baseline


def get_baseline(viewer: User, baseline_id: int) -> Baseline:
    baseline = get_row(Baseline, baseline_id)
    if baseline is None or not (viewer.organisation.is_staff or baseline.organisation_id == viewer.organisation_id):
        raise NotFound(_l("No such baseline."))
    return baseline


def _decision(decision: object, reason: object) -> tuple[str, str]:
    fields = validate(Review, {"decision": decision, "reason": reason})
    decision, reason = fields.decision, fields.reason
    if decision == "reject" and not reason:
        raise ValidationError(_l("Give a reason for the rejection."), field="reason")
    return decision, reason


def review_baseline(actor: User, baseline_id: int, decision: object, reason: object = "") -> Baseline:
    _regulator(actor)
    baseline = get_baseline(actor, baseline_id)
    decision, reason = _decision(decision, reason)
    if baseline.status != BaselineStatus.PENDING:
        raise Conflict(_l("This baseline is already reviewed."), field="decision")
    baseline.status = BaselineStatus.APPROVED if decision == "approve" else BaselineStatus.REJECTED
    baseline.reason, baseline.reviewed_by_id, baseline.reviewed_at = reason, actor.id, utcnow()
    db.session.flush()
    audit.record(actor, "baseline.review", baseline, {"decision": decision, "reason": reason, "year": baseline.year,
                                                      "tonnes": baseline.tonnes})
    notify(NotificationKind.BASELINE_APPROVED if decision == "approve" else NotificationKind.BASELINE_REJECTED,
           baseline, [baseline.organisation_id], {"year": baseline.year, "reason": reason})
    return baseline


def baseline_out(b: Baseline) -> BaselineOut:
    return BaselineOut(id=b.id, organisation_id=b.organisation_id, year=b.year, tonnes=b.tonnes, evidence=b.evidence,
                       status=b.status, reason=b.reason)


# --- claims --------------------------------------------------------------------------------------------

def excluded(entry_material: str, use: str, producer_org_id: int, consumer_org_id: int, exclusions: dict) -> bool:
    """Whether the scheme's exclusions take this tonne out of the claim."""
    if exclusions.get("own_waste") and producer_org_id == consumer_org_id:
        return True
    for rule in exclusions.get("rules", []):
        if all(value == {"material": entry_material, "use": use}[key] for key, value in rule.items()):
            return True
    return False


def unclaimed_entries(org_id: int, year: int, exclusions: dict) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
    """(eligible, excluded) ledger entries of a utiliser dispatched in `year` that no claim has counted."""
    start, end = year_bounds(year)
    rows = db.session.execute(
        select(LedgerEntry, Agreement.use).join(Agreement, LedgerEntry.agreement_id == Agreement.id)
        .outerjoin(ClaimEntry, ClaimEntry.ledger_entry_id == LedgerEntry.id)
        .where(LedgerEntry.consumer_org_id == org_id, LedgerEntry.dispatched_at >= start,
               LedgerEntry.dispatched_at < end, ClaimEntry.id.is_(None))
        .order_by(LedgerEntry.seq)).all()
    eligible: list[LedgerEntry] = []
    out: list[LedgerEntry] = []
    for entry, use in rows:
        (out if excluded(entry.material, use, entry.producer_org_id, entry.consumer_org_id, exclusions)
         else eligible).append(entry)
    return eligible, out


def _event(claim: SubsidyClaim, actor: User, action: str, **details: object) -> None:
    db.session.add(ClaimEvent(claim_id=claim.id, user_id=actor.id, action=action, details=details))


def counted_kg(org_id: int, year: int, statuses: Iterable[ClaimStatus] = COUNTING) -> int:
    """Kilograms counted by an enterprise's claims for `year` in these statuses (reversals they took in
    included)."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.net_kg), 0))
        .join(ClaimEntry, ClaimEntry.ledger_entry_id == LedgerEntry.id)
        .join(SubsidyClaim, ClaimEntry.claim_id == SubsidyClaim.id)
        .where(SubsidyClaim.organisation_id == org_id, SubsidyClaim.year == year,
               SubsidyClaim.status.in_(statuses))) or 0)


def granted_net(org_id: int, year: int) -> Decimal:
    """What the year's approved (or paid) claims granted, less every recovery recorded for that year."""
    granted = db.session.scalar(select(func.coalesce(func.sum(SubsidyClaim.amount_yuan), 0)).where(
        SubsidyClaim.organisation_id == org_id, SubsidyClaim.year == year, SubsidyClaim.status.in_(GRANTED)))
    recovered = db.session.scalar(select(func.coalesce(func.sum(Recovery.amount_yuan), 0)).where(
        Recovery.organisation_id == org_id, Recovery.year == year))
    return (Decimal(granted or 0) - Decimal(recovered or 0)).quantize(FEN)


def year_amount(scheme: SubsidyScheme, baseline_tonnes: Decimal, year_kg: int) -> tuple[Decimal, Amount]:
    """The year's increment and its subsidy: the scheme applied once to the whole year, capped for the year."""
    increment = (Decimal(year_kg) / 1000 - baseline_tonnes).quantize(KG)
    return increment, compute_amount(increment, scheme.bands, scheme.mode, scheme.cap_yuan)


@dataclass(frozen=True)
class YearFigures:
    """A claim's figures: the year over the earlier claims' tonnes and this claim's own, and what was
    already granted for the year (the claim asks for the difference: a top-up)."""
    scheme: SubsidyScheme
    baseline_tonnes: Decimal
    own_kg: int
    earlier_kg: int
    increment: Decimal
    amount: Amount
    previously: Decimal


def year_figures(org_id: int, year: int, scheme: SubsidyScheme, baseline_tonnes: Decimal, own_kg: int,
                 earlier_kg: int) -> YearFigures:
    increment, amount = year_amount(scheme, baseline_tonnes, earlier_kg + own_kg)
    return YearFigures(scheme, baseline_tonnes, own_kg, earlier_kg, increment, amount,
                       granted_net(org_id, year))


def _figure(claim: SubsidyClaim, f: YearFigures) -> None:
    """Set a claim's figures from the year's."""
    claim.scheme_id, claim.eligible_kg, claim.year_eligible_kg = f.scheme.id, f.own_kg, f.earlier_kg + f.own_kg
    claim.baseline_tonnes, claim.increment_tonnes = f.baseline_tonnes, f.increment
    claim.rate_yuan_per_t, claim.capped = f.amount.rate_yuan_per_t, f.amount.capped
    claim.year_total_yuan, claim.previously_approved_yuan = f.amount.amount_yuan, f.previously
    claim.amount_yuan = max(f.amount.amount_yuan - f.previously, Decimal("0.00"))


def prepare_claim(actor: User, year: object) -> SubsidyClaim:
    """A utiliser's claim for a year. The year's eligible confirmed tonnes (every claim's, this one's new
    ones included) minus the verified baseline, once -> increment -> band -> the year's amount, capped for the
    year; the claim asks for what the year's amount adds to what was already approved (a top-up), and records
    the scheme version. A draft is prepared again from scratch when asked twice."""
    org = actor.organisation
    if not org.is_consumer or not org.is_verified:
        raise PermissionDenied(_l("Only verified utilisers claim subsidies."))
    year = validate(ClaimRequest, {"year": year}).year
    if year > today_cst().year:
        raise ValidationError(_l("%(year)s has not begun: a claim covers tonnes already delivered, for this year "
                                 "(%(now)s) or an earlier one.", year=year, now=today_cst().year), field="year")
    scheme = scheme_in_force(year)
    baseline = db.session.scalar(select(Baseline).where(Baseline.organisation_id == org.id,
                                                        Baseline.year == scheme.base_year,
                                                        Baseline.status == BaselineStatus.APPROVED))
    if baseline is None:
        raise ValidationError(_l("No verified baseline for %(year)s: declare it and have it verified first.",
                                 year=scheme.base_year), field="year")
    busy = db.session.scalar(select(SubsidyClaim).where(
        SubsidyClaim.organisation_id == org.id, SubsidyClaim.year == year,
        SubsidyClaim.status.in_([ClaimStatus.DRAFT, ClaimStatus.SUBMITTED])))
    if busy is not None and busy.status == ClaimStatus.SUBMITTED:
        raise Conflict(_l("A claim for %(year)s is already submitted.", year=year), field="year")
    if busy is not None:  # re-prepare the draft: release its entries first
        db.session.execute(delete(ClaimEntry).where(ClaimEntry.claim_id == busy.id))
    # ledger: verify the chain, hold appends until commit, and take (or sign) a checkpoint covering the head;
    # only once the request is known to be sound (the whole chain is read), and before the entries are read
    checkpoint = ledger.checkpoint_for_claim(actor)
    eligible, out = unclaimed_entries(org.id, year, scheme.exclusions)
    own_kg, earlier_kg = sum(e.net_kg for e in eligible), counted_kg(org.id, year)
    figures = year_figures(org.id, year, scheme, baseline.tonnes, own_kg, earlier_kg)
    if figures.increment <= 0:
        raise ValidationError(_l("No increment over the baseline (%(eligible)s t against %(baseline)s t): "
                                 "nothing to claim.", eligible=f"{Decimal(earlier_kg + own_kg) / 1000:,.3f}",
                                 baseline=f"{baseline.tonnes:,.3f}"), field="year")
    if not eligible or figures.amount.amount_yuan <= figures.previously:
        raise ValidationError(_l("Nothing more to claim for %(year)s: the year's subsidy comes to %(total)s yuan "
                                 "and %(granted)s yuan is already approved.", year=year,
                                 total=f"{figures.amount.amount_yuan:,.2f}", granted=f"{figures.previously:,.2f}"),
                              field="year")
    claim = busy or SubsidyClaim(organisation_id=org.id, year=year, created_by_id=actor.id, status=ClaimStatus.DRAFT)
    claim.baseline_id, claim.excluded_kg = baseline.id, sum(e.net_kg for e in out)
    _figure(claim, figures)
    claim.ledger_checkpoint_id = checkpoint.id  # ledger: the signed checkpoint covering the claim's entries
    db.session.add(claim)
    db.session.flush()
    try:
        with db.session.begin_nested():
            db.session.add_all([ClaimEntry(claim_id=claim.id, ledger_entry_id=e.id) for e in eligible])
    except IntegrityError:  # another claim counted one of these entries a moment ago
        raise Conflict(_l("Another claim has just counted some of these tonnes; prepare the claim again.")) from None
    _event(claim, actor, "prepared", entries=len(eligible), eligible_kg=own_kg, year_eligible_kg=earlier_kg + own_kg,
           year_total_yuan=f"{claim.year_total_yuan:.2f}",
           previously_approved_yuan=f"{claim.previously_approved_yuan:.2f}",
           amount_yuan=f"{claim.amount_yuan:.2f}", scheme_version=scheme.version)
    return claim


def get_claim(viewer: User, claim_id: int) -> SubsidyClaim:
    claim = get_row(SubsidyClaim, claim_id)
    if claim is None or not (viewer.organisation.is_staff or claim.organisation_id == viewer.organisation_id):
        raise NotFound(_l("No such claim."))
    return claim


def submit_claim(actor: User, claim_id: int) -> SubsidyClaim:
    claim = get_claim(actor, claim_id)
    if claim.organisation_id != actor.organisation_id:
        raise PermissionDenied(_l("Only the utiliser submits its claim."))
    if claim.status != ClaimStatus.DRAFT:
        raise Conflict(_l("Only a draft can be submitted."), field="status")
    claim.status = ClaimStatus.SUBMITTED
    _event(claim, actor, "submitted")
    db.session.flush()
    return claim


def review_claim(actor: User, claim_id: int, decision: object, reason: object = "") -> SubsidyClaim:
    """A regulator approves or rejects a submitted claim; it cannot change the figures. A rejection
    releases the claim's ledger entries so that a corrected claim can count them."""
    _regulator(actor)
    claim = get_claim(actor, claim_id)
    decision, reason = _decision(decision, reason)
    if claim.status != ClaimStatus.SUBMITTED:
        raise Conflict(_l("Only a submitted claim can be reviewed."), field="status")
    if decision == "approve":  # ledger: approve only while the chain still matches the claim's checkpoint
        claim.ledger_checkpoint_id = ledger.checkpoint_for_approval(actor, claim.ledger_checkpoint_id).id
    claim.status, claim.reason = (ClaimStatus.APPROVED if decision == "approve" else ClaimStatus.REJECTED), reason
    details: dict[str, object] = {"reason": reason, "amount_yuan": f"{claim.amount_yuan:.2f}"}
    if decision == "reject":
        released = list(db.session.scalars(select(ClaimEntry.ledger_entry_id).where(ClaimEntry.claim_id == claim.id)))
        db.session.execute(delete(ClaimEntry).where(ClaimEntry.claim_id == claim.id))
        details["released_ledger_entries"] = released
    _event(claim, actor, claim.status, **details)
    db.session.flush()
    audit.record(actor, "claim.review", claim, {"decision": decision, **details})
    notify(NotificationKind.CLAIM_APPROVED if decision == "approve" else NotificationKind.CLAIM_REJECTED,
           claim, [claim.organisation_id], {"year": claim.year, "reason": reason})
    return claim


def mark_paid(actor: User, claim_id: int) -> SubsidyClaim:
    _regulator(actor)
    claim = get_claim(actor, claim_id)
    if claim.status != ClaimStatus.APPROVED:
        raise Conflict(_l("Only an approved claim can be paid."), field="status")
    claim.status = ClaimStatus.PAID
    offsets = offsets_against(claim)
    details = {"amount_yuan": f"{claim.amount_yuan:.2f}"}
    if offsets:
        details["offset_yuan"] = f"{sum(r.amount_yuan for r in offsets):.2f}"
    _event(claim, actor, "paid", **details)
    db.session.flush()
    audit.record(actor, "claim.pay", claim, details)
    return claim


def claim_entries(claim: SubsidyClaim) -> list[LedgerEntry]:
    return list(db.session.scalars(
        select(LedgerEntry).join(ClaimEntry, ClaimEntry.ledger_entry_id == LedgerEntry.id)
        .where(ClaimEntry.claim_id == claim.id).options(joinedload(LedgerEntry.shipment)).order_by(LedgerEntry.seq)))


def claims_for(viewer: User, status: str | None = None, year: int | None = None) -> list[SubsidyClaim]:
    query = select(SubsidyClaim).options(joinedload(SubsidyClaim.organisation), joinedload(SubsidyClaim.scheme))
    if not viewer.organisation.is_staff:
        query = query.where(SubsidyClaim.organisation_id == viewer.organisation_id)
    if status:
        try:
            query = query.where(SubsidyClaim.status == ClaimStatus(status))
        except ValueError:
            raise ValidationError(_l("Unknown status."), field="status") from None
    if year is not None:
        query = query.where(SubsidyClaim.year == year)
    return list(db.session.scalars(query.order_by(SubsidyClaim.id.desc())))


def claim_out(c: SubsidyClaim) -> ClaimOut:
    return ClaimOut(id=c.id, organisation_id=c.organisation_id, year=c.year, status=c.status,
                    eligible_tonnes=Decimal(c.eligible_kg) / 1000, excluded_tonnes=Decimal(c.excluded_kg) / 1000,
                    baseline_tonnes=c.baseline_tonnes, increment_tonnes=c.increment_tonnes,
                    rate_yuan_per_t=c.rate_yuan_per_t, amount_yuan=c.amount_yuan, capped=c.capped,
                    scheme_version=c.scheme.version, reason=c.reason,
                    year_eligible_tonnes=Decimal(c.year_eligible_kg) / 1000, year_total_yuan=c.year_total_yuan,
                    previously_approved_yuan=c.previously_approved_yuan, affected=c.affected,
                    ledger_checkpoint_id=c.ledger_checkpoint_id)


def claim_totals(year: int) -> dict[str, Decimal]:
    """The year's amounts: claimed (submitted or later), approved (or paid), paid; recoveries recorded
    (to recover) and settled (recovered); net: approved less recoveries, what the year's subsidies come to."""
    rows = db.session.execute(select(SubsidyClaim.status, func.sum(SubsidyClaim.amount_yuan))
                              .where(SubsidyClaim.year == year).group_by(SubsidyClaim.status)).all()
    by = {status: Decimal(total or 0) for status, total in rows}
    recoveries = {status: Decimal(total or 0) for status, total in db.session.execute(
        select(Recovery.status, func.sum(Recovery.amount_yuan)).where(Recovery.year == year)
        .group_by(Recovery.status))}
    approved = by.get(ClaimStatus.APPROVED, Decimal(0)) + by.get(ClaimStatus.PAID, Decimal(0))
    to_recover = sum(recoveries.values(), Decimal(0))
    return {"claimed": sum((by.get(s, Decimal(0)) for s in (*COUNTING, ClaimStatus.REJECTED)),
                           Decimal(0)),
            "approved": approved, "paid": by.get(ClaimStatus.PAID, Decimal(0)), "to_recover": to_recover,
            "recovered": recoveries.get(RecoveryStatus.SETTLED, Decimal(0)), "net": approved - to_recover}


# --- clawbacks -------------------------------------------------------------------------------------------

def claims_counting(entry: LedgerEntry) -> list[SubsidyClaim]:
    """The claims that counted a ledger entry (at most one; a list for the confirmation page)."""
    return list(db.session.scalars(select(SubsidyClaim).join(ClaimEntry, ClaimEntry.claim_id == SubsidyClaim.id)
                                   .where(ClaimEntry.ledger_entry_id == entry.id)))


def _refigure(claim: SubsidyClaim, actor: User, reversal: LedgerEntry) -> None:
    """Compute a draft or submitted claim again over its entries (the reversal now among them)."""
    own_kg = int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.net_kg), 0))
                                   .join(ClaimEntry, ClaimEntry.ledger_entry_id == LedgerEntry.id)
                                   .where(ClaimEntry.claim_id == claim.id)) or 0)
    before = claim.amount_yuan
    scheme = scheme_in_force(claim.year)
    _figure(claim, year_figures(claim.organisation_id, claim.year, scheme, claim.baseline_tonnes, own_kg,
                                counted_kg(claim.organisation_id, claim.year, GRANTED)))
    _event(claim, actor, "recomputed", reversal_seq=reversal.seq, amount_before_yuan=f"{before:.2f}",
           amount_yuan=f"{claim.amount_yuan:.2f}", scheme_version=scheme.version)


def on_ledger_reversal(entry: LedgerEntry, reversal: LedgerEntry, actor: User) -> Recovery | None:
    """A ledger entry was reversed. If a claim counted it, the reversal joins that claim. A submitted,
    approved or paid claim is marked affected. When it was approved or paid, what the year should have
    granted is computed again over the granted claims' tonnes and any excess over what was granted (net of
    earlier recoveries) is recorded as a recovery for the regulator to settle. Claims of the year still
    in draft or under review are computed again."""
    touched = claims_counting(entry)
    if not touched:
        return None  # no claim counted it: the next claim counts the entry and its reversal together
    claim = touched[0]
    db.session.add(ClaimEntry(claim_id=claim.id, ledger_entry_id=reversal.id))
    db.session.flush()
    if claim.status in COUNTING:
        claim.affected = True
    recovery = None
    if claim.status in GRANTED:
        scheme = scheme_in_force(claim.year)
        granted_before = granted_net(claim.organisation_id, claim.year)
        _, should = year_amount(scheme, claim.baseline_tonnes,
                                counted_kg(claim.organisation_id, claim.year, GRANTED))
        excess = granted_before - should.amount_yuan
        if excess > 0:
            recovery = Recovery(organisation_id=claim.organisation_id, year=claim.year, claim_id=claim.id,
                                reversal_entry_id=reversal.id, approved_before_yuan=granted_before,
                                should_have_yuan=should.amount_yuan, amount_yuan=excess, status=RecoveryStatus.OPEN,
                                note="", created_by_id=actor.id)
            db.session.add(recovery)
            db.session.flush()
        _event(claim, actor, "affected", reversal_seq=reversal.seq, scheme_version=scheme.version,
               should_have_yuan=f"{should.amount_yuan:.2f}",
               recovery_yuan=f"{excess:.2f}" if excess > 0 else "0.00")
    for pending in db.session.scalars(select(SubsidyClaim).where(
            SubsidyClaim.organisation_id == claim.organisation_id, SubsidyClaim.year == claim.year,
            SubsidyClaim.status.in_([ClaimStatus.DRAFT, ClaimStatus.SUBMITTED]))):
        _refigure(pending, actor, reversal)
    db.session.flush()
    return recovery


def recoveries_for(viewer: User, year: int | None = None) -> list[Recovery]:
    query = select(Recovery).options(joinedload(Recovery.organisation)).order_by(Recovery.id.desc())
    if not viewer.organisation.is_staff:
        query = query.where(Recovery.organisation_id == viewer.organisation_id)
    if year is not None:
        query = query.where(Recovery.year == year)
    return list(db.session.scalars(query.limit(300)))


def offsets_against(claim: SubsidyClaim) -> list[Recovery]:
    return list(db.session.scalars(select(Recovery).where(Recovery.offset_claim_id == claim.id)))


def settle_recovery(actor: User, recovery_id: int, settlement: object, offset_claim_id: object,
                    note: object) -> Recovery:
    """A regulator records how a recovery was settled: offset against a later payment to the same
    enterprise (not yet paid, at least as large), or repaid (the note says how: a transfer's reference)."""
    _regulator(actor)
    recovery = get_row(Recovery, recovery_id)
    if recovery is None:
        raise NotFound(_l("No such recovery."))
    if recovery.status != RecoveryStatus.OPEN:
        raise Conflict(_l("This recovery is already settled."), field="settlement")
    fields = validate(Settlement, {"settlement": settlement, "offset_claim_id": offset_claim_id, "note": note})
    settlement, note = fields.settlement, fields.note
    if settlement == "offset":
        claim_id = fields.offset_claim_id
        claim = get_row(SubsidyClaim, claim_id) if claim_id else None
        # Only an approved claim: its amount no longer changes (a submitted one may be rejected or computed
        # again, which would leave the recovery marked settled and never collected).
        if claim is None or claim.organisation_id != recovery.organisation_id or claim.status != ClaimStatus.APPROVED:
            raise ValidationError(_l("Name an approved claim of the same enterprise that is not yet paid."),
                                  field="offset_claim_id")
        already = sum((r.amount_yuan for r in offsets_against(claim)), Decimal(0))
        if already + recovery.amount_yuan > claim.amount_yuan:
            raise ValidationError(_l("That payment (%(amount)s yuan) is too small to absorb this recovery: "
                                     "record it as repaid.", amount=f"{claim.amount_yuan - already:,.2f}"),
                                  field="offset_claim_id")
        recovery.offset_claim_id = claim.id
    elif not note:
        raise ValidationError(_l("Say how it was repaid (the transfer's reference and date)."), field="note")
    recovery.status, recovery.settlement, recovery.note = RecoveryStatus.SETTLED, SettlementEnum(settlement), note
    recovery.settled_by_id, recovery.settled_at = actor.id, utcnow()
    db.session.flush()
    audit.record(actor, "recovery.settle", recovery, {
        "settlement": settlement, "amount_yuan": recovery.amount_yuan, "offset_claim_id": recovery.offset_claim_id,
        "note": note, "organisation_id": recovery.organisation_id, "year": recovery.year})
    return recovery


def recovery_out(r: Recovery) -> RecoveryOut:
    return RecoveryOut(id=r.id, organisation_id=r.organisation_id, year=r.year, claim_id=r.claim_id,
                       reversal_entry_id=r.reversal_entry_id, approved_before_yuan=r.approved_before_yuan,
                       should_have_yuan=r.should_have_yuan, amount_yuan=r.amount_yuan, status=r.status,
                       settlement=r.settlement, offset_claim_id=r.offset_claim_id, note=r.note)


# --- loan-interest subsidy -----------------------------------------------------------------------------

def submit_loan_project(actor: User, name: object, year: object, loan_yuan: object) -> LoanProject:
    org = actor.organisation
    if not (org.is_consumer or org.is_producer) or not org.is_verified:
        raise PermissionDenied(_l("Only verified enterprises apply."))
    fields = validate(LoanApplication, {"name": name, "year": year, "loan_yuan": loan_yuan})
    name, year, loan = fields.name, fields.year, fields.loan_yuan
    scheme = scheme_in_force(year)
    if loan < scheme.loan_min_yuan:
        raise ValidationError(_l("Demonstration projects need a loan of at least %(min)s yuan.",
                                 min=f"{scheme.loan_min_yuan:,.2f}"), field="loan_yuan")
    subsidy = (loan * scheme.loan_benchmark_rate_pct / 100).quantize(FEN, rounding=ROUND_HALF_UP)
    project = LoanProject(organisation_id=org.id, name=name, year=year, loan_yuan=loan, scheme_id=scheme.id,
                          benchmark_rate_pct=scheme.loan_benchmark_rate_pct, subsidy_yuan=subsidy,
                          status=LoanStatus.SUBMITTED)
    db.session.add(project)
    db.session.flush()
    return project


def review_loan_project(actor: User, project_id: int, decision: object, reason: object = "") -> LoanProject:
    _regulator(actor)
    project = get_row(LoanProject, project_id)
    if project is None:
        raise NotFound(_l("No such project."))
    decision, reason = _decision(decision, reason)
    if project.status != LoanStatus.SUBMITTED:
        raise Conflict(_l("This project is already reviewed."), field="decision")
    project.status = LoanStatus.APPROVED if decision == "approve" else LoanStatus.REJECTED
    project.reason, project.reviewed_by_id = reason, actor.id
    db.session.flush()
    audit.record(actor, "loan.review", project, {"decision": decision, "reason": reason,
                                                 "subsidy_yuan": project.subsidy_yuan})
    return project
