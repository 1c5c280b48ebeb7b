"""Training guards, model-file checksums, Trainer callbacks and the estimator's parameter table.

Regression tests of issue 28 defect 2 (a diverged run went unnoticed, was saved and
loaded) and of issue 23 item 2 (``get_params`` from the signature, a Trainer that
reports through records and never calls the estimator's private methods).
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo import TrainingDivergedError  # noqa: E402
from shdd_geo.model import EpochRecord, LocDiffusion, StepRecord  # noqa: E402
from shdd_geo.model.checkpoint import read_checkpoint, tensor_checksum, write_checkpoint  # noqa: E402

TINY = dict(L=3, bottleneck=8, depth=2, time_dim=16, batch_size=32, n_anchors=64, random_state=0, verbose=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6)).astype(np.float32), rng.uniform(-60, 60, 64), rng.uniform(-180, 180, 64)


def _header(path) -> dict:
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n])


# --------------------------------------------------------------- divergence (defect 2)
def test_diverging_fit_stops_naming_the_step_and_the_learning_rate(data, tmp_path):
    X, lat, lon = data
    ck = tmp_path / "run.safetensors"
    m = LocDiffusion(**{**TINY, "lr": 1e6})
    with pytest.raises(TrainingDivergedError) as info:
        m.fit(X, lat, lon, epochs=20, checkpoint=ck, checkpoint_every=1)
    msg = str(info.value)
    step = int(msg.split("at step ")[1].split(" ")[0])
    assert step >= 2 and "`lr`=1e+06" in msg and "learning rate" in msg  # step 1 starts from sane weights
    # the diverged step was not applied: the weights in memory are still finite ...
    assert all(torch.isfinite(p).all() for p in m.net_.parameters())
    # ... and the checkpoint holds the last good step, finite and checksum-verified
    meta, tensors = read_checkpoint(ck)
    assert meta["train"]["state"]["step"] == step - 1
    assert all(torch.isfinite(v).all() for k, v in tensors.items() if k.startswith("net."))


def test_a_healthy_fit_is_not_stopped(data):
    X, lat, lon = data
    m = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    assert len(m.history_) == 2 and all(np.isfinite(h["train_loss"]) for h in m.history_)


def test_save_refuses_non_finite_weights(data, tmp_path):
    X, lat, lon = data
    m = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1)
    with torch.no_grad():
        next(m.net_.parameters())[0] = float("nan")
    with pytest.raises(ValueError, match="NaN/inf"):
        m.save(tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()


# ------------------------------------------------------------------------ checksums
def test_model_files_carry_a_checksum_that_load_verifies(data, tmp_path):
    X, lat, lon = data
    m = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1)
    path = m.save(tmp_path / "m.safetensors")
    header = _header(path)
    assert header["__metadata__"]["shdd_geo.checksum"].startswith("sha256:")
    # flip one byte of the tensor data: the checksum no longer matches
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum"):
        LocDiffusion.load(path)


def test_files_without_a_checksum_still_load(data, tmp_path):
    X, lat, lon = data
    m = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1)
    path = m.save(tmp_path / "m.safetensors")
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    del header["__metadata__"]["shdd_geo.checksum"]
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n :])
    back = LocDiffusion.load(path)
    np.testing.assert_array_equal(back.sample(X[:2], 2, steps=3, generator=0), m.sample(X[:2], 2, steps=3, generator=0))


def test_checksum_depends_on_names_shapes_and_bytes():
    a = {"w": torch.arange(4.0)}
    assert tensor_checksum(a) == tensor_checksum({"w": torch.arange(4.0)})
    assert tensor_checksum(a) != tensor_checksum({"v": torch.arange(4.0)})
    assert tensor_checksum(a) != tensor_checksum({"w": torch.arange(4.0).reshape(2, 2)})
    assert tensor_checksum(a) != tensor_checksum({"w": torch.arange(4.0).double()})


def test_write_checkpoint_round_trip_keeps_the_checksum(tmp_path):
    path = write_checkpoint(tmp_path / "c.safetensors", {"x": 1}, {"w": torch.ones(3)})
    meta, tensors = read_checkpoint(path)
    assert meta["x"] == 1 and _header(path)["__metadata__"]["shdd_geo.checksum"] == tensor_checksum(tensors)


# ------------------------------------------------------------------ Trainer records
def test_callbacks_receive_one_record_per_step_and_per_epoch(data):
    X, lat, lon = data
    seen = []
    m = LocDiffusion(**{**TINY, "warmup_steps": 4, "lr": 1e-4}).fit(X, lat, lon, epochs=2, callbacks=[seen.append])
    steps = [r for r in seen if isinstance(r, StepRecord)]
    epochs = [r for r in seen if isinstance(r, EpochRecord)]
    assert [r.step for r in steps] == [1, 2, 3, 4]  # 64 rows / 32 per batch, 2 epochs
    assert [r.epoch for r in steps] == [0, 0, 1, 1]
    np.testing.assert_allclose([r.lr for r in steps], [1e-4 * k / 4 for k in (1, 2, 3, 4)], rtol=1e-12)
    assert all(np.isfinite(r.loss) and r.grad_norm > 0 for r in steps)
    assert [e.as_dict() for e in epochs] == m.history_
    np.testing.assert_allclose(epochs[0].train_loss, np.mean([r.loss for r in steps[:2]]), rtol=1e-12)


def test_callbacks_do_not_change_the_result(data):
    X, lat, lon = data
    a = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1)
    b = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1, callbacks=[lambda r: None])
    for p, q in zip(a.net_.parameters(), b.net_.parameters()):
        assert torch.equal(p, q)


def test_trainer_runs_without_an_estimator(data):
    """The loop needs only public pieces: a network, a scheduler, a TrainConfig and data."""
    from shdd_geo.model import ArrayData, CSUNet, DDPMScheduler
    from shdd_geo.model.distributed import setup
    from shdd_geo.model.training import TrainConfig, Trainer

    X, lat, lon = data
    torch.manual_seed(0)
    net = CSUNet(16, 6, bottleneck=8, depth=2, time_dim=16)
    cfg = TrainConfig(L=3, scale=float(np.sqrt(4 * np.pi)), n_anchors=64, batch_size=32, verbose=False)
    trainer = Trainer(net, DDPMScheduler(num_train_timesteps=100), cfg, setup("cpu"), {"noise": 1, "data": 2})
    history = trainer.run(ArrayData(X, lat, lon), 2)
    assert [h["epoch"] for h in history] == [1, 2] and trainer.state.step == 4


def test_trainer_source_uses_no_private_name_of_the_estimator():
    from shdd_geo.model import training

    src = inspect.getsource(training.Trainer)
    assert "est." not in src and "self.est" not in src


# --------------------------------------------------------------- parameter table
def test_get_params_reads_the_signature_and_clones():
    names = [p for p in inspect.signature(LocDiffusion.__init__).parameters if p != "self"]
    m = LocDiffusion(L=7, lr=3e-4, betas=(0.8, 0.9), decay_steps=50)
    params = m.get_params()
    assert list(params) == names
    clone = type(m)(**params)
    assert clone.get_params() == params and clone is not m
    assert set(LocDiffusion._parameter_constraints) == set(names)


def test_sklearn_clone_and_set_params():
    base = pytest.importorskip("sklearn.base")
    m = LocDiffusion(L=7, loss="l2")
    c = base.clone(m)
    assert c.get_params() == m.get_params()
    assert c.set_params(L=9) is c and c.L == 9 and m.L == 7


def test_init_stores_bad_values_unchanged_and_fit_refuses_them(data):
    X, lat, lon = data
    m = LocDiffusion(L="many")
    assert m.L == "many"
    with pytest.raises(TypeError, match="`L` must be an int in the range"):
        m.fit(X, lat, lon)


def test_load_names_a_damaged_header_argument(data, tmp_path):
    X, lat, lon = data
    path = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1).save(tmp_path / "m.safetensors")
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = json.loads(header["__metadata__"]["shdd_geo"])
    meta["params"]["L"] = "abc"
    header["__metadata__"]["shdd_geo"] = json.dumps(meta)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n :])
    with pytest.raises(TypeError, match=r"model file .*`L` must be an int"):
        LocDiffusion.load(path)
