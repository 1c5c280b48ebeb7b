"""Decoding tasks of the accuracy runner: drift under noise (paper Table 6) and resolution vs L (A.3).

``drift``
    For each L, ``n`` seeded random points are encoded, Gaussian noise of
    variance 0.01 (std 0.1) is added to every coefficient, and the noisy
    vectors are decoded by the mode decoder with refinement (method
    ``mode_refined``) and without (``mode_anchors``, anchor-limited).  Metrics:
    median and 90th-percentile great-circle drift [km], the Cramér-Rao floor
    (for white noise the refined decoder is the maximum-likelihood estimate,
    ``|E(p)|`` being constant; its per-axis std is
    ``0.1 / sqrt(sum_l (2l+1) l (l+1) / (8 pi))`` rad and its median drift is
    1.177 times that) and the ratio to the paper's 5.3 km (the paper does not
    state its L).
``resolution``
    For each L: the SHDD kernel's half width at half maximum [km], the
    paper's ``20000 / L`` km, the decode error of clean encodings (max and
    median over ``n`` seeded points incl. poles and the antimeridian) and of
    noisy ones (N(0, 0.01) per coefficient).
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.common import random_points
from benchmarks.paper import PAPER

__all__ = ["cramer_rao_median_km", "run_drift", "run_resolution"]


def cramer_rao_median_km(L: int) -> float:
    """Median drift of the maximum-likelihood decoder under N(0, 0.01) white noise [km]."""
    from shdd_geo import EARTH_RADIUS_KM

    ls = np.arange(L + 1)
    sigma = 0.1 / math.sqrt(np.sum((2 * ls + 1) * ls * (ls + 1)) / (8 * math.pi))
    return sigma * math.sqrt(2 * math.log(2)) * EARTH_RADIUS_KM


def run_drift(a, log) -> None:
    """One row per (L, decoder): drift of noisy encodings."""
    import shdd_geo as sg

    for L in a.degrees:
        rng = np.random.default_rng(L)
        lat, lon = random_points(a.n, rng)
        noisy = sg.encode(lat, lon, L) + rng.normal(0.0, 0.1, (a.n, (L + 1) ** 2))
        for method, refine in (("mode_refined", True), ("mode_anchors", False)):
            d = sg.great_circle_km(*sg.decode(noisy, refine=refine), lat, lon)
            log.emit("drift", method=method, split="synthetic", L=L, n=a.n, noise_variance=0.01,
                     median_km=float(np.median(d)), p90_km=float(np.quantile(d, 0.9)),
                     cramer_rao_median_km=cramer_rao_median_km(L),
                     anchor_spacing_km=sg.decoding.default_anchors(L).spacing_km,
                     ratio_to_paper=float(np.median(d)) / PAPER["drift_km"].value)


def run_resolution(a, log) -> None:
    """One row per L: kernel width and decode errors of clean and noisy encodings."""
    import shdd_geo as sg

    for L in a.degrees:
        rng = np.random.default_rng(L)
        lat, lon = random_points(a.n, rng)
        lat[:3], lon[3:6] = [90.0, -90.0, 89.999], [-180.0, 179.9999, -179.9999]
        e = sg.encode(lat, lon, L)
        clean = sg.great_circle_km(*sg.decode(e), lat, lon)
        noisy = sg.great_circle_km(*sg.decode(e + rng.normal(0.0, 0.1, e.shape)), lat, lon)
        log.emit("resolution", method="mode_refined", split="synthetic", L=L, n=a.n,
                 kernel_hwhm_km=sg.decoding.default_rho_km(L), paper_20000_over_L_km=20000 / L,
                 clean_max_km=float(clean.max()), clean_median_km=float(np.median(clean)),
                 noisy_median_km=float(np.median(noisy)), noisy_p90_km=float(np.quantile(noisy, 0.9)))
