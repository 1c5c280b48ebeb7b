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

    python -m benchmarks.recipes.calibrate_geonames_conformal [--n 800] [--nside 64] [--samples 32] [--write] \
        [--results benchmarks/results/conformal-full.jsonl --tier full]
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import conformal_recipe_args, finish_conformal_recipe


def main() -> None:
    a = conformal_recipe_args(__doc__.splitlines()[0], n=800, n_help="places per half", nside=64, samples=32)

    from shdd_geo import pretrained
    from shdd_geo.datasets import load_geonames, random_split

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
    finish_conformal_recipe(a, t0, geo, levels, "held-out places", raw, lat[ev], lon[ev])


if __name__ == "__main__":
    main()
