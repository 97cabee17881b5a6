"""Display names, in the user's language, of the values stored as codes."""
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
USER_ROLE = {"admin": _l("Administrator"), "member": _l("Member")}


def label(table: dict, value) -> str:
    key = getattr(value, "value", value)
    return str(table.get(key, key))
