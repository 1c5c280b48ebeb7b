"""Location tasks of the accuracy runner: every method fitted and scored on the same rows.

``names``
    GeoNames place names (``--size`` 1000 = cities1000, 15000 = cities15000)
    embedded with the offline MiniLM encoder; paper Table 1 on text.
``bluemarble``
    Blue Marble tiles (10 deg field of view, 128 px) embedded with the bundled
    EfficientNet-lite0; image-to-location.

For each split (``random``: grouped by ``geonameid`` for names; ``spatial``:
whole HEALPix nside-4 cells held out) every method of
:func:`benchmarks.common.method_factories` is fitted on the same training
rows (optionally a seeded subset of ``--n-train``) and evaluated with
:func:`shdd_geo.evaluation.evaluate_predictor` on the same ``--n-test`` rows:
accuracy within 1/25/200/750/2500 km, median error, GeoScore and, for methods
with densities, log-likelihood of the truth and credible-region
coverage/area; on names also the multi-modal subset (names shared by places
>= 1000 km apart).  ``ratio_acc200_vs_knn`` compares with k-NN top-1 of the
same run.

``--anchor-sizes`` adds paper Table 2 on the random split (task ``anchors``):
the LocDiffusion samples decoded on the training-location gallery and on
equal-area Fibonacci grids (``method="argmax"``, no refinement, so the anchors
are the only candidates), beside the GeoCLIP-style retriever searching the
same galleries.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import (
    fit_order,
    decode_samples,
    fit_method,
    load_names,
    load_tiles,
    make_split,
    method_factories,
    point_answers,
    point_metrics,
    test_rows,
)

__all__ = ["run_location_task"]



def run_location_task(a, log) -> None:
    """Fit and score every method of ``a.methods`` on every split of ``a.splits``."""
    import torch

    torch.set_num_threads(a.threads)
    if a.task == "names":
        table, X, lat, lon = load_names(a.size)
        from shdd_geo.datasets import multimodal_mask

        multi = multimodal_mask(table)
    else:
        table, multi = None, None
        X, lat, lon = load_tiles(a.n_tiles, a.cache_dir)
    data = {"size": a.size} if a.task == "names" else {"n_tiles": a.n_tiles}
    for split_name in a.splits:
        s = make_split(split_name, lat, lon, table)
        tr = np.asarray(s.train)
        if a.n_train and a.n_train < len(tr):
            tr = np.sort(np.random.default_rng(0).choice(tr, size=a.n_train, replace=False))
        te = test_rows(s, a.n_test)
        fitted = _run_split(a, log, split_name, tr, te, X, lat, lon, multi, data)
        if a.anchor_sizes and split_name == "random" and "locdiffusion" in fitted:
            _anchor_study(a, log, fitted, X, lat, lon, tr, te)


def _run_split(a, log, split_name, tr, te, X, lat, lon, multi, data) -> dict:
    from shdd_geo.evaluation import evaluate_predictor

    fitted, acc200_knn = {}, None
    factories = method_factories(a, fitted)
    for name in fit_order(a.methods):
        t0 = time.perf_counter()
        est = fitted[name] = fit_method(name, factories[name](), X[tr], lat[tr], lon[tr], a)
        fit_s = time.perf_counter() - t0
        if name not in a.methods:
            continue
        dens = hasattr(est, "predict_field") and not name.startswith("hybrid")
        kw = {"predict_kwargs": {"n_samples": 16, "point": "mode", "generator": 0},
              "field_kwargs": {"n_samples": 16, "generator": 0}} if name.startswith("locdiffusion") else {}
        res = evaluate_predictor(est, X[te], lat[te], lon[te], fields=dens, nside=a.nside, **kw)
        extra = {}
        if multi is not None and multi[te].any():
            mm = te[multi[te]]
            res_mm = evaluate_predictor(est, X[mm], lat[mm], lon[mm], predict_kwargs=kw.get("predict_kwargs"))
            extra["multimodal"] = {"n": int(len(mm)), **{k: v for k, v in res_mm.items() if k.startswith("acc_")}}
        acc200_knn = res["acc_200km"] if name == "knn_top1" else acc200_knn
        log.emit(a.task, method=name, split=split_name, n_train=int(len(tr)), n_test=int(len(te)), **data,
                 **{k: v for k, v in res.items() if np.isscalar(v)}, fit_s=fit_s,
                 ratio_acc200_vs_knn=res["acc_200km"] / acc200_knn if acc200_knn else None, **extra)
    return fitted


def _anchor_study(a, log, fitted, X, lat, lon, tr, te) -> None:
    """Paper Table 2: decoding anchors vs retrieval galleries (task ``anchors``)."""
    from shdd_geo.anchors import fibonacci, gallery

    est = fitted["locdiffusion"]
    coeffs = est.sample(X[te], 16, sampler="ddim", steps=20, generator=0)
    geo = fitted.get("geoclip_style") or fit_method(
        "geoclip_style", method_factories(a, fitted)["geoclip_style"](), X[tr], lat[tr], lon[tr], a)
    sets = [("training gallery", gallery(lat[tr], lon[tr]))]
    sets += [(f"fibonacci {n:,}", fibonacci(n)) for n in a.anchor_sizes]
    for name, anchors in sets:
        t0 = time.perf_counter()
        slat, slon = decode_samples(coeffs, anchors=anchors, method="argmax", refine=False)
        res = point_metrics(*point_answers(coeffs, slat, slon)["centre"], lat[te], lon[te])
        dec_s = time.perf_counter() - t0
        log.emit("anchors", method="locdiffusion", split="random", anchors=name, n_anchors=int(len(anchors.lat)),
                 n_test=int(len(te)), decode_s=dec_s, **res)
        geo.gallery_lat_, geo.gallery_lon_ = anchors.lat, anchors.lon
        geo.gallery_feats_ = geo.encode_locations(anchors.lat, anchors.lon)
        log.emit("anchors", method="geoclip_style", split="random", anchors=name, n_anchors=int(len(anchors.lat)),
                 n_test=int(len(te)), **point_metrics(*geo.predict(X[te]), lat[te], lon[te]))
