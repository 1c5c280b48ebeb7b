"""Benchmark: the four baselines on GeoNames names embedded with MiniLM.

For each split (random, grouped by ``geonameid``; spatial, whole HEALPix
nside-4 cells held out) and each baseline, prints one JSON line with the
accuracy within 1/25/200/750/2500 km, median error, GeoScore, fit and predict
seconds, the same on the test rows whose name is multi-modal (shared by places
>= 1000 km apart), and ``ratio_acc200_vs_knn``: accuracy at 200 km relative to
k-NN top-1 in the same run.

Run: ``python benchmarks/bench_baselines_geonames.py --size 15000 --threads 2``
(the embeddings come from the cache, computed on first use).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _models(a):
    from bench_geonames_table1 import method_factories

    m = method_factories(a, {})  # same settings; this script's historical names
    return {"knn_top1": m["knn_top1"], "knn_mode_k10": m["knn_mode_k10"], "geoclip": m["geoclip_style"],
            "cells_nside16_mean": m["cells_nside16"], "regression_angle": m["regression"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=15000)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated model names")
    a = p.parse_args()

    import torch

    from shdd_geo.datasets import (
        embed_table,
        load_geonames,
        multimodal_mask,
        random_split,
        spatial_split,
    )
    from shdd_geo.metrics import summarize

    torch.set_num_threads(a.threads)
    table = load_geonames(a.size)
    X = np.asarray(embed_table(table, progress=True))
    lat, lon = table.lat.to_numpy(), table.lon.to_numpy()
    multi = multimodal_mask(table)
    splits = {"random": random_split(table, seed=0, groups="geonameid"),
              "spatial": spatial_split(lat, lon, nside=4, seed=0)}
    models = _models(a)
    chosen = [m for m in models if not a.only or m in a.only.split(",")]
    for split_name, s in splits.items():
        tr, te = s.train, s.test
        acc200_knn = None
        for name in chosen:
            t0 = time.perf_counter()
            est = models[name]().fit(X[tr], lat[tr], lon[tr])
            t_fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            plat, plon = est.predict(X[te])
            t_pred = time.perf_counter() - t0
            res = summarize(plat, plon, lat[te], lon[te])
            mm = multi[te]
            res_mm = summarize(plat[mm], plon[mm], lat[te][mm], lon[te][mm]) if mm.any() else {}
            acc200 = _acc(res, 200)
            acc200_knn = acc200 if name == "knn_top1" else acc200_knn
            print(json.dumps({
                "split": split_name, "model": name, "n_train": len(tr), "n_test": len(te),
                **{k: _r(v) for k, v in res.items()}, "fit_s": round(t_fit, 2), "predict_s": round(t_pred, 3),
                "multimodal": {"n": int(mm.sum()), **{k: _r(v) for k, v in res_mm.items()}},
                "ratio_acc200_vs_knn": None if not acc200_knn else round(acc200 / acc200_knn, 3),
            }), flush=True)


def _acc(res: dict, km: int) -> float:
    return float(res[f"acc_{km}km"])


def _r(v):
    if isinstance(v, dict):
        return {str(k): _r(x) for k, x in v.items()}
    return round(float(v), 4) if isinstance(v, (float, np.floating)) else v


if __name__ == "__main__":
    main()
