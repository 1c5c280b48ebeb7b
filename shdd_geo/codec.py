"""The SHDD codec: encode points as truncated SH expansions of a Dirac delta.

A location ``p`` is encoded by ``E(p) = [Y_lm(p)]`` (paper eq. 8-10), the
spherical-harmonic coefficients of a Dirac delta at ``p`` truncated at degree
``L``.  A coefficient vector ``e`` defines the function
``f_e(u) = sum_lm e_lm Y_lm(u)`` and the density ``q_e(u) = exp(f_e(u)) / Z``
(eq. 11-12), always handled in log space.  The reverse KL divergence over an
anchor set (eq. 13, 17) is the distance and the training loss.

All functions that take coefficient arrays accept NumPy arrays or torch
tensors (autograd flows through the torch path).
"""

from __future__ import annotations

import numpy as np

from ._arrays import array_namespace as _xp
from ._arrays import as_coeffs as _as_coeffs
from ._validation import as_real_array, check_option, check_real_values
from .sh import degree_from_dim, sh_basis

__all__ = [
    "LOSSES",
    "encode",
    "evaluate",
    "kl_loss",
    "log_density",
    "loss",
    "shdd_kl",
]

#: Names accepted by :func:`loss` (the paper's Table 7 ablation).
LOSSES = ("kl", "l1", "l2", "cosine")


def encode(lat, lon, L: int, *, dtype=None):
    """SHDD encodings of points: ``(n, (L+1)**2)`` real SH values (eq. 10).

    Parameters
    ----------
    lat, lon : array_like or torch.Tensor
        Points [deg].
    L : int
        Truncation degree; resolution is roughly ``20000 / L`` km.
    dtype : numpy dtype, optional
        float64 (default) or float32 for NumPy input.

    Examples
    --------
    >>> e = encode([0.0], [0.0], L=15)
    >>> e.shape
    (1, 256)
    """
    return sh_basis(lat, lon, L, dtype=dtype)


def evaluate(coeffs, lat, lon):
    """Evaluate ``f_e`` at points: returns ``(B, n)`` (or ``(n,)`` for 1-D ``coeffs``).

    Examples
    --------
    >>> e = encode([10.0], [20.0], L=5)
    >>> f = evaluate(e, [10.0, -10.0], [20.0, 20.0])
    >>> bool(f[0, 0] > f[0, 1])
    True
    """
    c, L, was_1d = _as_coeffs(coeffs)
    basis = sh_basis(lat, lon, L)
    if _xp(c) is not np:
        import torch

        basis = torch.as_tensor(basis, dtype=c.dtype, device=c.device)
    f = c @ basis.T
    return f[0] if was_1d else f


def _log_softmax(logits):
    xp = _xp(logits)
    if xp is np:
        from scipy.special import log_softmax

        return log_softmax(logits, axis=-1)
    return xp.log_softmax(logits, dim=-1)


def _anchor_arrays(anchors, L: int, like):
    """Basis ``(N, D)`` and log weights ``(N,)`` of an AnchorSet, matching ``like``."""
    basis = anchors.basis(L)
    log_w = anchors.log_weights
    if _xp(like) is not np:
        import torch

        basis = torch.as_tensor(basis, dtype=like.dtype, device=like.device)
        log_w = torch.as_tensor(log_w, dtype=like.dtype, device=like.device)
    return basis, log_w


def log_density(coeffs, anchors):
    """Log-probabilities ``log q_i`` of ``q_e`` over an anchor set, shape ``(B, N)``.

    ``log q_i = f_e(a_i) + log w_i - logsumexp_j (f_e(a_j) + log w_j)``: a
    discrete distribution over the anchors (rows sum to 1 after ``exp``).

    Examples
    --------
    >>> from shdd_geo import anchors
    >>> lq = log_density(encode([0.0], [0.0], L=10), anchors.healpix(4))
    >>> round(float(np.exp(lq).sum()), 12)
    1.0
    """
    c, L, _ = _as_coeffs(coeffs)
    basis, log_w = _anchor_arrays(anchors, L, c)
    return _log_softmax(c @ basis.T + log_w)


