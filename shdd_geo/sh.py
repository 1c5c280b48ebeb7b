"""Real orthonormal spherical harmonics by a stable normalised recurrence.

Convention
----------
For degree ``l >= 0`` and order ``-l <= m <= l`` (flattened l-major, m
ascending: ``index(l, m) = l**2 + l + m``, ``D = (L + 1)**2``)::

    Y_l0      = Pbar_l^0(cos theta)
    Y_lm      = sqrt(2) Pbar_l^m(cos theta) cos(m phi)      (m > 0)
    Y_l,-m    = sqrt(2) Pbar_l^m(cos theta) sin(m phi)      (m > 0)

where ``Pbar_l^m = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!) P_l^m`` is the fully
normalised associated Legendre function **without** the Condon-Shortley phase,
theta is colatitude and phi longitude [rad].  The functions are orthonormal on
the unit sphere: ``integral Y_lm Y_l'm' dOmega = delta``.  In this convention
``Y_11`` is proportional to ``x``, ``Y_1,-1`` to ``y`` and ``Y_10`` to ``z``.

``Pbar`` is computed with the standard three-term recurrence in ``l`` for
fixed ``m``, seeded by the diagonal ``Pbar_m^m`` (never with factorials), so
values are accurate to ~1e-12 in float64 up to ``L`` in the hundreds, poles
included.  The same code runs on NumPy arrays and on torch tensors (any
dtype/device, autograd through lat/lon).  Large NumPy inputs use a compiled,
multi-threaded kernel of the same recurrence when ``numba`` is installed
(``pip install shdd_geo[fast]``; about 2x the NumPy path at L = 47,
``docs/benchmarks.md``) for calls of at least 2e6 values (``n (L+1)^2``),
once such calls have produced 5e7 values in the process: loading it costs
about a second and 100 MiB, once, which batch work repays and interactive
work (decoding a few samples) never pays.  ``SHDD_GEO_NUMBA=0`` switches it
off.

The bridge :func:`real_to_alm` / :func:`alm_to_real` converts to and from
healpy's complex ``alm`` layout (which uses the Condon-Shortley phase), so
that ``healpy.alm2map(real_to_alm(c, L), nside)`` synthesises the same
function as ``sh_basis(...) @ c``.
"""

from __future__ import annotations

import math

import numpy as np

from ._arrays import array_namespace as _xp
from .coords import deg2rad
from ._validation import as_real_array, check_int, check_nbytes, check_tensor

__all__ = [
    "alm_to_real",
    "degree_from_dim",
    "degree_order",
    "n_coeffs",
    "real_to_alm",
    "sh_basis",
    "sh_basis_xyz",
    "sh_index",
    "zonal_kernel",
]

_SQRT2 = math.sqrt(2.0)


def n_coeffs(L: int) -> int:
    """Number of real SH coefficients up to degree ``L``: ``(L + 1)**2``.

    Examples
    --------
    >>> n_coeffs(47)
    2304
    """
    return (_check_L(L) + 1) ** 2


def _check_L(L) -> int:
    return check_int(L, "L", low=0, what="a non-negative integer")


def _check_size(n: int, L: int, itemsize: int) -> None:
    """Refuse a basis that would not fit in memory, before allocating it."""
    D = (L + 1) ** 2
    check_nbytes(float(n) * D * itemsize, "L", L, what=f"the SH basis of {n} point(s) x {D} coefficients",
                 fix="use a smaller `L` or fewer points per call")


def degree_from_dim(D: int) -> int:
    """Return ``L`` such that ``(L + 1)**2 == D``; ``ValueError`` otherwise.

    Examples
    --------
    >>> degree_from_dim(576)
    23
    """
    L = math.isqrt(int(D)) - 1
    if D < 1 or (L + 1) ** 2 != D:
        raise ValueError(
            f"a coefficient vector must have (L+1)**2 entries, got {D} "
            "(not a perfect square)"
        )
    return L


def sh_index(l, m):
    """Flat index ``l**2 + l + m`` of degree ``l`` and order ``m``.

    Examples
    --------
    >>> int(sh_index(2, -1))
    5
    """
    return np.asarray(l) ** 2 + np.asarray(l) + np.asarray(m)


