"""Re-calibrate a saved Blue Marble LocDiffusion's temperature and write it as float16.

Loads a model written by ``python -m benchmarks.recipes.train_bluemarble`` (or
``LocDiffusion.save``), chooses its density temperature on the validation tiles
of the random split (optionally only among temperatures whose 90 % credible
regions cover ``--min-coverage`` of them) and prints its metrics on the same
1,000 test tiles as ``python -m benchmarks.accuracy --task bluemarble``.  This is the last step of making
the built-in ``bluemarble-effnet`` model.

Run::

    python -m benchmarks.recipes.calibrate_bluemarble --model trained.safetensors --min-coverage 0.9 \\
        --out shdd_geo/data/models/bluemarble-effnet.safetensors
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import calibrate_and_save, load_tiles, test_rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a LocDiffusion trained on the benchmark's random split")
    p.add_argument("--out", required=True, help="where to write the calibrated float16 model")
    p.add_argument("--n-tiles", type=int, default=12000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--nside", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-coverage", type=float, default=None)
    p.add_argument("--temperatures", default="0.5,0.6,0.7,0.75,0.8,0.9,1.0,1.25,1.5,2.0,3.0")
    a = p.parse_args()

    import torch

    from shdd_geo.datasets import random_split
    from shdd_geo import LocDiffusion

    torch.set_num_threads(a.threads)
    X, lat, lon = load_tiles(a.n_tiles, a.cache_dir)
    s = random_split(len(X), seed=0)
    te = test_rows(s, a.n_test)  # the same test rows as the accuracy runner's bluemarble task
    model = LocDiffusion.load(a.model, device="cpu")
    calibrate_and_save(model, X, lat, lon, np.asarray(s.val), te, a.out, nside=a.nside, min_coverage=a.min_coverage,
                       temperatures=tuple(float(t) for t in a.temperatures.split(",")))


if __name__ == "__main__":
    main()
