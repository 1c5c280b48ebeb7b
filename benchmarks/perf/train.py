"""Training throughput of LocDiffusion: samples/s at batch 512 and peak memory, per L.

Each case runs in a fresh subprocess (clean peak-RSS), with the paper's
architecture (width = D, bottleneck 128, depth 3, d_T = 200, d_I = 768),
the SHDD-KL loss on 2,048 random anchors, AdamW.  The peer in the same run
is L = 15: ``ratio_vs_L15`` is this case's samples/s over L = 15's.  One JSON
line per case.

    python -m benchmarks.perf.train [--steps 4] [--threads 2] [--device cpu|cuda] [--L 15 23 31 47]
"""
import argparse
import json
import subprocess
import sys

from benchmarks.common import ResultLog, add_result_args

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
L, steps, threads, device, loss = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
torch.set_num_threads(threads)
from shdd_geo import LocDiffusion
rng = np.random.default_rng(0)
n = 512 * (steps + 1)
X = rng.normal(size=(n, 768)).astype(np.float32)
lat, lon = np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)
m = LocDiffusion(L=L, batch_size=512, loss=loss, random_state=0, verbose=False, device=device)
m.fit(X[:512], lat[:512], lon[:512], epochs=1)          # warm-up step (allocations, kernels)
if device == "cuda":
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
t0 = time.perf_counter()
m.fit(X[512:], lat[512:], lon[512:], epochs=1)          # `steps` steps of 512
if device == "cuda":
    torch.cuda.synchronize()
dt = time.perf_counter() - t0
out = {"L": L, "D": (L + 1) ** 2, "loss": loss, "batch": 512, "steps": steps, "device": device,
       "threads": threads, "n_params": sum(p.numel() for p in m.net_.parameters()),
       "samples_per_s": 512 * steps / dt, "s_per_step": dt / steps,
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if device == "cuda":
    out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--L", type=int, nargs="+", default=[15, 23, 31, 47])
    add_result_args(ap)
    args = ap.parse_args()
    with ResultLog(args.results, tier=args.tier, seed=0) as log:
        run(args, log)


def run(args, log) -> None:
    base = None
    cases = [(L, "kl") for L in args.L] + [(args.L[-1], "l2")]
    for L, loss in cases:
        res = subprocess.run([sys.executable, "-c", CHILD, str(L), str(args.steps), str(args.threads), args.device, loss],
                             capture_output=True, text=True, check=True)
        rec = json.loads(res.stdout.strip().splitlines()[-1])
        if base is None:
            base = rec["samples_per_s"]
        rec["ratio_vs_L15"] = rec["samples_per_s"] / base
        log.emit("train", method=f"L{rec.pop('L')}_{rec.pop('loss')}", L=L, **rec)


if __name__ == "__main__":
    main()
