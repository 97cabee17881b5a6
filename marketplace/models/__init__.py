"""SQLAlchemy models, one module per aggregate; import them all here so Alembic sees them."""
from .audit import AuditEntry
from .catalogue import Material, MaterialGrade, MaterialParameter
from .delivery import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerKind, Shipment, ShipmentStatus
from .generation import GenerationRecord
from .listing import ApiToken, DemandListing, ListingEvent, ListingStatus, SupplyListing, Use
from .matching import (
                       Agreement,
                       Decision,
                       MatchRound,
                       Proposal,
                       ProposalStatus,
                       RoundScope,
                       TariffVersion,
                       TransportMode,
)
from .organisation import Organisation, OrgKind, User, UserRole, VerificationStatus
from .site import Site
from .subsidy import (
                       Baseline,
                       BaselineStatus,
                       ClaimEntry,
                       ClaimEvent,
                       ClaimStatus,
                       LoanProject,
                       LoanStatus,
                       Recovery,
                       RecoveryStatus,
                       SchemeMode,
                       Settlement,
                       SubsidyClaim,
                       SubsidyScheme,
)

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
    # the enums of the status and kind columns (each a CHECK constraint in the database)
    "BaselineStatus",
    "ClaimStatus",
    "Decision",
    "LedgerKind",
    "LoanStatus",
    "RecoveryStatus",
    "RoundScope",
    "SchemeMode",
    "Settlement",
    "ShipmentStatus",
    "TransportMode",
    "Use",
]
