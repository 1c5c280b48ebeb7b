"""Paper Table 1 on GeoNames: LocDiffusion vs baselines vs the hybrid, same embeddings.

For each split (random, grouped by geonameid; spatial, whole HEALPix nside-4
cells held out) every method is fitted on the same training rows (MiniLM
embeddings of place names) and evaluated on the same test rows with
:func:`shdd_geo.evaluation.evaluate_predictor`: accuracy within
1/25/200/750/2500 km, median error, GeoScore and, for methods with densities,
log-likelihood of the truth and credible-region coverage/area.  Also reported
on the multi-modal subset (names shared by places >= 1000 km apart).  One JSON
line per (split, method); ``ratio_acc200_vs_knn`` compares with k-NN top-1 in
the same run.

Run: ``python benchmarks/bench_geonames_table1.py --size 15000 --steps 3000``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def method_factories(a, fitted: dict):
    """Constructors of every compared method, by name (the one place their settings live).

    ``a`` needs ``epochs`` (torch baselines) and, for LocDiffusion, ``L``, ``lr``
    and ``steps``; constructors run only when called.  The hybrid takes the
    already fitted ``fitted["locdiffusion"]`` and ``fitted["knn_top1"]``; an optional
    ``a.sample_kwargs`` (e.g. ``{"sampler": "ddpm", "steps": 100}``) goes to its sampler.
    """
    from shdd_geo.baselines import CellClassifier, GeoCLIPRetrieval, KNNRetrieval, UnitVectorRegression
    from shdd_geo.baselines.hybrid import RetrievalHybrid
    from shdd_geo.model import LocDiffusion

    tk = {"epochs": a.epochs, "batch_size": 256, "random_state": 0}
    return {
        "knn_top1": lambda: KNNRetrieval(k=1),
        "knn_mode_k10": lambda: KNNRetrieval(k=10, aggregate="mode", mode_radius_km=200.0),
        "geoclip_style": lambda: GeoCLIPRetrieval(hidden=(256,), dim=128, n_fourier=128, queue_size=1024,
                                                  gps_noise_km=5.0, lr=1e-3, **tk),
        "cells_nside16": lambda: CellClassifier(nside=16, hidden=(512,), lr=1e-3, **tk),
        "regression": lambda: UnitVectorRegression(hidden=(512, 512), lr=1e-3, **tk),
        "locdiffusion": lambda: LocDiffusion(L=a.L, lr=a.lr, warmup_steps=200, decay_steps=max(1, a.steps - 200),
                                             batch_size=512, random_state=0, verbose=False, device="cpu"),
        "hybrid_knn": lambda: RetrievalHybrid(fitted["locdiffusion"], fitted["knn_top1"], radius_km=200.0,
                                              n_samples=16,
                                              sample_kwargs={"generator": 0, **getattr(a, "sample_kwargs", {})}),
    }


def _fit(name, est, X, lat, lon, a):
    if name == "locdiffusion":
        epochs = max(1, int(np.ceil(a.steps * 512 / len(X))))
        return est.fit(X, lat, lon, epochs=epochs, max_steps=a.steps)
    if name.startswith("hybrid"):
        return est
    return est.fit(X, lat, lon)


def add_method_args(p: argparse.ArgumentParser, *, lr: float, threads: int, n_test: int) -> None:
    """The options :func:`run_split` reads (shared with ``bench_bluemarble.py``)."""
    p.add_argument("--epochs", type=int, default=10, help="epochs of the torch baselines")
    p.add_argument("--steps", type=int, default=3000, help="LocDiffusion optimisation steps")
    p.add_argument("--L", type=int, default=23)
    p.add_argument("--lr", type=float, default=lr, help="LocDiffusion peak learning rate (cosine decay)")
    p.add_argument("--threads", type=int, default=threads)
    p.add_argument("--n-test", type=int, default=n_test)
    p.add_argument("--nside", type=int, default=32, help="HEALPix nside of the density metrics")
    p.add_argument("--splits", default="random,spatial")
    p.add_argument("--only", default="", help="comma-separated method names")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=15000)
    add_method_args(p, lr=1e-4, threads=2, n_test=2000)
    a = p.parse_args()

    import torch

    from shdd_geo.datasets import embed_table, load_geonames, multimodal_mask, random_split, spatial_split

    torch.set_num_threads(a.threads)
    table = load_geonames(a.size)
    X = np.asarray(embed_table(table, progress=True), dtype=np.float32)
    lat, lon = table.lat.to_numpy(), table.lon.to_numpy()
    multi = multimodal_mask(table)
    for split_name in a.splits.split(","):
        s = (random_split(table, seed=0, groups="geonameid") if split_name == "random"
             else spatial_split(lat, lon, nside=4, seed=0))
        rng = np.random.default_rng(0)  # per split: the same test rows as bench_geonames_study.py
        te = np.sort(rng.choice(np.asarray(s.test), size=min(a.n_test, len(s.test)), replace=False))
        run_split(split_name, np.asarray(s.train), te, X, lat, lon, a, multi=multi)


def run_split(split_name, tr, te, X, lat, lon, a, *, multi=None, extra: dict | None = None) -> dict:
    """Fit every method on rows ``tr``, evaluate on rows ``te``, print one JSON line each.

    ``a`` carries ``epochs``, ``steps``, ``L``, ``lr``, ``nside`` and ``only``;
    ``multi`` (bool per row) adds the multi-modal subset.  Returns the fitted
    estimators by method name.
    """
    from shdd_geo.evaluation import evaluate_predictor

    fitted, acc200_knn = {}, None
    methods = method_factories(a, fitted)
    for name in methods:
        only = a.only.split(",") if a.only else []
        needed_by_hybrid = name in ("knn_top1", "locdiffusion") and any(m.startswith("hybrid") for m in only)
        if only and name not in only and not needed_by_hybrid:
            continue
        t0 = time.perf_counter()
        est = fitted[name] = _fit(name, methods[name](), X[tr], lat[tr], lon[tr], a)
        fit_s = time.perf_counter() - t0
        if a.only and name not in a.only.split(","):
            continue
        dens = hasattr(est, "predict_field")
        kw = {"predict_kwargs": {"n_samples": 16, "point": "mode", "generator": 0},
              "field_kwargs": {"n_samples": 16, "generator": 0}} if name == "locdiffusion" else {}
        res = evaluate_predictor(est, X[te], lat[te], lon[te], fields=dens, nside=a.nside, **kw)
        row = {"split": split_name, "method": name, "n_train": int(len(tr)), "n_test": int(len(te)),
               **(extra or {}), **{k: _r(v) for k, v in res.items()}, "fit_s": round(fit_s, 1)}
        if multi is not None:
            mm = multi[te]
            res_mm = evaluate_predictor(est, X[te][mm], lat[te][mm], lon[te][mm], **{
                k: v for k, v in kw.items() if k == "predict_kwargs"}) if mm.any() else {}
            row["multimodal"] = {"n": int(mm.sum()), **{k: _r(v) for k, v in res_mm.items()}}
        acc200_knn = res["acc_200km"] if name == "knn_top1" else acc200_knn
        row["ratio_acc200_vs_knn"] = round(res["acc_200km"] / acc200_knn, 3) if acc200_knn else None
        print(json.dumps(row), flush=True)
    return fitted

def _r(v):
    return round(float(v), 4) if isinstance(v, (float, np.floating)) else v


if __name__ == "__main__":
    main()
