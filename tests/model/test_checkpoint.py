"""Tests of checkpoints: atomic safetensors files, save/load, exact resume, warm starts (init_from)."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model import LocDiffusion  # noqa: E402
from shdd_geo.model import checkpoint as ck  # noqa: E402

TINY = dict(L=5, bottleneck=8, depth=2, time_dim=16, dropout=0.2, batch_size=16, n_anchors=128,
            num_train_timesteps=30, cond_drop=0.2, warmup_steps=3, decay_steps=None, retrieval_k=0, random_state=3,
            verbose=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(72, 6)).astype(np.float32)  # 72 rows / 16 = 4 full batches + 8
    return X, rng.uniform(-70, 70, 72), rng.uniform(-180, 180, 72)


def _same_weights(a, b):
    sa, sb = a.net_.state_dict(), b.net_.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_write_read_round_trip_and_atomicity(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "c.safetensors"
    ck.write_checkpoint(path, {"a": [1, 2]}, {"x": torch.arange(3.0), "y": torch.tensor([1], dtype=torch.uint8)})
    meta, t = ck.read_checkpoint(path)
    assert meta["a"] == [1, 2] and meta["format"] == ck.FORMAT and t["x"].tolist() == [0, 1, 2]
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        ck.write_checkpoint(path, {"a": 2}, {"x": torch.zeros(1000)})
    monkeypatch.undo()
    assert path.read_bytes() == before               # old checkpoint intact
    assert sorted(os.listdir(path.parent)) == ["c.safetensors"]  # no temp file left


def test_read_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ck.read_checkpoint(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ValueError, match="not a readable"):
        ck.read_checkpoint(junk)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(ValueError, match="not a readable"):
        ck.read_checkpoint(foreign)
    path = tmp_path / "ok.safetensors"
    ck.write_checkpoint(path, {}, {"w": torch.zeros(4)})
    blob = path.read_bytes()
    path.write_bytes(blob[:-8])  # truncated
    with pytest.raises(ValueError, match="not a readable"):
        ck.read_checkpoint(path)
    with pytest.raises(ValueError, match="directory"):
        ck.write_checkpoint(tmp_path, {}, {})


def test_optimizer_flatten_round_trip():
    p = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.99))
    p.grad = torch.ones(3)
    opt.step()
    meta, tensors = ck.flatten_optimizer(opt.state_dict())
    import json

    back = ck.unflatten_optimizer(json.loads(json.dumps(meta)), tensors)
    opt2 = torch.optim.AdamW([torch.nn.Parameter(p.detach().clone())], lr=5.0)
    opt2.load_state_dict(back)
    assert opt2.param_groups[0]["lr"] == 1e-3 and opt2.param_groups[0]["betas"] == (0.9, 0.99)
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(v, opt2.state_dict()["state"][0][k])


def test_numpy_rng_round_trip():
    rng = np.random.default_rng(5)
    rng.random(3)
    back = ck.numpy_rng_from_state(ck.numpy_rng_state(rng))
    assert back.random() == rng.random()


def test_save_load_equality(tmp_path, data):
    X, lat, lon = data
    m = LocDiffusion(**TINY).fit(X, lat, lon, epochs=1)
    path = m.save(tmp_path / "model.safetensors")
    m2 = LocDiffusion.load(path)
    assert m2.get_params() == m.get_params() and m2.n_features_in_ == 6 and m2.history_ == m.history_
    assert _same_weights(m, m2) and not m2.net_.training
    np.testing.assert_array_equal(m.sample(X[:3], 4, steps=5, generator=1), m2.sample(X[:3], 4, steps=5, generator=1))
    with pytest.raises(ValueError, match="no training state"):
        LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, resume=path)


@pytest.mark.parametrize("stop_at", [2, 5, 9])   # mid-epoch, at an epoch boundary, second epoch
def test_resume_is_bit_for_bit(tmp_path, data, stop_at):
    X, lat, lon = data
    full = LocDiffusion(**TINY).fit(X, lat, lon, epochs=3)            # 15 steps
    ckpt = tmp_path / "run.safetensors"
    stopped = LocDiffusion(**TINY).fit(X, lat, lon, epochs=3, checkpoint=ckpt, checkpoint_every=1, max_steps=stop_at)
    meta, _ = ck.read_checkpoint(ckpt)
    assert meta["train"]["state"]["step"] == stop_at
    # the history ends at the step the run stopped at; inside an epoch that record is marked partial
    assert stopped.history_[-1]["step"] == stop_at
    assert stopped.history_[-1].get("partial", False) == (stop_at % 5 != 0)
    assert [h["epoch"] for h in stopped.history_] == list(range(1, (stop_at + 4) // 5 + 1))
    resumed = LocDiffusion(**TINY).fit(X, lat, lon, epochs=3, resume=ckpt)
    assert _same_weights(full, resumed)
    assert [h["train_loss"] for h in resumed.history_] == [h["train_loss"] for h in full.history_]


def test_checkpoint_every_epoch_and_resume_guard(tmp_path, data):
    X, lat, lon = data
    ckpt = tmp_path / "c.safetensors"
    LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, checkpoint=ckpt)
    meta, tensors = ck.read_checkpoint(ckpt)
    assert meta["train"]["state"]["epoch"] == 2 and meta["train"]["state"]["step"] == 10
    assert {"rng.noise", "rng.torch_cpu"} <= set(tensors) and any(k.startswith("optim.") for k in tensors)
    assert meta["train"]["data_rng"]["bit_generator"] == "PCG64"
    with pytest.raises(ValueError, match="other hyper-parameters"):
        LocDiffusion(**{**TINY, "lr": 1e-2}).fit(X, lat, lon, epochs=3, resume=ckpt)
    # continuing a finished run for more epochs equals training that long from the start
    more = LocDiffusion(**TINY).fit(X, lat, lon, epochs=3, resume=ckpt)
    assert _same_weights(more, LocDiffusion(**TINY).fit(X, lat, lon, epochs=3))


def test_v_prediction_round_trips_and_resumes_bit_for_bit(tmp_path, data):
    X, lat, lon = data
    kw = {**TINY, "prediction": "v"}
    full = LocDiffusion(**kw).fit(X, lat, lon, epochs=2)
    ckpt = tmp_path / "v.safetensors"
    LocDiffusion(**kw).fit(X, lat, lon, epochs=2, checkpoint=ckpt, checkpoint_every=1, max_steps=6)
    resumed = LocDiffusion(**kw).fit(X, lat, lon, epochs=2, resume=ckpt)
    assert _same_weights(full, resumed)
    path = full.save(tmp_path / "m.safetensors")
    back = LocDiffusion.load(path, device="cpu")
    assert back.prediction == "v" and back.scheduler_.config.prediction_type == "v"
    np.testing.assert_array_equal(full.sample(X[:2], 3, steps=5, generator=1), back.sample(X[:2], 3, steps=5, generator=1))
    # a "sample" model resumed with prediction="v" is refused (the weights mean something else)
    with pytest.raises(ValueError, match="prediction"):
        LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, resume=ckpt)


@pytest.mark.parametrize("key, implied, other", [("prediction", "sample", "v"), ("timestep_power", 1.0, 2.0)])
def test_files_written_before_an_option_load_and_resume_with_the_implied_value(tmp_path, data, key, implied, other):
    """Files saved before `prediction` / `timestep_power` existed hold no such key: x0 models, uniform t."""
    X, lat, lon = data
    ckpt = tmp_path / "old.safetensors"
    full = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, checkpoint=ckpt, checkpoint_every=1, max_steps=6)
    meta, tensors = ck.read_checkpoint(ckpt)
    del meta["params"][key]
    ck.write_checkpoint(ckpt, meta, tensors)
    assert getattr(LocDiffusion.load(ckpt, device="cpu"), key) == implied
    resumed = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, resume=ckpt)
    assert _same_weights(full, resumed)
    with pytest.raises(ValueError, match=key):
        LocDiffusion(**{**TINY, key: other}).fit(X, lat, lon, epochs=2, resume=ckpt)


def test_timestep_power_round_trips_and_resumes_bit_for_bit(tmp_path, data):
    X, lat, lon = data
    kw = {**TINY, "timestep_power": 2.0}
    full = LocDiffusion(**kw).fit(X, lat, lon, epochs=2)
    assert not _same_weights(full, LocDiffusion(**TINY).fit(X, lat, lon, epochs=2))  # it changes training
    ckpt = tmp_path / "p2.safetensors"
    LocDiffusion(**kw).fit(X, lat, lon, epochs=2, checkpoint=ckpt, checkpoint_every=1, max_steps=6)
    assert _same_weights(full, LocDiffusion(**kw).fit(X, lat, lon, epochs=2, resume=ckpt))
    assert LocDiffusion.load(full.save(tmp_path / "m.safetensors"), device="cpu").timestep_power == 2.0


# -- warm starts: fit(init_from=...) copies a fitted network, converting x0 <-> v ------------


@pytest.fixture(scope="module")
def x0_model(data):
    return LocDiffusion(**TINY).fit(*data, epochs=2)


def _x0_hat(model, x, t, c):
    with torch.no_grad():
        return model.scheduler_.predict_x0(model.net_(x, t, c), t, x)


@pytest.mark.parametrize("prediction", ["v", "sample"])
def test_copied_network_predicts_the_documented_x0_at_every_step(x0_model, prediction):
    """x0 -> v: x0_hat = sqrt(abar) x_t + sqrt(1 - abar) F (F: the old x0); x0 -> x0: the old x0."""
    new = LocDiffusion(**{**TINY, "prediction": prediction, "random_state": 9})
    new._build(6, torch.device("cpu"))
    new._init_weights(x0_model)
    new.net_.eval()
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(30, 36, generator=g), torch.randn(30, 6, generator=g)
    t = torch.arange(30)
    old = _x0_hat(x0_model, x, t, c)
    a = x0_model.scheduler_.alphas_cumprod[t][:, None]
    want = old if prediction == "sample" else a.sqrt() * x + (1 - a).sqrt() * old
    torch.testing.assert_close(_x0_hat(new, x, t, c), want, rtol=1e-5, atol=1e-5)
    fresh = LocDiffusion(**{**TINY, "prediction": prediction, "random_state": 9})
    fresh._build(6, torch.device("cpu"))
    fresh.net_.eval()
    assert not torch.allclose(_x0_hat(fresh, x, t, c), want, atol=1e-2)  # a random start is far from it


def test_fit_starts_from_the_file_and_resumes_exactly(tmp_path, data, x0_model):
    src = x0_model.save(tmp_path / "x0.safetensors")
    # a vanishing learning rate: after one step the weights are still the copied ones
    still = LocDiffusion(**{**TINY, "prediction": "v", "lr": 1e-12, "weight_decay": 0.0})
    still.fit(*data, epochs=1, max_steps=1, init_from=src)
    mine, theirs = still.net_.state_dict(), x0_model.net_.state_dict()
    for k in theirs:
        sign = -1.0 if k.startswith("head.") else 1.0
        torch.testing.assert_close(mine[k], sign * theirs[k], rtol=0, atol=1e-9)
    # a warm-started run checkpointed mid-way resumes bit for bit (the copy lives in the checkpoint)
    kw = {**TINY, "prediction": "v", "timestep_power": 2.0}
    full = LocDiffusion(**kw).fit(*data, epochs=2, init_from=x0_model)
    ck = tmp_path / "warm.ckpt"
    LocDiffusion(**kw).fit(*data, epochs=2, init_from=x0_model, checkpoint=ck, checkpoint_every=1, max_steps=3)
    resumed = LocDiffusion(**kw).fit(*data, epochs=2, resume=ck)
    a, b = full.net_.state_dict(), resumed.net_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.weight"], -theirs["head.weight"])  # it did train


def test_bad_init_from_is_refused(tmp_path, data, x0_model):
    with pytest.raises(ValueError, match="`init_from` has another network"):
        LocDiffusion(**{**TINY, "L": 7}).fit(*data, epochs=1, init_from=x0_model)
    with pytest.raises(ValueError, match="`init_from` was trained on 6-d"):
        LocDiffusion(**TINY).fit(data[0][:, :4], *data[1:], epochs=1, init_from=x0_model)
    with pytest.raises(ValueError, match="`init_from`.*or `resume`"):
        LocDiffusion(**TINY).fit(*data, epochs=1, init_from=x0_model, resume=tmp_path / "x.ckpt")
    with pytest.raises(ValueError, match="not fitted"):
        LocDiffusion(**TINY).fit(*data, epochs=1, init_from=LocDiffusion(**TINY))


def test_cli_train_init_from(tmp_path, data, x0_model, capsys):
    from shdd_geo.cli import main

    X, lat, lon = data
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "coords.npy", np.c_[lat, lon])
    src = x0_model.save(tmp_path / "x0.safetensors")
    out = tmp_path / "v.safetensors"
    assert main(["train", "--embeddings", str(tmp_path / "X.npy"), "--coords", str(tmp_path / "coords.npy"),
                 "--out", str(out), "--epochs", "1", "--prediction", "v", "--init-from", str(src),
                 "--device", "cpu"]) == 0
    m = LocDiffusion.load(out)  # the tiny network's shape came from the file
    assert (m.prediction, m.L, m.bottleneck, m.depth, m.time_dim) == ("v", 5, 8, 2, 16) and m.history_
    capsys.readouterr()
    for extra, message in ((["--L", "7", "--init-from", str(src)], "--L 7 differs"),
                           (["--init-from", str(tmp_path / "missing.safetensors")], "missing.safetensors")):
        assert main(["train", "--embeddings", str(tmp_path / "X.npy"), "--coords", str(tmp_path / "coords.npy"),
                     "--out", str(out), *extra]) == 2  # usage errors: one line, exit 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
