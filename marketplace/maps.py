"""Maps with folium, served entirely from static/vendor (no CDN): the platform works offline.

Tiles come from a configurable server (MAP_TILE_URL); where none is reachable the markers and lines still
show on a blank background. Every piece of user text that goes into a popup is escaped here."""
from __future__ import annotations

import folium
from flask import current_app, url_for
from markupsafe import escape

#: folium asset name -> our local copy (filled by scripts/vendor.sh, or shipped in static/).
LOCAL_ASSETS = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "jquery": "vendor/jquery/jquery.min.js",
    "bootstrap": "vendor/bootstrap/bootstrap.bundle.min.js",
    "awesome_markers": "vendor/awesome-markers/leaflet.awesome-markers.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "bootstrap_css": "vendor/bootstrap/bootstrap.min.css",
    "glyphicons_css": "vendor/bootstrap3/bootstrap.min.css",
    "awesome_markers_font_css": "vendor/fontawesome/css/all.min.css",
    "awesome_markers_css": "vendor/awesome-markers/leaflet.awesome-markers.css",
    "awesome_rotate_css": "css/awesome-rotate.css",
}
NINGXIA_CENTRE = (37.7, 106.2)


def _local(assets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    missing = [name for name, _url in assets if name not in LOCAL_ASSETS]
    if missing:
        # A folium upgrade that names a new asset must not silently fetch it from a CDN.
        raise RuntimeError(f"folium wants assets we have no local copy of: {missing}")
    return [(name, url_for("static", filename=LOCAL_ASSETS[name])) for name, _url in assets]


def new_map(location=NINGXIA_CENTRE, zoom_start: int = 7) -> folium.Map:
    """A folium map whose scripts and styles are served by this app."""
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, control_scale=True)
    # Instance attributes, so the class-level CDN lists stay untouched for anyone else.
    m.default_js = _local(folium.Map.default_js)
    m.default_css = _local(folium.Map.default_css)
    folium.TileLayer(tiles=current_app.config["MAP_TILE_URL"], attr=current_app.config["MAP_TILE_ATTRIBUTION"],
                     name="base", max_zoom=18).add_to(m)
    return m


def popup_html(lines: list[tuple[str, object]]) -> str:
    """A popup body from (label, value) pairs, every part escaped."""
    return "<br>".join(f"<b>{escape(label)}</b>: {escape(value)}" for label, value in lines)


def render(m: folium.Map) -> str:
    return m.get_root().render()
