"""Fit the built-in ``geonames-minilm`` model's conformal credible levels (issue 24) and measure them.

The held-out places of ``train_geonames_default.py`` (1 % of GeoNames cities1000
places by geonameid, never trained on; 800 + 800 of them drawn with seed 0)
are split as there: the first 800 fit
:class:`shdd_geo.calibration.ConformalLevels` on the maps of the full
``Geolocator`` pipeline (samples, location prior, namesakes), the other 800
measure coverage and mean area of the 50/80/90/95 % regions, raw and
calibrated (rows of task ``conformal`` with ``--results``: the suite's
``conformal`` job).  ``--write`` stores the levels in the model file
(tensors unchanged; the file gains the conformal table and a tensor
checksum).  The fit is deterministic, so the stored levels are the ones
measured.  Maps are built in bounded memory (``LocDiffusion.field_from_samples``
works in chunks).

Usage::

    python -m benchmarks.recipes.calibrate_geonames_conformal [--n 800] [--nside 64] [--samples 64] [--write] \
        [--results benchmarks/results/conformal-full.jsonl --tier full]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ResultLog, add_result_args


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=800, help="places per half")
    ap.add_argument("--nside", type=int, default=64)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--write", action="store_true", help="save the levels into the shipped model file")
    add_result_args(ap)
    a = ap.parse_args()

    import torch

    from shdd_geo import pretrained
    from shdd_geo.calibration import DEFAULT_LEVELS, coverage, mean_area_km2
    from shdd_geo.datasets import load_geonames, random_split

    torch.set_num_threads(a.threads)
    t0 = time.time()
    table = load_geonames(1000)
    split = random_split(table, fractions=(0.99, 0.0, 0.01), seed=0, groups="geonameid")
    te = np.random.default_rng(0).choice(np.asarray(split.test), size=2 * a.n, replace=False)
    cal, ev = te[: a.n], te[a.n :]
    texts = table["text"].to_numpy()
    lat, lon = table["lat"].to_numpy(), table["lon"].to_numpy()
    geo = pretrained.load("geonames-minilm")
    geo.model.conformal_ = None
    kw = {"nside": a.nside, "n_samples": a.samples, "generator": 1}
    raw = geo.predict_field(list(texts[ev]), **kw)
    levels = geo.calibrate(list(texts[cal]), lat[cal], lon[cal], nside=a.nside, n_samples=a.samples, generator=0)
    calibrated = levels.apply(raw)
    cov_raw = coverage(raw, lat[ev], lon[ev], calibrated=False)
    cov_cal = coverage(calibrated, lat[ev], lon[ev])
    area_cal = mean_area_km2(calibrated)
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        for lv in DEFAULT_LEVELS:
            area_raw = float(np.mean(raw.credible_region(lv, calibrated=False).area_km2))
            log.emit("conformal", method="geonames-minilm", split="held-out places", level=lv, n=int(ev.size),
                     n_calibration=int(cal.size), nominal=levels.nominal(lv), coverage_raw=cov_raw[lv],
                     area_Mkm2_raw=area_raw / 1e6, coverage=cov_cal[lv], area_Mkm2=area_cal[lv] / 1e6)
    out = {"seconds": round(time.time() - t0, 1)}
    if a.write:
        path = Path(pretrained.__file__).resolve().parent.parent / "data" / "models" / geo.card.weights
        geo.model.save(path, half=True)
        out["written"] = str(path)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
