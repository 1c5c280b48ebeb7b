"""Deterministic train/val/test splits: random (grouped) and spatially held out.

Both splits are pure functions of their inputs and ``seed``: the same call
gives the same indices on every machine.  The spatial split holds out whole
HEALPix cells (RING ordering, ``nside=4`` by default: 192 cells of about
2.7 million km² each), so the test set lies in regions the model never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int

from ..coords import as_latlon, latlon_to_thetaphi

__all__ = ["Split", "random_split", "spatial_split"]

_PARTS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """Indices of the train, validation and test rows of a table.

    Attributes
    ----------
    train, val, test : numpy.ndarray
        Sorted int64 row positions (``iloc``), pairwise disjoint, covering
        every row.
    kind : str
        ``"random"`` or ``"spatial"``.
    seed : int
        The seed that produced the split.
    cells : dict of str to numpy.ndarray
        For spatial splits, the HEALPix cells (RING, at ``nside``) of each part.
    nside : int or None
        HEALPix resolution of a spatial split.

    Examples
    --------
    >>> s = random_split(10, fractions=(0.6, 0.2, 0.2), seed=0)
    >>> len(s.train), len(s.val), len(s.test)
    (6, 2, 2)
    >>> s.labels()[:3].tolist() == [s.part_of(i) for i in range(3)]
    True
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    kind: str
    seed: int
    cells: dict[str, np.ndarray] = field(default_factory=dict)
    nside: int | None = None

    def __getitem__(self, part: str) -> np.ndarray:
        if part not in _PARTS:
            raise KeyError(f"`part` must be one of {_PARTS}, got {part!r}")
        return getattr(self, part)

    @property
    def n(self) -> int:
        """Total number of rows."""
        return len(self.train) + len(self.val) + len(self.test)

    def labels(self) -> np.ndarray:
        """Per-row part name (``"train"``, ``"val"`` or ``"test"``) as an array."""
        out = np.empty(self.n, dtype=object)
        for part in _PARTS:
            out[self[part]] = part
        return out

    def part_of(self, i: int) -> str:
        """Name of the part holding row ``i``."""
        for part in _PARTS:
            idx = self[part]
            j = np.searchsorted(idx, i)
            if j < len(idx) and idx[j] == i:
                return part
        raise IndexError(f"row {i} is not in this split of {self.n} rows")

    def fractions(self) -> dict[str, float]:
        """Realised fraction of rows in each part."""
        return {p: len(self[p]) / max(self.n, 1) for p in _PARTS}


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError(
            f"`fractions` must be three non-negative numbers (train, val, test), got {fractions!r}"
        )
    if abs(f.sum() - 1.0) > 1e-9:
        raise ValueError(f"`fractions` must sum to 1, got {tuple(fractions)} (sum {f.sum():.6g})")
    return f


def _check_seed(seed: Any) -> int:
    return check_int(seed, "seed", what="an int")


def _counts(n: int, f: np.ndarray) -> tuple[int, int]:
    """Sizes of the val and test parts for ``n`` items (rounded, train gets the rest)."""
    n_test = round(f[2] * n)
    n_val = min(round(f[1] * n), n - n_test)
    return n_val, n_test


def random_split(
    data: int | Any,
    *,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    groups: Any = None,
) -> Split:
    """Random train/val/test split, optionally keeping groups together.

    Parameters
    ----------
    data : int or table
        Number of rows, or any object with ``len()`` (e.g. a DataFrame).
    fractions : (float, float, float)
        Train, val and test fractions (sum to 1).  With ``groups`` they are
        fractions of groups, not rows.
    seed : int
        Seed of the permutation.
    groups : array_like, optional
        Group label per row (e.g. ``geonameid``, so that a city's alternate
        names never straddle train and test).  A string names a column of
        ``data``.

    Returns
    -------
    Split

    Examples
    --------
    >>> s = random_split(6, fractions=(0.5, 0.0, 0.5), seed=1, groups=[0, 0, 1, 1, 2, 3])
    >>> sorted(s.train.tolist() + s.test.tolist())
    [0, 1, 2, 3, 4, 5]
    >>> {0, 1} <= set(s.train.tolist()) or {0, 1} <= set(s.test.tolist())
    True
    """
    f = _check_fractions(fractions)
    seed = _check_seed(seed)
    n = _length(data)
    g = _groups(data, groups, n)
    uniq, inverse = np.unique(g, return_inverse=True)
    perm = np.random.default_rng(seed).permutation(len(uniq))
    n_val, n_test = _counts(len(uniq), f)
    part_of_group = np.zeros(len(uniq), dtype=np.int8)  # 0 train, 1 val, 2 test
    part_of_group[perm[:n_test]] = 2
    part_of_group[perm[n_test : n_test + n_val]] = 1
    part = part_of_group[inverse]
    return Split(*(np.flatnonzero(part == k).astype(np.int64) for k in range(3)), "random", seed)


