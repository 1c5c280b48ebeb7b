"""Decoding speed and memory: coarse-to-fine vs dense decode vs HEALPix synthesis paths.

Batch of 512 realistic rows at L = 47 (seeded): 384 encodings of random points
plus N(0, 0.01) noise and 128 two-point mixtures ``w E(p1) + (1-w) E(p2)``
plus the same noise.  Rows (one per case):

* ``coarse_to_fine``: the default ``decode(c)``: seconds, peak traced memory,
  median error on the 384 single-point rows.  The peer of every other row.
* ``dense``: ``decode(c, anchors=fibonacci(N))`` (arbitrary anchors, basis
  built block by block): seconds, peak memory, agreement with
  coarse-to-fine, and ``ratio_vs_coarse_to_fine`` (time over its time).
* ``healpix_argmax``: ``decode(c, anchors=healpix(nside), method="argmax",
  refine=False, synthesis=S)`` for S in matmul, rings, healpy:
  ``ratio_vs_matmul`` (matmul's time over this one's: > 1 is faster).

Run: ``python -m benchmarks.perf.decode [--sizes 2048 100000 1000000] [--nsides 64 128]``
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from benchmarks.common import ResultLog, add_result_args, random_points

L, B = 47, 512


def inputs(rng):
    import shdd_geo as sg

    lat, lon = random_points(B, rng)
    lat2, lon2 = random_points(B, rng)
    c = sg.encode(lat, lon, L)
    w = rng.uniform(0.2, 0.8, (128, 1))
    c[384:] = w * c[384:] + (1 - w) * sg.encode(lat2[384:], lon2[384:], L)
    return c + rng.normal(0.0, 0.1, c.shape), lat, lon


def timed(fn):
    """Result, wall seconds and peak traced memory [GiB] (tracemalloc: NumPy's allocations)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**30


def run(log, sizes, nsides) -> None:
    import shdd_geo as sg

    c, lat, lon = inputs(np.random.default_rng(0))
    sg.decode(c[:4])  # warm caches: default anchor sets, KD-trees, coarse basis
    (flat, flon), t_c2f, peak = timed(lambda: sg.decode(c))
    err = sg.great_circle_km(flat[:384], flon[:384], lat[:384], lon[:384])
    common = {"L": L, "batch": B}
    log.emit("decode", method="coarse_to_fine", **common, seconds=t_c2f, peak_gib=peak,
             median_err_km_noisy_rows=float(np.median(err)))
    for n in sizes:
        an = sg.anchors.fibonacci(n)
        (la, lo), dt, peak = timed(lambda an=an: sg.decode(c, anchors=an))
        agree = sg.great_circle_km(la, lo, flat, flon)
        log.emit("decode", method=f"dense_fibonacci_{n}", **common, n_anchors=n, seconds=dt, peak_gib=peak,
                 frac_within_1km_of_coarse_to_fine=float(np.mean(agree < 1.0)),
                 ratio_vs_coarse_to_fine=dt / t_c2f)
    for nside in nsides:
        an = sg.anchors.healpix(nside)
        times = {}
        for how in ("matmul", "rings", "healpy"):
            _, times[how], peak = timed(lambda an=an, how=how: sg.decode(c, anchors=an, method="argmax",
                                                                         refine=False, synthesis=how))
            log.emit("decode", method=f"healpix_argmax_{how}", **common, nside=nside, n_anchors=an.n,
                     seconds=times[how], peak_gib=peak, ratio_vs_matmul=times["matmul"] / times[how])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2048, 100_000, 1_000_000])
    p.add_argument("--nsides", type=int, nargs="+", default=[64, 128])
    add_result_args(p)
    a = p.parse_args()
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        run(log, a.sizes, a.nsides)


if __name__ == "__main__":
    main()
