"""Allowed supply->demand arcs, built with numpy per material group.

Never loops over pairs in Python: for each material the supplies are taken in
row chunks, and each chunk is compared with all demands of that material as
one numpy block, so memory stays bounded (``chunk_pairs`` cells per block)
and pairs of different materials are never formed at all.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .catalogue import MATERIALS
from .geo import EARTH_RADIUS_KM, SitePoints, _gc, road_dkm
from .model import Instance
from .money import E7_PER_FEN
from .options import SolveOptions

log = logging.getLogger(__name__)

#: cells per (supply chunk x demands) block; ~8 MB per float64 temporary
DEFAULT_CHUNK_PAIRS = 1 << 20
_NO_RANK = 1 << 20  # "no grade" sorts after every real grade
_NO_LIMIT = np.iinfo(np.int64).max


@dataclass
class ArcSet:
    """Allowed pairings as parallel arrays (one entry per arc).

    si, di: indices into ``instance.supplies`` / ``instance.demands``;
    dkm: distance in 0.1 km; fen: transport cost per tonne in fen;
    rail: True where rail is the chosen (cheaper) mode; cap: arc capacity in
    tonnes (min of the two tonnages); road_fen: the road cost per tonne (equal
    to ``fen`` on road arcs; on rail arcs the fallback below a minimum train
    load).  ``candidates`` counts the same-material pairs examined before
    filtering.
    """

    si: np.ndarray
    di: np.ndarray
    dkm: np.ndarray
    fen: np.ndarray
    rail: np.ndarray
    cap: np.ndarray
    candidates: int = 0
    road_fen: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.road_fen is None:
            self.road_fen = self.fen

    @property
    def n(self) -> int:
        return int(self.si.shape[0])

    def take(self, idx: np.ndarray) -> ArcSet:
        assert self.road_fen is not None
        return ArcSet(self.si[idx], self.di[idx], self.dkm[idx], self.fen[idx],
                      self.rail[idx], self.cap[idx], self.candidates, self.road_fen[idx])

    @staticmethod
    def concat(a: ArcSet, b: ArcSet) -> ArcSet:
        assert a.road_fen is not None and b.road_fen is not None
        def cat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.concatenate([x, y])
        return ArcSet(cat(a.si, b.si), cat(a.di, b.di), cat(a.dkm, b.dkm), cat(a.fen, b.fen),
                      cat(a.rail, b.rail), cat(a.cap, b.cap), a.candidates, cat(a.road_fen, b.road_fen))


def _empty() -> ArcSet:
    z = np.zeros(0, dtype=np.int64)
    return ArcSet(z.astype(np.int32), z.astype(np.int32), z.astype(np.int32), z,
                  z.astype(bool), z, 0)


def grid_pairs(s_lat: np.ndarray, s_lon: np.ndarray, d_lat: np.ndarray, d_lon: np.ndarray,
               radius_km: float, max_pairs: int = DEFAULT_CHUNK_PAIRS
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every (supply, demand) index pair whose sites may be within ``radius_km``, in chunks.

    Sites go into cells of a latitude/longitude grid at least ``radius_km``
    across, so two sites within the radius are in the same or neighbouring
    cells; only those 3 x 3 neighbourhoods are paired, so the work grows with
    the candidate pairs, never with S x D.  Cell height: radius / R radians
    (a great circle is never shorter than its latitude difference).  Cell
    width: from sin(d/2R) >= cos(lat_max) sin(dlon/2), wrapped at 180 deg; near
    a pole or for a radius of thousands of km the grid has one column.
    """
    n_s, n_d = s_lat.size, d_lat.size
    if n_s == 0 or n_d == 0:
        return
    radius_km = max(radius_km, 1.0)  # wider cells are still exact; this bounds the cell count
    h = float(np.degrees(radius_km / EARTH_RADIUS_KM))
    phi = float(np.radians(max(np.abs(s_lat).max(), np.abs(d_lat).max())))
    arg = np.sin(min(radius_km / (2 * EARTH_RADIUS_KM), np.pi / 2)) / max(np.cos(phi), 1e-12)
    n_lon = 1 if arg >= 1 else int(360.0 // float(np.degrees(2 * np.arcsin(arg))))
    if n_lon < 3:
        n_lon = 1  # neighbours would wrap onto each other
    width = 360.0 / n_lon
    s_row = np.floor((s_lat + 90.0) / h).astype(np.int64)
    d_row = np.floor((d_lat + 90.0) / h).astype(np.int64)
    s_col = np.floor((s_lon + 180.0) / width).astype(np.int64) % n_lon
    d_col = np.floor((d_lon + 180.0) / width).astype(np.int64) % n_lon
    d_key = d_row * n_lon + d_col
    order = np.argsort(d_key, kind="stable")
    keys = d_key[order]
    cols = (-1, 0, 1) if n_lon > 1 else (0,)
    # per (supply, neighbour cell): the run of demands in that cell
    runs_s, runs_lo, runs_n = [], [], []
    for dr in (-1, 0, 1):
        for dc in cols:
            target = (s_row + dr) * n_lon + (s_col + dc) % n_lon
            lo = np.searchsorted(keys, target, side="left")
            n = np.searchsorted(keys, target, side="right") - lo
            has = np.flatnonzero(n)
            runs_s.append(has)
            runs_lo.append(lo[has])
            runs_n.append(n[has])
    rs, rlo, rn = np.concatenate(runs_s), np.concatenate(runs_lo), np.concatenate(runs_n)
    ends = np.cumsum(rn)
    start = 0
    while start < rs.size:
        # as many runs as fit in max_pairs (at least one)
        stop = max(start + 1, int(np.searchsorted(ends, (ends[start - 1] if start else 0) + max_pairs,
                                                  side="right")))
        n = rn[start:stop]
        total = int(n.sum())
        offset = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        yield np.repeat(rs[start:stop], n), order[np.repeat(rlo[start:stop], n) + offset]
        start = stop


def exclusion_indices(instance: Instance, options: SolveOptions) -> tuple[np.ndarray, np.ndarray]:
    """Resolve ``options.exclude`` (string ids) to supply/demand index arrays.

    Raises ValueError naming an id that is not in the instance.
    """
    if not options.exclude:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s_ix = {str(s.id): i for i, s in enumerate(instance.supplies)}
    d_ix = {str(d.id): j for j, d in enumerate(instance.demands)}
    rows, cols = [], []
    for s, d in sorted(options.exclude):
        if s not in s_ix:
            raise ValueError(f"exclude: unknown supply id {s!r}")
        if d not in d_ix:
            raise ValueError(f"exclude: unknown demand id {d!r}")
        rows.append(s_ix[s])
        cols.append(d_ix[d])
    return np.asarray(rows, np.int64), np.asarray(cols, np.int64)


def build_arcs(instance: Instance, options: SolveOptions | None = None,
               chunk_pairs: int = DEFAULT_CHUNK_PAIRS) -> ArcSet:
    """All allowed arcs with their distance, mode and per-tonne cost in fen.

    Applies every pairing rule (material, grade, quality, haul on both sides,
    delivered price), the exclusions, and drops arcs that cannot carry
    ``options.min_tonnes``.
    """
    options = options or SolveOptions()
    sup, dem, tar = instance.supplies, instance.demands, instance.tariff
    if not sup or not dem:
        return _empty()

    # ---- per-node arrays -------------------------------------------------
    s_mat = np.array([s.material for s in sup])
    d_mats = [d.materials for d in dem]
    s_t = np.array([s.tonnes for s in sup], dtype=np.int64)
    d_t = np.array([d.tonnes for d in dem], dtype=np.int64)
    s_haul = np.array([s.haul_dkm for s in sup], dtype=np.int64)
    d_haul = np.array([d.haul_dkm for d in dem], dtype=np.int64)
    s_price = np.array([s.price_fen for s in sup], dtype=np.int64)
    d_maxp = np.array([_NO_LIMIT if d.max_delivered_fen is None else d.max_delivered_fen
                       for d in dem], dtype=np.int64)
    s_rank = np.array([_NO_RANK if s.grade is None else MATERIALS[s.material].index(s.grade)
                       for s in sup], dtype=np.int64)
    # a demand without min_grade accepts even ungraded supplies (min_grade is
    # only allowed on single-material demands, so its material is d.material)
    d_rank = np.array([_NO_RANK if d.min_grade is None else MATERIALS[d.material].index(d.min_grade)
                       for d in dem], dtype=np.int64)
    s_rail = np.array([s.rail for s in sup], dtype=bool)
    d_rail = np.array([d.rail for d in dem], dtype=bool)
    s_lat = np.array([s.lat for s in sup], dtype=np.float64)
    s_lon = np.array([s.lon for s in sup], dtype=np.float64)
    d_lat = np.array([d.lat for d in dem], dtype=np.float64)
    d_lon = np.array([d.lon for d in dem], dtype=np.float64)
    s_pts = SitePoints(s_lat, s_lon)
    d_pts = SitePoints(d_lat, d_lon)

    handling = np.int64(tar.handling_e7)
    road = np.int64(tar.road_micro)
    rail_ok = tar.has_rail
    if rail_ok:
        rail_fixed, rail_rate = np.int64(tar.rail_fixed_e7), np.int64(tar.rail_micro)
    min_t = options.min_tonnes

    parts: list[tuple[np.ndarray, ...]] = []
    candidates = 0
    for material in sorted(set(s_mat.tolist()) & {m for ms in d_mats for m in ms}):
        # only nodes that can carry a shipment at all
        srows = np.flatnonzero((s_mat == material) & (s_t >= min_t))
        d_takes = np.fromiter((material in ms for ms in d_mats), dtype=bool, count=len(dem))
        dcols = np.flatnonzero(d_takes & (d_t >= min_t))
        if srows.size == 0 or dcols.size == 0:
            continue

        # quality: one (value, has) column per parameter any demand limits
        params = sorted({p for j in dcols.tolist() for p in dem[j].quality_limits})
        q_val = np.full((srows.size, len(params)), np.nan)
        q_lo = np.full((dcols.size, len(params)), -np.inf)
        q_hi = np.full((dcols.size, len(params)), np.inf)
        q_has = np.zeros((dcols.size, len(params)), dtype=bool)
        for k, p in enumerate(params):
            q_val[:, k] = [sup[i].quality.get(p, np.nan) for i in srows.tolist()]
            for col, j in enumerate(dcols.tolist()):
                lim = dem[j].quality_limits.get(p)
                if lim is not None:
                    q_has[col, k] = True
                    if lim.min is not None:
                        q_lo[col, k] = lim.min
                    if lim.max is not None:
                        q_hi[col, k] = lim.max

        # candidate pairs: only sites in neighbouring cells of the longest haul
        reach_dkm = min(int(s_haul[srows].max()), int(d_haul[dcols].max()))
        radius_km = (reach_dkm + 1) / (10.0 * tar.circuity) * (1 + 1e-9) + 1e-6
        for s_loc, d_loc in grid_pairs(s_lat[srows], s_lon[srows], d_lat[dcols], d_lon[dcols],
                                       radius_km, chunk_pairs):
            candidates += int(s_loc.size)
            si = srows[s_loc]
            di = dcols[d_loc]
            dk = road_dkm(_gc(s_pts.sin[si], s_pts.cos[si], d_pts.sin[di], d_pts.cos[di],
                              d_pts.lon[di] - s_pts.lon[si]), tar.circuity)
            ok = dk <= s_haul[si]
            ok &= dk <= d_haul[di]
            ok &= s_rank[si] <= d_rank[di]
            for k in range(len(params)):
                v = q_val[s_loc, k]
                # NaN (missing value) fails both comparisons -> rejected
                fits = (v >= q_lo[d_loc, k]) & (v <= q_hi[d_loc, k])
                ok &= fits | ~q_has[d_loc, k]
            if not ok.any():
                continue
            si, di, dist = si[ok], di[ok], dk[ok]
            road_e7 = handling + road * dist.astype(np.int64)
            cost = road_e7
            if rail_ok:
                both = s_rail[si] & d_rail[di]
                rail_cost = handling + rail_fixed + rail_rate * dist.astype(np.int64)
                use_rail = both & (rail_cost < road_e7)  # a tie goes to road
                cost = np.where(use_rail, rail_cost, road_e7)
            else:
                use_rail = np.zeros(si.shape, dtype=bool)
            fen = (cost + E7_PER_FEN // 2) // E7_PER_FEN  # the one rounding, half up
            road_fen = (road_e7 + E7_PER_FEN // 2) // E7_PER_FEN
            keep = s_price[si] + fen <= d_maxp[di]
            if not keep.all():
                si, di, dist, fen, use_rail, road_fen = (
                    si[keep], di[keep], dist[keep], fen[keep], use_rail[keep], road_fen[keep])
            parts.append((si.astype(np.int32), di.astype(np.int32), dist.astype(np.int32),
                          fen.astype(np.int64), use_rail, road_fen.astype(np.int64)))

    if not parts:
        out = _empty()
        out.candidates = candidates
        return out
    si, di, dist, fen, use_rail, road_fen = (np.concatenate(x) for x in zip(*parts, strict=True))
    cap = np.minimum(s_t[si], d_t[di])
    arcs = ArcSet(si, di, dist, fen, use_rail, cap, candidates, road_fen)

    ex_s, ex_d = exclusion_indices(instance, options)
    if ex_s.size:
        n_d = len(dem)
        keys = arcs.si.astype(np.int64) * n_d + arcs.di
        arcs = arcs.take(np.flatnonzero(~np.isin(keys, ex_s * n_d + ex_d)))
    log.debug("built %d arcs from %d same-material pairs", arcs.n, candidates)
    return arcs
