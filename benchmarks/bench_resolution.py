"""Decoding resolution vs L (paper A.3: ~20000 / L km, L capped at 47 by instability).

One JSON line per L: the SHDD kernel's half width at half maximum [km] (from
``zonal_kernel``), the paper's ``20000 / L`` km, the decode error of clean
encodings (max and median over ``n`` seeded points incl. poles and the
antimeridian) and of noisy ones (N(0, 0.01) per coefficient: median, p90),
and the seconds per 1000 decodes.

Run: ``python benchmarks/bench_resolution.py [--n 300]``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from shdd_geo import decoding as D
from shdd_geo.codec import encode
from shdd_geo.metrics import great_circle_km


def main(n: int, degrees):
    for L in degrees:
        rng = np.random.default_rng(L)
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        lon = rng.uniform(-180, 180, n)
        lat[:3], lon[3:6] = [90.0, -90.0, 89.999], [-180.0, 179.9999, -179.9999]
        e = encode(lat, lon, L)
        D.decode(e[:2])  # warm the caches (anchor sets, trees, coarse basis)
        t0 = time.perf_counter()
        clean = great_circle_km(*D.decode(e), lat, lon)
        dt = time.perf_counter() - t0
        noisy = great_circle_km(*D.decode(e + rng.normal(0.0, 0.1, e.shape)), lat, lon)
        print(json.dumps({
            "bench": "resolution", "L": L, "n": n,
            "kernel_hwhm_km": round(D.default_rho_km(L), 1), "paper_20000_over_L_km": round(20000 / L, 1),
            "clean_max_km": float(clean.max()), "clean_median_km": float(np.median(clean)),
            "noisy_median_km": round(float(np.median(noisy)), 3), "noisy_p90_km": round(float(np.quantile(noisy, 0.9)), 3),
            "seconds_per_1000_clean": round(dt * 1000 / n, 2),
        }), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--degrees", type=int, nargs="+", default=[5, 10, 15, 23, 31, 47, 63, 100, 150])
    a = p.parse_args()
    main(a.n, a.degrees)
