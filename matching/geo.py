"""Great-circle distance, vectorised, and the one rounding rule for distances.

Same formula as geopy's ``great_circle`` (atan2 form of Vincenty's formula on
a sphere of radius 6371.009 km), so the scalar check in ``validation`` that
calls geopy agrees with these arrays to ~1e-12 km.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

EARTH_RADIUS_KM = 6371.009


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                    lon2: np.ndarray) -> np.ndarray:
    """Great-circle km between broadcastable arrays of degrees."""
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dl = np.radians(lon2) - np.radians(lon1)
    return _gc(np.sin(p1), np.cos(p1), np.sin(p2), np.cos(p2), dl)


def _gc(sin1: np.ndarray, cos1: np.ndarray, sin2: np.ndarray, cos2: np.ndarray, dl: np.ndarray) -> np.ndarray:
    cdl = np.cos(dl)
    sdl = np.sin(dl)
    y = np.sqrt((cos2 * sdl) ** 2 + (cos1 * sin2 - sin1 * cos2 * cdl) ** 2)
    x = sin1 * sin2 + cos1 * cos2 * cdl
    km: np.ndarray = EARTH_RADIUS_KM * np.arctan2(y, x)
    return km


def road_dkm(gc_km: np.ndarray, circuity: float) -> np.ndarray:
    """Route distance in whole 0.1 km: ``rint(great_circle * circuity * 10)``.

    This is the single rounding of distances; haul limits, costs and CO2 all
    use the rounded value.  ``np.rint`` rounds half to even, like Python's
    ``round`` used by the scalar validator.
    """
    return np.rint(gc_km * circuity * 10.0).astype(np.int64)


class SitePoints:
    """Precomputed sines/cosines of a set of sites (for chunked pair blocks)."""

    def __init__(self, lat: ArrayLike, lon: ArrayLike) -> None:
        p = np.radians(np.asarray(lat, dtype=np.float64))
        self.sin = np.sin(p)
        self.cos = np.cos(p)
        self.lon = np.radians(np.asarray(lon, dtype=np.float64))

    def block_km(self, rows: slice | np.ndarray, other: SitePoints,
                 cols: slice | np.ndarray) -> np.ndarray:
        """Distance matrix between ``self[rows]`` and ``other[cols]``."""
        dl = other.lon[cols][None, :] - self.lon[rows][:, None]
        return _gc(self.sin[rows][:, None], self.cos[rows][:, None],
                   other.sin[cols][None, :], other.cos[cols][None, :], dl)
