"""Helpers shared by every benchmark script: result records, timing, data, methods.

This is the one module that scripts of ``benchmarks/`` import from each other;
no script imports another script.  It uses only public names of ``shdd_geo``.

Result records
    :class:`ResultLog` prints one JSON line per case (as every benchmark
    script always did) and, given a path, appends the same rows to a
    ``benchmarks/results/<job>-<tier>.jsonl`` file, each wrapped with the run's
    metadata (:func:`run_metadata`): git sha, machine, seed, command,
    timestamp, load average at start and end.
Data
    :func:`load_names`, :func:`load_tiles`, :func:`make_split`,
    :func:`test_rows`: the GeoNames names task and the Blue Marble tiles task
    with the same splits and test rows everywhere.
Methods
    :func:`method_factories` holds the settings of every compared method (the
    one place they live); :func:`fit_method` fits one the same way everywhere.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
TILE_SIZE, FOV_DEG = 128, 10.0  # Blue Marble tiles: pixels, field of view [deg]
BASELINE_ARGS = argparse.Namespace(epochs=10)  # the torch baselines' epochs (paper-scale runs)


# -- result records ------------------------------------------------------------------------


def git_sha() -> tuple[str, bool]:
    """``(sha, dirty)`` of the working tree (``("unknown", True)`` outside git)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "shdd_geo"],
                                    cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True
    return sha, dirty


def machine_info() -> dict:
    """What the figures were measured on (CPU count, platform, library versions)."""
    import shdd_geo

    info = {"cpu_count": os.cpu_count(), "platform": platform.platform(terse=True),
            "processor": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "shdd_geo": shdd_geo.__version__,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset")}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:  # pragma: no cover - torch is a hard dependency of the model
        pass
    return info


def run_metadata(seed: int | None, argv: list[str] | None = None) -> dict:
    """The fields every record of one run shares (load average at the start)."""
    sha, dirty = git_sha()
    argv = sys.argv if argv is None else argv
    module = sys.modules["__main__"].__spec__
    name = module.name.removesuffix(".__main__") if module is not None else None
    prog = ["python", "-m", name] if name else ["python", argv[0]]
    return {"run_id": uuid.uuid4().hex[:12],
            "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "git_sha": sha, "git_dirty": dirty, "seed": seed,
            "command": " ".join(prog + list(argv[1:])), "machine": machine_info(),
            "load_avg_start": [round(x, 2) for x in os.getloadavg()]}


class ResultLog:
    """Print result rows as JSON lines; with ``path``, append them with the run's metadata.

    Use as a context manager: rows are written (atomically, the whole file
    rewritten through a temporary file) when the block ends, together with
    the load average at the end, so a crashed run leaves the file as it was.
    """

    def __init__(self, path: str | Path | None, *, tier: str = "adhoc", seed: int | None = 0):
        self.path = None if path is None else Path(path)
        self.meta = {"tier": tier, **run_metadata(seed)}
        self.rows: list[dict] = []

    def emit(self, task: str, *, method: str | None = None, split: str | None = None, **metrics) -> dict:
        row = {"task": task, "method": method, "split": split, "metrics": round_floats(metrics)}
        print(json.dumps(row), flush=True)
        self.rows.append(row)
        return row

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.write()

    def write(self) -> None:
        if self.path is None or not self.rows:
            return
        end = {"load_avg_end": [round(x, 2) for x in os.getloadavg()]}
        lines = [json.dumps({**self.meta, **end, **row}, sort_keys=True) for row in self.rows]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = self.path.read_text() if self.path.exists() else ""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(old + "".join(line + "\n" for line in lines))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)


def add_result_args(p: argparse.ArgumentParser) -> None:
    """``--results FILE`` and ``--tier NAME``: where :class:`ResultLog` appends the rows."""
    p.add_argument("--results", default=None, help="append the rows (with run metadata) to this .jsonl file")
    p.add_argument("--tier", default="adhoc", help="tier recorded with the rows (quick, full, adhoc)")