def degree_order(L: int) -> tuple[np.ndarray, np.ndarray]:
    """Degree and order of every flat index up to ``L`` (two int arrays).

    Examples
    --------
    >>> ls, ms = degree_order(1)
    >>> ls.tolist(), ms.tolist()
    ([0, 1, 1, 1], [0, -1, 0, 1])
    """
    L = _check_L(L)
    ls = np.concatenate([np.full(2 * l + 1, l) for l in range(L + 1)])
    ms = np.concatenate([np.arange(-l, l + 1) for l in range(L + 1)])
    return ls, ms


def _recurrence_coefficients(L: int):
    """``a_lm``, ``b_lm`` of ``Pbar_l^m = a (x Pbar_{l-1}^m - b Pbar_{l-2}^m)``."""
    a = np.zeros((L + 1, L + 1))
    b = np.zeros((L + 1, L + 1))
    for l in range(2, L + 1):
        m = np.arange(l - 1)
        a[l, : l - 1] = np.sqrt((4.0 * l * l - 1.0) / (l * l - m * m))
        b[l, : l - 1] = np.sqrt(((l - 1.0) ** 2 - m * m) / (4.0 * (l - 1.0) ** 2 - 1.0))
    return a, b


_COEF_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _coefficients(L: int):
    if L not in _COEF_CACHE:
        if len(_COEF_CACHE) > 8:
            _COEF_CACHE.clear()
        _COEF_CACHE[L] = _recurrence_coefficients(L)
    return _COEF_CACHE[L]


def _basis_from_trig(x, s, phi, L: int):
    """Real SH from ``x = cos(theta)``, ``s = sin(theta) >= 0`` and ``phi``.

    Works for NumPy arrays and torch tensors of shape ``(n,)``; returns
    ``(n, (L+1)**2)`` in the input's dtype.
    """
    if _xp(x) is np:
        return _basis_numpy(x, s, phi, L)
    return _basis_torch(x, s, phi, L)


_CHUNK = 2048  # points per block: keeps the recurrence's rows in cache


def _basis_numpy(x, s, phi, L: int, *, compiled: bool | None = None) -> np.ndarray:
    """NumPy path: transposed ``(D, n)`` layout so every row op is contiguous.

    Points are processed in chunks of ``_CHUNK`` (the recurrence's rows stay
    in cache); large inputs spread the chunks over threads (NumPy releases
    the GIL inside its loops), one per CPU core.  Large inputs go to the
    compiled kernel of :mod:`shdd_geo._sh_numba` instead when ``numba`` is
    installed (``compiled=None``: automatic; see :func:`_compiled_for`: calls
    of at least 2 M output values, once large calls have produced 50 M
    values in this process).
    """
    import os

    dtype = x.dtype
    a_np, b_np = _coefficients(L)
    tables = (  # float64; the compiled kernel recurs in float64 whatever the output dtype
        a_np,
        a_np * b_np,
        np.array([0.0] + [math.sqrt((2.0 * l + 1.0) / (2.0 * l)) for l in range(1, L + 1)]),
        np.array([0.0] + [math.sqrt(2.0 * l + 1.0) for l in range(1, L + 1)]),
    )
    n = x.shape[0]
    if compiled or (compiled is None and dtype.char in "fd" and _compiled_for(n * (L + 1) ** 2)):
        from ._sh_numba import basis

        return basis(x, s, phi, L, tables)
    a, ab, diag, sub = (t.astype(dtype) for t in tables)
    consts = (a[:, :, None], ab[:, :, None], diag, sub, np.arange(1, L + 1, dtype=dtype)[:, None])
    out = np.empty(((L + 1) ** 2, n), dtype=dtype)
    starts = range(0, n, _CHUNK)
    workers = min(os.cpu_count() or 1, len(starts))
    if workers > 1 and n * (L + 1) ** 2 >= 2_000_000:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda lo: _fill_chunk(x, s, phi, L, consts, out, lo), starts))
    else:
        for lo in starts:
            _fill_chunk(x, s, phi, L, consts, out, lo)
    return out.T


_COMPILED_MIN_SIZE = 2_000_000  # output values from which the loaded compiled kernel is used
#: Output values of large calls after which the kernel is loaded (importing numba: about a second
#: and 100 MiB, once per process).  Until then large calls run on NumPy (about 0.7 s for this many
#: values at L = 23): interactive work (decoding a few samples: 2 M values) never pays the load,
#: batch work switches after its first second.
_COMPILED_LOAD_SIZE = 50_000_000
_COMPILED_OK: bool | None = None
_NUMPY_VALUES = 0  # values of large calls computed on NumPy before the kernel was loaded


