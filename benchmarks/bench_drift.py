"""Decoding drift under N(0, 0.01) noise on SHDD encodings (paper Table 6: 5.3 km).

For each L, ``n`` seeded random points are encoded, Gaussian noise of variance
0.01 (std 0.1) is added to every coefficient, and the noisy vectors are
decoded (mode decoder, refinement on).  One JSON line per L with the median
and 90th-percentile great-circle drift [km], the same without refinement
(anchor-limited), and the Cramér-Rao floor: for white noise the refined
decoder is the maximum-likelihood estimate (``|E(p)|`` is constant, so
``argmin |e - E(p)| = argmax f_e``), whose per-axis std is
``0.1 / sqrt(sum_l (2l+1) l (l+1) / (8 pi))`` rad and whose median drift is
1.177 times that.  The ratio to the paper's 5.3 km is printed for every L;
the paper does not state its L (its main models use L = 15-47).

Run: ``python benchmarks/bench_drift.py [--n 2000]``
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from shdd_geo import decoding as D
from shdd_geo.codec import encode
from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.metrics import great_circle_km

PAPER_KM = 5.3


def floor_km(L: int) -> float:
    ls = np.arange(L + 1)
    sigma = 0.1 / math.sqrt(np.sum((2 * ls + 1) * ls * (ls + 1)) / (8 * math.pi))
    return sigma * math.sqrt(2 * math.log(2)) * EARTH_RADIUS_KM


def main(n: int, degrees):
    for L in degrees:
        rng = np.random.default_rng(L)
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        lon = rng.uniform(-180, 180, n)
        noisy = encode(lat, lon, L) + rng.normal(0.0, 0.1, (n, (L + 1) ** 2))
        t0 = time.perf_counter()
        d = great_circle_km(*D.decode(noisy), lat, lon)
        dt = time.perf_counter() - t0
        d0 = great_circle_km(*D.decode(noisy, refine=False), lat, lon)
        print(json.dumps({
            "bench": "drift", "L": L, "n": n, "noise_variance": 0.01,
            "median_km": round(float(np.median(d)), 3), "p90_km": round(float(np.quantile(d, 0.9)), 3),
            "median_km_no_refine": round(float(np.median(d0)), 3),
            "anchor_spacing_km": round(D.default_anchors(L).spacing_km, 1),
            "cramer_rao_median_km": round(floor_km(L), 3),
            "ratio_to_paper_5.3km": round(float(np.median(d)) / PAPER_KM, 3),
            "seconds_refined": round(dt, 2),
        }), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--degrees", type=int, nargs="+", default=[15, 23, 31, 47])
    a = p.parse_args()
    main(a.n, a.degrees)
