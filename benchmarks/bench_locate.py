"""The main job end to end: ``shdd-geo locate`` timing and the issue's acceptance checks.

Runs ``shdd-geo locate`` in a fresh process (model loading included) and
prints one JSON line with the wall time, then one line per query with the
top modes, and the acceptance checks of issue 5: "Paris" -> top mode within
25 km of Paris, France; "Springfield" -> modes in both the USA and Australia
(among the top 8).

Run: ``python benchmarks/bench_locate.py``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time


def main() -> None:
    out = tempfile.mkdtemp()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "shdd_geo.cli", "locate", "Paris", "Springfield", "--k", "8",
                           "--out", out, "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    records = json.loads(proc.stdout[proc.stdout.index("["):])
    print(json.dumps({"bench": "locate", "names": 2, "wall_s": round(wall, 2), "target_s_per_name": 15}))
    from shdd_geo.metrics import great_circle_km

    by = {r["text"]: r for r in records}
    top = by["Paris"]["modes"][0]
    countries = [m["country"] for m in by["Springfield"]["modes"]]
    print(json.dumps({"bench": "locate", "check": "paris_top_mode_within_25km",
                      "distance_km": round(float(great_circle_km(top["lat"], top["lon"], 48.8566, 2.3522)), 1),
                      "top_mode": top}))
    print(json.dumps({"bench": "locate", "check": "springfield_us_and_au", "countries": countries,
                      "ok": "US" in countries and "AU" in countries}))


if __name__ == "__main__":
    main()
