"""Benchmark: MiniLM embedding throughput on GeoNames names, and the cache that avoids it.

Cases (one JSON line each):

* ``batch_size``: embed the first ``--subset`` distinct cities15000 names with
  batch sizes 64 and 256 (ratio: strings/s relative to 256);
* ``cold``: embed the full gazetteer (``--size``, distinct names only, through
  :func:`shdd_geo.datasets.embed_table` into a fresh temporary cache);
* ``warm``: the same call again, served from the memory-mapped cache (ratio:
  cold seconds / warm seconds).

Run: ``python -m benchmarks.perf.text_embedding --size 15000 --threads 2``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from benchmarks.common import ResultLog, add_result_args


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=15000, help="gazetteer (500, 1000, 5000, 15000)")
    p.add_argument("--subset", type=int, default=3000, help="strings for the batch-size cases")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--skip-full", action="store_true", help="only the batch-size cases")
    add_result_args(p)
    a = p.parse_args()
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        run(a, log)


def run(a, log) -> None:

    import torch

    from shdd_geo.datasets import embed_table, load_geonames
    from shdd_geo.encoders import TextEncoder

    torch.set_num_threads(a.threads)
    enc = TextEncoder()
    table = load_geonames(a.size)
    names = list(dict.fromkeys(table.text))
    common = {"threads": a.threads, "cpu_count": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    enc.embed(names[:256], progress=False)  # load and warm up the model

    rates = {}
    for bs in (256, 64):
        t0 = time.perf_counter()
        enc.embed(names[: a.subset], batch_size=bs, progress=False)
        dt = time.perf_counter() - t0
        rates[bs] = a.subset / dt
        log.emit("text_embedding", method=f"batch_{bs}", **{"batch_size": bs, "n": a.subset, "seconds": round(dt, 2),
                          "strings_per_s": round(rates[bs], 1), "ratio_vs_256": round(rates[bs] / rates[256], 3),
                          **common})
    if a.skip_full:
        return
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        e = embed_table(table, encoder=enc, cache_dir=d, progress=True)
        cold = time.perf_counter() - t0
        log.emit("text_embedding", method="cold", **{"size": a.size, "rows": len(table), "distinct": len(names),
                          "seconds": round(cold, 2), "strings_per_s": round(len(names) / cold, 1),
                          **common})
        t0 = time.perf_counter()
        e2 = embed_table(table, encoder=enc, cache_dir=d, progress=False)
        _ = float(np.asarray(e2).sum())  # touch every page
        warm = time.perf_counter() - t0
        if not np.array_equal(np.asarray(e), np.asarray(e2)):
            raise RuntimeError("the cached embeddings differ from the computed ones")
        log.emit("text_embedding", method="warm", **{"size": a.size, "rows": len(table), "seconds": round(warm, 3),
                          "ratio_cold_over_warm": round(cold / warm, 1), **common})


if __name__ == "__main__":
    main()