def _compiled_for(size: int) -> bool:
    """Whether a call producing ``size`` values uses the compiled kernel (see the constants above)."""
    global _NUMPY_VALUES
    if size < _COMPILED_MIN_SIZE:
        return False
    if _COMPILED_OK is None and _NUMPY_VALUES + size < _COMPILED_LOAD_SIZE:
        _NUMPY_VALUES += size
        return False
    return _use_compiled()


def _use_compiled() -> bool:
    """Whether the numba kernel is available (installed, not disabled, compiles).

    ``SHDD_GEO_NUMBA=0`` switches it off.  A kernel that fails to import or
    compile (e.g. a numba too old for the installed NumPy) warns once and
    the NumPy path is used from then on.
    """
    global _COMPILED_OK
    if _COMPILED_OK is None:
        import importlib.util
        import os

        _COMPILED_OK = (os.environ.get("SHDD_GEO_NUMBA", "1") != "0"
                        and importlib.util.find_spec("numba") is not None)
        if _COMPILED_OK:
            try:
                from ._sh_numba import basis

                one = np.ones(1)
                basis(one, 0 * one, 0 * one, 1, tuple(np.zeros(k) for k in ((2, 2), (2, 2), (2,), (2,))))
            except Exception as err:  # noqa: BLE001 - any failure means: use NumPy
                import warnings

                warnings.warn(f"shdd_geo: the numba kernel of sh_basis is unavailable ({err!r}); "
                              "using the NumPy path (set SHDD_GEO_NUMBA=0 to silence this)", RuntimeWarning,
                              stacklevel=3)
                _COMPILED_OK = False
    return _COMPILED_OK


def _fill_chunk(x, s, phi, L: int, consts, out: np.ndarray, lo: int) -> None:
    """Write the basis of points ``lo : lo + _CHUNK`` into the columns of ``out`` ``(D, n)``."""
    a, ab, diag, sub, m = consts
    hi = min(x.shape[0], lo + _CHUNK)
    k, dtype = hi - lo, x.dtype
    xc, sc = x[lo:hi], s[lo:hi]
    mphi = m * phi[lo:hi]
    cos_m = np.cos(mphi) * dtype.type(_SQRT2)  # (L, k) for m = 1..L
    sin_m = np.sin(mphi) * dtype.type(_SQRT2)
    o = out[:, lo:hi]
    cur, prev, scr = np.empty((3, L + 1, k), dtype=dtype)
    cur[0] = 0.5 / math.sqrt(math.pi)
    o[0] = cur[0]
    for l in range(1, L + 1):
        prev, cur = cur, prev  # cur now holds degree l-2 (rows < l-1)
        j = l - 1
        # 1. recurrence in l for m <= l-2: Pbar_l^m = a x Pbar_{l-1}^m - a b Pbar_{l-2}^m
        if l >= 2:
            np.multiply(xc, prev[:j], out=scr[:j])
            np.multiply(a[l, :j], scr[:j], out=scr[:j])
            np.multiply(ab[l, :j], cur[:j], out=cur[:j])
            np.subtract(scr[:j], cur[:j], out=cur[:j])
        # 2. off-diagonal and diagonal seeds from Pbar_{l-1}^{l-1}
        np.multiply(xc, prev[j], out=cur[j])
        cur[j] *= sub[l]
        np.multiply(sc, prev[j], out=cur[l])
        cur[l] *= diag[l]
        # 3. scatter: m < 0 (sin, |m| descending), m = 0, m > 0 (cos)
        base = l * l + l
        o[base] = cur[0]
        np.multiply(cur[1 : l + 1], cos_m[:l], out=o[base + 1 : base + l + 1])
        np.multiply(cur[l:0:-1], sin_m[l - 1 :: -1] if l > 1 else sin_m[:1], out=o[l * l : base])


