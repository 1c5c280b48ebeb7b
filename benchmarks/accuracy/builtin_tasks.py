"""Tasks of the accuracy runner that measure the built-in ``geonames-minilm`` model as users call it.

``toponyms`` (issue 24's acceptance)
    The ``n`` most populous GeoNames (cities1000) places whose name is shared
    by another place at least 500 km away, one per name, best first; for
    each, :func:`shdd_geo.locate`-style ``Geolocator.locate`` with its
    defaults, and whether its top mode lies within 25 km of the name's most
    populous namesake.  ``--offset`` skips the first places: ranks 201-400
    are the validation set on which ``namesake_weight`` and ``snap_km`` were
    chosen; the acceptance set is ranks 1-200.  Also the named checks:
    "Paris" -> Paris, FR first; "San José" -> San José, CR or San Jose,
    US first; "Springfield" lists modes in the US and in Australia.
The credible regions of the same model are measured by
``benchmarks/recipes/calibrate_geonames_conformal.py`` (the ``conformal`` job).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ambiguous_places", "run_toponyms"]


def ambiguous_places(n: int = 200, *, offset: int = 0, min_km: float = 500.0, size: int = 1000) -> list[dict]:
    """The most populous places whose name another place >= ``min_km`` away shares (one per name)."""
    from shdd_geo.datasets import load_geonames
    from shdd_geo.datasets.gazetteer import fold_name
    from shdd_geo.metrics import great_circle_km

    t = load_geonames(size)
    t = t[~t.is_alternate].reset_index(drop=True)
    key = np.array([fold_name(s) for s in t.text])
    pop, lat, lon = t.population.to_numpy(), t.lat.to_numpy(), t.lon.to_numpy()
    by_key: dict[str, list[int]] = {}
    for i, k in enumerate(key):
        by_key.setdefault(k, []).append(i)
    rows, seen = [], set()
    for i in np.argsort(-pop, kind="stable"):
        k = key[i]
        if k in seen or len(by_key[k]) < 2:
            continue
        others = np.array([j for j in by_key[k] if j != i])
        if great_circle_km(lat[others], lon[others], lat[i], lon[i]).max() < min_km:
            continue
        seen.add(k)
        g = np.array(by_key[k])
        top = g[np.argmax(pop[g])]
        rows.append({"text": str(t.text[i]), "lat": float(lat[top]), "lon": float(lon[top]),
                     "country": str(t.country[top]), "population": int(pop[top])})
        if len(rows) == offset + n:
            break
    return rows[offset:]


def run_toponyms(a, log) -> None:
    import torch

    from shdd_geo import pretrained
    from shdd_geo.metrics import great_circle_km

    torch.set_num_threads(a.threads)
    geo = pretrained.load("geonames-minilm")
    places = ambiguous_places(a.n, offset=a.offset)
    hits, wrong_country = [], 0
    for p, res in zip(places, geo.locate_many([p["text"] for p in places], progress=False)):
        top = res["modes"][0]
        d = float(great_circle_km(top["lat"], top["lon"], p["lat"], p["lon"]))
        hits.append(d <= 25.0)
        wrong_country += top["country"] != p["country"]
    split = "validation" if a.offset else "acceptance"
    log.emit("toponyms", method="locate (defaults)", split=split, n=len(places), offset=a.offset,
             acc_25km=float(np.mean(hits)), wrong_country=int(wrong_country),
             misses=[p["text"] for p, h in zip(places, hits) if not h])
    checks = {}
    for text, ok in (("Paris", {"FR"}), ("San José", {"CR", "US"})):
        checks[text] = geo.locate(text)["modes"][0]["country"] in ok
    countries = {m["country"] for m in geo.locate("Springfield")["modes"]}
    checks["Springfield"] = {"US", "AU"} <= countries
    log.emit("toponyms_named", method="locate (defaults)", split="named",
             **{f"ok_{k.replace(' ', '_')}": bool(v) for k, v in checks.items()})
