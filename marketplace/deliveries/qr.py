"""QR codes for the weighbridge on a phone: one per agreement that opens its ticket form, one per ticket that
opens its receipt confirmation. A QR code is only a link: the page it opens asks for a login and checks who
may use it, like any other.

segno (pure Python, already used for the CO2 certificates) writes the SVG; the code's URL is also the SVG's
<title>, so that a person (and a test) can read where it leads without a camera."""
from __future__ import annotations

import io
from typing import Any

from flask import Response, current_app, url_for


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of a page: on PUBLIC_BASE_URL when configured (a phone must reach the server by its
    public name, not by whatever host a proxy passed on), else on the request's host."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def svg(url: str) -> bytes:
    """`url` as a QR code in SVG, its URL in the <title>."""
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, title=url, xmldecl=False,
                                    svgclass="qr", lineclass=None)
    return buffer.getvalue()


def svg_response(url: str) -> Response:
    """The code as an image: an <img src> may show it under the strict CSP (no inline script or style in it)."""
    return Response(svg(url), mimetype="image/svg+xml")
