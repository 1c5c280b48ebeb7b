"""Benchmark: rows/s of ``shdd_geo.scale.predict_to_zarr`` vs the number of Dask workers.

The built-in ``geonames-minilm`` LocDiffusion on seeded random unit embeddings
(384-d) stored as two ``.npy`` shards; each case writes a new Zarr store with a
``LocalCluster`` of 1, 2, ... worker processes (one thread each, torch set to
one thread).  Prints one JSON line per worker count with ``rows_per_s`` and
``speedup_vs_1``, the ratio to one worker in the same run (the cluster start-up
is not timed).

Run: ``python -m benchmarks.perf.dask_predict --rows 256 --workers 1 2``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np


def _init_torch():  # run on each worker: one torch thread per worker process
    import torch

    torch.set_num_threads(1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=256)
    p.add_argument("--rows-per-task", type=int, default=32)
    p.add_argument("--nside", type=int, default=32)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a = p.parse_args()

    from distributed import Client, LocalCluster

    import shdd_geo as sg
    from shdd_geo.model import NpyShards
    from shdd_geo.scale import predict_to_zarr

    model = sg.pretrained.load("geonames-minilm").model
    rng = np.random.default_rng(0)
    X = rng.normal(size=(a.rows, 384)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    d = tempfile.mkdtemp()
    half = a.rows // 2
    files = []
    for i, (s, e) in enumerate([(0, half), (half, a.rows)]):
        np.save(os.path.join(d, f"e{i}.npy"), X[s:e])
        np.save(os.path.join(d, f"p{i}.npy"), np.zeros((e - s, 2)))
        files.append((os.path.join(d, f"e{i}.npy"), os.path.join(d, f"p{i}.npy")))
    shards = NpyShards([e for e, _ in files], [q for _, q in files])
    base = None
    for n in a.workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(_init_torch)
            t0 = time.perf_counter()
            predict_to_zarr(model, shards, os.path.join(d, f"w{n}.zarr"), nside=a.nside, rows_per_task=a.rows_per_task,
                            n_samples=a.samples, client=client, progress=False)
            dt = time.perf_counter() - t0
        rate = a.rows / dt
        base = base or rate
        print(json.dumps({"bench": "dask_predict", "workers": n, "rows": a.rows, "nside": a.nside,
                          "n_samples": a.samples, "rows_per_task": a.rows_per_task, "seconds": round(dt, 2),
                          "rows_per_s": round(rate, 2), "speedup_vs_1": round(rate / base, 2),
                          "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
