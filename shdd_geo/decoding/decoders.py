"""Decoders: from SHDD coefficients back to points on the sphere (paper §4.4).

Three decoders share one pipeline (candidate anchors, then optional
continuous refinement):

``method="mode"`` (eq. 16/18, the paper's default)
    Score every anchor ``a`` by the log of the mass of ``q_e`` in the cap of
    great-circle radius ``rho`` around it,
    ``s(a) = logsumexp_{i: d(a, a_i) < rho} (f_e(a_i) + log w_i)``, and keep
    the best cap.
``method="kl"`` (eq. 15)
    ``argmin_c KL(q_e || p_E(c))`` over the anchors, with both densities
    discretised on the anchors.
``method="argmax"``
    The anchor with the largest ``f_e`` (no neighbourhood).

Refinement (beyond the paper) moves the answer off the anchor lattice by a
few safeguarded Newton steps on ``f_e`` (on ``f`` of the kernel-smoothed
density for ``"kl"``) in the tangent plane, with derivatives from a 9-point
finite-difference stencil, starting from the largest ``f_e`` inside the
winning cap.  The refined point is the density's mode inside the winning
cap; for ``e = E(p)`` it is ``p`` to float64 round-off.  For
``e = E(p) + noise`` it is the maximum-likelihood estimate of ``p`` (because
``|E(p)|`` is constant, ``argmin |e - E(p)|^2 = argmax f_e``).

Defaults (``anchors=None``): ``rho`` is the half width at half maximum of
the SHDD kernel (:func:`kernel_hwhm`, ~``2.2 / L`` rad, 294 km at L = 47).
With refinement, a coarse HEALPix set with spacing <= ``rho`` finds the best
caps and Newton refines the best ``top_k`` of them (coarse-to-fine); without
refinement, a fine HEALPix set with spacing <= ``rho / 4`` is searched.

The cap sums are exact up to float64 round-off and never need all pairs of
anchors: terms more than ``36 + log N`` nats below a row's maximum cannot
change a sum in float64, so each row only looks at its few significant
anchors (a KD-tree on unit vectors gives the cap members).  For moderate
anchor sets a sparse neighbour matrix, built once per anchor set and cached,
sums all caps at once.

Examples
--------
>>> from shdd_geo.codec import encode
>>> lat, lon = decode(encode([48.8566], [2.3522], L=23)[0])
>>> round(float(lat), 4), round(float(lon), 4)
(48.8566, 2.3522)
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..anchors import AnchorSet, healpix, nside_for_spacing
from .._arrays import array_namespace as _xp
from .._arrays import as_coeffs
from ..coords import EARTH_RADIUS_KM, km_to_rad, xyz_to_latlon
from ..sh import sh_basis_xyz, zonal_kernel
from ._caps import BLOCK, MAX_BASIS, anchor_cache, basis_blocks, best_caps, value_blocks
from .._validation import check_bool, check_int, check_option, check_real, check_real_values

__all__ = [
    "METHODS",
    "SYNTHESIS",
    "decode",
    "default_anchors",
    "default_rho_km",
    "kernel_hwhm",
    "refine_points",
]

#: Decoders accepted by :func:`decode`.
METHODS = ("mode", "kl", "argmax")
#: Evaluators of ``f_e`` on anchors accepted by :func:`decode`.
SYNTHESIS = ("auto", "matmul", "rings", "healpy")

_NEWTON_TOL = 1e-9  # [rad] ~6 mm


# ----------------------------------------------------------------------------- defaults
@lru_cache(maxsize=128)
def kernel_hwhm(L: int) -> float:
    """Half width at half maximum [rad] of the SHDD kernel ``zonal_kernel(cos g, L)``.

    This is the scale of a decoded blob: about ``2.2 / L`` rad (883 km at
    L = 15, 294 km at L = 47, 140 km at L = 100).

    Examples
    --------
    >>> round(kernel_hwhm(47) * 6371.0088)
    294
    """
    if L < 1:
        return math.pi
    g = np.linspace(0.0, min(math.pi, 4.0 / L), 4001)
    k = zonal_kernel(np.cos(g), L)
    i = int(np.argmax(k <= k[0] / 2))
    lo, hi = g[i - 1], g[i]
    for _ in range(60):  # bisection on the first crossing
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if zonal_kernel(math.cos(mid), L) > k[0] / 2 else (lo, mid)
    return float(0.5 * (lo + hi))


def default_rho_km(L: int) -> float:
    """Default cap radius [km] of the mode decoder: the kernel's half width :func:`kernel_hwhm`.

    Examples
    --------
    >>> round(default_rho_km(15))
    883
    """
    return kernel_hwhm(L) * EARTH_RADIUS_KM


@lru_cache(maxsize=8)
def _healpix(nside: int) -> AnchorSet:
    return healpix(nside)


def default_anchors(L: int, *, coarse: bool = False) -> AnchorSet:
    """The default equal-area (HEALPix) anchors for degree ``L``.

    Spacing at most ``rho / 4`` (fine; 196,608 anchors at L = 47) or at most
    ``rho`` (``coarse=True``, the first stage of coarse-to-fine decoding;
    12,288 anchors at L = 47), where ``rho`` is :func:`default_rho_km`.

    Examples
    --------
    >>> default_anchors(47).n, default_anchors(47, coarse=True).n
    (196608, 12288)
    """
    spacing = default_rho_km(L) / (1.0 if coarse else 4.0)
    return _healpix(nside_for_spacing(spacing))


# ----------------------------------------------------------------------------- refinement
def _frame(x: np.ndarray):
    """Orthonormal tangent vectors ``e1, e2`` at unit vectors ``x`` (M, 3), poles included."""
    helper = np.where(np.abs(x[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = np.cross(helper, x)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    return e1, np.cross(x, e1)


def _expmap(x, e1, e2, a, b):
    """Points at tangent offsets ``(a, b)`` [rad], shape (M, S), from ``x``: (M, S, 3)."""
    r = np.hypot(a, b)
    sinc = np.where(r > 0, np.sin(r) / np.where(r > 0, r, 1.0), 1.0)
    t = a[..., None] * e1[:, None, :] + b[..., None] * e2[:, None, :]
    return np.cos(r)[..., None] * x[:, None, :] + sinc[..., None] * t


def _f_at(c: np.ndarray, pts: np.ndarray, L: int) -> np.ndarray:
    """``f`` of row ``m`` of ``c`` (M, D) at its points ``pts`` (M, S, 3): (M, S).

    Blocks of whole rows: each row's basis values meet its own coefficient
    vector (no per-point copy of the coefficients).
    """
    M, S = pts.shape[:2]
    D = c.shape[1]
    out = np.empty((M, S))
    rows = max(1, max(64, BLOCK // (4 * D)) // S)  # rows per block: about as many points as before
    for lo in range(0, M, rows):
        hi = min(M, lo + rows)  # (D, n) layouts: sh_basis_xyz returns a transposed view
        Y = sh_basis_xyz(pts[lo:hi].reshape(-1, 3), L).T.reshape(D, hi - lo, S)
        out[lo:hi] = np.einsum("dms,md->ms", Y, c[lo:hi])
    return out


_STENCIL = np.array([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)], float)


def _newton_step(f, h, trust):
    """Tangent step from the 9-point stencil values ``f`` (M, 9): Newton if concave, else gradient."""
    gx, gy = (f[:, 1] - f[:, 2]) / (2 * h), (f[:, 3] - f[:, 4]) / (2 * h)
    hxx = (f[:, 1] - 2 * f[:, 0] + f[:, 2]) / h**2
    hyy = (f[:, 3] - 2 * f[:, 0] + f[:, 4]) / h**2
    hxy = (f[:, 5] - f[:, 6] - f[:, 7] + f[:, 8]) / (4 * h**2)
    det = hxx * hyy - hxy**2
    concave = (hxx < 0) & (det > 0)
    safe = np.where(concave, det, 1.0)
    dx = np.where(concave, -(hyy * gx - hxy * gy) / safe, gx)
    dy = np.where(concave, -(hxx * gy - hxy * gx) / safe, gy)
    norm = np.hypot(dx, dy)
    scale = np.where(norm > trust, trust / np.where(norm > 0, norm, 1.0), 1.0)
    scale = np.where(concave, scale, trust / np.where(norm > 0, norm, 1.0) * (norm > 0))
    return dx * scale, dy * scale


def refine_points(c: np.ndarray, xyz0: np.ndarray, L: int, steps: int = 20):
    """Safeguarded Newton ascent of ``f_{c_m}`` from ``xyz0[m]``: returns (xyz, f).

    Each step evaluates ``f`` on a 9-point stencil in the tangent plane
    (central differences for gradient and Hessian), takes the Newton step
    when the Hessian is negative definite and a trust-region gradient step
    otherwise, and accepts it only if ``f`` does not decrease.  The stencil
    width follows the step length down to 1e-6 rad, so derivatives stay
    accurate near convergence.

    Parameters
    ----------
    c : numpy.ndarray, shape (M, D)
        One coefficient vector per start point.
    xyz0 : numpy.ndarray, shape (M, 3)
        Start points (unit vectors).
    L : int
        Degree of ``c``.
    steps : int
        Maximum number of steps.

    Examples
    --------
    >>> from shdd_geo.codec import encode
    >>> from shdd_geo.coords import latlon_to_xyz, xyz_to_latlon
    >>> x, f = refine_points(encode([30.0], [40.0], 15), latlon_to_xyz([31.0], [41.0]), 15)
    >>> [round(float(v[0]), 9) for v in xyz_to_latlon(x)]
    [30.0, 40.0]
    """
    x = np.asarray(xyz0, dtype=np.float64).copy()
    M = x.shape[0]
    width = kernel_hwhm(L) if L > 0 else math.pi / 2
    trust, h = np.full(M, width), np.full(M, 0.05 * width)
    f0 = np.full(M, np.nan)
    active = np.ones(M, bool)
    for _ in range(steps):
        i = np.flatnonzero(active)
        if i.size == 0:
            break
        e1, e2 = _frame(x[i])
        f = _f_at(c[i], _expmap(x[i], e1, e2, h[i, None] * _STENCIL[:, 0], h[i, None] * _STENCIL[:, 1]), L)
        f0[i] = f[:, 0]
        dx, dy = _newton_step(f, h[i], trust[i])
        new = _expmap(x[i], e1, e2, dx[:, None], dy[:, None])[:, 0]
        f_new = _f_at(c[i], new[:, None], L)[:, 0]
        ok = f_new >= f[:, 0] - 1e-12 * np.abs(f[:, 0])
        length = np.hypot(dx, dy)
        x[i[ok]], f0[i[ok]] = new[ok] / np.linalg.norm(new[ok], axis=1, keepdims=True), f_new[ok]
        trust[i] = np.where(ok, np.maximum(2 * length, trust[i] / 2), trust[i] / 4)
        h[i] = np.where(ok, np.clip(length / 2, 1e-6, 0.05 * width), h[i])
        active[i] = ~((length < _NEWTON_TOL) | (trust[i] < _NEWTON_TOL))
    return x, f0


def _cap_logmass(c, xyz, L, rho, n_r: int = 16, n_phi: int = 16):
    """``log`` of ``integral_{cap(x, rho)} exp f`` by a polar Gauss-Legendre rule (eq. 16)."""
    t, wt = np.polynomial.legendre.leggauss(n_r)
    r = (t + 1) * rho / 2
    phi = 2 * math.pi * (np.arange(n_phi) + 0.5) / n_phi
    a, b = (r[:, None] * np.cos(phi)).ravel(), (r[:, None] * np.sin(phi)).ravel()
    logw = np.log(np.repeat(wt * rho / 2 * np.sin(r) * 2 * math.pi / n_phi, n_phi))
    e1, e2 = _frame(xyz)
    M = xyz.shape[0]
    f = _f_at(c, _expmap(xyz, e1, e2, np.broadcast_to(a, (M, a.size)), np.broadcast_to(b, (M, b.size))), L)
    from scipy.special import logsumexp

    return logsumexp(f + logw, axis=1)


# ----------------------------------------------------------------------------- other decoders
def _argmax_anchor(c, anchors, L, synthesis, rows):
    """Best anchor by ``f_e`` alone: (score, index)."""
    B = c.shape[0]
    best, arg = np.full(B, -np.inf), np.zeros(B, np.int64)
    logw = anchors.log_weights
    for r0, r1, a0, a1, g in value_blocks(c, anchors, L, synthesis, rows):
        f = g - logw[a0:a1]
        j = np.argmax(f, 1)
        v = f[np.arange(f.shape[0]), j]
        upd = v > best[r0:r1]
        best[r0:r1][upd], arg[r0:r1][upd] = v[upd], j[upd] + a0
    return best, arg


def _kl_normaliser(anchors: AnchorSet, L: int) -> np.ndarray:
    """``log Z_c = logsumexp_i (K(a_i . c) + log w_i)`` per anchor c (cached; 0 when N is large).

    For N > 8192 the candidate-dependent part of the normaliser is dropped
    (its continuous value is the same for every c by rotation invariance).
    """
    cache = anchor_cache(anchors)
    key = ("logZ", L)
    if key not in cache:
        if anchors.n > 8192:
            cache[key] = np.zeros(anchors.n)
        else:
            from scipy.special import logsumexp

            Y = anchors.basis(L)
            cache[key] = logsumexp(Y @ Y.T + anchors.log_weights, axis=1)
    return cache[key]


def _kl_decode(c, anchors, L, synthesis, rows):
    """Eq. 15 over the anchors: (KL, best index, smoothed coefficients ``e~``).

    ``KL(q || p_c) = sum q log q - sum q (f_E(c) + log w) + log Z_c`` and
    ``sum_i q_i f_E(c)(a_i) = e~ . Y(c)`` with ``e~ = sum_i q_i Y(a_i)``
    (addition theorem), accumulated in one streamed online-softmax pass.
    """
    B, D = c.shape
    m, Z = np.full(B, -np.inf), np.zeros(B)
    s_g, s_w, acc = np.zeros(B), np.zeros(B), np.zeros((B, D))
    logw = anchors.log_weights
    for a0, a1, Y in basis_blocks(anchors, L):
        step = max(1, min(rows, MAX_BASIS // (a1 - a0)))
        for r0 in range(0, B, step):
            r1 = min(B, r0 + step)
            g = c[r0:r1] @ Y.T + logw[a0:a1]
            m_new = np.maximum(m[r0:r1], g.max(1))
            scale = np.exp(m[r0:r1] - m_new)
            p = np.exp(g - m_new[:, None])
            Z[r0:r1] = Z[r0:r1] * scale + p.sum(1)
            s_g[r0:r1] = s_g[r0:r1] * scale + (p * g).sum(1)
            s_w[r0:r1] = s_w[r0:r1] * scale + p @ logw[a0:a1]
            acc[r0:r1] = acc[r0:r1] * scale[:, None] + p @ Y
            m[r0:r1] = m_new
    e_smooth = acc / Z[:, None]
    neg_entropy = s_g / Z - m - np.log(Z)
    logZc = _kl_normaliser(anchors, L)
    best, arg = np.full(B, np.inf), np.zeros(B, np.int64)
    for r0, r1, a0, a1, g in value_blocks(e_smooth, anchors, L, "matmul", rows):
        f = g - logw[a0:a1]
        kl = neg_entropy[r0:r1, None] - (f + s_w[r0:r1, None] / Z[r0:r1, None]) + logZc[a0:a1]
        j = np.argmin(kl, 1)
        v = kl[np.arange(kl.shape[0]), j]
        upd = v < best[r0:r1]
        best[r0:r1][upd], arg[r0:r1][upd] = v[upd], j[upd] + a0
    return best, arg, e_smooth


# ----------------------------------------------------------------------------- public API
def _prepare(coeffs, L):
    check_real_values(coeffs, "coeffs")  # before any conversion drops an imaginary part
    if _xp(coeffs) is not np:
        coeffs = coeffs.detach().to("cpu").double().numpy()
    c, Lc, was_1d = as_coeffs(coeffs)
    if L is None:
        return np.ascontiguousarray(c), Lc, was_1d
    L = check_int(L, "L", low=0, high=Lc)  # at most the degree of the coefficients
    return np.ascontiguousarray(c[:, : (L + 1) ** 2]), int(L), was_1d


def _check_options(method, batch_size, synthesis, rho_km, L, top_k, steps=20, refine=True, return_score=False):
    check_option(method, "method", METHODS)
    check_option(synthesis, "synthesis", SYNTHESIS)
    for name, v in (("batch_size", batch_size), ("top_k", top_k)):
        check_int(v, name, low=1)
    check_int(steps, "steps", low=1, what="an int >= 1 (Newton steps; refine=False skips refinement)")
    check_bool(refine, "refine")
    check_bool(return_score, "return_score")
    if rho_km is None:
        return kernel_hwhm(L)
    return float(km_to_rad(check_real(rho_km, "rho_km", low=0, closed="neither", unit=" [km]")))


def _coarse_to_fine(c, anchors, L, rho, synthesis, rows, top_k, steps):
    """Best ``top_k`` coarse caps, Newton on each, then the refined point of largest cap mass."""
    import healpy as hp

    # a cap can miss a unit peak by at most the coarse pixel radius: keep caps within that drop
    drop = zonal_kernel(1.0, L) - zonal_kernel(math.cos(hp.max_pixrad(anchors.meta["nside"])), L) + 5.0
    score, idx, start = best_caps(c, anchors, L, rho, synthesis, rows, top_k, drop, sep=kernel_hwhm(L))
    valid = (idx >= 0) & (score >= score[:, :1] - drop)
    rr, kk = np.nonzero(valid)
    x, _ = refine_points(c[rr], anchors.xyz[start[rr, kk]], L, steps)
    B = c.shape[0]
    X = np.zeros((B, top_k, 3))
    X[rr, kk] = x
    far = np.zeros((B, top_k), bool)
    far[rr, kk] = np.linalg.norm(x - X[rr, 0], axis=1) > km_to_rad(1.0)
    multi = np.flatnonzero(far.any(1))
    best = np.zeros(B, np.int64)
    if multi.size:
        sel = np.isin(rr, multi)
        mass = np.full((B, top_k), -np.inf)
        mass[rr[sel], kk[sel]] = _cap_logmass(c[rr[sel]], x[sel], L, rho)
        best[multi] = np.argmax(mass[multi], 1)
    ar = np.arange(B)
    return X[ar, best], score[ar, best]


def decode(
    coeffs,
    L: int | None = None,
    anchors: AnchorSet | None = None,
    rho_km: float | None = None,
    refine: bool = True,
    method: str = "mode",
    batch_size: int = 256,
    return_score: bool = False,
    *,
    top_k: int = 3,
    synthesis: str = "auto",
    steps: int = 20,
):
    """Decode SHDD coefficient vectors to locations (paper eq. 15, 16, 18).

    Parameters
    ----------
    coeffs : array_like or torch.Tensor, shape (B, D) or (D,)
        Coefficient vectors, ``D = (L+1)**2``.
    L : int, optional
        Degree to decode at (default: from ``D``); a smaller ``L`` truncates.
    anchors : AnchorSet, optional
        Candidate points.  Default: HEALPix with spacing <= ``rho`` and
        coarse-to-fine refinement of the ``top_k`` best caps when ``refine``
        (the fast path); spacing <= ``rho / 4`` otherwise or for ``"kl"``.
    rho_km : float, optional
        Cap radius [km] of ``"mode"``; default :func:`default_rho_km` (the
        kernel's half width at half maximum).
    refine : bool
        Move the answer continuously to the local maximum of ``f_e`` (of the
        smoothed density for ``"kl"``) by Newton steps.  Without it the result
        is an anchor.
    method : {"mode", "kl", "argmax"}
        Mode-seeking decoder, KL decoder, or plain argmax of ``f_e``.
    batch_size : int
        Rows processed at once (memory ~ ``batch_size * N`` floats on the
        cached-basis paths).
    return_score : bool
        Also return a score per row: ``"mode"``: log-mass
        ``log sum_{cap} w_i exp f_e(a_i)`` of the winning cap; ``"kl"``: the
        discretised KL of the winning anchor (lower is better);
        ``"argmax"``: ``f_e`` at the returned point.
    top_k : int
        Caps refined by the coarse-to-fine decoder.
    synthesis : {"auto", "matmul", "healpy"}
        How ``f_e`` is evaluated on complete HEALPix anchor sets: dense
        matmul or ``healpy.alm2map`` (``"auto"``: healpy from nside 64).
    steps : int
        Maximum Newton steps (>= 1; ``refine=False`` skips refinement).

    Returns
    -------
    lat, lon : numpy.ndarray (B,) [deg], or floats for 1-D ``coeffs``
        (and ``score`` when ``return_score``).

    Examples
    --------
    >>> from shdd_geo.codec import encode
    >>> lat, lon = decode(encode([-89.9, 10.0], [179.99, -45.0], L=15))
    >>> np.round(lat, 4).tolist(), np.round(lon, 4).tolist()
    ([-89.9, 10.0], [179.99, -45.0])
    >>> lat, lon = decode(encode([10.0], [20.0], L=15), refine=False)  # an anchor near (10, 20)
    >>> bool(abs(lat[0] - 10) < 2 and abs(lon[0] - 20) < 2)
    True
    """
    c, L, was_1d = _prepare(coeffs, L)
    rho = _check_options(method, batch_size, synthesis, rho_km, L, top_k, steps, refine, return_score)
    if anchors is not None and not isinstance(anchors, AnchorSet):
        raise TypeError(f"`anchors` must be an AnchorSet (see shdd_geo.anchors), got {type(anchors).__name__}")
    c2f = anchors is None and refine and method == "mode"
    if anchors is None:
        anchors = default_anchors(L, coarse=refine and method != "kl")
    if c2f:
        xyz, score = _coarse_to_fine(c, anchors, L, rho, synthesis, batch_size, top_k, steps)
    elif method == "mode":
        score, idx, start = (a[:, 0] for a in best_caps(c, anchors, L, rho, synthesis, batch_size, 1))
        xyz = refine_points(c, anchors.xyz[start], L, steps)[0] if refine else anchors.xyz[start]
    elif method == "argmax":
        score, idx = _argmax_anchor(c, anchors, L, synthesis, batch_size)
        xyz = anchors.xyz[idx]
        if refine:
            xyz, score = refine_points(c, xyz, L, steps)
    else:
        score, idx, smooth = _kl_decode(c, anchors, L, synthesis, batch_size)
        xyz = refine_points(smooth, anchors.xyz[idx], L, steps)[0] if refine else anchors.xyz[idx]
    lat, lon = xyz_to_latlon(xyz)
    out = (lat, lon, score) if return_score else (lat, lon)
    return tuple(float(v[0]) for v in out) if was_1d else out
