"""Low-pass filtering of SHDD coefficient vectors (paper appendix A.3).

The paper reduces the dimension of high-degree encodings by keeping only some
coefficients.  :func:`lowpass` keeps chosen degrees (a maximum degree or a
list), chosen coefficients (a mask / index list, or the ``k`` largest per
row), and can taper the kept degrees smoothly, which suppresses the ringing
(negative side lobes) of a hard cut.  Works on NumPy arrays and torch tensors
(autograd flows through the torch path).

Examples
--------
>>> from shdd_geo.codec import encode
>>> e = encode([0.0], [0.0], L=10)
>>> lowpass(e, degrees=3, truncate=True).shape
(1, 16)
"""

from __future__ import annotations

import numpy as np

from ._arrays import array_namespace as _xp
from ._validation import as_real_array, check_bool, check_int, check_real, check_real_values
from .sh import degree_from_dim, degree_order

__all__ = ["TAPERS", "lowpass", "taper_weights"]

#: Smooth tapers accepted by :func:`lowpass`.
TAPERS = ("gaussian", "hann")


def taper_weights(L: int, taper: str = "gaussian", width: float | None = None) -> np.ndarray:
    """Per-degree weights ``w_l`` (``l = 0..L``) of a smooth low-pass taper.

    ``"gaussian"``: ``w_l = exp(-l (l + 1) / (2 width**2))`` (the heat kernel;
    default ``width = L / 2``, so ``w_L ~ exp(-2)``).  ``"hann"``:
    ``w_l = (1 + cos(pi l / (width + 1))) / 2`` for ``l <= width``, else 0
    (default ``width = L``).

    Examples
    --------
    >>> taper_weights(2, "hann").round(3).tolist()
    [1.0, 0.75, 0.25]
    """
    L = check_int(L, "L", low=0, what="a non-negative integer")
    if not isinstance(taper, str) or taper not in TAPERS:
        raise ValueError(f"`taper` must be one of {TAPERS} or an array of {L + 1} weights, got {taper!r}")
    if width is not None:
        check_real(width, "width", low=0, closed="neither", unit=" [degrees l]")
    l = np.arange(L + 1, dtype=np.float64)
    if taper == "gaussian":
        w = max(L, 1) / 2.0 if width is None else float(width)
        return np.exp(-l * (l + 1) / (2.0 * w * w))
    w = float(L if width is None else width)
    return np.where(l <= w, 0.5 * (1.0 + np.cos(np.pi * l / (w + 1.0))), 0.0)


def _degree_mask(L: int, degrees) -> np.ndarray:
    """Boolean per-degree mask from an int (max degree) or a list of degrees."""
    if degrees is None:
        return np.ones(L + 1, bool)
    if np.isscalar(degrees):
        degrees = check_int(degrees, "degrees", low=0, what="a non-negative integer or a list of them")
        return np.arange(L + 1) <= degrees
    d = np.asarray(degrees)
    if d.ndim != 1 or d.size == 0 or d.dtype.kind not in "iu" or d.min() < 0 or d.max() > L:
        raise ValueError(f"`degrees` must list integers in [0, {L}], got {degrees!r}")
    mask = np.zeros(L + 1, bool)
    mask[d] = True
    return mask


def _keep_mask(D: int, keep) -> np.ndarray | None:
    """Per-coefficient mask from a boolean mask or an index list (None for an int k)."""
    if keep is None:
        return np.ones(D, bool)
    if np.isscalar(keep):
        return None
    k = np.asarray(keep)
    if k.dtype == bool:
        if k.shape != (D,):
            raise ValueError(f"boolean `keep` must have shape ({D},), got {k.shape}")
        return k
    if k.ndim != 1 or k.dtype.kind not in "iu" or (k.size and (k.min() < 0 or k.max() >= D)):
        raise ValueError(f"`keep` must be a boolean mask, indices in [0, {D}) or an int, got {keep!r}")
    mask = np.zeros(D, bool)
    mask[k] = True
    return mask


