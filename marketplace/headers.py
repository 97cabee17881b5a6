"""Security headers on every response, set by Flask-Talisman (a kept library rather than hand-set headers).

The Content-Security-Policy allows scripts and styles from this server only: no inline code, no eval, no
style attributes. Data reaches scripts as JSON (`<script type="application/json">`), text reaches the DOM
through `textContent`. Images may also come from the configured map tile server. HTTPS redirects and HSTS
follow SESSION_COOKIE_SECURE, so development and tests over plain HTTP keep working."""
from __future__ import annotations

from flask import Flask, request
from flask_talisman import Talisman

from . import maps

#: Browser features the platform never uses, denied to every page (and to anything framed in one).
DENIED_FEATURES = ("accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
                   "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
                   "screen-wake-lock", "serial", "usb", "xr-spatial-tracking", "browsing-topics")

def content_security_policy(app: Flask) -> dict:
    images = ["'self'", "data:"]
    tiles = maps.tile_origin(app.config.get("MAP_TILE_URL") or "")
    if tiles:
        images.append(tiles)
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": images,
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
    }


def init_app(app: Flask) -> None:
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    # One Talisman per app, not a module-level singleton: it keeps its options on itself, so a second app
    # (tests, a CLI) would otherwise change the first one's policy.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=secure,
        strict_transport_security=secure,
        session_cookie_secure=secure,
        session_cookie_http_only=app.config.get("SESSION_COOKIE_HTTPONLY", True),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        content_security_policy=content_security_policy(app),
        permissions_policy={feature: "()" for feature in DENIED_FEATURES},
        frame_options="SAMEORIGIN",
        referrer_policy="same-origin",
        x_content_type_options=True,
        x_xss_protection=False,  # obsolete, and harmful in old browsers; the CSP does the work
    )

    @app.after_request
    def no_store(response):
        # Pages and JSON carry other firms' data: never kept in a shared cache or the back/forward cache.
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