def kl_loss(pred, target, basis, log_weights=None):
    """Reverse KL ``KL(q_pred || p_target)`` over anchors, per row (eq. 13).

    Parameters
    ----------
    pred, target : array or tensor, shape (B, D)
        Predicted and target SHDD coefficients.
    basis : array or tensor, shape (N, D)
        SH basis at the anchors (one matmul for the whole batch).
    log_weights : array or tensor, shape (N,), optional
        Log area weights of the anchors (omit for equal-area anchors).

    Returns
    -------
    array or tensor, shape (B,)
        ``sum_i q_i (log q_i - log p_i)`` >= 0.

    Examples
    --------
    >>> from shdd_geo import anchors
    >>> A = anchors.fibonacci(2048).basis(8)
    >>> e = encode([0.0, 45.0], [0.0, 90.0], L=8)
    >>> kl_loss(e, e, A).round(12).tolist()
    [0.0, 0.0]
    """
    xp = _xp(pred)
    lq = pred @ basis.T
    lp = target @ basis.T
    if log_weights is not None:
        lq, lp = lq + log_weights, lp + log_weights
    lq, lp = _log_softmax(lq), _log_softmax(lp)
    q = xp.exp(lq)
    return (q * (lq - lp)).sum(-1)


def loss(pred, target, kind: str = "kl", basis=None, log_weights=None):
    """Per-row loss between coefficient vectors: ``"kl"``, ``"l1"``, ``"l2"`` or ``"cosine"``.

    ``"kl"`` needs the anchor ``basis`` (see :func:`kl_loss`); the others are
    the paper's Table 7 alternatives on the raw coefficients: mean absolute
    error, mean squared error and ``1 - cosine similarity``.

    Examples
    --------
    >>> e = encode([0.0], [0.0], L=3)
    >>> abs(float(loss(e, e, "cosine")[0])) < 1e-12
    True
    """
    xp = _xp(pred)
    check_option(kind, "kind", LOSSES)
    if kind == "kl":
        if basis is None:
            raise ValueError("`basis` (anchor SH basis, shape (N, D)) is required for kind='kl'")
        return kl_loss(pred, target, basis, log_weights)
    if kind == "l1":
        return xp.abs(pred - target).mean(-1)
    if kind == "l2":
        return ((pred - target) ** 2).mean(-1)
    if kind == "cosine":
        if xp is np:
            num = (pred * target).sum(-1)
            den = np.linalg.norm(pred, axis=-1) * np.linalg.norm(target, axis=-1)
            return 1.0 - num / np.maximum(den, 1e-12)
        return 1.0 - xp.nn.functional.cosine_similarity(pred, target, dim=-1, eps=1e-12)
    raise ValueError(f"`kind` must be one of {LOSSES}, got {kind!r}")


def shdd_kl(coeffs, lat, lon, anchors):
    """Reverse KL between the density of ``coeffs`` and that of ``E(lat, lon)``, per row.

    Parameters
    ----------
    coeffs : array or tensor, shape (B, D)
    lat, lon : array_like, shape (B,)
        The true locations [deg].
    anchors : AnchorSet
        Where the densities are compared (weights used as log area weights).

    Examples
    --------
    >>> from shdd_geo import anchors
    >>> e = encode([10.0], [10.0], L=8)
    >>> float(shdd_kl(e, [10.0], [10.0], anchors.fibonacci(4096))[0]) < 1e-12
    True
    """
    c, L, _ = _as_coeffs(coeffs)
    target = encode(lat, lon, L)
    if target.shape[0] != c.shape[0]:
        raise ValueError(f"`coeffs` has {c.shape[0]} rows but {target.shape[0]} locations were given")
    if _xp(c) is not np:
        import torch

        target = torch.as_tensor(target, dtype=c.dtype, device=c.device)
    basis, log_w = _anchor_arrays(anchors, L, c)
    return kl_loss(c, target, basis, log_w)
