"""Benchmark SphericalField: SHDD synthesis, credible regions, GeoJSON, memory.

Prints one JSON line per case.  Comparisons are ratios measured in the same
run: healpy ``alm2map`` (batched call and per-field loop) against the direct
matmul ``coeffs @ sh_basis(pixels).T`` (the brute-force twin).

    python -m benchmarks.perf.field            # nside 32, 64, 128
    python -m benchmarks.perf.field --quick    # nside 32 only, B = 64

healpy's transforms use OpenMP; on a loaded machine set ``OMP_NUM_THREADS``
(see docs/notes/field.md for why it matters).
"""

from __future__ import annotations

import argparse
import json
import tracemalloc

import numpy as np

from benchmarks.common import ResultLog, add_result_args, random_points
from benchmarks.common import best_time as timed
from shdd_geo import SphericalField, encode
from shdd_geo.coords import latlon_to_xyz
from shdd_geo.sh import real_to_alm, sh_basis

LOG: ResultLog | None = None  # set by main()


def emit(case: str, **kw) -> None:
    LOG.emit("field", method=case, **kw)


def coefficients(B: int, L: int, rng) -> np.ndarray:
    lat, lon = random_points(B, rng)
    return encode(lat, lon, L) + 0.05 * rng.normal(size=(B, (L + 1) ** 2))


def bench_synthesis(c: np.ndarray, nside: int, L: int, with_direct: bool) -> None:
    import healpy as hp

    alm = real_to_alm(c)
    t_batch, _ = timed(lambda: hp.alm2map(alm, nside, lmax=L, mmax=L, pol=False), repeat=3)
    t_loop, _ = timed(lambda: [hp.alm2map(a, nside, lmax=L, mmax=L) for a in alm], repeat=3)
    t_field, f = timed(lambda: SphericalField.from_shdd(c, nside=nside, normalize=False), repeat=3)
    t_norm, _ = timed(lambda: f.normalize(), repeat=3)
    row = {"case": "synthesis", "B": c.shape[0], "L": L, "nside": nside, "healpy_batch_call_s": t_batch,
           "healpy_loop_s": t_loop, "batch_call_over_loop": t_batch / t_loop,
           "from_shdd_s": t_field, "normalize_s": t_norm}
    if with_direct:
        t_direct, d = timed(lambda: SphericalField.from_shdd(c, nside=nside, normalize=False, method="direct"))
        t_basis, _ = timed(lambda: sh_basis(f.lat[:4096], f.lon[:4096], L))
        row.update(direct_s=t_direct, direct_basis_share=t_basis * f.npix / 4096 / t_direct,
                   direct_over_from_shdd=t_direct / t_field,
                   max_abs_diff=float(np.abs(d.log_density - f.log_density).max()))
    emit(**row)


def bench_memory(c: np.ndarray, nside: int) -> None:
    tracemalloc.start()
    field = SphericalField.from_shdd(c, nside=nside)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    emit(case="memory", B=c.shape[0], nside=nside, values_mib=field.log_density.nbytes / 2**20,
         peak_during_from_shdd_mib=peak / 2**20, peak_over_values=peak / field.log_density.nbytes)


def bench_regions(c: np.ndarray, nside: int) -> None:
    field = SphericalField.from_shdd(c, nside=nside)
    t_batch, _ = timed(lambda: field.credible_region(0.9), repeat=2)
    t_loop, _ = timed(lambda: [field[i].credible_region(0.9) for i in range(min(len(field), 64))])
    per_loop = t_loop / min(len(field), 64)
    emit(case="credible_region", B=len(field), nside=nside, level=0.9, batch_s=t_batch,
         per_field_batched_ms=1e3 * t_batch / len(field), per_field_single_ms=1e3 * per_loop,
         single_over_batched=per_loop / (t_batch / len(field)))


def vmf_log_density(lat0: float, lon0: float, kappa: float):
    mu = latlon_to_xyz(lat0, lon0)
    return lambda lat, lon: kappa * (latlon_to_xyz(lat, lon) @ mu)


def bench_geojson(c: np.ndarray, nside: int) -> None:
    peaked = SphericalField.from_shdd(c[0], nside=nside)
    cases = [("shdd_L47", peaked)] + [
        (f"vmf_kappa{k:g}", SphericalField.from_function(vmf_log_density(60.0, 170.0, k), nside=nside))
        for k in (1000.0, 50.0, 3.0)
    ]
    for label, f in cases:
        t, gj = timed(lambda f=f: f.to_geojson(levels=(0.5, 0.9), modes=3), repeat=2)
        n_pix = int(f.credible_region(0.9).n_pixels)
        n_chars = sum(len(json.dumps(ft["geometry"])) for ft in gj["features"])
        t_mask, _ = timed(lambda f=f: f.credible_region(0.9), repeat=2)
        emit(case="geojson", field=label, nside=nside, levels=[0.5, 0.9], region_pixels_0_9=n_pix,
             seconds=t, geometry_json_chars=n_chars, credible_region_s=t_mask, over_region_mask=t / t_mask)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--no-direct-128", action="store_true", help="skip the slow direct matmul at nside 128")
    ap.add_argument("--only", nargs="+", choices=["synthesis", "memory", "regions", "geojson"],
                    default=["synthesis", "memory", "regions", "geojson"], help="cases to run")
    add_result_args(ap)
    args = ap.parse_args()
    global LOG
    with ResultLog(args.results, tier=args.tier, seed=0) as LOG:
        run(args)


def run(args) -> None:
    rng = np.random.default_rng(0)
    L = 47
    B = 64 if args.quick else 512
    c = coefficients(B, L, rng)
    if "synthesis" in args.only:
        for nside in (32,) if args.quick else (32, 64, 128):
            bench_synthesis(c, nside, L, with_direct=not (args.no_direct_128 and nside == 128))
    nside = 32 if args.quick else 64
    if "memory" in args.only:
        bench_memory(c, nside)
    if "regions" in args.only:
        bench_regions(c, nside)
    if "geojson" in args.only:
        bench_geojson(c, nside)


if __name__ == "__main__":
    main()
