"""Allowed supply->demand arcs, built with numpy per material group.

Never loops over pairs in Python: for each material the supplies are taken in
row chunks, and each chunk is compared with all demands of that material as
one numpy block, so memory stays bounded (``chunk_pairs`` cells per block)
and pairs of different materials are never formed at all.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .catalogue import MATERIALS
from .geo import SitePoints, road_dkm
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
    tonnes (min of the two tonnages).  ``candidates`` counts the same-material
    pairs examined before filtering.
    """

    si: np.ndarray
    di: np.ndarray
    dkm: np.ndarray
    fen: np.ndarray
    rail: np.ndarray
    cap: np.ndarray
    candidates: int = 0

    @property
    def n(self) -> int:
        return int(self.si.shape[0])

    def take(self, idx: np.ndarray) -> ArcSet:
        return ArcSet(self.si[idx], self.di[idx], self.dkm[idx], self.fen[idx],
                      self.rail[idx], self.cap[idx], self.candidates)


def _empty() -> ArcSet:
    z = np.zeros(0, dtype=np.int64)
    return ArcSet(z.astype(np.int32), z.astype(np.int32), z.astype(np.int32), z,
                  z.astype(bool), z, 0)


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
    d_mat = np.array([d.material for d in dem])
    s_t = np.array([s.tonnes for s in sup], dtype=np.int64)
    d_t = np.array([d.tonnes for d in dem], dtype=np.int64)
    s_haul = np.array([s.haul_dkm for s in sup], dtype=np.int64)
    d_haul = np.array([d.haul_dkm for d in dem], dtype=np.int64)
    s_price = np.array([s.price_fen for s in sup], dtype=np.int64)
    d_maxp = np.array([_NO_LIMIT if d.max_delivered_fen is None else d.max_delivered_fen
                       for d in dem], dtype=np.int64)
    s_rank = np.array([_NO_RANK if s.grade is None else MATERIALS[s.material].index(s.grade)
                       for s in sup], dtype=np.int64)
    # a demand without min_grade accepts even ungraded supplies
    d_rank = np.array([_NO_RANK if d.min_grade is None else MATERIALS[d.material].index(d.min_grade)
                       for d in dem], dtype=np.int64)
    s_rail = np.array([s.rail for s in sup], dtype=bool)
    d_rail = np.array([d.rail for d in dem], dtype=bool)
    s_pts = SitePoints([s.lat for s in sup], [s.lon for s in sup])
    d_pts = SitePoints([d.lat for d in dem], [d.lon for d in dem])

    handling = tar.handling_e7
    road = tar.road_micro
    rail_ok = tar.has_rail
    if rail_ok:
        rail_fixed, rail_rate = tar.rail_fixed_e7, tar.rail_micro
    min_t = options.min_tonnes

    parts: list[tuple[np.ndarray, ...]] = []
    candidates = 0
    for material in sorted(set(s_mat.tolist()) & set(d_mat.tolist())):
        # only nodes that can carry a shipment at all
        srows = np.flatnonzero((s_mat == material) & (s_t >= min_t))
        dcols = np.flatnonzero((d_mat == material) & (d_t >= min_t))
        if srows.size == 0 or dcols.size == 0:
            continue
        candidates += int(srows.size) * int(dcols.size)

        # quality: one (value, has) column per parameter any demand limits
        params = sorted({p for j in dcols.tolist() for p in dem[j].quality_limits})
        q_val = np.full((srows.size, len(params)), np.nan)
        q_lo = np.full((dcols.size, len(params)), -np.inf)
        q_hi = np.full((dcols.size, len(params)), np.inf)
        q_has = np.zeros((dcols.size, len(params)), dtype=bool)
        for k, p in enumerate(params):
            q_val[:, k] = [sup[i].quality.get(p, np.nan) for i in srows.tolist()]
            for c, j in enumerate(dcols.tolist()):
                lim = dem[j].quality_limits.get(p)
                if lim is not None:
                    q_has[c, k] = True
                    if lim.min is not None:
                        q_lo[c, k] = lim.min
                    if lim.max is not None:
                        q_hi[c, k] = lim.max

        step = max(1, chunk_pairs // int(dcols.size))
        g_haul = d_haul[dcols]
        g_rank = d_rank[dcols]
        for start in range(0, srows.size, step):
            rows = srows[start:start + step]
            dk = road_dkm(s_pts.block_km(rows, d_pts, dcols), tar.circuity)
            ok = dk <= s_haul[rows][:, None]
            ok &= dk <= g_haul[None, :]
            ok &= s_rank[rows][:, None] <= g_rank[None, :]
            for k in range(len(params)):
                v = q_val[start:start + step, k][:, None]
                # NaN (missing value) fails both comparisons -> rejected
                fits = (v >= q_lo[None, :, k]) & (v <= q_hi[None, :, k])
                ok &= fits | ~q_has[None, :, k]
            r, hit = np.nonzero(ok)
            if r.size == 0:
                continue
            si = rows[r]
            di = dcols[hit]
            dist = dk[r, hit]
            cost = handling + road * dist
            if rail_ok:
                both = s_rail[si] & d_rail[di]
                rail_cost = handling + rail_fixed + rail_rate * dist
                use_rail = both & (rail_cost < cost)  # a tie goes to road
                cost = np.where(use_rail, rail_cost, cost)
            else:
                use_rail = np.zeros(si.shape, dtype=bool)
            fen = (cost + E7_PER_FEN // 2) // E7_PER_FEN  # the one rounding, half up
            keep = s_price[si] + fen <= d_maxp[di]
            if not keep.all():
                si, di, dist, fen, use_rail = si[keep], di[keep], dist[keep], fen[keep], use_rail[keep]
            parts.append((si.astype(np.int32), di.astype(np.int32), dist.astype(np.int32),
                          fen.astype(np.int64), use_rail))

    if not parts:
        out = _empty()
        out.candidates = candidates
        return out
    si, di, dist, fen, use_rail = (np.concatenate(x) for x in zip(*parts, strict=True))
    cap = np.minimum(s_t[si], d_t[di])
    arcs = ArcSet(si, di, dist, fen, use_rail, cap, candidates)

    ex_s, ex_d = exclusion_indices(instance, options)
    if ex_s.size:
        n_d = len(dem)
        keys = arcs.si.astype(np.int64) * n_d + arcs.di
        arcs = arcs.take(np.flatnonzero(~np.isin(keys, ex_s * n_d + ex_d)))
    log.debug("built %d arcs from %d same-material pairs", arcs.n, candidates)
    return arcs
