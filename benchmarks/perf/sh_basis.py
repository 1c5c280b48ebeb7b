"""Throughput and accuracy of real spherical harmonics: shdd_geo vs its NumPy path vs sphericart vs scipy.

One row per (method, L, dtype): points/s on ``--points`` seeded random points
(evaluated in blocks of ``BLOCK`` points so memory stays small), max absolute
error against a float64 reference (scipy ``sph_harm_y`` converted to the real
form, on ``N_REF`` points), the addition-theorem error
``max |E(p) . E(u) - K_L(cos g)|`` (convention-free), and
``speed_ratio_vs_<peer>``: shdd_geo's points/s over the peer's, same run.

``shdd_geo`` is what ``sh_basis`` does by default in a batch job (the numba
kernel for large inputs when ``numba`` is installed, the ``[fast]`` extra; a
process loads it once its large calls have produced 5e7 values, so the
warm-up makes such calls first: see :mod:`shdd_geo.sh`); ``shdd_geo_numpy``
is the same call in a child process with ``SHDD_GEO_NUMBA=0`` (what users
without numba get).  ``sphericart`` is measured only when it is installed.

Run: ``python -m benchmarks.perf.sh_basis [--points 100000] [--degrees 15 47]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import ResultLog, add_result_args, random_points

BLOCK, N_REF = 10_000, 1_000


def scipy_real(lat, lon, L):
    """Real SH from scipy's complex ``sph_harm_y`` (see the shdd_geo.sh docstring)."""
    from scipy.special import sph_harm_y

    from shdd_geo.sh import degree_order

    theta, phi = np.radians(90.0 - lat)[:, None], np.radians(lon)[:, None]
    ls, ms = degree_order(L)
    y = sph_harm_y(ls[None, :], np.abs(ms)[None, :], theta, phi)
    sign = np.where(ms % 2 == 0, 1.0, -1.0)
    return np.where(ms == 0, y.real, np.where(ms > 0, np.sqrt(2) * sign * y.real, np.sqrt(2) * sign * y.imag))


def points(n: int):
    lat, lon = random_points(n, np.random.default_rng(0))
    lat[:4] = [90.0, -90.0, 89.9999, -89.9999]
    return lat, lon


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


def _shdd(lat, lon, L, dt):
    from shdd_geo import sh_basis

    return sh_basis(lat, lon, L, dtype=dt)


def _batch_warm_up(L: int, dt) -> None:
    """A batch job's first second: ``BLOCK``-point calls until they have produced the 5e7 values after
    which ``sh_basis`` loads its compiled kernel (interactive calls never load it)."""
    lat, lon = points(BLOCK)
    for _ in range(-(-50_000_000 // (BLOCK * (L + 1) ** 2)) + 1):
        _shdd(lat, lon, L, dt)


def _numpy_child(n: int, L: int, dt) -> tuple[float, int, np.ndarray]:
    """``sh_basis`` throughput and reference-point values with ``SHDD_GEO_NUMBA=0`` (a fresh process)."""
    code = ("import json, sys, numpy as np; from benchmarks.perf.sh_basis import _shdd, points, throughput, N_REF; "
            f"lat, lon = points({n}); r = throughput(_shdd, lat, lon, {L}, np.{np.dtype(dt).name}); "
            f"Y = _shdd(lat[:N_REF], lon[:N_REF], {L}, np.{np.dtype(dt).name}).astype(np.float64); "
            "np.save(sys.stdout.buffer, np.concatenate([[r[0], r[1]], Y.ravel()]))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "SHDD_GEO_NUMBA": "0"},
                         capture_output=True, check=True).stdout
    import io

    arr = np.load(io.BytesIO(out))
    return float(arr[0]), int(arr[1]), arr[2:].reshape(N_REF, (L + 1) ** 2)


def methods():
    import shdd_geo as sg

    out = {"shdd_geo": _shdd, "shdd_geo_numpy": None,
           "scipy": lambda lat, lon, L, dt: scipy_real(lat, lon, L).astype(dt)}
    try:
        import sphericart

        cache = {}

        def sc(lat, lon, L, dt):
            if L not in cache:
                cache[L] = sphericart.SphericalHarmonics(L)
            return cache[L].compute(sg.coords.latlon_to_xyz(lat, lon).astype(dt))

        out["sphericart"] = sc
    except ImportError:  # sphericart is only a benchmark peer
        pass
    return out


def run(log, n_points: int, degrees, scipy_points: int) -> None:
    import shdd_geo as sg

    lat, lon = points(n_points)
    rl, rn = lat[:N_REF], lon[:N_REF]
    cos = sg.coords.latlon_to_xyz(rl[:200], rn[:200]) @ sg.coords.latlon_to_xyz(rl[200:400], rn[200:400]).T
    for L in degrees:
        ref, kernel = scipy_real(rl, rn, L), sg.sh.zonal_kernel(cos, L)
        for dt in (np.float32, np.float64):
            rows = {}
            for name, fn in methods().items():
                n = scipy_points if name == "scipy" else n_points
                if fn is None:
                    pts_s, done, Y = _numpy_child(n, L, dt)
                else:
                    if name == "shdd_geo":
                        _batch_warm_up(L, dt)
                    pts_s, done = throughput(fn, lat[:n], lon[:n], L, dt, repeat=1 if name == "scipy" else 3)
                    Y = np.asarray(fn(rl, rn, L, dt), dtype=np.float64)
                finite = bool(np.all(np.isfinite(Y)))
                rows[name] = {"L": L, "dtype": np.dtype(dt).name, "points": done, "points_per_s": pts_s,
                              "max_abs_err_vs_scipy_f64": float(np.max(np.abs(Y - ref))) if finite else None,
                              "addition_theorem_err": float(np.max(np.abs(Y[:200] @ Y[200:400].T - kernel))),
                              "finite": finite}
            ours = rows["shdd_geo"]["points_per_s"]
            for peer, r in rows.items():
                if peer != "shdd_geo":
                    rows["shdd_geo"][f"speed_ratio_vs_{peer}"] = ours / r["points_per_s"]
            for name, r in rows.items():
                log.emit("sh_basis", method=name, **r)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100_000)
    p.add_argument("--scipy-points", type=int, default=20_000)
    p.add_argument("--degrees", type=int, nargs="+", default=[15, 31, 47, 63, 100])
    add_result_args(p)
    a = p.parse_args()
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        run(log, a.points, a.degrees, a.scipy_points)


if __name__ == "__main__":
    main()