def _basis_torch(x, s, phi, L: int):
    """Torch path: out-of-place blocks so autograd can trace it."""
    import torch

    a_np, b_np = _coefficients(L)
    a = torch.as_tensor(a_np, dtype=x.dtype, device=x.device)
    b = torch.as_tensor(b_np, dtype=x.dtype, device=x.device)
    m = torch.arange(1, L + 1, dtype=x.dtype, device=x.device)
    mphi = phi[:, None] * m[None, :]
    cos_m = torch.cos(mphi) * _SQRT2  # (n, L) for m = 1..L
    sin_m = torch.sin(mphi) * _SQRT2
    x_col, s_col = x[:, None], s[:, None]
    p_prev = None
    p = torch.ones_like(x_col) * (0.5 / math.sqrt(math.pi))  # Pbar_0^0
    blocks = [p]
    for l in range(1, L + 1):
        p_prev2, p_prev = p_prev, p
        diag_prev = p_prev[:, l - 1 : l]
        pieces = []
        if l >= 2:
            pieces.append(a[l, : l - 1] * (x_col * p_prev[:, : l - 1] - b[l, : l - 1] * p_prev2[:, : l - 1]))
        pieces.append(math.sqrt(2.0 * l + 1.0) * x_col * diag_prev)
        pieces.append(math.sqrt((2.0 * l + 1.0) / (2.0 * l)) * s_col * diag_prev)
        p = torch.cat(pieces, 1)
        blocks += [torch.flip(p[:, 1:] * sin_m[:, :l], (1,)), p[:, :1], p[:, 1:] * cos_m[:, :l]]
    return torch.cat(blocks, 1)


def sh_basis(lat, lon, L: int, *, dtype=None):
    """Real orthonormal spherical harmonics at points given in degrees.

    Parameters
    ----------
    lat, lon : array_like or torch.Tensor, shape (n,)
        Latitude in [-90, 90] and longitude [deg].  NumPy input is validated
        (finite, lat in range); torch input keeps its dtype, device and graph.
    L : int
        Maximum degree (``>= 0``).
    dtype : numpy dtype, optional
        NumPy output dtype (float64 by default).  float32 halves the memory;
        the NumPy path then also computes in float32 (about twice as fast, max
        error ~1e-4 absolute, 2e-5 of the peak, at L = 47), the compiled
        kernel computes in float64 and only rounds the output.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n, (L+1)**2)
        ``Y[i, l**2 + l + m] = Y_lm(lat_i, lon_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> Y = sh_basis([90.0], [0.0], L=1)
    >>> np.round(Y * np.sqrt(4 * np.pi), 6).tolist()   # Y_00, Y_1-1, Y_10, Y_11 at the pole
    [[1.0, 0.0, 1.732051, 0.0]]
    """
    L = _check_L(L)
    xp = _xp(lat)
    if xp is np:
        from .coords import as_latlon

        lat, lon = as_latlon(lat, lon)
        dt = np.dtype(np.float64 if dtype is None else dtype)
        if dt.kind != "f":
            raise TypeError(f"`dtype` must be a floating dtype, got {dt}")
        _check_size(lat.size, L, dt.itemsize)
        la, lo = deg2rad(lat), deg2rad(lon)
        return _basis_from_trig(np.sin(la).astype(dt), np.cos(la).astype(dt), lo.astype(dt), L)
    if lat.ndim != 1 or lat.shape != lon.shape:
        raise ValueError(f"`lat` and `lon` must be 1-D of equal shape, got {tuple(lat.shape)} and {tuple(lon.shape)}")
    check_tensor(lat, "lat", low=-90.0, high=90.0, unit=" degrees")  # the NumPy path's checks
    check_tensor(lon, "lon")
    _check_size(lat.shape[0], L, lat.element_size())
    la, lo = deg2rad(lat), deg2rad(lon)
    return _basis_from_trig(xp.sin(la), xp.cos(la), lo, L)


def sh_basis_xyz(xyz, L: int):
    """Real SH at unit vectors ``(n, 3)`` (NumPy float64 or torch).

    Longitude is ``atan2(y, x)``; at the poles its value is irrelevant since
    every ``m != 0`` term carries ``sin(theta)**|m| = 0``.

    Examples
    --------
    >>> bool(np.allclose(sh_basis_xyz([[0.0, 0.0, 2.0]], 3), sh_basis([90.0], [0.0], 3)))
    True
    """
    L = _check_L(L)
    xp = _xp(xyz)
    if xp is np:
        xyz = as_real_array(xyz, "xyz", finite=False)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ValueError(f"`xyz` must have shape (n, 3), got {xyz.shape}")
        norm = np.linalg.norm(xyz, axis=1)
        if not np.all(np.isfinite(norm)) or np.any(norm == 0):
            raise ValueError("`xyz` must hold finite, non-zero vectors")
        xyz = xyz / norm[:, None]
        s = np.hypot(xyz[:, 0], xyz[:, 1])
        phi = np.arctan2(xyz[:, 1], xyz[:, 0])
    else:
        check_tensor(xyz, "xyz")
        xyz = xyz / xp.linalg.vector_norm(xyz, dim=1, keepdim=True)
        s = xp.sqrt(xyz[:, 0] ** 2 + xyz[:, 1] ** 2)
        phi = xp.atan2(xyz[:, 1], xyz[:, 0])
    return _basis_from_trig(xyz[:, 2], s, phi, L)


