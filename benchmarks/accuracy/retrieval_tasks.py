"""Task ``vs_retrieval``: LocDiffusion against a strong retrieval vote, side by side (issue 25).

Every method is fitted on the same training rows of a split (``random``:
grouped by ``geonameid`` for names; ``spatial``: whole HEALPix nside-4 cells
held out) and scored on the same ``--n-test`` test rows:

- point metrics: accuracy within 1/25/200/750/2,500 km, median error, GeoScore;
- density metrics (methods with fields): mean log-likelihood of the truth and
  the **calibrated** 90 % credible region -- a split-conformal level map
  (:class:`shdd_geo.calibration.ConformalLevels`) fitted on ``--n-val`` rows of
  the split's *validation* part, then coverage and mean area on the test rows
  (the raw, uncalibrated ones beside them).

Inference settings of the LocDiffusion variants (start from noise or from the
retrieval prior; densest sample or centre) are chosen on the validation rows
(rows with ``task="vs_retrieval_val"``), never on the test rows.  Fitting
costs are recorded as wall and CPU seconds (``fit_s``, ``fit_cpu_s``) and,
for LocDiffusion, optimisation steps.  Fitted LocDiffusion models are kept in
``--model-dir`` (``<method>-<task>-<split>-<steps>.safetensors``) and reused
by a rerun.

Run::

    python -m benchmarks.accuracy --task vs_retrieval --size 1000 --splits random,spatial \\
        --n-test 3000 --n-val 1000 --steps 5000 --threads 2 --model-dir ~/.cache/shdd_geo/bench
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import fit_method, fit_order, load_names, load_tiles, make_split, method_factories, test_rows

__all__ = ["run_vs_retrieval"]

VS_METHODS = ("knn_top1,knn_vote,cells_nside16,regression,geoclip_style,locdiffusion_noretrieval,"
              "locdiffusion_default,hybrid_default")
_CHOICES = [{"init": i, "point": p} for i in ("noise", "prior") for p in ("densest", "centre")]


def run_vs_retrieval(a, log) -> None:
    """Fit, tune on validation rows, and score every method of ``a.methods`` on each split."""
    import torch

    torch.set_num_threads(a.threads)
    if a.data == "names":
        table, X, lat, lon = load_names(a.size)
        data = {"data": "names", "size": a.size}
    else:
        table = None
        X, lat, lon = load_tiles(a.n_tiles, a.cache_dir)
        data = {"data": "bluemarble", "n_tiles": a.n_tiles}
    for split_name in a.splits:
        s = make_split(split_name, lat, lon, table)
        tr = np.asarray(s.train)
        if a.n_train and a.n_train < len(tr):
            tr = np.sort(np.random.default_rng(0).choice(tr, size=a.n_train, replace=False))
        va = np.sort(np.random.default_rng(1).choice(np.asarray(s.val), size=min(a.n_val, len(s.val)), replace=False))
        te = test_rows(s, a.n_test)
        _run_split(a, log, split_name, tr, va, te, X, lat, lon, data)


def _fit(a, name, est, X, lat, lon, split_name):
    """Fit (or load a LocDiffusion fitted before with the same settings): ``(est, wall s, CPU s)``."""
    import shdd_geo as sg

    path = None
    if name.startswith("locdiffusion") and getattr(a, "model_dir", None):
        tag = a.data if a.data == "names" else "tiles"
        path = Path(a.model_dir).expanduser() / f"{name}-{tag}{a.size if a.data == 'names' else a.n_tiles}-{split_name}-{a.steps}.safetensors"
        if path.exists():
            m = sg.LocDiffusion.load(path, device="cpu")
            info = m.history_[-1] if m.history_ else {}
            return m, float(info.get("fit_s", np.nan)), float(info.get("fit_cpu_s", np.nan))
    t0, c0 = time.perf_counter(), time.process_time()
    est = fit_method(name, est, X, lat, lon, a)
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    if path is not None:
        est.history_.append({"fit_s": fit_s, "fit_cpu_s": fit_cpu_s})
        path.parent.mkdir(parents=True, exist_ok=True)
        est.save(path)
    return est, fit_s, fit_cpu_s


def _run_split(a, log, split_name, tr, va, te, X, lat, lon, data) -> None:
    from shdd_geo.calibration import ConformalLevels
    from shdd_geo.evaluation import evaluate_predictor

    fitted = {}
    factories = method_factories(a, fitted)
    for name in fit_order(a.methods):
        est, fit_s, fit_cpu_s = _fit(a, name, factories[name](), X[tr], lat[tr], lon[tr], split_name)
        fitted[name] = est
        if name not in a.methods:
            continue
        pk, fk = {}, {}
        if name.startswith("locdiffusion"):
            pk, fk = _choose(a, log, name, est, X[va], lat[va], lon[va], split_name, data)
        dens = hasattr(est, "predict_field") and not name.startswith("hybrid")
        res = evaluate_predictor(est, X[te], lat[te], lon[te], fields=dens, nside=a.nside,
                                 predict_kwargs=pk, field_kwargs=fk)
        row = {k: v for k, v in res.items() if np.isscalar(v)}
        if dens:  # conformal level map fitted on the validation rows, applied on the test rows
            cal = ConformalLevels.fit(est.predict_field(X[va], nside=a.nside, **fk), lat[va], lon[va])
            rep = cal.report(est.predict_field(X[te], nside=a.nside, **fk), lat[te], lon[te], levels=(0.9,))[0.9]
            row.update({"coverage_0.9_calibrated": rep["coverage"], "area_0.9_km2_calibrated": rep["area_km2"]})
        extra = {"steps": int(a.steps)} if name.startswith("locdiffusion") else {}
        log.emit("vs_retrieval", method=name, split=split_name, n_train=int(len(tr)), n_val=int(len(va)),
                 n_test=int(len(te)), **data, **row, fit_s=fit_s, fit_cpu_s=fit_cpu_s,
                 predict=pk or None, **extra)


def _choose(a, log, name, est, Xv, latv, lonv, split_name, data) -> tuple[dict, dict]:
    """Inference settings of a LocDiffusion variant, chosen on validation rows (mean accuracy at 200/750/2,500 km)."""
    from shdd_geo.evaluation import evaluate_predictor

    choices = _CHOICES if getattr(est, "retrieval_k", 0) else [c for c in _CHOICES if c["init"] == "noise"]
    best, best_score = None, -np.inf
    for c in choices:
        pk = {"n_samples": 16, "point": c["point"], "generator": 0, "init": c["init"]}
        res = evaluate_predictor(est, Xv, latv, lonv, predict_kwargs=pk)
        score = float(np.mean([res["acc_200km"], res["acc_750km"], res["acc_2500km"]]))
        log.emit("vs_retrieval_val", method=name, split=split_name, n_val=int(len(Xv)), **data, **c,
                 **{k: v for k, v in res.items() if np.isscalar(v)})
        if score > best_score:
            best, best_score = c, score
    pk = {"n_samples": 16, "point": best["point"], "generator": 0, "init": best["init"]}
    fk = {"n_samples": 16, "generator": 0, "init": best["init"]}
    return pk, fk
