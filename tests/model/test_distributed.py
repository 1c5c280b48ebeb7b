"""Two CPU processes (torchrun, gloo, DistributedDataParallel) match a one-process run."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model import LocDiffusion  # noqa: E402
from shdd_geo.model.distributed import DistContext, local_slice, setup  # noqa: E402

PARAMS = dict(L=5, bottleneck=8, depth=2, time_dim=16, dropout=0.0, batch_size=16, n_anchors=256,
              num_train_timesteps=50, cond_drop=0.25, lr=1e-3, random_state=0, verbose=False, device="cpu")

WORKER = textwrap.dedent("""
    import sys, numpy as np, torch
    torch.set_num_threads(1)
    from shdd_geo.model import LocDiffusion
    d = np.load(sys.argv[1])
    m = LocDiffusion(**{params}).fit(d["X"], d["lat"], d["lon"], epochs=3)
    import torch.distributed as dist
    assert not dist.is_initialized()
    import os
    if os.environ["RANK"] == "0":
        m.save(sys.argv[2])
""")


def _data():
    rng = np.random.default_rng(1)
    return dict(X=rng.normal(size=(64, 5)).astype(np.float32), lat=rng.uniform(-60, 60, 64),
                lon=rng.uniform(-180, 180, 64))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_single_process_context():
    ctx = setup("cpu")
    assert ctx == DistContext() and ctx.is_main and not ctx.distributed
    two = DistContext(rank=1, world_size=2)
    assert local_slice(8, two) == slice(4, 8)
    with pytest.raises(ValueError, match="evenly"):
        local_slice(7, two)


def test_two_gloo_processes_match_one(tmp_path):
    data = _data()
    np.savez(tmp_path / "d.npz", **data)
    (tmp_path / "worker.py").write_text(WORKER.format(params=repr(PARAMS)))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           str(tmp_path / "worker.py"), str(tmp_path / "d.npz"), str(tmp_path / "ddp.safetensors")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = LocDiffusion.load(tmp_path / "ddp.safetensors")
    one = LocDiffusion(**PARAMS).fit(data["X"], data["lat"], data["lon"], epochs=3)
    assert ddp.history_[-1]["step"] == one.history_[-1]["step"] == 12
    # Same global batches, noise and anchors; only the order of the gradient all-reduce
    # differs.  Adam turns round-off on near-zero gradients into steps of up to `lr`,
    # so: nearly all weights equal to 1e-6, none off by more than one Adam step.
    diff = torch.cat([(a - b).abs().flatten() for a, b in zip(one.net_.state_dict().values(),
                                                               ddp.net_.state_dict().values())])
    assert float((diff > 1e-6).float().mean()) < 0.02, float((diff > 1e-6).float().mean())
    assert float(diff.max()) <= PARAMS["lr"]
    np.testing.assert_allclose([h["train_loss"] for h in ddp.history_], [h["train_loss"] for h in one.history_],
                               rtol=1e-4)
    moved = sum((p - q).abs().sum() for p, q in zip(one.net_.parameters(), LocDiffusion(**PARAMS).fit(
        data["X"], data["lat"], data["lon"], epochs=1).net_.parameters()))
    assert moved > 1e-3  # training between epoch 1 and 3 did change the weights (the test can fail)
