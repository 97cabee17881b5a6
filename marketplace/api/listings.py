"""Supply and demand listings: search, create, read, change, withdraw."""
from flask import g, jsonify, request
from flask_babel import lazy_gettext as _l

from ..errors import ValidationError
from ..services import listings
from . import bp
from .common import json_body


def _list(side: str):
    listings.expire_due()
    s = listings.search_from_args(request.args, side)
    results = listings.search(g.api_user, side, s)
    return jsonify({"items": [listings.listing_to_dict(row, g.api_user, results.distances.get(row.id))
                              for row in results.items],
                    "total": results.total, "page": results.page, "per_page": results.per_page,
                    "pages": results.pages})


def _create(side: str):
    body = json_body()
    status = body.get("status", "open")
    if not isinstance(status, str):
        raise ValidationError(_l("A new listing is either a draft or open."), field="status")
    listing = listings.create_listing(g.api_user, side, body, status)
    return jsonify(listings.listing_to_dict(listing, g.api_user)), 201


def _get(side: str, listing_id: int):
    listing = listings.get_listing(side, listing_id, g.api_user)
    return jsonify(listings.listing_to_dict(listing, g.api_user))


def _patch(side: str, listing_id: int):
    body = json_body()
    status = body.pop("status", None)
    listing = None
    if body:
        listing = listings.update_listing(g.api_user, side, listing_id, body)
    if status is not None:
        if not isinstance(status, str):
            raise ValidationError(_l("Unknown status."), field="status")
        listing = listings.set_status(g.api_user, side, listing_id, status)
    if listing is None:
        listing = listings.own_listing(g.api_user, side, listing_id)
    return jsonify(listings.listing_to_dict(listing, g.api_user))


def _delete(side: str, listing_id: int):
    listing = listings.set_status(g.api_user, side, listing_id, "withdrawn")
    return jsonify(listings.listing_to_dict(listing, g.api_user))


for _side, _path in (("supply", "supply-listings"), ("demand", "demand-listings")):
    bp.add_url_rule(f"/{_path}", f"list_{_side}", lambda side=_side: _list(side), methods=["GET"])
    bp.add_url_rule(f"/{_path}", f"create_{_side}", lambda side=_side: _create(side), methods=["POST"])
    bp.add_url_rule(f"/{_path}/<int:listing_id>", f"get_{_side}",
                    lambda listing_id, side=_side: _get(side, listing_id), methods=["GET"])
    bp.add_url_rule(f"/{_path}/<int:listing_id>", f"patch_{_side}",
                    lambda listing_id, side=_side: _patch(side, listing_id), methods=["PATCH"])
    bp.add_url_rule(f"/{_path}/<int:listing_id>", f"delete_{_side}",
                    lambda listing_id, side=_side: _delete(side, listing_id), methods=["DELETE"])
