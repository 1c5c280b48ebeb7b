"""``python -m benchmarks quick | full | report | list``: run the suite, regenerate the results page.

``quick``
    Every job's quick tier (small seeded data, short trainings: ~20 CPU-minutes,
    about 10 minutes on two idle cores with the default ``--jobs 2``), each in
    its own process; rows are appended to
    ``benchmarks/results/<job>-quick.jsonl``; then a summary table.
``full``
    The paper-scale tier (hours); ``--only`` picks jobs.
``report``
    Regenerate ``docs/benchmarks.md`` from the result files (no benchmark runs).
``list``
    The jobs and the command of each tier.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.report import PAGE, headline, render
from benchmarks.suite import FULL_ONLY, JOBS, latest_run, run_job


def _run_tier(tier: str, only: list[str], threads: int, parallel: int = 1) -> int:
    jobs = [j for j in JOBS if (not only or j.name in only) and not (tier == "quick" and j.name in FULL_ONLY)]
    unknown = set(only) - {j.name for j in JOBS}
    if unknown:
        raise SystemExit(f"--only: unknown job(s) {sorted(unknown)}; known: {', '.join(j.name for j in JOBS)}")
    t0 = time.perf_counter()

    def one(job):
        print(f"[{tier}] {job.name}: {job.command(tier)}", flush=True)
        rc, wall, cpu = run_job(job, tier, threads)
        rows = latest_run(job.name, tier) if rc == 0 else []
        print(f"[{tier}] {job.name}: {'ok' if rc == 0 else 'FAILED'} in {wall:.0f} s", flush=True)
        return rc, cpu, (job.name, "ok" if rc == 0 else f"FAILED ({rc})", f"{wall:7.1f}", f"{cpu:7.1f}",
                         str(len(rows)), headline(job.name, rows) if rows else "-")

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        done = list(pool.map(one, jobs))
    failed, cpu_total, lines = sum(d[0] != 0 for d in done), sum(d[1] for d in done), [d[2] for d in done]
    total = time.perf_counter() - t0
    head = ("job", "status", "wall s", "CPU s", "rows", "headline")
    widths = [max(len(r[i]) for r in lines + [head]) for i in range(5)]
    for r in [head] + lines:
        print("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
    print(f"{tier} tier: {len(jobs)} jobs ({parallel} at a time), {failed} failed, {total / 60:.1f} min wall, "
          f"{cpu_total / 60:.1f} CPU-min; "
          f"`python -m benchmarks report` regenerates {PAGE.name}")
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=("quick", "full", "report", "list"))
    p.add_argument("--only", default="", help="comma-separated job names (quick/full)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of the jobs (quick/full)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="jobs run side by side, each single-threaded (default: %(default)s)")
    a = p.parse_args(argv)
    if a.command == "report":
        PAGE.write_text(render())
        print(f"wrote {PAGE} ({len(PAGE.read_text().splitlines())} lines)")
        return 0
    if a.command == "list":
        for job in JOBS:
            print(f"{job.name} ({job.kind}): {job.title}")
            for tier in ("quick", "full"):
                if not (tier == "quick" and job.name in FULL_ONLY):
                    print(f"  {tier}: {job.command(tier)}")
        return 0
    return _run_tier(a.command, [s for s in a.only.split(",") if s], a.threads, a.jobs)


if __name__ == "__main__":
    sys.exit(main())
