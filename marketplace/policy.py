"""Who may do what, said once: routes, services and templates (as `policy`) ask these, never an organisation's
kind directly."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from .extensions import db

if TYPE_CHECKING:
    from .models import Agreement, User


def setting(name: str, default: Any) -> Any:
    """A configuration value of the running app, or `default` outside one (the CLI's pure helpers, tests)."""
    from flask import current_app, has_app_context

    return current_app.config.get(name, default) if has_app_context() else default


# --- confidentiality -----------------------------------------------------------------------------------

_CACHE = "counterparties"


def counterparties(org_id: int) -> set[int]:
    """Organisations that have an agreement with `org_id` and so may see each other's identity and sites.

    Asked once per listing on a page, so it is kept for the unit of work (the request's session, whose
    `info` ends with it); concluding an agreement forgets it."""
    from .models import Agreement

    cache: dict[int, set[int]] = db.session.info.setdefault(_CACHE, {})
    if org_id not in cache:
        rows = db.session.execute(select(Agreement.producer_org_id, Agreement.consumer_org_id).where(
            or_(Agreement.producer_org_id == org_id, Agreement.consumer_org_id == org_id))).all()
        cache[org_id] = {o for pair in rows for o in pair} - {org_id}
    return cache[org_id]


def forget_counterparties() -> None:
    """A new agreement: the two parties now see each other."""
    db.session.info.pop(_CACHE, None)


def sees_site_of(viewer: User, org_id: int) -> bool:
    """Whether the viewer may know where `org_id`'s sites are: its own, staff, and agreed counterparties."""
    org = viewer.organisation
    return org_id == org.id or org.is_staff or org_id in counterparties(org.id)


def sees_agreement(viewer: User, agreement: Agreement) -> bool:
    return viewer.organisation.is_staff or viewer.organisation_id in (agreement.producer_org_id,
                                                                      agreement.consumer_org_id)


# --- roles ---------------------------------------------------------------------------------------------

def may_edit_tariff(user: User) -> bool:
    """The operator publishes freight tariffs."""
    return user.organisation.is_operator


def may_manage_accounts(user: User) -> bool:
    """The operator resets second factors and releases squatted credit codes."""
    return user.organisation.is_operator


def may_review_subsidies(user: User) -> bool:
    """Regulators publish schemes and decide baselines and claims."""
    return user.organisation.is_regulator


def may_publish_calendar(user: User) -> bool:
    """Regulators publish the staggered-production calendar (错峰生产)."""
    return user.organisation.is_regulator
