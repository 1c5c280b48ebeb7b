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

``--namesakes N`` adds one line on what such a collapsed model computes
(docs/training.rst, "What a collapsed network computes"): for ``N`` names that
cities15000 gives to >= 3 places, the distance from the model's answer (one
DDIM-20 sample, decoded) to the mode of the *mean* SHDD vector of those places,
which is the SHDD-KL optimum of a prediction that ignores ``x_t``, and to the
nearest of the places.

Run::

    python -m benchmarks.studies.denoiser                       # the built-in geonames-minilm
    python -m benchmarks.studies.denoiser --model m.safetensors  # a model trained on the MiniLM names
    python -m benchmarks.studies.denoiser --model m.safetensors --steps 0 --namesakes 300
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
        plat, plon = decode_samples((pa / model.scale_).numpy()[:, None, :])
        d = great_circle_km(plat[:, 0], plon[:, 0], lat, lon)
        yield {"t": int(t), "abar": round(float(sched.alphas_cumprod[int(t)]), 5),
               "cos_truth": round(float(cos(pa, x0).mean()), 4), "median_km": round(float(np.median(d)), 1),
               "acc_25km": round(float((d < 25).mean()), 4), "cos_other_xt": round(float(cos(pa, pb).mean()), 4)}


def namesakes_check(model, geo, n: int, seed: int = 0) -> dict:
    """Model answer vs the mode of the mean SHDD of each name's places (``--namesakes``)."""
    from shdd_geo.codec import encode
    from shdd_geo.datasets import load_geonames
    from shdd_geo.decoding import decode
    from shdd_geo.metrics import great_circle_km

    table = load_geonames(15000)
    groups = [g for _, g in table.groupby("text", sort=True) if len(g) >= 3]
    rng = np.random.default_rng(seed)
    groups = [groups[i] for i in np.sort(rng.choice(len(groups), size=min(n, len(groups)), replace=False))]
    X = geo.embed([g["text"].iloc[0] for g in groups])
    c = model.sample(X, 1, sampler="ddim", steps=20, generator=seed)[:, 0].astype(np.float64)
    plat, plon = decode(c)
    mean = np.stack([encode(g["lat"].to_numpy(), g["lon"].to_numpy(), L=model.L).mean(0) for g in groups])
    mlat, mlon = decode(mean)
    d_mean = great_circle_km(plat, plon, mlat, mlon)
    d_near = np.array([great_circle_km(g["lat"].to_numpy(), g["lon"].to_numpy(), plat[i], plon[i]).min()
                       for i, g in enumerate(groups)])
    return {"check": "namesakes", "names": len(groups),
            "median_places": float(np.median([len(g) for g in groups])),
            "median_km_to_mode_of_mean_shdd": round(float(np.median(d_mean)), 1),
            "frac_within_200km_of_it": round(float(np.mean(d_mean < 200)), 3),
            "median_km_to_nearest_place": round(float(np.median(d_near)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file (default: the built-in geonames-minilm)")
    ap.add_argument("--n", type=int, default=256, help="places probed")
    ap.add_argument("--steps", default="0,5,10,19,24,28,32,36,40,49,100,300,600,900")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--namesakes", type=int, default=0,
                    help="also compare with the mean SHDD of N names shared by >= 3 places (0: skip)")
    a = ap.parse_args()
    if a.namesakes < 0:
        ap.error(f"--namesakes must be >= 0, got {a.namesakes}")

    import torch

    torch.set_num_threads(a.threads)
    from shdd_geo import pretrained
    from shdd_geo.datasets import load_geonames

    geo = pretrained.load("geonames-minilm")
    model = geo.model
    if a.model:
        from shdd_geo import LocDiffusion

        model = LocDiffusion.load(a.model, device="cpu")
    table = load_geonames(1000).sample(a.n, random_state=0)
    X = geo.embed(table["text"].tolist())
    info = {"bench": "denoiser", "model": a.model or "geonames-minilm", "prediction": model.prediction,
            "omega_0": model.omega_0, "L": model.L, "n": a.n}
    for row in probe(model, X, table["lat"].to_numpy(), table["lon"].to_numpy(), [int(s) for s in a.steps.split(",")]):
        print(json.dumps({**info, **row}), flush=True)
    if a.namesakes:
        print(json.dumps({**info, **namesakes_check(model, geo, a.namesakes)}), flush=True)


if __name__ == "__main__":
    main()
