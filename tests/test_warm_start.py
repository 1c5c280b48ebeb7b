"""Warm starts: ``LocDiffusion.fit(init_from=...)`` copies a fitted network, converting x0 <-> v."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model import LocDiffusion  # noqa: E402

TINY = dict(L=5, bottleneck=8, depth=2, time_dim=16, dropout=0.2, batch_size=16, n_anchors=128,
            num_train_timesteps=30, cond_drop=0.2, warmup_steps=3, random_state=3, verbose=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(72, 6)).astype(np.float32)
    return X, rng.uniform(-70, 70, 72), rng.uniform(-180, 180, 72)


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


def test_cli_train_init_from(tmp_path, data, x0_model):
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
    with pytest.raises(SystemExit, match="--L 7 differs"):
        main(["train", "--embeddings", str(tmp_path / "X.npy"), "--coords", str(tmp_path / "coords.npy"),
              "--out", str(out), "--L", "7", "--init-from", str(src)])
    with pytest.raises(SystemExit, match="is not a file"):
        main(["train", "--embeddings", str(tmp_path / "X.npy"), "--coords", str(tmp_path / "coords.npy"),
              "--out", str(out), "--init-from", str(tmp_path / "missing.safetensors")])
