"""Calibrating LocDiffusion's maps: a grid search over temperatures and prior weights, then conformal levels.

:meth:`LocDiffusion.calibrate <shdd_geo.model.LocDiffusion.calibrate>`
samples once for the held-out rows and hands the samples to
:func:`calibrate_maps`, which

1. splits the rows at random (seeded): ``1 - conformal_fraction`` choose the
   temperature, the rest fit the conformal levels (all rows choose without
   ``conformal``);
2. scores the truth under the mixture map of every candidate (a temperature,
   or a pair of a temperature and a prior weight when a prior is set): mean
   log-likelihood, and the coverage of the ``level`` credible regions when a
   coverage range is asked for;
3. keeps the most likely candidate whose coverage is in range (if none is,
   the one closest to the range);
4. fits :class:`~shdd_geo.calibration.ConformalLevels` on the other rows'
   maps at the chosen settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._progress import progress_bar
from .._validation import check_bool, check_real
from ..coords import as_latlon
from .maps import mix_prior, sample_mixture

__all__ = ["Calibration", "calibrate_maps"]


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate_maps` chose (the fitted ``*_`` attributes of ``LocDiffusion.calibrate``).

    Examples
    --------
    >>> Calibration(2.0, 0.0, {1.0: -3.1, 2.0: -2.7}, {}, None).temperature
    2.0
    """

    temperature: float
    prior_weight: float
    #: mean log-likelihood per candidate (temperature, or (temperature, weight) with a prior)
    scores: dict
    #: coverage of the ``level`` regions per candidate (empty without a coverage range)
    coverage: dict
    #: ConformalLevels fitted on the other rows, or None without ``conformal``
    conformal: object | None


def calibrate_maps(draw, lat, lon, *, prior, temperatures, prior_weights, nside: int, generator,
                   min_coverage: float | None, max_coverage: float | None, level: float, conformal: bool,
                   conformal_fraction: float, progress: bool | None) -> Calibration:
    """Choose the temperature (and prior weight) and fit conformal levels; see the module notes.

    ``draw()`` returns the sampled coefficients ``(n, K, D)`` of the rows at
    ``lat``, ``lon`` [deg]; it is called once, after every argument is
    checked.  ``prior`` is the model's location prior (one
    :class:`~shdd_geo.SphericalField`) or None, in which case only the
    temperature competes.  The other arguments are those of
    ``LocDiffusion.calibrate``.

    Examples
    --------
    Four samples per truth, scattered about 20 degrees around it: at ``L = 10``
    a map sharper than ``T = 1`` misses the truth too often, a flatter one wastes density.

    >>> from shdd_geo.codec import encode
    >>> rng = np.random.default_rng(0)
    >>> lat, lon = rng.uniform(-60, 60, 12), rng.uniform(-180, 180, 12)
    >>> s_lat = np.clip(np.repeat(lat, 4) + rng.normal(0, 20, 48), -90, 90)
    >>> near = encode(s_lat, np.repeat(lon, 4) + rng.normal(0, 20, 48), L=10)
    >>> got = calibrate_maps(lambda: near.reshape(12, 4, -1), lat, lon, prior=None,
    ...                      temperatures=(0.25, 1.0, 4.0), prior_weights=(0.0,), nside=8, generator=0,
    ...                      min_coverage=None, max_coverage=None, level=0.9, conformal=False,
    ...                      conformal_fraction=0.5, progress=False)
    >>> got.temperature, sorted(got.scores), got.conformal is None
    (1.0, [0.25, 1.0, 4.0], True)
    """
    temps = _numbers(temperatures, "temperatures", low=0.0, closed="neither")
    for name, v in (("min_coverage", min_coverage), ("max_coverage", max_coverage)):
        if v is not None:
            check_real(v, name, low=0.0, high=1.0, closed="right")
    lo = 0.0 if min_coverage is None else float(min_coverage)
    hi = 1.0 if max_coverage is None else float(max_coverage)
    if lo > hi:
        raise ValueError(f"`min_coverage` ({lo}) must not exceed `max_coverage` ({hi})")
    check = min_coverage is not None or max_coverage is not None
    weights = _numbers(prior_weights, "prior_weights", low=0.0, high=1.0, closed="left") if prior is not None \
        else [0.0]
    check_bool(conformal, "conformal")
    lat, lon = as_latlon(lat, lon)
    choose, fit_levels = _calibration_split(lat.size, conformal, conformal_fraction, generator)
    coeffs = draw()
    from ..calibration import ConformalLevels, coverage

    scores, covered = {}, {}
    la, lo_ = lat[choose], lon[choose]
    with progress_bar(len(temps) * len(weights), "calibrating", unit="candidate", progress=progress) as bar:
        for t in temps:
            base = sample_mixture(coeffs[choose], nside, "mixture", t)
            for w in weights:
                key = (t, w) if prior is not None else t
                f = mix_prior(base, prior, w)
                scores[key] = float(np.mean(np.atleast_1d(f.log_likelihood(la, lo_))))
                if check:
                    covered[key] = float(coverage(f, la, lo_, levels=(float(level),))[float(level)])
                bar.update()
    ok = [k for k in scores if not check or lo <= covered[k] <= hi]
    off = lambda k: max(lo - covered[k], covered[k] - hi)  # noqa: E731  distance to the range
    best = max(ok, key=scores.get) if ok else min(covered, key=lambda k: (off(k), -scores[k]))
    temperature, weight = best if prior is not None else (best, 0.0)
    levels = None
    if fit_levels is not None:
        f = mix_prior(sample_mixture(coeffs[fit_levels], nside, "mixture", temperature), prior, weight)
        levels = ConformalLevels.fit(f, lat[fit_levels], lon[fit_levels])
    return Calibration(temperature, weight, scores, covered, levels)


def _numbers(values, name: str, **bounds) -> list[float]:
    """A non-empty sequence of finite numbers within ``bounds`` (see ``check_real``) as floats."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"`{name}` must be a sequence of numbers, got {values!r}")
    out = [check_real(v, name, **bounds) for v in values]
    if not out:
        raise ValueError(f"`{name}` is empty; pass at least one number")
    return out


def _calibration_split(n: int, conformal: bool, fraction, generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows that choose the temperature, and rows that fit the conformal levels (None without)."""
    rows = np.arange(n)
    if not conformal:
        return rows, None
    fraction = check_real(fraction, "conformal_fraction", low=0.0, high=1.0, closed="neither")
    n_fit = int(round(fraction * n))
    if n_fit < 1 or n - n_fit < 1:
        raise ValueError(f"{n} calibration rows cannot be split by `conformal_fraction`={fraction}: pass more "
                         "rows (hundreds for useful regions) or conformal=False")
    seed = generator if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool) else 0
    perm = np.random.default_rng(int(seed)).permutation(n)
    return np.sort(perm[n_fit:]), np.sort(perm[:n_fit])
