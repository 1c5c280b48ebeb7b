"""Progress bars of long calls (issue 26): one policy, shown when asked, never nested, same answers."""

import numpy as np
import pytest

from shdd_geo import _progress
from shdd_geo._progress import DELAY_S, check_progress, progress_bar, quiet_kwargs
from shdd_geo.baselines import KNNRetrieval
from shdd_geo.evaluation import evaluate_predictor, reliability_curve
from shdd_geo.model import LocDiffusion

TINY = dict(L=4, bottleneck=8, depth=2, time_dim=16, batch_size=16, n_anchors=128, num_train_timesteps=30,
            cond_drop=0.2, warmup_steps=2, decay_steps=None, retrieval_k=4, random_state=0, verbose=False)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 3)).astype(np.float32)
    lat, lon = rng.uniform(-60, 60, 48), rng.uniform(-180, 180, 48)
    return LocDiffusion(**TINY).fit(X, lat, lon, epochs=1), X, lat, lon


class Recorder:
    """Wraps progress_bar: records each bar's description, total, final count and mode."""

    def __init__(self):
        self.bars = []

    def __call__(self, total, desc, *, unit="it", progress=None):
        bar = _progress._Silent(total)
        self.bars.append((desc, bar, progress))
        return bar

    def summary(self):
        return [(desc, bar.total, bar.n, progress) for desc, bar, progress in self.bars]


def test_policy_and_checks():
    assert check_progress(None) is None and check_progress(np.bool_(True)) is True
    with pytest.raises(TypeError, match="`progress` must be a bool"):
        check_progress(1)
    silent = progress_bar(5, "x", progress=False)
    assert isinstance(silent, _progress._Silent)
    shown, delayed = progress_bar(5, "x", progress=True), progress_bar(5, "x")
    try:
        assert shown.delay == 0.0 and delayed.delay == DELAY_S and not shown.disable
    finally:
        shown.close(), delayed.close()
    assert quiet_kwargs(LocDiffusion.predict_field) == {"progress": False}
    assert quiet_kwargs(KNNRetrieval.predict_field) == {}  # a wrapped method: its own signature is read
    assert quiet_kwargs(object()) == {}


def test_sampling_bar_counts_every_reverse_step(model, monkeypatch):
    m, X, _, _ = model
    rec = Recorder()
    monkeypatch.setattr("shdd_geo.model.sampling.progress_bar", rec)
    m.sample(X[:5], 4, steps=6, max_batch=7, generator=0)             # 20 rows: 3 chunks x 6 steps
    m.sample(X[:2], 2, steps=10, init="prior", init_strength=0.5, generator=0, progress=True)
    (d1, total1, n1, p1), (d2, total2, n2, p2) = rec.summary()
    assert (d1, total1, n1, p1) == ("sampling", 18, 18, None)
    assert d2 == "sampling" and p2 is True and total2 == n2 and 1 <= total2 < 10  # a prior start skips steps


def test_bars_print_to_stderr_only_when_asked(model, capsys):
    m, X, _, _ = model
    quiet = m.predict_field(X[:3], nside=4, n_samples=2, steps=3, generator=1, progress=False)
    assert capsys.readouterr().err == ""
    default = m.predict_field(X[:3], nside=4, n_samples=2, steps=3, generator=1)   # quick: silent
    assert capsys.readouterr().err == ""
    shown = m.predict_field(X[:3], nside=4, n_samples=2, steps=3, generator=1, progress=True)
    err = capsys.readouterr().err
    assert "sampling" in err and "maps" in err
    # the bar changes nothing in the answer
    np.testing.assert_array_equal(np.asarray(quiet.log_density), np.asarray(shown.log_density))
    np.testing.assert_array_equal(np.asarray(default.log_density), np.asarray(shown.log_density))
    with pytest.raises(TypeError, match="`progress`"):
        m.predict(X[:1], progress="yes")


def test_calibrate_bar_over_candidates(model, monkeypatch):
    m, X, lat, lon = model
    rec = Recorder()
    for where in ("sampling", "calibrate", "maps"):  # sampling, the candidates, the maps
        monkeypatch.setattr(f"shdd_geo.model.{where}.progress_bar", rec)
    m.calibrate(X[:20], lat[:20], lon[:20], temperatures=(1.0, 2.0, 4.0), n_samples=2, nside=4, steps=3,
                progress=False)
    descs = {d: (total, n, p) for d, total, n, p in rec.summary()}
    assert descs["calibrating"] == (3, 3, False) and descs["sampling"][2] is False
    assert "maps" not in descs or descs["maps"][2] is False  # inner map building never shows a second bar


class Predictor:
    """Records the keyword arguments the harness passes."""

    def __init__(self):
        self.calls = []

    def predict(self, X, progress=None):
        self.calls.append(("predict", progress))
        return np.zeros(len(X)), np.zeros(len(X))

    def predict_field(self, X, nside, progress=None):
        from shdd_geo import SphericalField

        self.calls.append(("predict_field", progress))
        return SphericalField(np.full((len(X), 12 * nside * nside), -np.log(4 * np.pi)), kind="log_density")


def test_evaluate_shows_one_bar_and_quiets_the_predictor(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr("shdd_geo.evaluation.progress_bar", rec)
    p = Predictor()
    r = evaluate_predictor(p, np.zeros((10, 2)), np.zeros(10), np.zeros(10), fields=True, nside=2, batch_size=4,
                           progress=True)
    assert r["n"] == 10
    assert p.calls[0] == ("predict", True)                       # the predictor's own bar for the points
    assert p.calls[1:] == [("predict_field", False)] * 3         # the harness's bar for the maps
    assert rec.summary() == [("maps", 10, 10, True)]
    p2 = Predictor()
    reliability_curve(p2, np.zeros((5, 2)), np.zeros(5), np.zeros(5), nside=2, levels=(0.5,), batch_size=2)
    assert p2.calls == [("predict_field", False)] * 3 and rec.summary()[-1] == ("maps", 5, 5, None)


def test_baseline_calibrate_in_batches_equals_one_batch():
    rng = np.random.default_rng(2)
    X, lat, lon = rng.normal(size=(130, 3)), rng.uniform(-60, 60, 130), rng.uniform(-180, 180, 130)
    knn = KNNRetrieval(k=5).fit(X[:80], lat[:80], lon[:80])
    whole = knn.calibrate(X[80:], lat[80:], lon[80:], nside=8, batch_size=1000, progress=False).conformal_.scores
    parts = knn.calibrate(X[80:], lat[80:], lon[80:], nside=8, batch_size=7, progress=False).conformal_.scores
    np.testing.assert_array_equal(whole, parts)
    assert knn.conformal_params_ == {"bandwidth_km": None}  # progress/batch_size are not map parameters
    with pytest.raises(ValueError, match="`batch_size`"):
        knn.calibrate(X[80:], lat[80:], lon[80:], nside=8, batch_size=0)
