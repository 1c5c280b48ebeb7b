"""Seeds and pooling on GeoNames Table 1: several LocDiffusion models vs several cell classifiers.

A LocDiffusion trained at the learning rate that makes its x0 network collapse
(docs/benchmarks.md, "The collapse is a learning-rate effect") gives 16 samples
per name that decode to nearly one place, so its answer moves with the training
seed.  This script measures that spread and what pooling buys, on the whole test
split of ``bench_geonames_study.py`` (same data, embeddings and test rows), and
gives the cell classifier (the strongest baseline) the same treatment:

* ``locdiffusion``: each ``--models`` file alone (densest of 16 DDIM-20 samples,
  ``generator=0``), then the 16 samples of every file pooled (densest of the pool,
  i.e. the mode of the mixture of their densities);
* ``hybrid``: k-NN top-1 within 200 km of each model's samples (paper A.4), then of
  the pooled samples;
* ``cells``: the nside-16 cell classifier of ``bench_geonames_table1.py`` with
  seeds ``0..--cell-seeds-1`` alone and with their cell probabilities averaged.

One JSON line per row.  Run::

    python benchmarks/bench_geonames_pooling.py --split random --models A.safetensors,B.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_geonames_study import _BASELINE_ARGS, _load_data, _metrics, _points
from bench_geonames_table1 import method_factories


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", default="random", choices=("random", "spatial"))
    p.add_argument("--models", required=True, help="comma-separated LocDiffusion files, one split")
    p.add_argument("--cell-seeds", type=int, default=3,
                   help="cell classifiers to train (0 skips them)")
    p.add_argument("--n-test", type=int, default=5000,
                   help="test rows (default: the whole split)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    models = [m for m in a.models.split(",") if m]
    missing = [m for m in models if not Path(m).is_file()]
    if missing:
        p.error(f"--models: no such file(s) {missing}")
    if a.cell_seeds < 0:
        p.error(f"--cell-seeds must be >= 0, got {a.cell_seeds}")

    import torch

    from shdd_geo.baselines import CellClassifier, KNNRetrieval
    from shdd_geo.model import LocDiffusion

    torch.set_num_threads(a.threads)
    a.data, a.size = "geonames", 15000
    _, X, lat, lon, s = _load_data(a)
    tr = np.asarray(s.train)
    n_te = min(a.n_test, len(s.test))
    te = np.sort(np.random.default_rng(0).choice(np.asarray(s.test), size=n_te, replace=False))
    Xte, late, lone = X[te], lat[te], lon[te]
    row = {"split": a.split, "n_test": len(te)}

    def out(**kw) -> None:
        print(json.dumps({**row, **kw}), flush=True)

    knn = KNNRetrieval(k=1).fit(X[tr], lat[tr], lon[tr])
    coeffs, slats, slons, est = [], [], [], None
    for m in models:
        t0 = time.perf_counter()
        est = LocDiffusion.load(m, device="cpu")
        c = est.sample(Xte, 16, sampler="ddim", steps=20, generator=0)
        slat, slon = est._decode(c, None)
        if coeffs and c.shape[-1] != coeffs[0].shape[-1]:
            raise SystemExit(f"--models: {m} has L = {est.L}, unlike the first model; "
                             "pool models of one L")
        coeffs.append(c)
        slats.append(slat)
        slons.append(slon)
        out(method="locdiffusion", model=m, **_points(est, c, late, lone),
            seconds=round(time.perf_counter() - t0, 1))
        hl, ho = knn.predict_near(Xte, slat, slon, radius_km=200.0)
        out(method="hybrid", model=m, point=_metrics(hl, ho, late, lone))
    if len(models) > 1:
        out(method="locdiffusion", pooled=models,
            **_points(est, np.concatenate(coeffs, 1), late, lone))
        hl, ho = knn.predict_near(Xte, np.concatenate(slats, 1), np.concatenate(slons, 1),
                                  radius_km=200.0)
        out(method="hybrid", pooled=models, point=_metrics(hl, ho, late, lone))

    # the Table 1 settings (bench_geonames_table1.method_factories), other seeds
    base = method_factories(_BASELINE_ARGS, {})["cells_nside16"]()
    P = 0.0
    for seed in range(a.cell_seeds):
        cells = CellClassifier(**{**base.get_params(), "random_state": seed})
        cells.fit(X[tr], lat[tr], lon[tr])
        pl, po = cells.predict(Xte)
        out(method="cells_nside16", seed=seed, point=_metrics(pl, po, late, lone))
        P = P + cells.predict_proba(Xte)
        if seed:
            k = np.argmax(P, axis=1)
            out(method="cells_nside16", pooled_seeds=seed + 1,
                point=_metrics(cells.cell_lat_[k], cells.cell_lon_[k], late, lone))


if __name__ == "__main__":
    main()
