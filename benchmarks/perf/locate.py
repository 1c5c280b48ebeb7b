"""The main job end to end: ``locate`` speed (warm, cold, batch, busy machine) against the landed code.

Every figure is measured for this tree (``method="new"``) and for the landed
code (``method="base"``, a ``git worktree`` of ``--base``, default commit
1a46c5f) in the same run, in separate processes with ``PYTHONPATH`` set to
each tree, and the ``new`` row carries the ratio ``ratio_vs_base`` (new time
over base time; < 1 is faster):

``locate_warm``
    Per-name wall time of ``Geolocator.locate`` after two warm-up names
    (``s_per_name``), and with the default files written as ``shdd-geo
    locate`` writes them (PNG map, NetCDF, GeoJSON: ``s_per_name_files``).
``locate_cold``
    ``shdd-geo locate Springfield`` in a fresh process (model and gazetteers
    loaded), without files and with the default files: the median of three
    processes.
``locate_busy``
    ``locate_warm`` again while another CPU-bound process
    (``python -c 'while True: pass'``) runs; ``busy_ratio`` is busy time over
    quiet time of the same tree.
``locate_batch``
    ``sg.locate(names)`` + the GeoPackage (``new``; the landed code has no
    batch path: a loop of ``locate`` calls, the 90 % region area and a
    GeoPackage of the modes) on GeoNames names (cities15000, a seeded sample);
    ``names_per_s`` and ``extrapolated_10000_s`` (the time 10,000 names
    would take at that rate, labelled as an extrapolation when fewer names
    ran).
``locate_samples``
    The accuracy/speed curve behind the default sample count: ``locate``'s top
    mode within 25 km of the most populous namesake on the validation names
    (ranks 201-300 of ``benchmarks.accuracy.builtin_tasks.ambiguous_places``,
    never the acceptance ranks 1-200) and CPU seconds per name, for 16/32/64
    samples.

The acceptance checks of issue 5 ride on the ``locate_cold`` row of ``new``:
"Paris" -> top mode within 25 km of Paris, France; "Springfield" -> modes in
both the USA and Australia.

Run: ``python -m benchmarks.perf.locate [--batch-names 200] [--skip-base]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WARM_NAMES = ["Springfield", "San José", "Paris", "Lisbon", "Kyoto", "Portland", "Victoria", "Córdoba",
              "Alexandria", "Cambridge"]


# ----------------------------------------------------------------- workers (run with either tree) ----
def _write_outputs(res: dict, out: Path) -> None:
    """What ``shdd-geo locate --format png,nc,geojson`` writes for one result (either tree's CLI)."""
    import inspect

    from shdd_geo import cli

    args = [res, out, ["png", "nc", "geojson"]]
    if "stem" in inspect.signature(cli._write_outputs).parameters:  # trees since the collision-free names
        args.append(str(res["text"]))
    cli._write_outputs(*args)


def _worker_warm(n: int) -> dict:
    from shdd_geo import pretrained

    geo = pretrained.load("geonames-minilm")
    out = Path(tempfile.mkdtemp())
    for name in ("Dublin", "Lima"):  # warm-up: gazetteers, kernels, plotting
        _write_outputs(geo.locate(name), out)
    plain, files = [], []
    for name in WARM_NAMES[:n]:
        t0 = time.perf_counter()
        res = geo.locate(name)
        res["field"].credible_region(0.9)
        t1 = time.perf_counter()
        _write_outputs(res, out)
        plain.append(t1 - t0)
        files.append(time.perf_counter() - t0)
    return {"s_per_name": sum(plain) / len(plain), "s_per_name_files": sum(files) / len(files), "names": len(plain)}


def _worker_batch(n: int, out: str) -> dict:
    import numpy as np

    from shdd_geo.datasets import load_geonames

    names = load_geonames(15000)["text"].sample(n, random_state=7).tolist()
    t0 = time.perf_counter()
    try:
        from shdd_geo.pretrained.geocode import locate, write_table
    except ImportError:  # the landed code: one locate call per name
        import geopandas as gpd

        from shdd_geo import pretrained

        geo = pretrained.load("geonames-minilm")
        rows = []
        for name in names:
            res = geo.locate(name)
            area = float(res["field"].credible_region(0.9).area_km2)
            rows += [{"query": name, "rank": i + 1, **{k: m[k] for k in ("lat", "lon", "mass", "place")},
                      "area90_km2": area} for i, m in enumerate(res["modes"])]
        frame = gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy([r["lon"] for r in rows],
                                                                   [r["lat"] for r in rows]), crs="EPSG:4326")
        frame.to_file(out, driver="GPKG")
    else:
        frame = locate(names, progress=False)
        write_table(frame, out)
    wall = time.perf_counter() - t0
    return {"names": n, "rows": int(len(frame)), "wall_s": wall, "names_per_s": n / wall,
            "rows_per_name": float(np.round(len(frame) / n, 2))}


