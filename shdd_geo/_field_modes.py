"""Mode finding on HEALPix log-density rows (private helper of ``SphericalField.modes``)."""

from __future__ import annotations

import numpy as np

from ._field_grid import _hp, neighbours, pixel_area_sr, pixel_latlon, pixel_xyz
from .coords import EARTH_RADIUS_KM

__all__ = ["find_modes"]

_COLUMNS = ("field", "rank", "pixel", "lat", "lon", "log_density", "mass")


def _local_maxima(row: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Pixels at least as dense as all their neighbours, sorted by density (desc)."""
    nv = np.where(nb >= 0, row[np.maximum(nb, 0)], -np.inf)
    cand = np.flatnonzero((row >= nv.max(axis=0)) & np.isfinite(row))
    return cand[np.argsort(-row[cand], kind="stable")]


def _greedy_separated(cand: np.ndarray, xyz: np.ndarray, k: int, min_cos: float) -> list[int]:
    """Walk candidates by density; keep those farther than the separation from all kept."""
    kept: list[int] = []
    while cand.size and len(kept) < k:
        kept.append(int(cand[0]))
        cand = cand[xyz[cand] @ xyz[cand[0]] < min_cos]
    return kept


def find_modes(rows: np.ndarray, nside: int, nest: bool, k: int, sep_km: float, radius_km: float) -> dict:
    """Modes of normalised log-density rows ``(B, npix)``; see ``SphericalField.modes``."""
    hp = _hp()
    nb = neighbours(nside, nest)
    xyz = pixel_xyz(nside, nest)
    lat, lon = pixel_latlon(nside, nest)
    min_cos = np.cos(min(sep_km / EARTH_RADIUS_KM, np.pi)) if sep_km > 0 else 2.0
    area = pixel_area_sr(nside)
    out: dict[str, list] = {c: [] for c in _COLUMNS}
    for b, row in enumerate(rows):
        kept = _greedy_separated(_local_maxima(row, nb), xyz, k, min_cos)
        p = np.exp(row) * area
        for rank, pix in enumerate(kept):
            disc = hp.query_disc(nside, xyz[pix], radius_km / EARTH_RADIUS_KM, nest=nest)
            mass = float(p[disc].sum()) if radius_km > 0 else float(p[pix])
            for c, v in zip(_COLUMNS, (b, rank, pix, lat[pix], lon[pix], row[pix], mass)):
                out[c].append(v)
    dtypes = {"field": np.int64, "rank": np.int64, "pixel": np.int64}
    return {c: np.asarray(v, dtype=dtypes.get(c, np.float64)) for c, v in out.items()}
