"""Every enum of a status or kind column, in one namespace (templates get it as `enums`: compare
`claim.status == enums.ClaimStatus.DRAFT`, never with a bare string). Each is a CHECK in the database."""
from .delivery import LedgerKind, ShipmentStatus
from .listing import ListingStatus, Use
from .matching import Decision, Objective, ProposalStatus, RoundScope, TransportMode
from .notification import NotificationKind
from .organisation import OrgKind, UserRole, VerificationStatus
from .subsidy import BaselineStatus, ClaimStatus, LoanStatus, RecoveryStatus, SchemeMode, Settlement

__all__ = ["BaselineStatus", "ClaimStatus", "Decision", "LedgerKind", "ListingStatus", "LoanStatus", "NotificationKind",
           "Objective", "OrgKind", "ProposalStatus", "RecoveryStatus", "RoundScope", "SchemeMode", "Settlement",
           "ShipmentStatus",
           "TransportMode", "Use", "UserRole", "VerificationStatus"]