def _worker_samples(offset: int, n: int) -> list[dict]:
    import numpy as np

    from benchmarks.accuracy.builtin_tasks import ambiguous_places
    from shdd_geo import pretrained
    from shdd_geo.metrics import great_circle_km

    geo = pretrained.load("geonames-minilm")
    places = ambiguous_places(n, offset=offset)
    geo.locate("Dublin")
    rows = []
    batch = hasattr(geo, "locate_many")
    for k in (16, 32, 64):
        hits, c0 = [], time.process_time()
        texts = [p["text"] for p in places]
        results = (geo.locate_many(texts, n_samples=k, progress=False) if batch
                   else (geo.locate(t, n_samples=k) for t in texts))
        for p, res in zip(places, results):
            top = res["modes"][0]
            hits.append(float(great_circle_km(top["lat"], top["lon"], p["lat"], p["lon"])) <= 25.0)
        rows.append({"n_samples": k, "n": len(places), "acc_25km": float(np.mean(hits)),
                     "cpu_s_per_name": (time.process_time() - c0) / len(places)})
    return rows


# ------------------------------------------------------------------------------- driver ----
def _run(tree: Path, *args: str, timeout: float = 3600) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=tree,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} in {tree} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0, proc.stdout


def _worker(tree: Path, kind: str, *args: str):
    _, out = _run(tree, str(Path(__file__).resolve()), "--worker", kind, *args)
    return json.loads(out.strip().splitlines()[-1])