def conformal_recipe_args(description: str, *, n: int, n_help: str, nside: int, samples: int) -> argparse.Namespace:
    """Parsed options of the built-in models' conformal recipes (``--n``, ``--nside``, ``--samples``,
    ``--threads``, ``--cache-dir``, ``--write`` and the result options); torch set to ``--threads``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--n", type=int, default=n, help=n_help)
    ap.add_argument("--nside", type=int, default=nside)
    ap.add_argument("--samples", type=int, default=samples)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--write", action="store_true", help="save the levels into the shipped model file")
    add_result_args(ap)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    return a


def emit_conformal_rows(log, task: str, method: str, split: str, levels, fields, lat, lon, **extra) -> None:
    """One row per level of 50/80/90/95 %: coverage and mean area [M km²] of the regions as drawn, raw and
    cut at the nominal levels of ``levels`` (a :class:`shdd_geo.calibration.ConformalLevels`)."""
    from shdd_geo.calibration import DEFAULT_LEVELS, reliability

    r = reliability(levels.apply(fields), lat, lon, DEFAULT_LEVELS)
    for j, lv in enumerate(DEFAULT_LEVELS):
        log.emit(task, method=method, split=split, level=lv, n=r["n"], n_calibration=levels.n,
                 nominal=levels.nominal(lv), coverage_raw=r["coverage_raw"][j],
                 area_Mkm2_raw=r["area_km2_raw"][j] / 1e6, coverage=r["coverage"][j],
                 area_Mkm2=r["area_km2"][j] / 1e6, **extra)


def finish_conformal_recipe(a, t0: float, geo, levels, split: str, fields, lat, lon) -> None:
    """Rows of task ``conformal`` for built-in pipeline ``geo`` (see :func:`emit_conformal_rows`), the levels
    written into its shipped model file with ``--write``, and a JSON line with the seconds taken."""
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        emit_conformal_rows(log, "conformal", geo.card.name, split, levels, fields, lat, lon,
                            nside=int(a.nside), n_samples=int(a.samples))
    out = {"seconds": round(time.time() - t0, 1)}
    if a.write:
        from shdd_geo import pretrained

        geo.model.conformal_ = levels
        path = Path(pretrained.__file__).resolve().parent.parent / "data" / "models" / geo.card.weights
        geo.model.save(path, half=True)
        out["written"] = str(path)
    print(json.dumps(out), flush=True)


def read_results(path: str | Path) -> list[dict]:
    """Every record of a ``.jsonl`` result file, in file order."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def round_floats(v, digits: int = 4):
    """``v`` with every float rounded to ``digits`` significant decimals (for JSON)."""
    if isinstance(v, dict):
        return {str(k): round_floats(x, digits) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [round_floats(x, digits) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not np.isfinite(v):  # strict JSON has no inf/nan
            return str(v)
        return v if v == 0 else float(f"{v:.{digits}g}") if abs(v) < 1 else round(v, digits)
    return v


def best_time(fn, repeat: int = 1):
    """Best wall time over ``repeat`` calls [s], and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# -- data ------------------------------------------------------------------------------------


def random_points(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform on the sphere: ``(lat, lon)`` [deg]."""
    return np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)


def load_names(size: int):
    """GeoNames names task: ``(table, X float32 MiniLM embeddings, lat, lon)``."""
    from shdd_geo.datasets import embed_table, load_geonames

    table = load_geonames(size)
    X = np.asarray(embed_table(table, progress=False), dtype=np.float32)
    return table, X, table.lat.to_numpy(), table.lon.to_numpy()


def load_tiles(n_tiles: int, cache_dir=None, progress: bool = False):
    """Blue Marble tiles task: EfficientNet-lite0 embeddings (float32), lat, lon (cached in ``cache_dir``)."""
    import shdd_geo as sg
    from shdd_geo.encoders import EfficientNetLite0Encoder

    enc = EfficientNetLite0Encoder(device="cpu", image_size=TILE_SIZE, crop_fraction=1.0)
    ds = sg.bluemarble.embed_tiles(n_tiles, rng=0, size=TILE_SIZE, fov_deg=FOV_DEG, encoder=enc,
                                   cache_dir=cache_dir, progress=progress, batch_size=64)
    return np.asarray(ds.embeddings, dtype=np.float32), np.asarray(ds.lat), np.asarray(ds.lon)


def make_split(kind: str, lat, lon, table=None):
    """``random`` (grouped by ``geonameid`` when ``table`` is given) or ``spatial`` (HEALPix nside-4 cells)."""
    from shdd_geo.datasets import random_split, spatial_split

    if kind == "random":
        return random_split(table, seed=0, groups="geonameid") if table is not None else random_split(len(lat), seed=0)
    if kind == "spatial":
        return spatial_split(lat, lon, nside=4, seed=0)
    raise ValueError(f"`split` must be 'random' or 'spatial', got {kind!r}")


def test_rows(split, n_test: int, seed: int = 0) -> np.ndarray:
    """A seeded sorted subset of ``split.test`` (the same rows for every method and script)."""
    test = np.asarray(split.test)
    return np.sort(np.random.default_rng(seed).choice(test, size=min(n_test, len(test)), replace=False))


def load_task_data(data: str, *, size: int = 15000, split: str = "random", n_tiles: int = 12000, cache_dir=None):
    """``(table or None, X, lat, lon, split)`` of the names (``geonames``) or tiles (``bluemarble``) task."""
    if data == "geonames":
        table, X, lat, lon = load_names(size)
        return table, X, lat, lon, make_split(split, lat, lon, table)
    X, lat, lon = load_tiles(n_tiles, cache_dir)
    return None, X, lat, lon, make_split(split, lat, lon)


# -- methods and scores ------------------------------------------------------------------------


#: Methods that need others fitted first (the hybrids: a LocDiffusion and a retriever).
NEEDS = {"hybrid_knn": ("knn_top1", "locdiffusion"), "hybrid_default": ("locdiffusion_default", "knn_top1")}


def fit_order(methods: list[str]) -> list[str]:
    """``methods`` plus what the hybrids need, in fitting order (hybrids last)."""
    need = list(methods)
    for m in methods:
        need += [d for d in NEEDS.get(m, ()) if d not in need]
    return sorted(dict.fromkeys(need), key=lambda m: (m.startswith("hybrid"), need.index(m)))


_RUN = {"random_state": 0, "verbose": False, "device": "cpu"}  # how a run is made, not a setting


def method_factories(a, fitted: dict) -> dict:
    """Constructors of every compared method, by name (the one place their settings live).

    ``a`` needs ``epochs`` (torch baselines) and, for LocDiffusion, ``L``, ``lr``
    and ``steps``; constructors run only when called.  The hybrid takes the
    already fitted ``fitted["locdiffusion"]`` and ``fitted["knn_top1"]``; an optional
    ``a.sample_kwargs`` (e.g. ``{"sampler": "ddpm", "steps": 100}``) goes to its sampler.
    """
    import shdd_geo as sg
    from shdd_geo.baselines import CellClassifier, GeoCLIPRetrieval, KNNRetrieval, KNNVote, UnitVectorRegression

    tk = {"epochs": a.epochs, "batch_size": 256, "random_state": 0}
    ld = {"L": getattr(a, "L", 23), "lr": getattr(a, "lr", 1e-4), "warmup_steps": min(200, getattr(a, "steps", 3000) // 4),
          "decay_steps": max(1, getattr(a, "steps", 3000) - 200), "batch_size": 512, "random_state": 0,
          "verbose": False, "device": "cpu"}
    out = {
        "knn_top1": lambda: KNNRetrieval(k=1),
        "knn_mode_k10": lambda: KNNRetrieval(k=10, aggregate="mode", mode_radius_km=200.0),
        "knn_vote": lambda: KNNVote(),  # its defaults: 32 neighbours, temperature 0.05, 500 km
        "geoclip_style": lambda: GeoCLIPRetrieval(hidden=(256,), dim=128, n_fourier=128, queue_size=1024,
                                                  gps_noise_km=5.0, lr=1e-3, **tk),
        "cells_nside16": lambda: CellClassifier(nside=16, hidden=(512,), lr=1e-3, **tk),
        "regression": lambda: UnitVectorRegression(hidden=(512, 512), lr=1e-3, **tk),
        "locdiffusion": lambda: sg.LocDiffusion(**ld),
        # what a user gets with no arguments (and the same without retrieval conditioning)
        "locdiffusion_default": lambda: sg.LocDiffusion(**_RUN),
        "locdiffusion_noretrieval": lambda: sg.LocDiffusion(retrieval_k=0, **_RUN),
        "locdiffusion_paper": lambda: sg.LocDiffusion.paper(**_RUN),
        "hybrid_default": lambda: sg.RetrievalHybrid(fitted["locdiffusion_default"], fitted["knn_top1"],
                                                     radius_km=200.0, n_samples=16, sample_kwargs={"generator": 0}),
        "hybrid_knn": lambda: sg.RetrievalHybrid(fitted["locdiffusion"], fitted["knn_top1"], radius_km=200.0,
                                                 n_samples=16,
                                                 sample_kwargs={"generator": 0, **getattr(a, "sample_kwargs", {})}),
    }
    for loss in ("l1", "l2", "cosine"):  # paper Table 7: the same LocDiffusion with another loss
        out[f"locdiffusion_{loss}"] = lambda loss=loss: sg.LocDiffusion(**ld, loss=loss)
    return out


def fit_method(name: str, est, X, lat, lon, a):
    """Fit ``est`` (made by :func:`method_factories`) on the rows given; LocDiffusion for ``a.steps`` steps."""
    if name.startswith("locdiffusion"):
        epochs = max(1, int(np.ceil(a.steps * 512 / len(X))))
        return est.fit(X, lat, lon, epochs=epochs, max_steps=a.steps)
    if name.startswith("hybrid"):
        return est
    return est.fit(X, lat, lon)


def point_metrics(lat_hat, lon_hat, lat, lon) -> dict:
    """Accuracy within 1/25/200/750/2500 km, median error, GeoScore (rounded)."""
    from shdd_geo.metrics import summarize

    return {k: round(float(v), 4) for k, v in summarize(lat_hat, lon_hat, lat, lon).items()}


def decode_samples(coeffs, **decode_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Decode samples ``(B, K, D)`` to ``(lat, lon)`` of shape ``(B, K)``."""
    from shdd_geo.decoding import decode

    B, K, D = coeffs.shape
    lat, lon = decode(np.asarray(coeffs, dtype=np.float64).reshape(B * K, D), **decode_kwargs)
    return np.asarray(lat).reshape(B, K), np.asarray(lon).reshape(B, K)


def point_answers(coeffs, slat, slon) -> dict:
    """Point answers from decoded samples ``(B, K)``: the densest sample and the samples' centre."""
    from shdd_geo.metrics import geographic_centre
    from shdd_geo.model import densest_sample

    best, idx = densest_sample(coeffs, slat, slon), np.arange(len(slat))
    return {"mode": (slat[idx, best], slon[idx, best]), "centre": geographic_centre(slat, slon)}


def score_answers(answers: dict, lat, lon) -> dict:
    """:func:`point_metrics` of each answer of :func:`point_answers`."""
    return {k: point_metrics(*v, lat, lon) for k, v in answers.items()}


def add_denoiser_options(ap: argparse.ArgumentParser) -> None:
    """``--prediction``, ``--omega-0``, ``--timestep-power``: the LocDiffusion options beyond the paper."""
    ap.add_argument("--prediction", default="sample", choices=("sample", "v"),
                    help="what the CS-UNet outputs: x0 (paper) or the velocity v (see docs/method.rst)")
    ap.add_argument("--omega-0", type=float, default=30.0, help="SIREN frequency factor of the CS-UNet")
    ap.add_argument("--timestep-power", type=float, default=1.0,
                    help="training timesteps with density ~ t**(p-1) (LocDiffusion.timestep_power)")


def calibrate_and_save(model, X, lat, lon, va, te, path, *, nside=32, min_coverage=None, temperatures=None):
    """Calibrate ``model``'s temperature on rows ``va``, save it as float16, print its test-row metrics.

    ``temperatures=None`` uses :meth:`LocDiffusion.calibrate`'s grid.
    """
    from shdd_geo.evaluation import evaluate_predictor

    grid = {} if temperatures is None else {"temperatures": temperatures}
    model.calibrate(X[va], lat[va], lon[va], nside=nside, n_samples=16, generator=0, min_coverage=min_coverage,
                    **grid)
    model.save(path, half=True)
    res = evaluate_predictor(model, X[te], lat[te], lon[te], fields=True, nside=nside,
                             predict_kwargs={"n_samples": 16, "point": "mode", "generator": 0},
                             field_kwargs={"n_samples": 16, "generator": 0})
    row = {"split": "random", "method": "locdiffusion_calibrated", "path": str(path),
           "temperature": float(model.temperature_), "min_coverage": min_coverage,
           "calibration": {str(k): round(v, 4) for k, v in model.calibration_.items()},
           "calibration_coverage_0.9": {str(k): round(v, 4) for k, v in model.calibration_coverage_.items()},
           **{k: round(float(v), 4) for k, v in res.items()}}
    print(json.dumps(row), flush=True)
    return row
