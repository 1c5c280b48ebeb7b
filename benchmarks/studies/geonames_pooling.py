"""Seeds and pooling on GeoNames Table 1: several LocDiffusion models vs several cell classifiers.

A LocDiffusion trained at the learning rate that makes its x0 network collapse
(docs/notes/, "The collapse is a learning-rate effect") gives 16 samples
per name that decode to nearly one place, so its answer moves with the training
seed.  This script measures that spread and what pooling buys, on the whole test
split of ``geonames_study.py`` (same data, embeddings and test rows), and
gives the cell classifier (the strongest baseline) the same treatment:

* ``locdiffusion``: each ``--models`` file alone (densest of 16 DDIM-20 samples,
  ``generator=0``), then the 16 samples of every file pooled (densest of the pool,
  i.e. the mode of the mixture of their densities);
* ``hybrid``: k-NN top-1 within 200 km of each model's samples (paper A.4), then of
  the pooled samples;
* ``cells``: the nside-16 cell classifier of ``python -m benchmarks.accuracy --task names`` with
  seeds ``0..--cell-seeds-1`` alone and with their cell probabilities averaged;
* ``by_country`` (``--by-country N``): the N countries of the test places where the
  first model and the seed-0 cell classifier differ most at 750 km (``--by-country-km``),
  each with both accuracies, the rows each gets right and the other wrong, and how
  often and how spread out each method answers in the right region: where the
  spatial hold-out's 750 km gap comes from (docs/notes/, session 14).

One JSON line per row.  Run::

    python -m benchmarks.studies.geonames_pooling --split random --models A.safetensors,B.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from benchmarks.common import BASELINE_ARGS, decode_samples, load_task_data, method_factories, point_answers
from benchmarks.common import point_metrics, score_answers, test_rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", default="random", choices=("random", "spatial"))
    p.add_argument("--models", required=True, help="comma-separated LocDiffusion files, one split")
    p.add_argument("--cell-seeds", type=int, default=3,
                   help="cell classifiers to train (0 skips them)")
    p.add_argument("--n-test", type=int, default=5000,
                   help="test rows (default: the whole split)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--by-country", type=int, default=0, metavar="N",
                   help="print the N countries with the largest 750 km difference between the first "
                        "model and the seed-0 cell classifier (needs --cell-seeds >= 1)")
    p.add_argument("--by-country-km", type=float, default=750.0,
                   help="the accuracy radius of --by-country [km]")
    a = p.parse_args()
    models = [m for m in a.models.split(",") if m]
    missing = [m for m in models if not Path(m).is_file()]
    if missing:
        p.error(f"--models: no such file(s) {missing}")
    if a.cell_seeds < 0:
        p.error(f"--cell-seeds must be >= 0, got {a.cell_seeds}")
    if a.by_country < 0 or (a.by_country and a.cell_seeds < 1):
        p.error(f"--by-country needs a count >= 0 and --cell-seeds >= 1, got {a.by_country} "
                f"and {a.cell_seeds}")

    import torch

    from shdd_geo.baselines import CellClassifier, KNNRetrieval
    from shdd_geo import LocDiffusion

    torch.set_num_threads(a.threads)
    table, X, lat, lon, s = load_task_data("geonames", size=15000, split=a.split)
    tr = np.asarray(s.train)
    te = test_rows(s, a.n_test)
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
        slat, slon = decode_samples(c)
        if coeffs and c.shape[-1] != coeffs[0].shape[-1]:
            raise SystemExit(f"--models: {m} has L = {est.L}, unlike the first model; "
                             "pool models of one L")
        coeffs.append(c)
        slats.append(slat)
        slons.append(slon)
        answers = point_answers(c, slat, slon)
        out(method="locdiffusion", model=m, **score_answers(answers, late, lone),
            seconds=round(time.perf_counter() - t0, 1))
        if len(coeffs) == 1:  # the first model's answers, for --by-country
            first = answers["mode"]
        hl, ho = knn.predict_near(Xte, slat, slon, radius_km=200.0)
        out(method="hybrid", model=m, point=point_metrics(hl, ho, late, lone))
    if len(models) > 1:
        out(method="locdiffusion", pooled=models,
            **score_answers(point_answers(np.concatenate(coeffs, 1), np.concatenate(slats, 1),
                              np.concatenate(slons, 1)), late, lone))
        hl, ho = knn.predict_near(Xte, np.concatenate(slats, 1), np.concatenate(slons, 1),
                                  radius_km=200.0)
        out(method="hybrid", pooled=models, point=point_metrics(hl, ho, late, lone))

    # the Table 1 settings (benchmarks.common.method_factories), other seeds
    base = method_factories(BASELINE_ARGS, {})["cells_nside16"]()
    P = 0.0
    for seed in range(a.cell_seeds):
        cells = CellClassifier(**{**base.get_params(), "random_state": seed})
        cells.fit(X[tr], lat[tr], lon[tr])
        pl, po = cells.predict(Xte)
        out(method="cells_nside16", seed=seed, point=point_metrics(pl, po, late, lone))
        if seed == 0 and a.by_country:
            for r in country_breakdown(table.country.to_numpy()[te], late, lone,
                                       {"locdiffusion": first, "cells": (pl, po)}, a.by_country,
                                       radius_km=a.by_country_km):
                out(method="by_country", model=models[0], cell_seed=0, **r)
        P = P + cells.predict_proba(Xte)
        if seed:
            k = np.argmax(P, axis=1)
            out(method="cells_nside16", pooled_seeds=seed + 1,
                point=point_metrics(cells.cell_lat_[k], cells.cell_lon_[k], late, lone))


def country_breakdown(country, lat, lon, answers: dict, n: int, radius_km: float = 750.0,
                      near_km: float = 2500.0) -> list[dict]:
    """Per-country accuracy at ``radius_km`` of two methods' answers, largest differences first.

    ``answers`` maps two method names to ``(lat, lon)`` arrays aligned with
    ``lat``/``lon``.  Each row: ``country``, ``n`` (test places), ``acc`` per
    method, ``only_right`` (rows the method gets right and the other wrong) and,
    over the rows whose answer lies within ``near_km`` of the truth (the right
    region), ``near`` (their share), ``acc_near`` (the accuracy among them) and
    ``spread_near_km`` (the median distance of those answers from their
    geographic centre: 0 when the method gives one place to the whole region).
    """
    from shdd_geo.metrics import geographic_centre, great_circle_km

    (na, (alat, alon)), (nb, (blat, blon)) = answers.items()
    err = {na: great_circle_km(alat, alon, lat, lon), nb: great_circle_km(blat, blon, lat, lon)}
    ok_a, ok_b = err[na] < radius_km, err[nb] < radius_km
    rows = []
    for c in np.unique(country):
        m = country == c
        near, acc_near, spread = {}, {}, {}
        for name, (plat, plon) in answers.items():
            k = m & (err[name] < near_km)
            near[name] = round(float(k.sum() / m.sum()), 4)
            if k.any():
                acc_near[name] = round(float(np.mean(err[name][k] < radius_km)), 4)
                clat, clon = geographic_centre(plat[k][None], plon[k][None])
                spread[name] = round(float(np.median(great_circle_km(plat[k], plon[k], clat[0], clon[0]))), 1)
        rows.append({"country": str(c), "n": int(m.sum()),
                     "acc": {na: round(float(ok_a[m].mean()), 4), nb: round(float(ok_b[m].mean()), 4)},
                     "only_right": {na: int((ok_a & ~ok_b & m).sum()), nb: int((ok_b & ~ok_a & m).sum())},
                     "near": near, "acc_near": acc_near, "spread_near_km": spread,
                     "radius_km": radius_km, "near_km": near_km})
    rows.sort(key=lambda r: -abs(r["only_right"][na] - r["only_right"][nb]))
    return rows[:n]


if __name__ == "__main__":
    main()
