"""Conformal credible regions on a random and a spatial hold-out split (issue 24): LocDiffusion and baselines.

Coverage of the 50/80/90/95 % highest-density regions and their mean area,
raw and calibrated with :class:`shdd_geo.calibration.ConformalLevels`
(rows of task ``calibration_splits``; the suite's job of that name):

``locdiffusion`` (the built-in ``geonames-minilm`` pipeline)
    A pool of ``2 --n`` of its held-out places (the 1 % of GeoNames
    cities1000 never trained on, as in ``calibrate_geonames_conformal.py``).
    ``random``: calibrated on a random half, tested on the other.
    ``cells``: the pool split by whole HEALPix nside-4 cells
    (:func:`shdd_geo.datasets.spatial_split`), calibrated on one set of
    cells and tested on the other.  The model was trained on places of every
    cell, so this measures regional differences between calibration and test
    places, not regions absent from training.
``knn`` (``KNNRetrieval(k=10, aggregate="mode")``, the best baseline of the
names task) and ``cells`` (``CellClassifier(nside=16)``, maps mixed with 1 %
uniform) fitted on GeoNames cities15000 names (MiniLM embeddings); ``knn_floor``
is the same k-NN with its maps mixed with 1 % uniform (kernel maps have no
tails: a truth far from every neighbour gets a density that underflows, so
no region short of the whole sphere holds it)
    ``random``: fitted on the random split's training places, calibrated on
    ``--n`` of its validation places, tested on ``--n`` test places.
    ``spatial``: fitted on the spatial split's training cells (nside 4)
    minus ``--n`` places kept out for calibration, tested on ``--n`` places of
    the held-out test cells; calibrated either on those ``--n`` places near
    training data (``near training``: what a random calibration set gives) or
    on ``--n`` places of the held-out validation cells (``held-out regions``:
    the conservative option).

Usage::

    python -m benchmarks.recipes.calibration_splits [--n 600] [--nside 32] [--samples 32] \
        [--models locdiffusion,knn,knn_floor,cells] [--results benchmarks/results/calibration_splits-full.jsonl --tier full]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks.common import ResultLog, add_result_args, emit_conformal_rows

def _emit(log, method: str, split: str, levels, fields, lat, lon, **extra) -> None:
    """Rows of task ``calibration_splits`` (coverage of the regions as drawn: a nominal level of 1, "the
    whole sphere", still leaves out pixels whose density underflows)."""
    emit_conformal_rows(log, "calibration_splits", method, split, levels, fields, lat, lon, **extra)


def run_locdiffusion(a, log) -> None:
    """The built-in pipeline on its held-out places: random halves and cell-disjoint halves."""
    from shdd_geo import pretrained
    from shdd_geo.calibration import ConformalLevels
    from shdd_geo.datasets import load_geonames, random_split, spatial_split

    table = load_geonames(1000)
    split = random_split(table, fractions=(0.99, 0.0, 0.01), seed=0, groups="geonameid")
    pool = np.sort(np.random.default_rng(0).choice(np.asarray(split.test), size=2 * a.n, replace=False))
    lat, lon = table["lat"].to_numpy()[pool], table["lon"].to_numpy()[pool]
    geo = pretrained.load("geonames-minilm")
    shipped = geo.model.conformal_
    geo.model.conformal_ = None  # raw maps
    fields = geo.predict_field(list(table["text"].to_numpy()[pool]), nside=a.nside, n_samples=a.samples,
                               generator=1)
    halves = np.random.default_rng(1).permutation(pool.size)
    cal, te = np.sort(halves[: a.n]), np.sort(halves[a.n:])
    levels = ConformalLevels.fit(fields[cal], lat[cal], lon[cal])
    _emit(log, "locdiffusion (geonames-minilm)", "random", levels, fields[te], lat[te], lon[te],
          calibration="random held-out places")
    if shipped is not None:
        _emit(log, "locdiffusion (geonames-minilm)", "random", shipped, fields[te], lat[te], lon[te],
              calibration="shipped levels (nside 64, 64 samples)")
    cells = spatial_split(lat, lon, nside=4, fractions=(0.5, 0.0, 0.5), seed=0)
    cal, te = np.asarray(cells.train), np.asarray(cells.test)
    levels = ConformalLevels.fit(fields[cal], lat[cal], lon[cal])
    _emit(log, "locdiffusion (geonames-minilm)", "cells", levels, fields[te], lat[te], lon[te],
          calibration="other cells (model trained everywhere)")


def _baseline(name: str, epochs: int):
    from shdd_geo.baselines import CellClassifier, KNNRetrieval

    if name in ("knn", "knn_floor"):
        return KNNRetrieval(k=10, aggregate="mode", mode_radius_km=200.0), {}
    return (CellClassifier(nside=16, hidden=(512,), lr=1e-3, epochs=epochs, batch_size=256, random_state=0),
            {"uniform_weight": 0.01})


def run_baseline(name: str, a, log, data) -> None:
    """One baseline on the random and the spatial split of the names task.

    The levels are those of ``est.calibrate(X_cal, lat_cal, lon_cal, nside=...)`` (the conformal fit on the
    model's raw maps), fitted here from the same maps so that ``knn_floor`` can mix in its uniform map.
    """
    from shdd_geo import LocDiffusion, SphericalField
    from shdd_geo.calibration import ConformalLevels

    table, X, lat, lon, splits = data
    rng = np.random.default_rng(0)
    pick = lambda rows, n: np.sort(rng.choice(np.asarray(rows), size=min(n, len(rows)), replace=False))  # noqa: E731
    method = {"knn": "knn_mode_k10", "knn_floor": "knn_mode_k10 + 1 % uniform", "cells": "cells_nside16"}[name]
    uniform = SphericalField.uniform(a.nside)

    def maps(est, fkw, rows):
        f = est.predict_field(X[rows], nside=a.nside, **fkw)
        # kernel maps have no tails: 1 % of a uniform map gives every truth a rank
        return LocDiffusion.mix_prior(f, uniform, 0.01) if name == "knn_floor" else f

    # random split: fitted on train, calibrated on val, tested on test
    s = splits["random"]
    cal, te = pick(s.val, a.n), pick(s.test, a.n)
    est, fkw = _baseline(name, a.epochs)
    est.fit(X[s.train], lat[s.train], lon[s.train])
    levels = ConformalLevels.fit(maps(est, fkw, cal), lat[cal], lon[cal])
    _emit(log, method, "random", levels, maps(est, fkw, te), lat[te], lon[te], calibration="random held-out places")
    # spatial split: fitted on train cells minus the places kept for calibration near training data
    s = splits["spatial"]
    near, far, te = pick(s.train, a.n), pick(s.val, a.n), pick(s.test, a.n)
    fit_rows = np.setdiff1d(np.asarray(s.train), near)
    est, fkw = _baseline(name, a.epochs)
    est.fit(X[fit_rows], lat[fit_rows], lon[fit_rows])
    fields = maps(est, fkw, te)
    for rows, what in ((near, "random held-out places (training cells)"), (far, "held-out regions (val cells)")):
        levels = ConformalLevels.fit(maps(est, fkw, rows), lat[rows], lon[rows])
        _emit(log, method, "spatial", levels, fields, lat[te], lon[te], calibration=what)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="calibration places and test places (each)")
    ap.add_argument("--nside", type=int, default=32)
    ap.add_argument("--samples", type=int, default=32, help="LocDiffusion samples per name")
    ap.add_argument("--epochs", type=int, default=3, help="CellClassifier epochs")
    ap.add_argument("--models", default="locdiffusion,knn,knn_floor,cells")
    ap.add_argument("--threads", type=int, default=2)
    add_result_args(ap)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    t0 = time.time()
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    unknown = sorted(set(models) - {"locdiffusion", "knn", "knn_floor", "cells"})
    if unknown:
        raise SystemExit(f"--models: unknown {unknown}; choose from locdiffusion, knn, knn_floor, cells")
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        if any(m != "locdiffusion" for m in models):
            from benchmarks.common import load_names, make_split

            table, X, lat, lon = load_names(15000)
            splits = {k: make_split(k, lat, lon, table) for k in ("random", "spatial")}
            for m in models:
                if m != "locdiffusion":
                    run_baseline(m, a, log, (table, X, lat, lon, splits))
        if "locdiffusion" in models:
            run_locdiffusion(a, log)
    print(json.dumps({"seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