def _length(data: Any) -> int:
    if isinstance(data, bool):
        raise TypeError("`data` must be a row count or a table, got bool")
    if isinstance(data, (int, np.integer)):
        n = int(data)
    elif hasattr(data, "__len__"):
        n = len(data)
    else:
        raise TypeError(f"`data` must be a row count or a table, got {type(data).__name__}")
    if n < 1:
        raise ValueError(f"`data` must have at least one row, got {n}")
    return n


def _groups(data: Any, groups: Any, n: int) -> np.ndarray:
    if groups is None:
        return np.arange(n)
    if isinstance(groups, str):
        if not hasattr(data, "columns") or groups not in data.columns:
            raise ValueError(f"`groups`={groups!r} is not a column of `data`")
        groups = data[groups].to_numpy()
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"`groups` must have one label per row ({n}), got shape {g.shape}")
    return g


def spatial_split(
    lat: Any,
    lon: Any,
    *,
    nside: int = 4,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> Split:
    """Spatially held-out split: whole HEALPix cells go to val or test.

    The occupied cells (RING ordering) are shuffled with ``seed``; cells are
    then given to the test part until it holds at least ``fractions[2]`` of the
    rows, then to the val part likewise, and the remaining cells to train.
    Realised fractions therefore overshoot slightly (one cell at most per part).

    Parameters
    ----------
    lat, lon : array_like
        Row locations [deg].
    nside : int
        HEALPix resolution of the held-out cells (4: 192 cells of ~2.7e6 km²).
    fractions : (float, float, float)
        Target train, val and test fractions of rows.
    seed : int
        Seed of the cell permutation.

    Returns
    -------
    Split
        With ``kind="spatial"``, ``nside`` and ``cells`` set.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lat, lon = rng.uniform(-60, 60, 500), rng.uniform(-180, 180, 500)
    >>> s = spatial_split(lat, lon, seed=0)
    >>> set(s.cells["train"].tolist()) & set(s.cells["test"].tolist())
    set()
    """
    from ..fields.grid import check_nside  # lazily: `import shdd_geo.datasets` stays light

    hp = _healpy()
    f = _check_fractions(fractions)
    seed = _check_seed(seed)
    nside = check_nside(nside)
    lat_a, lon_a = as_latlon(lat, lon)
    theta, phi = latlon_to_thetaphi(lat_a, lon_a)
    pix = hp.ang2pix(int(nside), theta, phi)
    cells, inverse, counts = np.unique(pix, return_inverse=True, return_counts=True)
    perm = np.random.default_rng(seed).permutation(len(cells))
    cell_part = np.zeros(len(cells), dtype=np.int8)  # 0 train, 1 val, 2 test
    targets, codes = (f[2] * len(pix), f[1] * len(pix)), (2, 1)
    j, cum = 0, 0
    for c in perm:  # fill test, then val; the remaining cells stay in train
        while j < 2 and cum >= targets[j]:
            j, cum = j + 1, 0
        if j == 2:
            break
        cell_part[c] = codes[j]
        cum += counts[c]
    part = cell_part[inverse]
    idx = [np.flatnonzero(part == k).astype(np.int64) for k in range(3)]
    cell_sets = {p: cells[cell_part == k] for k, p in enumerate(_PARTS)}
    return Split(*idx, "spatial", seed, cells=cell_sets, nside=int(nside))


def _healpy():
    from .._optional import attempt_import

    return attempt_import("healpy", "spatial splits")
