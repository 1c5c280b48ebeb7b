"""Throughput and accuracy of real spherical harmonics: shdd_geo vs sphericart vs scipy.

Prints one JSON line per (method, L, dtype): points/s on ``N_POINTS`` seeded
random points (evaluated in blocks of ``BLOCK`` points so memory stays small),
max absolute error against a float64 reference (scipy ``sph_harm_y`` converted
to the real form, on ``N_REF`` points), the addition-theorem error
``max |E(p) . E(u) - K_L(cos g)|`` (convention-free), and the speed ratio of
shdd_geo to each peer measured in the same run.

``shdd_geo`` is what ``sh_basis`` does by default (the numba kernel for
large inputs when ``numba`` is installed, the ``[fast]`` extra);
``shdd_geo_numpy`` is its NumPy path (users without numba).

Run: ``python benchmarks/bench_sh_encode.py [--points 100000]``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from shdd_geo.coords import latlon_to_xyz
from shdd_geo.sh import degree_order, sh_basis, zonal_kernel

BLOCK, N_REF = 10_000, 1_000


def scipy_real(lat, lon, L):
    """Real SH from scipy's complex ``sph_harm_y`` (see the shdd_geo.sh docstring)."""
    from scipy.special import sph_harm_y

    theta, phi = np.radians(90.0 - lat)[:, None], np.radians(lon)[:, None]
    ls, ms = degree_order(L)
    y = sph_harm_y(ls[None, :], np.abs(ms)[None, :], theta, phi)
    sign = np.where(ms % 2 == 0, 1.0, -1.0)
    return np.where(ms == 0, y.real, np.where(ms > 0, np.sqrt(2) * sign * y.real, np.sqrt(2) * sign * y.imag))


def numpy_path(lat, lon, L, dt):
    """shdd_geo without its compiled kernel (what users without numba get)."""
    from shdd_geo import sh

    old, sh._COMPILED_MIN_SIZE = sh._COMPILED_MIN_SIZE, float("inf")
    try:
        return sh_basis(lat, lon, L, dtype=dt)
    finally:
        sh._COMPILED_MIN_SIZE = old


def methods():
    out = {
        "shdd_geo": lambda lat, lon, L, dt: sh_basis(lat, lon, L, dtype=dt),
        "shdd_geo_numpy": numpy_path,
        "scipy": lambda lat, lon, L, dt: scipy_real(lat, lon, L).astype(dt),
    }
    try:
        import sphericart

        cache = {}

        def sc(lat, lon, L, dt):
            if L not in cache:
                cache[L] = sphericart.SphericalHarmonics(L)
            return cache[L].compute(latlon_to_xyz(lat, lon).astype(dt))

        out["sphericart"] = sc
    except ImportError:  # pragma: no cover - sphericart is only a benchmark peer
        pass
    return out


def throughput(fn, lat, lon, L, dt, budget_s=20.0, repeat=3):
    """Best points/s of ``repeat`` passes over whole blocks, after one warm-up block
    (compilation, caches); a pass stops after ``budget_s`` (scipy is slow at high L)."""
    fn(lat[:BLOCK], lon[:BLOCK], L, dt)
    best, done = 0.0, 0
    for _ in range(repeat):
        t0, done = time.perf_counter(), 0
        for lo in range(0, lat.size, BLOCK):
            fn(lat[lo : lo + BLOCK], lon[lo : lo + BLOCK], L, dt)
            done += min(BLOCK, lat.size - lo)
            if time.perf_counter() - t0 > budget_s:
                break
        best = max(best, done / (time.perf_counter() - t0))
    return best, done


def main(n_points: int, degrees, scipy_points: int):
    rng = np.random.default_rng(0)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n_points)))
    lon = rng.uniform(-180, 180, n_points)
    lat[:4] = [90.0, -90.0, 89.9999, -89.9999]
    rl, rn = lat[:N_REF], lon[:N_REF]
    cos = latlon_to_xyz(rl[:200], rn[:200]) @ latlon_to_xyz(rl[200:400], rn[200:400]).T
    for L in degrees:
        ref = scipy_real(rl, rn, L)
        kernel = zonal_kernel(cos, L)
        speed = {}
        for dt in (np.float32, np.float64):
            for name, fn in methods().items():
                n = scipy_points if name == "scipy" else n_points
                pts_s, done = throughput(fn, lat[:n], lon[:n], L, dt, repeat=1 if name == "scipy" else 3)
                Y = np.asarray(fn(rl, rn, L, dt), dtype=np.float64)
                err = float(np.nanmax(np.abs(Y - ref))) if np.all(np.isfinite(Y)) else float("inf")
                add = float(np.max(np.abs(Y[:200] @ Y[200:400].T - kernel)))
                speed[name] = pts_s
                row = {"bench": "sh_encode", "method": name, "L": L, "dtype": np.dtype(dt).name,
                       "points": done, "points_per_s": round(pts_s), "max_abs_err_vs_scipy_f64": err,
                       "addition_theorem_err": add, "finite": bool(np.all(np.isfinite(Y)))}
                print(json.dumps(row), flush=True)
            for peer in [k for k in speed if k != "shdd_geo"]:
                if True:
                    print(json.dumps({"bench": "sh_encode", "ratio": f"shdd_geo/{peer}", "L": L,
                                      "dtype": np.dtype(dt).name, "speed_ratio": round(speed["shdd_geo"] / speed[peer], 3)}),
                          flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100_000)
    p.add_argument("--scipy-points", type=int, default=20_000)
    p.add_argument("--degrees", type=int, nargs="+", default=[15, 31, 47, 63, 100])
    a = p.parse_args()
    main(a.points, a.degrees, a.scipy_points)
