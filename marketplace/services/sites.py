"""Sites of an organisation."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from .. import gazetteer, policy
from ..clock import utcnow
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import DemandListing, GenerationRecord, ListingStatus, Site, SupplyListing, User
from ..models.audit import AuditEntry
from ..models.listing import status_is
from ..region import Zone, zone_of
from ..schemas.common import validate
from ..schemas.sites import SiteIn
from . import audit
from .values import get_row

#: Listings in these states no longer tie a site to its place: a site with any other may not move.
SETTLED_STATUSES = (ListingStatus.WITHDRAWN, ListingStatus.EXPIRED)
DEFAULT_MOVES_PER_DAY = 3



def _clean(actor: User, name: str, lat: object, lon: object, county: str, park: str,
           confirm_outside: bool) -> dict[str, Any]:
    fields = validate(SiteIn, {"name": name, "lat": lat, "lon": lon, "county": county, "industrial_park": park})
    check_place(fields.lat, fields.lon, confirm_outside)
    county, park = fields.county or "", fields.industrial_park or ""
    if county and county not in gazetteer.COUNTIES:
        raise ValidationError(_l("Unknown county."), field="county")
    if park and park not in gazetteer.PARKS:
        raise ValidationError(_l("Unknown industrial park."), field="industrial_park")
    return {
        "name": fields.name,
        "lat": fields.lat,
        "lon": fields.lon,
        "county": county,
        "city": gazetteer.COUNTIES[county].city if county else "",
        "industrial_park": park,
    }


def check_place(lat: Decimal, lon: Decimal, confirm_outside: bool) -> None:
    """A site lies in Ningxia; in a neighbouring region's border area only when the user confirms it;
    nowhere else (region.py defines the zones)."""
    zone = zone_of(lat, lon)
    if zone == Zone.OUTSIDE:
        raise ValidationError(_l("This place lies far outside Ningxia and its neighbouring regions: check the "
                                 "coordinates (latitude about 35 to 39.5 °N, longitude about 104 to 107.7 °E)."),
                              field="lat")
    if zone == Zone.NEIGHBOUR and not confirm_outside:
        raise ValidationError(_l("This place lies outside Ningxia, in a neighbouring region. If the coordinates "
                                 "are right, tick the confirmation and save again."), field="confirm_outside")


def create_site(actor: User, name: str, lat: object, lon: object, county: str = "", industrial_park: str = "",
                rail_siding: bool = False, confirm_outside: bool = False) -> tuple[Site, bool]:
    """A site of the actor's organisation. Returns (site, in_ningxia). A site in a neighbouring region's border
    area needs `confirm_outside`; one farther away is refused."""
    values = _clean(actor, name, lat, lon, county, industrial_park, confirm_outside)
    site = Site(organisation_id=actor.organisation_id, rail_siding=bool(rail_siding), active=True, **values)
    db.session.add(site)
    db.session.flush()
    return site, zone_of(site.lat, site.lon) == Zone.NINGXIA


def get_own_site(actor: User, site_id: int) -> Site:
    site = get_row(Site, site_id)
    if site is None or site.organisation_id != actor.organisation_id:
        raise NotFound(_l("No such site in your organisation."))
    return site


def update_site(actor: User, site_id: int, name: str, lat: object, lon: object, county: str = "",
                industrial_park: str = "", rail_siding: bool = False,
                confirm_outside: bool = False) -> tuple[Site, bool]:
    """Change a site (the same place rules as `create_site`). Moving it (new coordinates) is refused while
    it has listings that are not withdrawn or expired (their proposals, prices and agreements were made for
    where it is: make a new site), is limited to SITE_MOVES_PER_DAY per organisation, and goes into the
    audit log."""
    site = get_own_site(actor, site_id)
    values = _clean(actor, name, lat, lon, county, industrial_park, confirm_outside)
    if (values["lat"], values["lon"]) != (site.lat, site.lon):
        _check_move(actor, site)
        audit.record(actor, "site.move", site, {"from": [str(site.lat), str(site.lon)],
                                                "to": [str(values["lat"]), str(values["lon"])]})
    for key, value in values.items():
        setattr(site, key, value)
    site.rail_siding = bool(rail_siding)
    db.session.flush()
    return site, zone_of(site.lat, site.lon) == Zone.NINGXIA


def _check_move(actor: User, site: Site) -> None:
    for model in (SupplyListing, DemandListing):
        if db.session.scalar(select(model.id).where(model.site_id == site.id,
                                                    ~or_(*(status_is(model, s) for s in SETTLED_STATUSES))).limit(1)):
            raise Conflict(_l("This site has listings that are not withdrawn or expired, so it cannot move: "
                              "make a new site for the new place."), field="lat")
    per_day = int(policy.setting("SITE_MOVES_PER_DAY", DEFAULT_MOVES_PER_DAY))
    moves = db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "site.move", AuditEntry.actor_org_id == actor.organisation_id,
        AuditEntry.at >= utcnow() - timedelta(days=1))) or 0
    if moves >= per_day:
        raise Conflict(_l("Your organisation has moved sites %(n)d times in the last 24 hours, the most allowed. "
                          "Try again later.", n=moves), field="lat")


def set_site_active(actor: User, site_id: int, active: bool) -> Site:
    """Archive a site (it stays in the records that point at it; an archived site is nobody's default) or
    bring it back."""
    site = get_own_site(actor, site_id)
    site.active = bool(active)
    if not site.active:
        site.is_default = False
    db.session.flush()
    return site


def set_default_site(actor: User, site_id: int) -> Site:
    """Make an active site of the actor's organisation its default: the one its listing and generation forms
    pre-select. The previous default stops being one (cleared first: at most one per firm, by a unique index)."""
    site = get_own_site(actor, site_id)
    if not site.active:
        raise Conflict(_l("An archived site cannot be the default; restore it first."))
    db.session.execute(update(Site).where(Site.organisation_id == site.organisation_id, Site.id != site.id,
                                          Site.is_default.is_(True)).values(is_default=False)
                       .execution_options(synchronize_session="fetch"))
    site.is_default = True
    db.session.flush()
    return site


def default_site_id(sites: list[Site]) -> int | None:
    """The site a form pre-selects among `sites` (a firm's active ones): its default, else the first in
    Ningxia, else none (a form then asks)."""
    chosen = next((s for s in sites if s.is_default), None) or next(
        (s for s in sites if zone_of(s.lat, s.lon) == Zone.NINGXIA), None)
    return chosen.id if chosen is not None else None


def delete_site(actor: User, site_id: int) -> str:
    """Delete a site that nothing refers to (one with records can only be archived); returns its name."""
    site = get_own_site(actor, site_id)
    if db.session.scalar(select(GenerationRecord.id).where(GenerationRecord.site_id == site.id).limit(1)):
        raise Conflict(_l("This site has generation records; archive it instead."))
    name = site.name
    db.session.delete(site)
    db.session.flush()
    return name


def sites_of(org_id: int, active_only: bool = False) -> list[Site]:
    """The organisation's sites, its default first, then by name."""
    query = select(Site).where(Site.organisation_id == org_id).order_by(Site.is_default.desc(), Site.name, Site.id)
    if active_only:
        query = query.where(Site.active.is_(True))
    return list(db.session.scalars(query))

