"""Issue #16: sparse arc building from a spatial grid finds exactly the arcs the scalar rules allow."""
from __future__ import annotations

import numpy as np
import pytest
from matching_testlib import allowed_arcs, dem, inst, sup

from matching import build_arcs
from matching.arcs import grid_pairs


def _random(seed: int, lat: tuple[float, float], lon: tuple[float, float], hauls: list[float], n: int = 40):
    rng = np.random.default_rng(seed)

    def site() -> dict:
        x = float(rng.uniform(*lon))
        return {"lat": round(float(rng.uniform(*lat)), 4), "lon": round(((x + 180) % 360) - 180, 4)}
    sups = [sup(f"S{k}", haul=float(rng.choice(hauls)), **site()) for k in range(n)]
    dems = [dem(f"D{k}", haul=float(rng.choice(hauls)), **site()) for k in range(n)]
    return inst(sups, dems, circuity=1.2)


@pytest.mark.parametrize("seed,lat,lon,hauls", [
    (1, (36, 39), (105, 107.5), [30, 60, 100]),          # Ningxia, short hauls: many cells
    (2, (18, 53), (73, 135), [150, 300, 800]),          # China
    (3, (-60, 60), (170, 190), [500, 2000]),            # across the 180th meridian (190 -> -170)
    (4, (80, 90), (-180, 180), [300, 1500]),            # near the pole
    (5, (-90, 90), (-180, 180), [10_000, 5000]),        # global, hauls of thousands of km
])
def test_grid_finds_exactly_the_allowed_arcs(seed, lat, lon, hauls):
    i = _random(seed, lat, lon, hauls)  # longitudes beyond 180 wrap to -180..
    arcs = build_arcs(i)
    ours = sorted(zip(arcs.si.tolist(), arcs.di.tolist(), arcs.dkm.tolist(), strict=True))
    ref = sorted((a, b, t.dkm) for a, b, t in allowed_arcs(i))
    assert ours == ref
    assert arcs.candidates <= len(i.supplies) * len(i.demands)


def test_grid_examines_far_fewer_pairs_than_s_times_d_when_hauls_are_short():
    i = _random(7, (18, 53), (73, 135), [100], n=300)
    arcs = build_arcs(i)
    assert arcs.candidates < 0.1 * 300 * 300
    assert arcs.n == len(allowed_arcs(i))


def test_grid_chunks_cover_each_candidate_once():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(30, 40, 200), rng.uniform(100, 110, 200)
    whole = np.concatenate([a * 1000 + b for a, b in grid_pairs(lat, lon, lat, lon, 150.0, 1 << 30)])
    chunks = np.concatenate([a * 1000 + b for a, b in grid_pairs(lat, lon, lat, lon, 150.0, 7)])
    assert np.array_equal(np.sort(whole), np.sort(chunks)) and np.unique(whole).size == whole.size
