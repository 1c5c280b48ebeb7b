"""Density maps from sampled SHDD coefficients, and the location prior mixed into them.

:class:`~shdd_geo.model.LocDiffusion` answers a condition with ``K`` sampled
coefficient vectors ``e_1..e_K``.  Its map of the condition is the
equal-weight mixture of the sample densities ``q_{e_k} ∝ exp(f_{e_k} / T)``
(``T`` the temperature), built in log space on a HEALPix grid
(:func:`sample_mixture`), optionally mixed with a location prior:
``(1 - w) q + w p_prior`` (:func:`mix_prior`, through
:meth:`SphericalField.mixture <shdd_geo.fields.SphericalField.mixture>`).
:func:`field_from_samples` does both; ``LocDiffusion.field_from_samples``
and ``LocDiffusion.mix_prior`` are thin delegates to these functions.

Examples
--------
>>> import numpy as np
>>> from shdd_geo.codec import encode
>>> coeffs = encode([10.0, 12.0, -40.0], [0.0, 3.0, 100.0], L=6).reshape(1, 3, -1)   # 1 condition, 3 samples
>>> field = field_from_samples(coeffs, nside=8)
>>> len(field), field.nside
(1, 8)
"""

from __future__ import annotations

import math

import numpy as np

from .._arrays import logsumexp
from .._progress import progress_bar
from .._validation import check_option, check_real

__all__ = ["CHUNK_VALUES", "field_from_samples", "mix_prior", "sample_mixture"]

_EXP_FLOOR = -650.0  # below this log value, sums of exp() come near the subnormal range

#: Sample-map values per chunk of :func:`sample_mixture` (256 MiB of float64).
CHUNK_VALUES = 1 << 25


def sample_mixture(coeffs, nside: int, kind: str = "mixture", temperature: float = 1.0,
                   progress: bool | None = False, *, chunk_values: int = CHUNK_VALUES):
    """The maps of sampled coefficients ``(B, K, D)``, one per condition (no prior).

    ``kind="mixture"``: ``log((1/K) sum_k exp(log q_{e_k / T}))`` per pixel,
    built ``chunk_values // (K * npix)`` conditions at a time (bounded memory
    for any batch); ``kind="mean"``: the density of the mean coefficient
    vector (divided by ``T``).  ``progress``: a bar over the maps.

    Examples
    --------
    >>> from shdd_geo.codec import encode
    >>> c = encode([0.0, 5.0], [0.0, 5.0], L=4).reshape(1, 2, -1)
    >>> sample_mixture(c, 4).attrs["n_samples"]
    2
    """
    from ..fields import SphericalField

    check_option(kind, "kind", ("mixture", "mean"))
    check_real(temperature, "temperature", low=0.0, closed="neither")
    coeffs = np.asarray(coeffs, dtype=np.float64) / float(temperature)
    if coeffs.ndim != 3:
        raise ValueError(f"`coeffs` must have shape (batch, n_samples, D), got {coeffs.shape}")
    B, K, D = coeffs.shape
    if kind == "mean":
        return SphericalField.from_shdd(coeffs.mean(axis=1), nside=nside)
    npix = 12 * nside * nside
    mix = np.empty((B, npix))
    step = max(1, int(chunk_values) // (K * npix))  # conditions per chunk: bounded memory for any batch
    log_norm = math.log(K * 4.0 * math.pi / npix)  # K samples, each normalised over equal-area pixels
    with progress_bar(B, "maps", unit="map", progress=progress) as bar:
        for lo in range(0, B, step):
            part = coeffs[lo : lo + step]
            rows = np.atleast_2d(SphericalField.from_shdd(part.reshape(-1, D), nside=nside, normalize=False)
                                 .log_density).reshape(part.shape[0], K, -1)
            for i, f in enumerate(rows):
                mix[lo + i] = _normalised_mixture(f) - log_norm
            bar.update(part.shape[0])
    return SphericalField(mix, kind="log_density", attrs={"source": "LocDiffusion", "n_samples": int(K),
                                                         "temperature": float(temperature)})


def _normalised_mixture(f: np.ndarray) -> np.ndarray:
    """``log sum_k exp(f_k) / sum_pixels exp(f_k)`` per pixel of the sample maps ``f`` ``(K, npix)``.

    One pass of ``exp`` serves both the normalisation of every sample map and
    their sum (``logsumexp`` twice would take two); pixels where every term
    underflows (or nears the subnormal range, where ``exp`` loses digits)
    are computed again in log space, so no pixel is ``-inf``.
    """
    peak = f.max(axis=1, keepdims=True)
    e = f - peak
    np.exp(e, out=e)
    total = e.sum(axis=1)
    with np.errstate(divide="ignore"):
        out = np.log((1.0 / total) @ e)
    lost = ~(out > _EXP_FLOOR)
    if lost.any():  # far tails near or below exp(-745) in every sample: the log-space twin
        out[lost] = logsumexp(f[:, lost] - peak - np.log(total)[:, None], axis=0)
    return out


def mix_prior(field, prior, prior_weight: float):
    """``(1 - w) field + w prior`` per row of ``field``, ``w = prior_weight`` in [0, 1).

    ``prior`` is one :class:`~shdd_geo.SphericalField` on any grid (it is
    regridded); ``field`` comes back unchanged for ``w = 0``.

    Examples
    --------
    >>> from shdd_geo.codec import encode
    >>> f = sample_mixture(encode([0.0], [0.0], L=4).reshape(1, 1, -1), 4)
    >>> mix_prior(f, None, 0.0) is f
    True
    """
    from ..fields import SphericalField

    w = check_real(prior_weight, "prior_weight", low=0.0, high=1.0, closed="left")
    if w == 0.0:
        return field
    if not isinstance(prior, SphericalField) or prior.is_batch:
        raise ValueError("`prior_weight` > 0 needs a prior: one SphericalField (see LocDiffusion.set_prior)")
    p = prior.ud_grade(field.nside).reorder(field.nest)
    out = field.mixture(p, 1.0 - w)
    return SphericalField(out.log_density, kind="log_density", nest=out.nest, labels=out.labels,
                          attrs={**dict(field.attrs), "prior_weight": w})


def field_from_samples(coeffs, nside: int = 64, *, kind: str = "mixture", temperature: float = 1.0,
                       prior=None, prior_weight: float = 0.0, progress: bool | None = None,
                       chunk_values: int = CHUNK_VALUES):
    """Density maps from sampled coefficients ``(B, K, D)``: :func:`sample_mixture`, then :func:`mix_prior`.

    With ``prior`` (one :class:`~shdd_geo.SphericalField`, any nside) and
    ``prior_weight`` ``w`` in [0, 1), each map becomes ``(1 - w) q + w p``.
    ``progress``: a bar over the maps (see :ref:`progress-bars`).

    Examples
    --------
    >>> from shdd_geo.codec import encode
    >>> c = encode([0.0, 5.0, 40.0, 42.0], [0.0, 5.0, 10.0, 12.0], L=4).reshape(2, 2, -1)
    >>> prior = sample_mixture(encode([0.0], [90.0], L=2).reshape(1, 1, -1), 4)[0]
    >>> field_from_samples(c, nside=4, prior=prior, prior_weight=0.1).attrs["prior_weight"]
    0.1
    """
    field = sample_mixture(coeffs, nside, kind, temperature, progress, chunk_values=chunk_values)
    return mix_prior(field, prior, prior_weight)
