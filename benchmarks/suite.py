"""The benchmark suite: every job with its quick-tier and full-tier arguments.

A job is one script run (a module of ``benchmarks.perf`` or the accuracy
runner with one task); its rows go to ``benchmarks/results/<job>-<tier>.jsonl``.
The quick tier uses small seeded data and short trainings (minutes in all on
two cores); the full tier holds the paper-scale runs (hours).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import RESULTS_DIR, ROOT, read_results

__all__ = ["JOBS", "TIERS", "Job", "latest_run", "result_path", "run_job"]

TIERS = ("quick", "full")
_ACC = "benchmarks.accuracy"


@dataclass(frozen=True)
class Job:
    name: str  # result file stem
    kind: str  # "perf" or "accuracy"
    module: str  # what ``python -m`` runs
    quick: tuple[str, ...]  # arguments of the quick tier
    full: tuple[str, ...]  # arguments of the full tier
    title: str
    note: str  # docs/notes/ file with the last study figures

    def args(self, tier: str) -> tuple[str, ...]:
        if tier not in TIERS:
            raise ValueError(f"`tier` must be one of {TIERS}, got {tier!r}")
        return self.quick if tier == "quick" else self.full

    def command(self, tier: str) -> str:
        """The command line that writes this job's result file for ``tier``."""
        out = result_path(self.name, tier).relative_to(ROOT)
        return " ".join(["python", "-m", self.module, *self.args(tier), "--tier", tier, "--results", str(out)])


_NAMES_METHODS = "knn_top1,knn_mode_k10,knn_vote,geoclip_style,cells_nside16,regression,locdiffusion,hybrid_knn"
_TILE_METHODS = "knn_top1,knn_vote,geoclip_style,cells_nside16,regression,locdiffusion,hybrid_knn"

