"""Decoding speed and memory: dense matmul vs HEALPix ring synthesis vs coarse-to-fine.

Batch of 512 realistic rows at L = 47 (seeded): 384 encodings of random points
plus N(0, 0.01) noise and 128 two-point mixtures ``w E(p1) + (1-w) E(p2)``
plus the same noise.  One JSON line per case:

* ``dense``: ``decode(c, anchors=fibonacci(N))`` (arbitrary anchors, basis
  built block by block) for N in 2048, 100k, 1M: seconds and peak traced
  memory (tracemalloc: NumPy's allocations).
* ``synthesis``: ``f_e`` on all HEALPix anchors by dense matmul vs our ring
  synthesis vs ``healpy.alm2map``, and the ratio.
* ``coarse_to_fine``: the default ``decode(c)``: seconds, and agreement with
  the 1M-anchor dense decode (fraction of rows within 1 km).

Run: ``python benchmarks/bench_decode.py [--sizes 2048 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

from shdd_geo import anchors as A
from shdd_geo import decoding as D
from shdd_geo.decoding._caps import value_blocks as _value_blocks
from shdd_geo.codec import encode
from shdd_geo.metrics import great_circle_km

L, B = 47, 512


def inputs(rng):
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, (2, B))))
    lon = rng.uniform(-180, 180, (2, B))
    c = encode(lat[0], lon[0], L)
    w = rng.uniform(0.2, 0.8, (128, 1))
    c[384:] = w * c[384:] + (1 - w) * encode(lat[1, 384:], lon[1, 384:], L)
    return c + rng.normal(0.0, 0.1, c.shape), lat[0], lon[0]


def timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**30


def emit(**row):
    print(json.dumps({"bench": "decode", "L": L, "batch": B, **row}), flush=True)


def synthesis_cases(c, nsides):
    for nside in nsides:
        an = A.healpix(nside)
        times = {}
        for how in ("matmul", "rings", "healpy"):
            rows = 64 if how != "matmul" else B
            def blocks(an=an, how=how, rows=rows):
                return [g.shape for *_, g in _value_blocks(c, an, L, how, rows)]

            _, times[how], peak = timed(blocks)
            emit(case="synthesis", method=how, nside=nside, n_anchors=an.n, seconds=round(times[how], 3),
                 peak_gib=round(peak, 3))
        emit(case="synthesis", ratio="matmul/rings", nside=nside, speedup=round(times["matmul"] / times["rings"], 2))
        emit(case="synthesis", ratio="matmul/healpy", nside=nside, speedup=round(times["matmul"] / times["healpy"], 2))


def main(sizes, nsides):
    rng = np.random.default_rng(0)
    c, lat, lon = inputs(rng)
    D.decode(c[:4])  # warm caches: default anchor sets, KD-trees, coarse basis
    (fast_lat, fast_lon), t_c2f, peak = timed(lambda: D.decode(c))
    err = great_circle_km(fast_lat[:384], fast_lon[:384], lat[:384], lon[:384])
    emit(case="coarse_to_fine", seconds=round(t_c2f, 3), peak_gib=round(peak, 3),
         median_err_km_noisy_rows=round(float(np.median(err)), 3))
    synthesis_cases(c, nsides)
    for n in sizes:
        an = A.fibonacci(n)
        (la, lo), dt, peak = timed(lambda an=an: D.decode(c, anchors=an))
        agree = great_circle_km(la, lo, fast_lat, fast_lon)
        emit(case="dense", n_anchors=n, seconds=round(dt, 3), peak_gib=round(peak, 3),
             frac_within_1km_of_coarse_to_fine=float(np.mean(agree < 1.0)),
             p99_disagreement_km=round(float(np.quantile(agree, 0.99)), 6),
             speedup_coarse_to_fine=round(dt / t_c2f, 2))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2048, 100_000, 1_000_000])
    p.add_argument("--nsides", type=int, nargs="+", default=[64, 128])
    a = p.parse_args()
    main(a.sizes, a.nsides)
