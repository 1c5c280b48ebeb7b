"""Compiled kernel of :func:`shdd_geo.sh.sh_basis` (optional, needs ``numba``).

The same normalised recurrence as the NumPy path of :mod:`shdd_geo.sh` (the
diagonal ``Pbar_m^m`` by ``sqrt((2m+1)/(2m)) sin(theta)``, then upwards in
``l`` for fixed ``m``), but per point with scalars, written straight into the
point's output row, and parallel over points.  NumPy's version has to make
several passes over ``(L+1)**2`` rows per point, which bounds it by memory
traffic; this kernel writes every output value once (measured at L = 47,
float64, 2 cores: 2.3x the NumPy path and 1.08x sphericart, see
``docs/benchmarks.md``).

Imported only by :func:`shdd_geo.sh._basis_numpy` for large inputs; the
first call compiles the kernel (~1 s) and caches it on disk, later
processes load it in ~0.1 s.  The cache goes to ``NUMBA_CACHE_DIR`` when the
user set it, else to ``<shdd_geo cache>/numba`` (see
:func:`shdd_geo._cache.default_cache_dir`), never into the installed package:
numba's own default (``__pycache__`` beside this file) would write into
``site-packages``, which may be read-only, shared, or (after a switch to an
editable install) shadow the package with a stale folder.
"""

from __future__ import annotations

import math
import os
import threading

import numba
import numpy as np

from ._cache import default_cache_dir

__all__: list[str] = []

_LOCK = threading.Lock()  # numba's default threading layer must not be entered from two threads at once
_BLOCK = 64  # points per parallel task


@numba.njit(parallel=True, nogil=True)
def _kernel(x, s, phi, a, ab, diag, sub, out):  # pragma: no cover - compiled; tested through basis()
    n = out.shape[0]
    L = a.shape[0] - 1
    sqrt2 = math.sqrt(2.0)
    y00 = 0.5 / math.sqrt(math.pi)
    for blk in numba.prange((n + _BLOCK - 1) // _BLOCK):
        for i in range(blk * _BLOCK, min(n, blk * _BLOCK + _BLOCK)):
            xi, si, row = np.float64(x[i]), np.float64(s[i]), out[i]
            p64 = np.float64(phi[i])  # float64 even for float32 input: the rotation below amplifies errors m-fold
            c1, s1 = math.cos(p64), math.sin(p64)
            cm, sm = 1.0, 0.0  # cos(m phi), sin(m phi) by rotation
            pmm = y00  # Pbar_m^m
            for m in range(L + 1):
                if m > 0:
                    pmm = pmm * diag[m] * si
                    cm, sm = cm * c1 - sm * s1, sm * c1 + cm * s1
                fc = sqrt2 * cm if m > 0 else 1.0
                fs = sqrt2 * sm
                p2, p1 = 0.0, pmm
                for l in range(m, L + 1):
                    if l == m + 1:
                        p2, p1 = p1, sub[l] * xi * p1
                    elif l > m + 1:
                        p2, p1 = p1, a[l, m] * xi * p1 - ab[l, m] * p2
                    base = l * l + l
                    row[base + m] = p1 * fc
                    if m > 0:
                        row[base - m] = p1 * fs


def _enable_cache(dispatcher) -> None:
    """Cache ``dispatcher`` under ``NUMBA_CACHE_DIR`` or the shdd_geo cache, never beside this file.

    numba's locators read ``numba.config.CACHE_DIR`` when the cache object is
    made, so it is set for that moment only and restored: other numba users in
    the process keep their own setting.  A folder that cannot be created
    leaves the kernel uncached (compiled once per process).
    """
    folder = numba.config.CACHE_DIR or os.path.join(default_cache_dir(), "numba")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return
    old = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = folder
    try:
        dispatcher.enable_caching()
    finally:
        numba.config.CACHE_DIR = old


_enable_cache(_kernel)


def basis(x: np.ndarray, s: np.ndarray, phi: np.ndarray, L: int, consts) -> np.ndarray:
    """``(n, (L+1)**2)`` basis from ``cos(theta)``, ``sin(theta)``, ``phi`` (1-D, one float dtype).

    ``consts`` are the NumPy path's ``(a, ab, diag, sub)`` tables in float64
    (see :func:`shdd_geo.sh._basis_numpy`); the recurrence runs in float64 for
    float32 input too (float32 coefficients cost ~10x accuracy near the poles
    at L = 200), only the output is rounded.
    """
    a, ab, diag, sub = consts
    out = np.empty((x.shape[0], (L + 1) ** 2), dtype=x.dtype)
    args = [np.ascontiguousarray(v) for v in (x, s, phi, a, ab, diag, sub)]
    with _LOCK:
        _kernel(*args, out)
    return out
