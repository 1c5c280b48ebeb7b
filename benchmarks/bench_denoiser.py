"""Does the denoiser use its noisy input?  The x0 prediction of a model, step by step.

For ``--n`` random gazetteer places (cities1000, the name's MiniLM embedding
as condition) the true SHDD target ``x0`` is noised to step ``t``
(``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps``) and the model's clean
prediction is compared with the truth.  One JSON line per ``t``:

* ``cos_truth`` -- mean cosine between predicted and true coefficients;
* ``median_km`` -- median distance from the decoded prediction to the place;
* ``cos_other_xt`` -- mean cosine between the predictions made from ``x_t``
  and from the ``x_t`` of *another* place with the same condition and noise.

A denoiser that uses ``x_t`` recovers the place at small ``t`` (``median_km``
near 0, ``cos_truth`` near 1) and changes its answer with ``x_t``
(``cos_other_xt`` well below 1).  One that ignores ``x_t`` predicts from the
condition alone: ``median_km`` stays at the name's own error and
``cos_other_xt`` near 1 at every step -- its samples then all collapse onto
the condition's main mode.

Run::

    python benchmarks/bench_denoiser.py                       # the built-in geonames-minilm
    python benchmarks/bench_denoiser.py --model m.safetensors  # a model trained on the MiniLM names
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def probe(model, X, lat, lon, steps, seed: int = 0):
    """Yield one dict per step ``t`` (see the module docstring)."""
    import torch

    from shdd_geo.metrics import great_circle_km
    from shdd_geo.sh import sh_basis

    cond = torch.as_tensor(np.asarray(X, np.float32))
    x0 = sh_basis(torch.as_tensor(np.array(lat)), torch.as_tensor(np.array(lon)), model.L).float() * model.scale_
    g = torch.Generator().manual_seed(seed)
    perm = torch.roll(torch.arange(len(lat)), 1)  # each row gets its neighbour's place
    cos = torch.nn.functional.cosine_similarity
    model.net_.eval()
    sched = model.scheduler_
    for t in steps:
        tt = torch.full((len(lat),), int(t), dtype=torch.long)
        eps = torch.randn(x0.shape, generator=g)
        with torch.inference_mode():
            xa, xb = sched.add_noise(x0, eps, tt), sched.add_noise(x0[perm], eps, tt)
            pa = sched.predict_x0(model.net_(xa, tt, cond), tt, xa)
            pb = sched.predict_x0(model.net_(xb, tt, cond), tt, xb)
        plat, plon = model._decode((pa / model.scale_).numpy()[:, None, :], None)
        d = great_circle_km(plat[:, 0], plon[:, 0], lat, lon)
        yield {"t": int(t), "abar": round(float(sched._abar(int(t))), 5),
               "cos_truth": round(float(cos(pa, x0).mean()), 4), "median_km": round(float(np.median(d)), 1),
               "acc_25km": round(float((d < 25).mean()), 4), "cos_other_xt": round(float(cos(pa, pb).mean()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file (default: the built-in geonames-minilm)")
    ap.add_argument("--n", type=int, default=256, help="places probed")
    ap.add_argument("--steps", default="0,5,10,19,24,28,32,36,40,49,100,300,600,900")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    from shdd_geo import pretrained
    from shdd_geo.datasets import load_geonames

    geo = pretrained.load("geonames-minilm")
    model = geo.model
    if a.model:
        from shdd_geo.model import LocDiffusion

        model = LocDiffusion.load(a.model, device="cpu")
    table = load_geonames(1000).sample(a.n, random_state=0)
    X = geo.embed(table["text"].tolist())
    info = {"bench": "denoiser", "model": a.model or "geonames-minilm", "prediction": model.prediction,
            "omega_0": model.omega_0, "L": model.L, "n": a.n}
    for row in probe(model, X, table["lat"].to_numpy(), table["lon"].to_numpy(), [int(s) for s in a.steps.split(",")]):
        print(json.dumps({**info, **row}), flush=True)


if __name__ == "__main__":
    main()
