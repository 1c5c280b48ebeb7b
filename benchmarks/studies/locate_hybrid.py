"""The main job's top mode with and without the retrieval hybrid, on held-out and on known names.

``Geolocator.locate`` lists the density's modes; with ``snap_km`` (the
default, 200 km) each mode moves onto the known place within that distance
whose name embedding is most similar to the query (paper appendix A.4).  This
script measures what that does to the top mode on the built-in
``geonames-minilm``'s own held-out places (the evaluation half of
``train_geonames_default.py``'s 1 % hold-out, so the model never saw them),
with a gazetteer that excludes every held-out place (otherwise a name would
find itself).  ``--places known`` instead takes 400 random places of the
gazetteer itself (which the model also trained on): what a user typing a
known city name gets, and ``--places famous`` the ``--n`` most populous ones
(the names users type most).  ``--model PATH`` swaps in other LocDiffusion
weights trained on the same MiniLM embeddings (a candidate default).  The
hybrid does not change the samples, and the best candidate of a mode does
not depend on the similarity threshold, so one
``locate`` call per name (threshold -1: always move) gives the plain mode
(``model_lat``/``model_lon``) and the hybrid at every threshold.

Run::

    python -m benchmarks.studies.locate_hybrid --n 400 --samples 16 --nside 32 --places heldout
    python -m benchmarks.studies.locate_hybrid --n 400 --samples 16 --nside 32 --places known
    python -m benchmarks.studies.locate_hybrid --n 100 --samples 16 --nside 32 --places famous
    python -m benchmarks.studies.locate_hybrid --places famous --n 100 --model M.safetensors --sampler ddim:20
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=400, help="held-out places (at most 400: the evaluation half)")
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--nside", type=int, default=32)
    p.add_argument("--snap-km", type=float, default=200.0)
    p.add_argument("--thresholds", default="0.5,0.7,0.8,0.9,0.95,0.99", help="similarity thresholds to report")
    p.add_argument("--places", default="heldout", choices=("heldout", "known", "famous"))
    p.add_argument("--model", default=None,
                   help="a LocDiffusion checkpoint to use instead of geonames-minilm's weights (same encoder)")
    p.add_argument("--sampler", default=None,
                   help="sampler:steps, e.g. ddpm:100 (default: the model card's)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()

    import torch

    from shdd_geo import pretrained
    from shdd_geo.datasets import load_geonames, random_split
    from shdd_geo.metrics import summarize

    torch.set_num_threads(a.threads)
    table = load_geonames(1000)
    split = random_split(table, fractions=(0.99, 0.0, 0.01), seed=0, groups="geonameid")
    te = np.random.default_rng(0).choice(np.asarray(split.test), size=min(800, len(split.test)), replace=False)
    ev = te[len(te) // 2 :][: a.n]  # as train_geonames_default.py --n-test 400: the evaluation half
    held_out = set(table["geonameid"].to_numpy()[np.asarray(split.test)].tolist())
    g15 = load_geonames(15000)
    keep = ~g15["geonameid"].isin(held_out).to_numpy()
    geo = pretrained.load("geonames-minilm")
    if a.model:
        from shdd_geo.model import LocDiffusion

        geo.model = LocDiffusion.load(a.model, device="cpu")
    if a.sampler:
        import dataclasses

        name, _, steps = a.sampler.partition(":")
        if name not in ("ddpm", "ddim") or not steps.isdigit():
            p.error(f"--sampler must look like ddim:20 or ddpm:100, got {a.sampler!r}")
        geo.card = dataclasses.replace(geo.card, sample_kwargs={"sampler": name, "steps": int(steps)})
    geo.__dict__["places"] = pretrained.Gazetteer(g15["text"].to_numpy()[keep], g15["country"].to_numpy()[keep],
                                                  g15["lat"].to_numpy()[keep], g15["lon"].to_numpy()[keep])
    # the known namesakes (locate's namesake_weight and snap) without the held-out places either
    from shdd_geo.datasets.gazetteer import Namesakes

    geo.__dict__["namesakes"] = Namesakes.from_geonames(1000, exclude_ids=sorted(held_out))
    if a.places == "heldout":
        names, lat, lon = table["text"].to_numpy()[ev], table["lat"].to_numpy()[ev], table["lon"].to_numpy()[ev]
    elif a.places == "famous":
        pop = g15["population"].to_numpy()
        idx = np.flatnonzero(keep)[np.argsort(-pop[keep], kind="stable")[: a.n]]
        names, lat, lon = g15["text"].to_numpy()[idx], g15["lat"].to_numpy()[idx], g15["lon"].to_numpy()[idx]
    else:
        idx = np.random.default_rng(1).choice(np.flatnonzero(keep), size=a.n, replace=False)
        names, lat, lon = g15["text"].to_numpy()[idx], g15["lat"].to_numpy()[idx], g15["lon"].to_numpy()[idx]
    plain, snapped, sims = np.zeros((len(names), 2)), np.zeros((len(names), 2)), np.full(len(names), -np.inf)
    t0 = time.perf_counter()
    for i, name in enumerate(names):
        top = geo.locate(str(name), k=5, nside=a.nside, n_samples=a.samples, generator=i, snap_km=a.snap_km,
                         snap_min_similarity=-1.0)["modes"][0]
        plain[i] = top["model_lat"], top["model_lon"]
        snapped[i] = top["lat"], top["lon"]
        if top["similarity"] is not None:
            sims[i] = top["similarity"]
    secs = time.perf_counter() - t0
    rows = [("locate top mode", None, plain)]
    for t in (float(v) for v in a.thresholds.split(",")):
        rows.append(("locate top mode + hybrid", t, np.where((sims >= t)[:, None], snapped, plain)))
    for method, t, pts in rows:
        res = {k: round(float(v), 4) for k, v in summarize(pts[:, 0], pts[:, 1], lat, lon).items()}
        print(json.dumps({"bench": "locate_hybrid", "places": a.places, "model": a.model or "geonames-minilm",
                          "sampler": geo.card.sample_kwargs, "method": method, "min_similarity": t,
                          "moved": None if t is None else int(np.sum(sims >= t)), "samples": a.samples,
                          "nside": a.nside, "snap_km": a.snap_km, "seconds_per_name": round(secs / len(names), 2),
                          **res}), flush=True)


if __name__ == "__main__":
    main()
