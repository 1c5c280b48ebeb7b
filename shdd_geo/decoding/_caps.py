"""Cap sums of the mode-seeking decoder and ``f_e`` on anchor sets (private).

Helpers of :mod:`shdd_geo.decoding`: per-anchor-set caches (KD-tree on unit
vectors, sparse cap matrix, basis), three evaluators of ``f_e`` on anchors
(block-streamed dense matmul for any set; a ring spherical-harmonic synthesis
for iso-latitude sets such as HEALPix and lat/lon grids; ``healpy.alm2map``),
and the exact cap sums of eq. 18 (sparse matrix for moderate sets, per-row
pruning to significant anchors otherwise).
"""

from __future__ import annotations

import itertools
import math
import weakref

import numpy as np

from ..anchors import AnchorSet
from ..sh import real_to_alm, sh_basis_xyz

_SIGNIFICANT = 36.0  # nats: e**-36 < float64 eps, such terms cannot change a sum
_MAX_CSR_PAIRS = 30_000_000  # neighbour pairs kept in a cached sparse matrix
MAX_BASIS = 2**25  # entries of an anchor basis kept in memory (256 MiB float64)
BLOCK = 2**23  # entries per streamed basis block (64 MiB float64)
_MAX_TERMS = 16_384  # significant anchors kept per row on the streamed path


# ----------------------------------------------------------------------------- caches
_TREES: weakref.WeakKeyDictionary[AnchorSet, dict] = weakref.WeakKeyDictionary()


def anchor_cache(anchors: AnchorSet) -> dict:
    c = _TREES.get(anchors)
    if c is None:
        c = _TREES[anchors] = {}
    return c


def _tree(anchors: AnchorSet):
    """KD-tree on the anchors' unit vectors (built once per anchor set)."""
    c = anchor_cache(anchors)
    if "tree" not in c:
        from scipy.spatial import cKDTree

        c["tree"] = cKDTree(anchors.xyz)
    return c["tree"]


def _chord(rho: float) -> float:
    return 2.0 * math.sin(min(rho, math.pi) / 2.0) * (1 + 1e-12)


def _neighbour_matrix(anchors: AnchorSet, rho: float):
    """Sparse 0/1 cap matrix ``S[a, i] = d(a, a_i) <= rho`` or None if too large (cached)."""
    c = anchor_cache(anchors)
    key = ("csr", rho)
    if key not in c:
        import scipy.sparse as sp

        tree, n = _tree(anchors), anchors.n
        pairs = tree.count_neighbors(tree, _chord(rho))  # ordered pairs incl. self
        if pairs > _MAX_CSR_PAIRS:
            c[key] = None
        else:
            ij = tree.query_pairs(_chord(rho), output_type="ndarray")
            rows = np.concatenate([ij[:, 0], ij[:, 1], np.arange(n)])
            cols = np.concatenate([ij[:, 1], ij[:, 0], np.arange(n)])
            c[key] = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    return c[key]


def _anchor_basis(anchors: AnchorSet, L: int):
    """Whole basis ``(N, D)`` if it fits in memory (the last one is cached), else None."""
    if anchors.n * (L + 1) ** 2 > MAX_BASIS:
        return None
    c = anchor_cache(anchors)
    if c.get("basis_L") != L:
        c["basis"], c["basis_L"] = np.ascontiguousarray(anchors.basis(L)), L
    return c["basis"]


# ----------------------------------------------------------------------------- f on anchors
def _rings(anchors: AnchorSet):
    """Iso-latitude rings ``(order, bounds, lat)`` if the set has few distinct latitudes, else None."""
    c = anchor_cache(anchors)
    if "rings" not in c:
        order = np.argsort(anchors.lat, kind="stable")
        lat = anchors.lat[order]
        bounds = np.flatnonzero(np.r_[True, lat[1:] != lat[:-1], True])
        c["rings"] = (order, bounds, lat[bounds[:-1]]) if bounds.size - 1 <= anchors.n // 16 else None
    return c["rings"]


