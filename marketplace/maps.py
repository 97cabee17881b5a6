"""Map data as GeoJSON, drawn in the page by one static script (static/js/map.js) with Leaflet.

No user text ever becomes code or markup here: every popup line is a plain (label, value) pair of strings
that the script puts into the DOM with `textContent`. The server decides what each viewer may see (others'
sites at their county seat, no organisation, site or notes before an agreement); the script only draws.

Tiles come from a configurable server (MAP_TILE_URL); where none is reachable the markers and lines still
show on a blank background."""
from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify

NINGXIA_CENTRE = (37.7, 106.2)
SUPPLY_COLOUR, DEMAND_COLOUR, FLOW_COLOUR = "#1f6f5c", "#a35b00", "#555"
#: A latitude or longitude as the database holds it (Decimal) or as computed (float).
Degrees = float | Decimal
#: Popup or tooltip lines: (label, value) pairs, either of them a lazy translation or a number.
Lines = Sequence[tuple[object, object]]

#: A map draws at most this many flow lines (the largest); a market-wide round has tens of thousands.
MAX_FLOWS = 500


def _text(value: object) -> str:
    return "" if value is None else str(value)


def lines(pairs: Lines) -> list[list[str]]:
    """Popup or tooltip lines as [label, value] strings (lazy translations resolved here)."""
    return [[_text(label), _text(value)] for label, value in pairs]


def point(lat: Degrees, lon: Degrees, *, colour: str, radius: float = 6, popup: Lines | None = None,
          tooltip: Lines | None = None, link: str | None = None, link_text: object = "",
          **extra: Any) -> dict[str, Any]:
    """A GeoJSON Point feature (coordinates are [lon, lat]) with its popup and tooltip as plain lines."""
    props: dict[str, Any] = {"kind": "marker", "colour": colour, "radius": round(radius, 1),
             "popup": lines(popup or []), "tooltip": lines(tooltip or [])}
    if link:
        props.update(link=link, link_text=_text(link_text))
    props.update(extra)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
            "properties": props}


def line(ends: Sequence[tuple[Degrees, Degrees]], *, colour: str = FLOW_COLOUR, weight: float = 3,
         tooltip: Lines | None = None, **extra: Any) -> dict[str, Any]:
    """A GeoJSON LineString feature between (lat, lon) ends."""
    props: dict[str, Any] = {"kind": "flow", "colour": colour, "weight": round(weight, 1),
                             "tooltip": lines(tooltip or [])}
    props.update(extra)
    return {"type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[float(lon), float(lat)] for lat, lon in ends]},
            "properties": props}


def feature_collection(features: list[dict[str, Any]], omitted: int = 0) -> Response:
    """The JSON response; `no-store` comes from the app's headers like every other dynamic response.
    `omitted`: how many items were left out to keep the map bounded (a foreign member of the collection)."""
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if omitted:
        body["omitted"] = omitted
    return jsonify(body)


def tile_origin(url: str) -> str | None:
    """The origin of a tile URL template as a CSP source ('https://{s}.tile.x' -> 'https://*.tile.x')."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return f"{parts.scheme}://{host}"


def config() -> dict[str, Any]:
    """What the map script needs from configuration, handed over as a JSON blob in the page.

    The attribution is configured as HTML (`&copy; ...`) by habit; it goes to the page as plain text."""
    return {"tile_url": current_app.config["MAP_TILE_URL"],
            "attribution": html.unescape(current_app.config["MAP_TILE_ATTRIBUTION"]),
            "centre": list(NINGXIA_CENTRE), "zoom": 7, "max_zoom": 18}
