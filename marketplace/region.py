"""Where a site may be: Ningxia, its neighbours' border areas (with the user's confirmation), nowhere else.

Ningxia is a simplified outline of the region's boundary (27 vertices, drawn a few kilometres outside the
real line, from the county seats and border towns of DOMAIN.md and the gazetteer), widened by
NINGXIA_MARGIN_DEG (about 5 km), so that a plant on the border is never asked to confirm. Bayanhot (Alxa
Left Banner), Wuhai, Dingbian, Huanxian and Pingliang fall outside it.

The neighbours are the box NEIGHBOURS_BOX: 35.0-40.2 N, 103.5-108.9 E, about 150 km around Ningxia. It holds
the bordering counties of Inner Mongolia (Alxa Left Banner, Wuhai, Otog and Otog Front Banners), Gansu (Baiyin,
Jingtai, Jingyuan, Huanxian, Qingyang, Pingliang, Lanzhou) and Shaanxi (Dingbian, Jingbian, Wuqi): within a
road haul over which fly ash, slag and gypsum are still traded; Xi'an, Baotou, Yulin and Ordos city are not.
A site there is saved only when the user confirms it; anything outside the box is a typing error (swapped or
mistyped coordinates) and is refused. shapely (GEOS) does the point-in-polygon test."""
from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from shapely import Point, Polygon, prepare

#: (lon, lat) vertices, clockwise from the northern tip (Huinong).
NINGXIA_OUTLINE: tuple[tuple[float, float], ...] = (
    (106.70, 39.45), (107.00, 39.30), (107.00, 38.70), (107.10, 38.30), (107.35, 38.10), (107.65, 37.95),
    (107.50, 37.55), (107.30, 37.10), (106.95, 36.80), (107.00, 36.30), (107.00, 35.85), (106.75, 35.70),
    (106.50, 35.45), (106.40, 35.22), (106.15, 35.20), (105.80, 35.45), (105.50, 35.70), (105.20, 36.05),
    (105.00, 36.50), (104.80, 36.90), (104.22, 37.28), (104.55, 37.60), (105.20, 37.80), (105.60, 38.00),
    (105.82, 38.30), (106.02, 38.80), (106.30, 39.15),
)
NINGXIA_MARGIN_DEG = 0.05
#: (lat_min, lat_max, lon_min, lon_max) of Ningxia and its neighbours' border areas.
NEIGHBOURS_BOX = (Decimal("35.0"), Decimal("40.2"), Decimal("103.5"), Decimal("108.9"))

_NINGXIA = Polygon(NINGXIA_OUTLINE).buffer(NINGXIA_MARGIN_DEG)
prepare(_NINGXIA)


class Zone(StrEnum):
    NINGXIA = "ningxia"
    NEIGHBOUR = "neighbour"
    OUTSIDE = "outside"


def zone_of(lat: Decimal, lon: Decimal) -> Zone:
    """Which of the three zones the point (WGS-84 degrees) lies in."""
    if _NINGXIA.contains(Point(float(lon), float(lat))):
        return Zone.NINGXIA
    lat_min, lat_max, lon_min, lon_max = NEIGHBOURS_BOX
    if lat_min <= lat <= lat_max and lon_min <= lon <= lon_max:
        return Zone.NEIGHBOUR
    return Zone.OUTSIDE
