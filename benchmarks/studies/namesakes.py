"""How many namesakes do the samples reach?  Samplers compared on multi-country place names.

For the ``--n-names`` names of the gazetteer (cities1000) with the most places
among those shared by places in at least 3 countries, ``--samples`` samples
per name are drawn with each sampler and decoded; a sample counts for the
country of the nearest place of that name if it lies within 200 km of it,
else as "elsewhere".  One JSON line per sampler: the share of the namesakes'
countries reached, the mean number of countries reached, the share of samples
far from every namesake, and the seconds.  Then one line per (name in
``--show``, sampler): where ``--show-samples`` samples go, counted by the
country of the nearest known place of any name (the gazetteer ``locate``
names modes with, >= 15,000 inhabitants).

Run::

    python -m benchmarks.studies.namesakes
    python -m benchmarks.studies.namesakes --model other.safetensors --samplers ddim:20,ddpm:100
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import numpy as np

from benchmarks.common import decode_samples


def reached(model, X, names, table, n_samples: int, kw: dict, radius_km: float = 200.0):
    """Per name: Counter of the countries of the namesakes the samples fall near (+ 'elsewhere')."""
    from shdd_geo.metrics import great_circle_km

    coeffs = model.sample(X, n_samples, generator=0, **kw)
    lat, lon = decode_samples(coeffs)
    out = []
    for i, name in enumerate(names):
        rows = table[table["text"] == name]
        d = great_circle_km(lat[i][:, None], lon[i][:, None], rows["lat"].to_numpy()[None], rows["lon"].to_numpy()[None])
        near = d.min(1) < radius_km
        c = collections.Counter(rows["country"].to_numpy()[d.argmin(1)[near]].tolist())
        c["elsewhere"] = int((~near).sum())
        out.append(c)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file (default: the built-in geonames-minilm)")
    ap.add_argument("--samplers", default="ddim:20,ddim:50,ddim:100,ddpm:50,ddpm:100")
    ap.add_argument("--n-names", type=int, default=40)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--show", default="San José,Santiago,Springfield,Sydney,Melbourne,Perth,Victoria")
    ap.add_argument("--show-samples", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    from shdd_geo import pretrained
    from shdd_geo.datasets import load_geonames

    geo = pretrained.load("geonames-minilm")
    if a.model:
        from shdd_geo import LocDiffusion

        geo.model = LocDiffusion.load(a.model, device="cpu")
        geo.model.verbose = False
    table = load_geonames(1000)
    counts = table.groupby("text").size().sort_values(ascending=False)
    names = [n for n in counts.index[: 2 * a.n_names] if table.loc[table["text"] == n, "country"].nunique() >= 3]
    names = names[: a.n_names]
    samplers = [(s.split(":")[0], int(s.split(":")[1])) for s in a.samplers.split(",")]
    X = geo.embed(names)
    for sampler, steps in samplers:
        kw = {"sampler": sampler, "steps": steps}
        t0 = time.perf_counter()
        per = reached(geo.model, X, names, table, a.samples, kw)
        dt = time.perf_counter() - t0
        share, ncountry = [], []
        for name, c in zip(names, per):
            got = {k for k in c if k != "elsewhere"}
            share.append(len(got) / table.loc[table["text"] == name, "country"].nunique())
            ncountry.append(len(got))
        far = np.mean([c["elsewhere"] / a.samples for c in per])
        print(json.dumps({"bench": "namesakes", "sampler": sampler, "steps": steps, "names": len(names),
                          "samples": a.samples, "countries_reached": round(float(np.mean(share)), 4),
                          "mean_countries": round(float(np.mean(ncountry)), 3),
                          "far_from_every_namesake": round(float(far), 4), "seconds": round(dt, 1)}), flush=True)
    show = [s for s in a.show.split(",") if s]
    if show:
        Xs = geo.embed(show)
        for sampler, steps in samplers:
            coeffs = geo.model.sample(Xs, a.show_samples, generator=0, sampler=sampler, steps=steps)
            lat, lon = decode_samples(coeffs)
            for i, name in enumerate(show):
                c = collections.Counter(str(x) for x in geo.places.nearest(lat[i], lon[i])[1])
                print(json.dumps({"bench": "namesakes", "name": name, "sampler": sampler, "steps": steps,
                                  "samples": a.show_samples, "countries": dict(c.most_common())},
                                 ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
