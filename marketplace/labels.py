"""Display names, in the user's language, of the values stored as codes."""
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

ORG_KIND = {
    "producer": _l("Producer"),
    "consumer": _l("Utiliser"),
    "both": _l("Producer and utiliser"),
    "regulator": _l("Regulator"),
    "operator": _l("Operator"),
}
VERIFICATION = {
    "pending": _l("Waiting for verification"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
}
LISTING_STATUS = {
    "draft": _l("Draft"),
    "open": _l("Open"),
    "partly_matched": _l("Partly matched"),
    "fully_matched": _l("Fully matched"),
    "expired": _l("Expired"),
    "withdrawn": _l("Withdrawn"),
}
PROPOSAL_STATUS = {
    "pending": _l("Waiting for decisions"),
    "agreed": _l("Agreed"),
    "declined": _l("Declined"),
    "expired": _l("Expired"),
    "lapsed": _l("Lapsed (tonnes no longer available)"),
    "withdrawn": _l("Ended (the listing was withdrawn or changed)"),
}
DECISION = {"accepted": _l("You accepted"), "declined": _l("You declined")}
ROUND_SCOPE = {"market": _l("Whole market"), "demand": _l("For one demand"), "supply": _l("For one supply")}
MODE = {"road": _l("Road"), "rail": _l("Rail")}
#: What a matching round optimises (matching.options.OBJECTIVES).
OBJECTIVE = {"max_tonnes": _l("Most tonnes, then least transport cost"),
             "net_value": _l("Most value net of transport (no tonne at a loss)"),
             "delivered_cost": _l("Most tonnes, then least delivered cost (price + transport)")}
ROUND_STATUS = {"queued": _l("Waiting for a worker"), "building": _l("Gathering the listings"),
                "solving": _l("Solving"), "writing": _l("Writing the proposals"), "done": _l("Done"),
                "failed": _l("Failed"), "cancelled": _l("Cancelled")}
#: Why a round failed, by its code (the API gives the code and these words).
ROUND_ERROR = {"invalid_instance": _l("A listing could not be read by the optimiser."),
               "solver_failed": _l("The optimiser found no answer in its time limit."),
               "hold_cap": _l("Your organisation already holds as much of this material as one organisation may."),
               "listing_gone": _l("The listing of this round is no longer open."),
               "internal_error": _l("Something went wrong on our side. The team has been told.")}
LISTING_ACTION = {"created": _l("Listing created"), "updated": _l("Changed"),
                  "certificate": _l("Certificate uploaded")}
UTILISATION_GROUP = {"region": _l("County / district"), "city": _l("City"), "park": _l("Industrial park"),
                     "material": _l("Material"), "organisation": _l("Organisation"), "month": _l("Month")}
USE = {"cement": _l("Cement and clinker"), "concrete": _l("Concrete and mortar"),
       "bricks_blocks": _l("Bricks and blocks"), "plasterboard": _l("Plasterboard"), "road_base": _l("Road base"),
       "mine_backfill": _l("Mine backfill"), "gangue_power": _l("Gangue power generation"), "other": _l("Other use")}
CLAIM_STATUS = {"draft": _l("Draft"), "prepared": _l("Prepared"), "submitted": _l("Submitted"),
                "approved": _l("Approved"), "rejected": _l("Rejected"), "paid": _l("Paid"),
                "affected": _l("Affected by a reversal"), "recomputed": _l("Computed again")}
REVIEW_STATUS = {"pending": _l("Waiting for review"), "submitted": _l("Waiting for review"),
                 "approved": _l("Approved"), "rejected": _l("Rejected")}
SUBSIDY_MEASURE = {"claimed": _l("claimed"), "approved": _l("approved"), "paid": _l("paid"),
                   "to_recover": _l("to recover"), "recovered": _l("recovered"), "net": _l("net of recoveries")}
#: The flags a shipment may carry (services/deliveries.shipment_flags): never blocking, for people to look at.
SHIPMENT_FLAG = {
    "over_payload": _l("Net weight above the legal payload"),
    "plate_too_fast": _l("The same truck on another ticket too soon for the distance between them"),
    "receipt_difference": _l("Received weight differs from the ticket beyond the tolerance"),
    "producer_over_declared": _l("The producer's utilised tonnes exceed what it declared as generated plus stock"),
}
#: What a notification says, by its kind; the %(...)s are its figures (services/notifications.text).
NOTIFICATION_KIND = {
    "proposals_new": _l("%(count)s new proposals for your organisation (matching round %(round)s)"),
    "agreement_concluded": _l("Agreement %(agreement)s concluded: %(tonnes)s t of %(material)s"),
    "ticket_to_confirm": _l("Ticket %(ticket)s is on its way: confirm the receipt (agreement %(agreement)s)"),
    "receipt_flagged": _l("The receipt of ticket %(ticket)s is flagged: %(flags)s"),
    "baseline_approved": _l("Your baseline for %(year)s was approved"),
    "baseline_rejected": _l("Your baseline for %(year)s was rejected"),
    "claim_approved": _l("Your subsidy claim for %(year)s was approved"),
    "claim_rejected": _l("Your subsidy claim for %(year)s was rejected"),
}
USER_ROLE = {"admin": _l("Administrator"), "member": _l("Member")}


def label(table: Mapping[Any, object], value: object) -> str:
    key = getattr(value, "value", value)
    return str(table.get(key, key))