JOBS: tuple[Job, ...] = (
    Job("names", "accuracy", _ACC,
        ("--task", "names", "--size", "15000", "--n-train", "4000", "--n-test", "150", "--steps", "150",
         "--epochs", "3", "--methods", _NAMES_METHODS, "--anchor-sizes", "21000,100000"),
        ("--task", "names", "--size", "15000", "--n-test", "100000", "--steps", "10000", "--epochs", "10",
         "--methods", _NAMES_METHODS + ",locdiffusion_l1,locdiffusion_l2,locdiffusion_cosine",
         "--anchor-sizes", "21000,100000,500000,1000000", "--threads", "2"),
        "Place names to locations (GeoNames cities15000, MiniLM embeddings)", "geonames-table1-studies.md"),
    Job("names_cities1000", "accuracy", _ACC,
        (),
        ("--task", "names", "--size", "1000", "--n-test", "2000", "--steps", "20000", "--epochs", "10",
         "--methods", _NAMES_METHODS, "--threads", "2"),
        "Place names to locations (GeoNames cities1000)", "builtin-model.md"),
    Job("bluemarble", "accuracy", _ACC,
        ("--task", "bluemarble", "--n-tiles", "600", "--n-test", "80", "--steps", "100", "--epochs", "3",
         "--methods", _TILE_METHODS),
        ("--task", "bluemarble", "--n-tiles", "12000", "--n-test", "1000", "--steps", "10000", "--epochs", "10",
         "--methods", _TILE_METHODS, "--anchor-sizes", "21000,100000,1000000", "--threads", "2"),
        "Image tiles to locations (Blue Marble, EfficientNet-lite0 embeddings)", "bluemarble.md"),
    Job("toponyms", "accuracy", _ACC,
        ("--task", "toponyms", "--n", "30", "--threads", "2"),
        ("--task", "toponyms", "--n", "200", "--threads", "2"),
        "Ambiguous place names: is the top answer the most populous namesake? (built-in model)", "locate.md"),
    Job("conformal", "accuracy", "benchmarks.recipes.calibrate_geonames_conformal",
        (),
        ("--n", "800", "--nside", "64", "--samples", "32", "--threads", "2"),
        "Credible regions of the built-in model: raw and conformal (held-out places)", "builtin-model.md"),
    Job("vs_retrieval", "accuracy", _ACC,
        (),
        ("--task", "vs_retrieval", "--size", "1000", "--splits", "random,spatial", "--n-test", "3000",
         "--n-val", "1000", "--steps", "2500", "--epochs", "3", "--threads", "2",
         "--model-dir", "~/.cache/shdd_geo/benchmark-models"),
        "LocDiffusion (defaults, retrieval-conditioned) against the k-NN vote and the baselines (cities1000 names)",
        "retrieval-conditioning-2026-12.md"),
    Job("conformal_bluemarble", "accuracy", "benchmarks.recipes.calibrate_bluemarble_conformal",
        (),
        ("--n", "300", "--nside", "64", "--samples", "32", "--threads", "2"),
        "Credible regions of the built-in Blue Marble model: raw and conformal (held-out tiles)",
        "calibration-2026-12.md"),
    Job("calibration_splits", "accuracy", "benchmarks.recipes.calibration_splits",
        (),
        ("--n", "600", "--nside", "32", "--samples", "32", "--epochs", "3", "--threads", "2"),
        "Conformal credible regions on the random and the spatial split (LocDiffusion, k-NN, cells)",
        "calibration-2026-12.md"),
    Job("drift", "accuracy", _ACC,
        ("--task", "drift", "--n", "500", "--degrees", "15", "23", "31", "47"),
        ("--task", "drift", "--n", "2000", "--degrees", "15", "23", "31", "47"),
        "Decoding drift under N(0, 0.01) noise (paper Table 6)", "sh-and-decoding.md"),
    Job("resolution", "accuracy", _ACC,
        ("--task", "resolution", "--n", "100", "--degrees", "5", "15", "23", "47", "100"),
        ("--task", "resolution", "--n", "300", "--degrees", "5", "10", "15", "23", "31", "47", "63", "100", "150"),
        "Decoding resolution vs L (paper A.3)", "sh-and-decoding.md"),
    Job("sh_basis", "perf", "benchmarks.perf.sh_basis",
        ("--points", "20000", "--scipy-points", "2000", "--degrees", "15", "47"),
        ("--points", "100000", "--degrees", "15", "31", "47", "63", "100"),
        "Real spherical harmonics: points/s", "sh-and-decoding.md"),
    Job("decode", "perf", "benchmarks.perf.decode",
        ("--sizes", "2048", "100000", "--nsides", "32"),
        ("--sizes", "2048", "100000", "1000000", "--nsides", "64", "128"),
        "Decoding a batch of 512 at L = 47", "sh-and-decoding.md"),
    Job("field", "perf", "benchmarks.perf.field", ("--quick",), (),
        "SphericalField: synthesis, memory, credible regions, GeoJSON", "field.md"),
    Job("sample", "perf", "benchmarks.perf.sample",
        ("--threads", "1", "--train-steps", "150", "--n-eval", "16", "--n-eval-47", "0", "--repeat", "2"),
        ("--threads", "2", "--train-steps", "600", "--n-eval", "128", "--n-eval-47", "16", "--repeat", "2"),
        "Sampling: DDPM-100 vs DDIM", "model-speed.md"),
    Job("train", "perf", "benchmarks.perf.train",
        ("--steps", "2", "--threads", "1", "--L", "15", "23"),
        ("--steps", "4", "--threads", "2", "--L", "15", "23", "31", "47"),
        "Training throughput per L", "model-speed.md"),
    Job("locate", "perf", "benchmarks.perf.locate",
        ("--warm-names", "6", "--batch-names", "100", "--base-batch-names", "10", "--samples-names", "30"),
        ("--warm-names", "10", "--batch-names", "10000", "--base-batch-names", "100", "--samples-names", "200"),
        "`locate` speed against the landed code: warm, cold, busy machine, batch; samples per name", "locate.md"),
    Job("locate_memory", "perf", "benchmarks.perf.locate_memory", ("--names", "1", "50"),
        ("--names", "1", "10", "50", "--samples", "64"),
        "`shdd-geo locate` with maps: peak memory of 50 names vs one", "locate.md"),
    Job("text_embedding", "perf", "benchmarks.perf.text_embedding",
        ("--subset", "500", "--threads", "1", "--skip-full"),
        ("--size", "15000", "--threads", "2"),
        "MiniLM text embedding throughput", "geonames-data.md"),
)

# jobs that the quick tier leaves to the full tier (their quick args are empty on purpose)
FULL_ONLY = {"names_cities1000", "conformal", "conformal_bluemarble", "calibration_splits", "vs_retrieval"}


def result_path(job: str, tier: str) -> Path:
    return RESULTS_DIR / f"{job}-{tier}.jsonl"


def latest_run(job: str, tier: str) -> list[dict]:
    """The rows of the most recent run in a job's result file (``[]`` if there is none)."""
    path = result_path(job, tier)
    if not path.exists():
        return []
    rows = read_results(path)
    last = rows[-1]["run_id"] if rows else None
    return [r for r in rows if r["run_id"] == last]


def run_job(job: Job, tier: str, threads: int = 1) -> tuple[int, float, float]:
    """Run one job in a subprocess (its rows appended to its result file).

    Returns the exit code, the wall seconds and the CPU seconds of the job's
    processes (user + system: what the job costs on an idle machine, whatever
    else shares it).
    """
    argv = [sys.executable, "-m", job.module, *job.args(tier), "--tier", tier,
            "--results", str(result_path(job.name, tier).relative_to(ROOT))]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource usage (jobs may run side by side)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - t0, usage.ru_utime + usage.ru_stime
