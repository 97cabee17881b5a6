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
    RoundStatus,
    TariffVersion,
    TransportMode,
)
from .notification import Notification, NotificationKind
from .organisation import Organisation, OrgKind, User, UserRole, VerificationStatus
from .papers import Co2Certificate, ProductionMonth, ProductLine, ReferenceFactor, VatCatalogueRow
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
from .summary import LedgerMonthTotal

__all__ = [
    "Agreement",
    "ApiToken",
    "AuditEntry",
    "Baseline",
    "BaselineStatus",
    "ClaimEntry",
    "ClaimEvent",
    "ClaimStatus",
    "Co2Certificate",
    "Decision",
    "DemandListing",
    "GenerationRecord",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "LedgerKind",
    "LedgerMonthTotal",
    "ListingEvent",
    "ListingStatus",
    "LoanProject",
    "LoanStatus",
    "MatchRound",
    "Material",
    "MaterialGrade",
    "MaterialParameter",
    "Notification",
    "NotificationKind",
    "OrgKind",
    "Organisation",
    "ProductLine",
    "ProductionMonth",
    "Proposal",
    "ProposalStatus",
    "Recovery",
    "RecoveryStatus",
    "ReferenceFactor",
    "RoundScope",
    "RoundStatus",
    "SchemeMode",
    "Settlement",
    "Shipment",
    "ShipmentStatus",
    "Site",
    "SubsidyClaim",
    "SubsidyScheme",
    "SupplyListing",
    "TariffVersion",
    "TransportMode",
    "Use",
    "User",
    "UserRole",
    "VatCatalogueRow",
    "VerificationStatus",
]
