"""How ``shdd-geo`` answers the bad-input cases of ``tests/core/test_cli_errors.py``, as real processes.

Each case runs ``python -m shdd_geo.cli ARGS`` with ``PYTHONPATH=TREE`` (a
source tree: this checkout by default, or an older one unpacked with
``git archive SHA | tar -x -C DIR``) and is classed as ``traceback``,
``one_line`` (non-zero exit, one line on stderr), ``other_failure`` (several
lines, e.g. argparse's usage dump), ``accepted_exit_0`` or
``still_working_after_60s`` (killed: it did not fail up front).  One JSON
line per case, then the counts (issue 28).

Run: ``python -m benchmarks.studies.cli_errors [--tree DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", default=str(ROOT), help="source tree whose shdd_geo runs the cases")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as still working")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "core"))
    import test_cli_errors as cases

    d = cases.make_inputs(Path(tempfile.mkdtemp()))
    counts = dict.fromkeys(("still_working_after_60s", "traceback", "one_line", "other_failure",
                            "accepted_exit_0"), 0)
    env = {**os.environ, "PYTHONPATH": a.tree, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    readonly = cases.read_only_dir(d)
    for cid, argv, _code, _needle in cases.CASES:
        args = [x.format(d=d, readonly=readonly) for x in argv]
        try:
            r = subprocess.run([sys.executable, "-m", "shdd_geo.cli", *args], capture_output=True, text=True,
                               cwd=tempfile.mkdtemp(), env=env, timeout=a.timeout)
            rc, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, ""
        lines = [x for x in err.splitlines() if x.strip() and "%|" not in x]  # progress bars are not errors
        kind = ("still_working_after_60s" if rc is None else "traceback" if "Traceback" in err else
                "accepted_exit_0" if rc == 0 else "one_line" if len(lines) == 1 else "other_failure")
        counts[kind] += 1
        print(json.dumps({"case": cid, "rc": rc, "kind": kind, "last": lines[-1][:160] if lines else ""}), flush=True)
    print(json.dumps({"tree": a.tree, "n": len(cases.CASES), **counts}))


if __name__ == "__main__":
    main()
