"""Choose ``namesake_weight`` and ``snap_km`` of ``locate`` on VALIDATION names.

Ranks 201-400 of the issue-24 list of ambiguous names (the acceptance set is
ranks 1-200, see :mod:`benchmarks.accuracy.builtin_tasks`).  Each name is
sampled once; the steps of ``Geolocator.locate`` then run for every weight
and snap radius (this study calls the pipeline's steps directly so that the
samples are shared).  Run::

    python -m benchmarks.studies.locate_tuning
"""
import json
import time

import numpy as np
import shdd_geo as sg
from shdd_geo.metrics import great_circle_km
from shdd_geo.datasets.gazetteer import mix_namesakes
from benchmarks.accuracy.builtin_tasks import ambiguous_places



def main() -> None:
    rows = ambiguous_places(200, offset=200)
    geo = sg.pretrained.load("geonames-minilm")
    W = (0.3, 0.5, 0.7, 0.85)
    SNAP = (200.0, 350.0, 500.0)
    hits = {(w, s): [] for w in W for s in SNAP}
    t0 = time.time()
    for r in rows:
        text, query = geo._one_input(r["text"])
        coeffs = geo._sample(query, 64, 0)
        m = geo.model
        own = m.field_from_samples(coeffs, nside=64, temperature=m.temperature_)
        names_log = geo._namesake_log(text, own)
        for w in W:
            answer = geo._tagged(mix_namesakes(np.asarray(own.log_density[0]), names_log, w), own)
            base = geo._find_modes(answer, 5, 500.0, 0.01)
            geo._refine(base, geo._decode_samples(coeffs)[0], 500.0)
            for s in SNAP:
                modes = geo._name_places({k: v.copy() for k, v in base.items()})
                geo._snap(modes, text, query, s, 0.9)
                d = float(great_circle_km(modes[0]["lat"], modes[0]["lon"], r["lat"], r["lon"]))
                hits[(w, s)].append(d <= 25.0)
    out = {"n": len(rows), "seconds": round(time.time() - t0, 1),
           "acc25": {f"w={w},snap={s:g}": float(np.mean(v)) for (w, s), v in hits.items()}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