def zonal_kernel(cos_gamma, L: int):
    r"""``sum_{l=0}^{L} (2l+1)/(4 pi) P_l(cos gamma)``: the SHDD of a point seen at angle gamma.

    By the addition theorem this equals ``sh_basis(p) @ sh_basis(u)`` for any
    two points at angle gamma, independent of the SH convention.  Computed by
    the Legendre three-term recurrence in float64.

    Examples
    --------
    >>> L = 10
    >>> bool(np.isclose(zonal_kernel(1.0, L), (L + 1) ** 2 / (4 * np.pi)))
    True
    """
    L = _check_L(L)
    t = np.asarray(cos_gamma, dtype=np.float64)
    p_prev, p = np.zeros_like(t), np.ones_like(t)
    total = p / (4 * math.pi)
    for l in range(1, L + 1):
        p_prev, p = p, ((2 * l - 1) * t * p - (l - 1) * p_prev) / l
        total = total + (2 * l + 1) / (4 * math.pi) * p
    return total


def _healpy_alm_index(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat real index of (l, m>=0) and (l, -m), and healpy's alm index."""
    ls, ms = [], []
    for m in range(L + 1):
        for l in range(m, L + 1):
            ls.append(l)
            ms.append(m)
    ls, ms = np.array(ls), np.array(ms)
    return sh_index(ls, ms), sh_index(ls, -ms), ms


def real_to_alm(coeffs, L: int | None = None) -> np.ndarray:
    """Real SH coefficients ``(..., (L+1)**2)`` to healpy complex ``alm``.

    The result has healpy's layout (``m``-major, ``lmax = mmax = L``), shape
    ``(..., (L+1)(L+2)/2)``, complex128, such that
    ``healpy.alm2map(alm, nside, lmax=L)`` equals the real expansion
    ``sum_lm coeffs_lm Y_lm`` at every pixel centre.

    Examples
    --------
    >>> real_to_alm(np.arange(4.0)).shape      # L = 1: (L+1)(L+2)/2 = 3 complex alm
    (3,)
    """
    c = np.asarray(coeffs, dtype=np.float64)
    Lc = degree_from_dim(c.shape[-1])
    if L is not None and _check_L(L) != Lc:
        raise ValueError(f"`coeffs` has {c.shape[-1]} entries, i.e. L={Lc}, but `L`={L}")
    pos, neg, ms = _healpy_alm_index(Lc)
    sign = np.where(ms % 2 == 0, 1.0, -1.0)
    scale = np.where(ms == 0, 1.0, sign / _SQRT2)
    im = np.where(ms == 0, 0.0, -1.0)
    return scale * (c[..., pos] + 1j * im * c[..., neg])


def alm_to_real(alm, L: int | None = None) -> np.ndarray:
    """Inverse of :func:`real_to_alm` (healpy ``alm`` with ``lmax = mmax``).

    Examples
    --------
    >>> c = np.arange(9.0)
    >>> bool(np.allclose(alm_to_real(real_to_alm(c)), c))
    True
    """
    a = np.asarray(alm, dtype=np.complex128)
    n = a.shape[-1]
    Lc = (math.isqrt(8 * n + 1) - 3) // 2
    if (Lc + 1) * (Lc + 2) // 2 != n:
        raise ValueError(f"`alm` length {n} is not (L+1)(L+2)/2 for any L")
    if L is not None and _check_L(L) != Lc:
        raise ValueError(f"`alm` has lmax={Lc}, but `L`={L}")
    pos, neg, ms = _healpy_alm_index(Lc)
    sign = np.where(ms % 2 == 0, 1.0, -1.0)
    out = np.zeros(a.shape[:-1] + ((Lc + 1) ** 2,))
    m0 = ms == 0
    out[..., pos[m0]] = a[..., m0].real
    out[..., pos[~m0]] = _SQRT2 * sign[~m0] * a[..., ~m0].real
    out[..., neg[~m0]] = -_SQRT2 * sign[~m0] * a[..., ~m0].imag
    return out
