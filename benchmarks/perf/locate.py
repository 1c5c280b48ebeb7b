"""The main job end to end: ``shdd-geo locate`` wall time, and the acceptance checks of issue 5.

Runs ``shdd-geo locate Paris Springfield --k 8`` in a fresh process (model
loading included) twice: with the retrieval hybrid (the default, ``snap``)
and without it (``--no-snap``, the peer); ``ratio_vs_no_snap`` is the first's
wall time over the second's.  The ``snap`` row also carries the checks:
"Paris" -> top mode within 25 km of Paris, France; "Springfield" -> modes in
both the USA and Australia (among the top 8).

Run: ``python -m benchmarks.perf.locate``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from benchmarks.common import ResultLog, add_result_args


def locate(*extra: str) -> tuple[float, dict]:
    """Wall seconds of one ``shdd-geo locate`` process and its records by query."""
    out = tempfile.mkdtemp()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "shdd_geo.cli", "locate", "Paris", "Springfield", "--k", "8",
                           "--out", out, "--json", *extra], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    records = json.loads(proc.stdout[proc.stdout.index("["):])
    return wall, {r["text"]: r for r in records}


def run(log) -> None:
    from shdd_geo import great_circle_km

    wall_peer, _ = locate("--no-snap")
    wall, by = locate()
    top = by["Paris"]["modes"][0]
    countries = [m["country"] for m in by["Springfield"]["modes"]]
    paris_km = float(great_circle_km(top["lat"], top["lon"], 48.8566, 2.3522))
    log.emit("locate", method="no_snap", names=2, wall_s=wall_peer)
    log.emit("locate", method="snap", names=2, wall_s=wall, ratio_vs_no_snap=wall / wall_peer,
             target_s_per_name=15, paris_top_mode_km=paris_km, paris_within_25km=paris_km <= 25.0,
             springfield_countries=countries, springfield_us_and_au="US" in countries and "AU" in countries)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_result_args(p)
    a = p.parse_args()
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        run(log)


if __name__ == "__main__":
    main()
