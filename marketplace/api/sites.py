"""The caller's own sites."""
from flask import g, jsonify
from flask.typing import ResponseReturnValue

from ..schemas.catalogue import SiteList, SiteOut
from ..services import sites
from . import bp
from .spec import documented


@bp.get("/sites")
@documented(SiteList, operation_id="sites")
def site_list() -> ResponseReturnValue:
    """The caller's own sites"""
    return jsonify(SiteList(items=[SiteOut(
        id=s.id, name=s.name, lat=s.lat, lon=s.lon, city=s.city, county=s.county,
        industrial_park=s.industrial_park, rail_siding=s.rail_siding, active=s.active,
        is_default=s.is_default)
        for s in sites.sites_of(g.api_user.organisation_id)]).dump())