def _largest(c, k: int):
    """Zero all but the ``k`` largest-magnitude coefficients of each row."""
    xp = _xp(c)
    k = check_int(k, "keep", low=1, high=c.shape[-1], what=f"an int in [1, {c.shape[-1]}], a mask or indices")
    if xp is np:
        thr = -np.partition(-np.abs(c), k - 1, axis=-1)[..., k - 1 : k]
        rank = np.argsort(np.argsort(-np.abs(c), axis=-1, kind="stable"), axis=-1)
        return np.where((np.abs(c) >= thr) & (rank < k), c, 0.0)
    idx = xp.topk(c.abs(), k, dim=-1).indices
    return c * xp.zeros_like(c).scatter(-1, idx, 1.0)


def lowpass(coeffs, degrees=None, keep=None, taper=None, *, width: float | None = None, truncate: bool = False):
    """Keep chosen degrees / coefficients of SHDD vectors, optionally with a smooth taper.

    Parameters
    ----------
    coeffs : array_like or torch.Tensor, shape (..., (L+1)**2)
    degrees : int or sequence of int, optional
        An int keeps degrees ``l <= degrees``; a sequence keeps exactly those
        degrees.  Others are set to zero.
    keep : int, boolean mask (D,) or index array, optional
        Coefficients to keep (the paper's "dimensions with adequately large
        values"); an int ``k`` keeps the ``k`` largest ``|coeff|`` of each row.
    taper : {"gaussian", "hann"} or array (L+1,), optional
        Multiply degree ``l`` by ``w_l`` (see :func:`taper_weights`); an
        array gives the weights directly.
    width : float, optional
        Width of the named taper in degrees.
    truncate : bool
        With an int ``degrees``, return only the first ``(degrees+1)**2``
        columns (a shorter vector of degree ``degrees``) instead of zeros.

    Returns
    -------
    Same type as ``coeffs`` (float64 for array_like input).

    Examples
    --------
    >>> import numpy as np
    >>> c = np.arange(1.0, 10.0)             # L = 2
    >>> lowpass(c, degrees=[0, 2]).tolist()
    [1.0, 0.0, 0.0, 0.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    >>> lowpass(c, keep=2).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0, 9.0]
    >>> lowpass(c, taper=[1.0, 0.5, 0.0]).tolist()
    [1.0, 1.0, 1.5, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    xp = _xp(coeffs)
    check_real_values(coeffs, "coeffs")
    c = coeffs if xp is not np else as_real_array(coeffs, "coeffs", finite=False)
    truncate = check_bool(truncate, "truncate")
    if c.ndim < 1:
        raise ValueError(f"`coeffs` must have a last axis of (L+1)**2 entries, got shape {tuple(c.shape)}")
    D = c.shape[-1]
    L = degree_from_dim(D)
    ls, _ = degree_order(L)
    weight = _degree_mask(L, degrees)[ls].astype(np.float64)
    mask = _keep_mask(D, keep)
    if mask is not None:
        weight = weight * mask
    if taper is not None:
        w = taper_weights(L, taper, width) if isinstance(taper, str) else as_real_array(taper, "taper", finite=False)
        if w.shape != (L + 1,) or not np.all(np.isfinite(w)):
            raise ValueError(f"`taper` weights must be {L + 1} finite numbers (one per degree), got shape {w.shape}")
        weight = weight * w[ls]
    if xp is not np:
        weight = xp.as_tensor(weight, dtype=c.dtype, device=c.device)
    out = c * weight
    if mask is None:
        out = _largest(out, keep)
    if truncate:
        if degrees is None or not np.isscalar(degrees):
            raise ValueError("`truncate=True` needs an integer `degrees` (the new maximum degree)")
        out = out[..., : (min(int(degrees), L) + 1) ** 2]
    return out
