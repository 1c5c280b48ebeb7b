"""The accuracy runner: tasks x methods x splits, one JSON line per row.

Tasks: ``names`` (GeoNames place names, MiniLM embeddings), ``bluemarble``
(Blue Marble tiles, EfficientNet-lite0 embeddings), ``drift`` (paper Table 6),
``resolution`` (paper A.3), ``vs_retrieval`` (issue 25: LocDiffusion
against the k-NN vote, :mod:`benchmarks.accuracy.retrieval_tasks`) and ``toponyms`` (the built-in model as users
call it, :mod:`benchmarks.accuracy.builtin_tasks`); ``--anchor-sizes`` adds paper Table 2 to the
``names``/``bluemarble`` tasks (rows of task ``anchors``).  Methods are those
of :func:`benchmarks.common.method_factories` (``locdiffusion_l1/l2/cosine``
give paper Table 7).  See :mod:`benchmarks.accuracy.location_tasks` and
:mod:`benchmarks.accuracy.decoding_tasks`.

Run::

    python -m benchmarks.accuracy --task names --size 15000 --splits random,spatial \\
        --n-train 4000 --n-test 300 --steps 300 --epochs 2 --results /tmp/names.jsonl
    python -m benchmarks.accuracy --task drift --degrees 15 23 31 47 --n 2000
"""

from __future__ import annotations

import argparse

from benchmarks.common import ResultLog, add_result_args

TASKS = ("names", "bluemarble", "drift", "resolution", "toponyms", "vs_retrieval")
METHODS = "knn_top1,knn_mode_k10,geoclip_style,cells_nside16,regression,locdiffusion,hybrid_knn"


def _csv(kind):
    return lambda s: [kind(x) for x in s.split(",") if x]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--methods", type=_csv(str), default=_csv(str)(METHODS), help="comma-separated method names")
    p.add_argument("--splits", type=_csv(str), default=["random", "spatial"], help="random,spatial")
    p.add_argument("--size", type=int, default=15000, help="names: gazetteer (1000 = cities1000, 15000 = cities15000)")
    p.add_argument("--n-tiles", type=int, default=12000, help="bluemarble: number of tiles")
    p.add_argument("--cache-dir", default=None, help="bluemarble: tile cache")
    p.add_argument("--n-train", type=int, default=0, help="seeded subset of the training rows (0 = all)")
    p.add_argument("--n-test", type=int, default=1000, help="seeded subset of the test rows")
    p.add_argument("--epochs", type=int, default=10, help="epochs of the torch baselines")
    p.add_argument("--steps", type=int, default=3000, help="LocDiffusion optimisation steps")
    p.add_argument("--L", type=int, default=23)
    p.add_argument("--lr", type=float, default=3e-4, help="LocDiffusion peak learning rate (cosine decay)")
    p.add_argument("--nside", type=int, default=32, help="HEALPix nside of the density metrics")
    p.add_argument("--anchor-sizes", type=_csv(int), default=[], help="Table 2: Fibonacci grid sizes, e.g. 21000,1000000")
    p.add_argument("--data", default="names", choices=("names", "bluemarble"), help="vs_retrieval: the data")
    p.add_argument("--n-val", type=int, default=1000, help="vs_retrieval: validation rows (settings, conformal map)")
    p.add_argument("--model-dir", default=None, help="vs_retrieval: keep/reuse fitted LocDiffusion models here")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--degrees", type=int, nargs="+", default=[15, 23, 31, 47], help="drift/resolution: degrees L")
    p.add_argument("--n", type=int, default=2000,
                   help="drift/resolution: seeded random points; toponyms: names")
    p.add_argument("--offset", type=int, default=0, help="toponyms: skip this many names (validation: 200)")
    add_result_args(p)
    return p


def main(argv=None) -> None:
    a = build_parser().parse_args(argv)
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        if a.task == "toponyms":
            from benchmarks.accuracy.builtin_tasks import run_toponyms

            run_toponyms(a, log)
        elif a.task == "vs_retrieval":
            from benchmarks.accuracy.retrieval_tasks import VS_METHODS, run_vs_retrieval

            if a.methods == _csv(str)(METHODS):
                a.methods = _csv(str)(VS_METHODS)
            run_vs_retrieval(a, log)
        elif a.task in ("drift", "resolution"):
            from benchmarks.accuracy.decoding_tasks import run_drift, run_resolution

            (run_drift if a.task == "drift" else run_resolution)(a, log)
        else:
            from benchmarks.accuracy.location_tasks import run_location_task

            run_location_task(a, log)


if __name__ == "__main__":
    main()
