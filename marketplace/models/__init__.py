"""SQLAlchemy models, one module per aggregate; import them all here so Alembic sees them."""
from .audit import AuditEntry
from .catalogue import Material, MaterialGrade, MaterialParameter
from .delivery import LedgerCheckpoint, LedgerEntry, LedgerHead, Shipment
from .generation import GenerationRecord
from .matching import Agreement, MatchRound, Proposal, ProposalStatus, TariffVersion
from .listing import ApiToken, DemandListing, ListingEvent, ListingStatus, SupplyListing
from .organisation import Organisation, OrgKind, User, UserRole, VerificationStatus
from .site import Site
from .summary import LedgerMonthTotal
from .subsidy import Baseline, ClaimEntry, ClaimEvent, LoanProject, Recovery, SubsidyClaim, SubsidyScheme

__all__ = [
    "AuditEntry",
    "Baseline",
    "ClaimEntry",
    "ClaimEvent",
    "LoanProject",
    "Recovery",
    "SubsidyClaim",
    "SubsidyScheme",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "LedgerMonthTotal",
    "Shipment",
    "Agreement",
    "MatchRound",
    "Proposal",
    "ProposalStatus",
    "TariffVersion",
    "ApiToken",
    "DemandListing",
    "ListingEvent",
    "ListingStatus",
    "SupplyListing",
    "Material",
    "MaterialGrade",
    "MaterialParameter",
    "GenerationRecord",
    "Organisation",
    "OrgKind",
    "User",
    "UserRole",
    "VerificationStatus",
    "Site",
]
