"""The caller's own sites."""
from flask import g, jsonify

from ..services import sites
from . import bp


@bp.get("/sites")
def site_list():
    return jsonify({"items": [{
        "id": s.id, "name": s.name, "lat": str(s.lat), "lon": str(s.lon), "city": s.city, "county": s.county,
        "industrial_park": s.industrial_park, "rail_siding": s.rail_siding, "active": s.active}
        for s in sites.sites_of(g.api_user.organisation_id)]})
