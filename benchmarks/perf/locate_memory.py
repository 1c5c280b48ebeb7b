"""Peak memory of ``shdd-geo locate`` with maps: 50 names against one (issue 28: within 1.2x).

Each case is a fresh process that runs the CLI in-process
(``shdd_geo.cli.main``) writing PNG, NetCDF and GeoJSON for every name, then
reports its own peak resident set size (``ru_maxrss``).  The row of the
largest case carries ``ratio_vs_1`` (its peak over the one-name peak, in
the same run) and ``within_1_2x``.  Before issue 28 every map's figure
stayed in memory until a full garbage collection (~88 MiB per name).

Run: ``python -m benchmarks.perf.locate_memory [--names 1 50] [--samples 8]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from benchmarks.common import ResultLog, add_result_args

NAMES = ("Kyoto Springfield Paris Lagos Lima Oslo Perth Quito Dakar Hanoi Cairo Turin Delhi Sapporo Denver "
         "Bergen Cusco Tunis Austin Leeds Porto Brno Kazan Accra Hobart Tampa Padua Ghent Cork Nagoya Omsk "
         "Dhaka Recife Rosario Malmo Lviv Basra Izmir Tabriz Medan Cebu Gdansk Plovdiv Varna Split Graz Lille "
         "Nantes Seville Bilbao").split()

_CHILD = """
import json, resource, sys
from shdd_geo.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
      file=sys.stderr)
"""


def peak_mib(n: int, samples: int, nside: int) -> tuple[float, float]:
    """Peak RSS [MiB] and wall seconds of one locate process over the first ``n`` names."""
    argv = ["locate", *NAMES[:n], "--out", tempfile.mkdtemp(), "--json", "--samples", str(samples),
            "--nside", str(nside), "--format", "png,nc,geojson"]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, check=True)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    if report["rc"] != 0:
        raise RuntimeError(f"locate failed: {proc.stderr[-500:]}")
    return report["maxrss_mib"], time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--names", type=int, nargs="+", default=[1, 50], help="numbers of names, smallest first")
    p.add_argument("--samples", type=int, default=8, help="diffusion samples per name (memory is the maps')")
    p.add_argument("--nside", type=int, default=64, help="map resolution (the CLI's default)")
    add_result_args(p)
    a = p.parse_args()
    if max(a.names) > len(NAMES):
        p.error(f"--names: at most {len(NAMES)}")
    with ResultLog(a.results, tier=a.tier, seed=0) as log:
        base = None
        for n in sorted(a.names):
            mib, wall = peak_mib(n, a.samples, a.nside)
            base = base or mib
            extra = {"ratio_vs_1": mib / base, "within_1_2x": mib <= 1.2 * base} if n > min(a.names) else {}
            log.emit("locate_memory", method="png_nc_geojson", names=n, peak_rss_mib=mib, wall_s=wall,
                     nside=a.nside, samples=a.samples, **extra)


if __name__ == "__main__":
    main()
