"""Supply and demand listings: search, create, read, change, withdraw."""
from __future__ import annotations

from collections.abc import Callable

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..errors import ValidationError
from ..schemas import listings as schemas
from ..services import listings
from . import bp
from .common import json_body
from .spec import documented


def _list(side: str) -> ResponseReturnValue:
    s = listings.search_from_args(request.args, side)
    results = listings.search(g.api_user, side, s)
    return jsonify({"items": [listings.listing_out(row, g.api_user, results.distances.get(row.id)).dump()
                              for row in results.items],
                    "total": results.total, "page": results.page, "per_page": results.per_page,
                    "pages": results.pages})


def _create(side: str) -> ResponseReturnValue:
    body = json_body()
    status = body.get("status", "open")
    if not isinstance(status, str):
        raise ValidationError(_l("A new listing is either a draft or open."), field="status")
    listing = listings.create_listing(g.api_user, side, body, status)
    return jsonify(listings.listing_out(listing, g.api_user).dump()), 201


def _get(side: str, listing_id: int) -> ResponseReturnValue:
    listing = listings.get_listing(side, listing_id, g.api_user)
    return jsonify(listings.listing_out(listing, g.api_user).dump())


def _patch(side: str, listing_id: int) -> ResponseReturnValue:
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
    return jsonify(listings.listing_out(listing, g.api_user).dump())


def _delete(side: str, listing_id: int) -> ResponseReturnValue:
    listing = listings.set_status(g.api_user, side, listing_id, "withdrawn")
    return jsonify(listings.listing_out(listing, g.api_user).dump())


def _view(function: Callable[..., ResponseReturnValue], side: str, name: str,
          summary: str) -> Callable[..., ResponseReturnValue]:
    def view(**kwargs: int) -> ResponseReturnValue:
        return function(side, **kwargs)

    view.__name__, view.__doc__ = f"{name}_{side}", summary
    return view


for _side, _path in (("supply", "supply-listings"), ("demand", "demand-listings")):
    _one, _page = schemas.OUT[_side], schemas.PAGE[_side]
    _routes = (
        ("", "list", ["GET"], _list, documented(_page, 422, query=schemas.ListingQuery, operation_id=f"list_{_side}"),
         f"Browse {_side} listings (filters and pagination as the browse page)"),
        ("", "create", ["POST"], _create,
         documented(_one, 403, 422, status=201, json=schemas.CREATE[_side], operation_id=f"create_{_side}"),
         f"Post a {_side} listing (open at once unless status is draft)"),
        ("/<int:listing_id>", "get", ["GET"], _get, documented(_one, 404, operation_id=f"get_{_side}"),
         f"One {_side} listing"),
        ("/<int:listing_id>", "patch", ["PATCH"], _patch,
         documented(_one, 403, 404, 409, 422, json=schemas.UPDATE[_side],
                    operation_id=f"patch_{_side}"),
         "Change a listing, or move its status (draft, open, withdrawn)"),
        ("/<int:listing_id>", "delete", ["DELETE"], _delete,
         documented(_one, 403, 404, 409, operation_id=f"delete_{_side}"),
         "Withdraw a listing (it stays in the history)"),
    )
    for _suffix, _name, _methods, _function, _doc, _summary in _routes:
        bp.add_url_rule(f"/{_path}{_suffix}", f"{_name}_{_side}", _doc(_view(_function, _side, _name, _summary)),
                        methods=_methods)