def _cold(tree: Path, fmt: str, repeats: int = 3) -> tuple[float, dict]:
    """Median wall time of ``repeats`` fresh processes (one run is at the mercy of the page cache and of
    bytecode compiled after an edit), and the last run's answer."""
    walls = []
    for _ in range(repeats):
        wall, stdout = _run(tree, "-m", "shdd_geo.cli", "locate", "Springfield", "--out", tempfile.mkdtemp(),
                            "--json", "--format", fmt)
        walls.append(wall)
    return sorted(walls)[len(walls) // 2], json.loads(stdout[stdout.index("["):])[0]


def _base_tree(commit: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"shdd-geo-base-{commit}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=ROOT, check=True,
                       capture_output=True)
    return path


_TIMES = ("wall_s", "wall_s_files", "s_per_name", "s_per_name_files", "names_per_s")  # compared with base


class _Busy:
    """Another CPU-bound process for the duration of the block."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def run(log, a) -> None:
    from shdd_geo import great_circle_km

    trees = {"new": ROOT}
    if not a.skip_base:
        trees["base"] = _base_tree(a.base)
    rows: dict[str, dict] = {}

    def emit(task: str, key: str, **metrics):
        rows[task + key] = metrics
        base = rows.get(task + "base")
        if key == "new" and base is not None:
            for m in [m for m in metrics if m in _TIMES]:
                if isinstance(base.get(m), float) and base[m] > 0:
                    metrics[f"{m}_ratio_vs_base"] = metrics[m] / base[m]
        log.emit(task, method=key, **metrics)

    order = [k for k in ("base", "new") if k in trees]
    for key in order:
        tree = trees[key]
        nofile, _ = _cold(tree, "" if key == "base" else "none")  # the landed CLI took "" for no files
        wall, rec = _cold(tree, "png,nc,geojson")
        emit("locate_cold", key, wall_s=nofile, wall_s_files=wall, target_s=4.0)
    _, paris = _run(ROOT, "-m", "shdd_geo.cli", "locate", "Paris", "--out", tempfile.mkdtemp(), "--json",
                    "--format", "none", "--k", "8")
    top = json.loads(paris[paris.index("["):])[0]["modes"][0]
    _, spring = _run(ROOT, "-m", "shdd_geo.cli", "locate", "Springfield", "--out", tempfile.mkdtemp(), "--json",
                     "--format", "none", "--k", "8")
    countries = [m["country"] for m in json.loads(spring[spring.index("["):])[0]["modes"]]
    paris_km = float(great_circle_km(top["lat"], top["lon"], 48.8566, 2.3522))
    log.emit("locate_checks", method="new", paris_top_mode_km=paris_km, paris_within_25km=paris_km <= 25.0,
             springfield_countries=countries, springfield_us_and_au="US" in countries and "AU" in countries)

    quiet = {}
    for key in order:
        quiet[key] = _worker(trees[key], "warm", str(a.warm_names))
        emit("locate_warm", key, **quiet[key], target_s_per_name=0.1, target_s_per_name_files=0.3)
    for key in order:
        with _Busy():
            busy = _worker(trees[key], "warm", str(a.warm_names))
        emit("locate_busy", key, **busy, busy_ratio=busy["s_per_name"] / quiet[key]["s_per_name"],
             busy_ratio_files=busy["s_per_name_files"] / quiet[key]["s_per_name_files"], target_busy_ratio=2.0)
    for key in order:
        n = a.batch_names if key == "new" else a.base_batch_names
        res = _worker(trees[key], "batch", str(n), str(Path(tempfile.mkdtemp()) / "locate.gpkg"))
        res["extrapolated_10000_s"] = 10000 / res["names_per_s"]
        res["extrapolated"] = n < 10000
        emit("locate_batch", key, **res, target_names_per_s=33.0)
    if a.samples_names:
        for row in _worker(ROOT, "samples", "200", str(a.samples_names)):
            log.emit("locate_samples", method=f"{row['n_samples']} samples", split="validation", **row)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--base", default="1a46c5f", help="commit of the landed code to compare with")
    p.add_argument("--skip-base", action="store_true", help="measure this tree only")
    p.add_argument("--warm-names", type=int, default=8, help="names timed warm (of %d)" % len(WARM_NAMES))
    p.add_argument("--batch-names", type=int, default=200, help="names of the batch run (new)")
    p.add_argument("--base-batch-names", type=int, default=30, help="names of the batch run (landed code)")
    p.add_argument("--samples-names", type=int, default=100,
                   help="validation names of the 16/32/64-sample curve (0: skip)")
    p.add_argument("--results", default=None, help="append the rows (with run metadata) to this .jsonl file")
    p.add_argument("--tier", default="adhoc", help="tier recorded with the rows (quick, full, adhoc)")
    a = p.parse_args()
    if a.worker:
        here = Path(__file__).resolve().parent
        sys.path[:] = [x for x in sys.path if Path(x or ".").resolve() != here]  # no sibling shadows a module
        kind, *rest = a.worker
        fn = {"warm": lambda: _worker_warm(int(rest[0])), "batch": lambda: _worker_batch(int(rest[0]), rest[1]),
              "samples": lambda: _worker_samples(int(rest[0]), int(rest[1]))}[kind]
        print(json.dumps(fn()))
        return
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import ResultLog

    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        run(log, a)


if __name__ == "__main__":
    main()