def _synthesis(anchors: AnchorSet, synthesis: str) -> str:
    """Which evaluator to use: "matmul", "rings" or "healpy"."""
    nside = anchors.meta.get("nside")
    full = anchors.kind == "healpix" and nside is not None and anchors.n == 12 * nside * nside
    if synthesis == "healpy" and not full:
        raise ValueError("`synthesis`='healpy' needs a complete HEALPix anchor set (anchors.healpix(nside))")
    if synthesis == "rings" and _rings(anchors) is None:
        raise ValueError("`synthesis`='rings' needs iso-latitude anchors (HEALPix or a lat/lon grid)")
    if synthesis == "auto":
        return "rings" if anchors.n >= 4096 and _rings(anchors) is not None else "matmul"
    return synthesis


def _ring_values(c: np.ndarray, anchors: AnchorSet, L: int) -> np.ndarray:
    """``f_e`` on iso-latitude anchors by a spherical-harmonic synthesis (B, N).

    1. Legendre step: per ring r and order m, ``a_rm = sum_l c_lm Ybar_lm(lat_r)``
       (and ``b_rm`` from ``c_l,-m``), ``B * R * D`` multiply-adds.
    2. Fourier step: per ring, ``f = a_r @ cos(m lon) + b_r @ sin(m lon)``,
       ``B * (2L+1) * N`` multiply-adds instead of ``B * D * N``.
    """
    from ..sh import sh_basis, sh_index

    order, bounds, lat_r = _rings(anchors)
    P = sh_basis(lat_r, np.zeros_like(lat_r), L)  # lon = 0: the m >= 0 columns hold sqrt2 Pbar_lm
    R, B = lat_r.size, c.shape[0]
    a, b = np.zeros((R, B, L + 1)), np.zeros((R, B, L + 1))
    out = np.empty((B, anchors.n))
    ms = np.arange(L + 1)
    lon = np.radians(anchors.lon[order])
    with _one_blas_thread():  # many small products: threads only contend
        for m in range(L + 1):
            ls = np.arange(m, L + 1)
            pos, neg = sh_index(ls, m), sh_index(ls, -m)
            a[:, :, m] = P[:, pos] @ c[:, pos].T
            if m:
                b[:, :, m] = P[:, pos] @ c[:, neg].T
        for r in range(R):
            lo, hi = bounds[r], bounds[r + 1]
            ang = ms[:, None] * lon[None, lo:hi]
            out[:, lo:hi] = a[r] @ np.cos(ang) + b[r] @ np.sin(ang)
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    return out[:, inv]


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up only
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def value_blocks(c: np.ndarray, anchors: AnchorSet, L: int, synthesis: str, rows: int):
    """Yield ``(r0, r1, a0, a1, g)`` with ``g = f_e(anchors) + log w`` for a block.

    Dense matmul streams anchor blocks (the basis is built block by block, so
    memory stays bounded for any N); ring synthesis and healpy stream row blocks.
    """
    B, N, logw = c.shape[0], anchors.n, anchors.log_weights
    how = _synthesis(anchors, synthesis)
    step = max(1, min(rows, MAX_BASIS // N))
    for r0 in range(0, B, step) if how != "matmul" else ():
        r1 = min(B, r0 + step)
        if how == "rings":
            yield r0, r1, 0, N, _ring_values(c[r0:r1], anchors, L) + logw
            continue
        import healpy as hp

        nside, nest = anchors.meta["nside"], anchors.meta.get("nest", False)
        maps = np.atleast_2d(hp.alm2map(real_to_alm(c[r0:r1]), nside, lmax=L, pol=False))
        yield r0, r1, 0, N, (hp.reorder(maps, r2n=True) if nest else maps) + logw
    if how != "matmul":
        return
    for a0, a1, Y in basis_blocks(anchors, L):
        for r0 in range(0, B, max(1, min(rows, MAX_BASIS // (a1 - a0)))):
            r1 = min(B, r0 + max(1, min(rows, MAX_BASIS // (a1 - a0))))
            yield r0, r1, a0, a1, c[r0:r1] @ Y.T + logw[a0:a1]


def basis_blocks(anchors: AnchorSet, L: int):
    """Yield ``(a0, a1, Y)``: the whole cached basis, or blocks built on the fly."""
    basis = _anchor_basis(anchors, L)
    if basis is not None:
        yield 0, anchors.n, basis
        return
    step = max(256, BLOCK // (L + 1) ** 2)
    for a0 in range(0, anchors.n, step):
        a1 = min(anchors.n, a0 + step)
        yield a0, a1, sh_basis_xyz(anchors.xyz[a0:a1], L)


# ----------------------------------------------------------------------------- cap scores
def caps_dense(c, anchors, L, rho, synthesis, rows, top_k, sep=0.0):
    """Cap scores for all anchors with the cached sparse cap matrix: (score, anchor, start) (B, k)."""
    S = _neighbour_matrix(anchors, rho)
    B, tree, xyz, chord, sep = c.shape[0], _tree(anchors), anchors.xyz, _chord(rho), _chord(max(sep, rho))
    out = [np.full((B, top_k), v) for v in (-np.inf, -1, -1)]
    for r0, r1, _, _, g in value_blocks(c, anchors, L, synthesis, rows):
        gmax = g.max(1, keepdims=True)
        with np.errstate(divide="ignore"):  # caps far from every peak underflow to log(0) = -inf
            s = np.log((S @ np.exp(g - gmax).T).T) + gmax
        for r in range(r1 - r0):

            def cap(a, gr=g[r]):
                mem = S.indices[S.indptr[a] : S.indptr[a + 1]]
                return (tree.query_ball_point(xyz[a], sep) if sep > chord else mem), mem[np.argmax(gr[mem])]

            _top_caps(s[r], cap, top_k, [o[r0 + r] for o in out])
    return out


def _top_caps(s, cap, top_k, out):
    """Non-maximum suppression: the best caps whose centres are outside earlier caps.

    ``cap(a)`` returns (candidates to suppress, start anchor of refinement).
    """
    s = s.copy()
    for k in range(top_k):
        a = int(np.argmax(s))
        if not np.isfinite(s[a]):
            break
        suppress, start = cap(a)
        out[0][k], out[1][k], out[2][k] = s[a], a, start
        s[suppress] = -np.inf
        s[a] = -np.inf


def _significant_pool(c, anchors, L, synthesis, rows, margin=0.0):
    """Per row, the anchors with ``g >= max - (36 + log N)`` (at most _MAX_TERMS): (row, idx, g)."""
    B, margin = c.shape[0], _SIGNIFICANT + math.log(anchors.n) + margin
    rowmax = np.full(B, -np.inf)
    pool = [np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)]
    for r0, r1, a0, _, g in value_blocks(c, anchors, L, synthesis, rows):
        rowmax[r0:r1] = np.maximum(rowmax[r0:r1], g.max(1))
        rr, cc = np.nonzero(g >= (rowmax[r0:r1] - margin)[:, None])
        pool = [np.concatenate(p) for p in zip(pool, (rr + r0, cc + a0, g[rr, cc]))]
        keep = pool[2] >= rowmax[pool[0]] - margin
        pool = [p[keep] for p in pool]
        if pool[0].size > 2 * B * _MAX_TERMS:
            pool = _cap_terms(pool)
    return _cap_terms(pool)


def _cap_terms(pool):
    order = np.lexsort((-pool[2], pool[0]))
    pool = [p[order] for p in pool]
    start = np.searchsorted(pool[0], pool[0], side="left")
    keep = np.arange(pool[0].size) - start < _MAX_TERMS
    return [p[keep] for p in pool]


def _significant_rows(c, anchors, L, synthesis, rows, margin):
    """Yield ``(row, idx, g)``: each row's anchors within ``36 + log N + margin`` nats of its max."""
    full = _synthesis(anchors, synthesis) != "matmul" or anchors.n * (L + 1) ** 2 <= MAX_BASIS
    if full:  # whole rows arrive block by block: no pool, no truncation
        cut = _SIGNIFICANT + math.log(anchors.n) + margin
        for r0, _, _, _, g in value_blocks(c, anchors, L, synthesis, rows):
            for i, row in enumerate(g):
                ix = np.flatnonzero(row >= row.max() - cut)
                yield r0 + i, ix, row[ix]
        return
    rr, idx, val = _significant_pool(c, anchors, L, synthesis, rows, margin)
    bounds = np.searchsorted(rr, np.arange(c.shape[0] + 1))
    for r in range(c.shape[0]):
        yield r, idx[bounds[r] : bounds[r + 1]], val[bounds[r] : bounds[r + 1]]


def caps_pruned(c, anchors, L, rho, synthesis, rows, top_k, margin=0.0, sep=0.0):
    """Cap scores from each row's significant anchors only (any N, bounded memory).

    Exact for every cap scoring within ``margin`` of the best (the others are
    not candidates): only caps holding a "hot" anchor (within ``log |S|`` of
    the maximum) can, and their sums only need the significant anchors S.
    """
    B = c.shape[0]
    out = [np.full((B, top_k), v) for v in (-np.inf, -1, -1)]
    for r, ix, v in _significant_rows(c, anchors, L, synthesis, rows, margin):
        loc = _row_caps(ix, v, anchors, _chord(rho), top_k, margin, _chord(max(sep, rho)))
        for o, x in zip(out, loc):
            o[r] = x
    return out


def _row_caps(ix, v, anchors, chord, top_k, margin, sep):
    """Top caps of one row given its significant anchors ``ix`` and values ``v``."""
    from scipy.spatial import cKDTree

    tree, xyz = _tree(anchors), anchors.xyz
    gmax = v.max()
    hot = ix[v >= gmax - math.log(ix.size) - margin]
    hits = tree.query_ball_point(xyz[hot], chord, return_sorted=False)
    cand = np.unique(np.fromiter(itertools.chain.from_iterable(hits), np.int64))
    ctree = cKDTree(xyz[cand])
    if ix.size <= 20_000:  # members from a small tree on S
        pairs = ctree.sparse_distance_matrix(cKDTree(xyz[ix]), chord, output_type="ndarray")
        gid, val = ix, v
    else:  # broad density: members from the global tree
        pairs = ctree.sparse_distance_matrix(tree, chord, output_type="ndarray")
        gid, val = np.arange(anchors.n), np.full(anchors.n, -np.inf)
        val[ix] = v
    pi, pj = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    s = np.log(np.bincount(pi, np.exp(val[pj] - gmax), cand.size)) + gmax
    order = np.argsort(pi, kind="stable")
    ptr = np.searchsorted(pi[order], np.arange(cand.size + 1))

    def cap(a):
        mem = pj[order[ptr[a] : ptr[a + 1]]]
        return ctree.query_ball_point(xyz[cand[a]], sep), gid[mem[np.argmax(val[mem])]]

    loc = [np.full(top_k, x) for x in (-np.inf, -1, -1)]
    _top_caps(s, cap, top_k, loc)
    ok = loc[1] >= 0
    loc[1][ok] = cand[loc[1][ok].astype(np.int64)]
    return loc


def best_caps(c, anchors, L, rho, synthesis, rows, top_k, margin=0.0, sep=0.0):
    """Top caps per row: (score, centre anchor, start anchor), each (B, top_k).

    Later caps are centred at least ``max(rho, sep)`` away from earlier ones.
    """
    small = anchors.n * (L + 1) ** 2 <= MAX_BASIS or _synthesis(anchors, synthesis) != "matmul"
    if small and anchors.n * rows <= MAX_BASIS and _neighbour_matrix(anchors, rho) is not None:
        return caps_dense(c, anchors, L, rho, synthesis, rows, top_k, sep)
    return caps_pruned(c, anchors, L, rho, synthesis, rows, top_k, margin, sep)
