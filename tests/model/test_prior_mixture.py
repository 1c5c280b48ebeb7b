"""The location prior mixed into LocDiffusion density maps (set_prior / calibrate / save)."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("healpy")

from shdd_geo import SphericalField  # noqa: E402
from shdd_geo.model import LocDiffusion  # noqa: E402

TINY = dict(
    L=6,
    bottleneck=8,
    depth=2,
    time_dim=16,
    dropout=0.1,
    batch_size=32,
    n_anchors=256,
    num_train_timesteps=50,
    random_state=0,
    verbose=False,
)


@pytest.fixture(scope="module")
def fitted():
    """A tiny model trained on two clusters (Europe, Japan) with a prior over four (+ Andes, Australia)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    centres = np.array([[48.0, 10.0], [36.0, 138.0], [-15.0, -70.0], [-30.0, 145.0]])
    emb = rng.normal(size=(2, 8)).astype(np.float32)
    cid = rng.integers(2, size=256)
    lat = centres[cid, 0] + rng.normal(0, 1.0, cid.size)
    lon = centres[cid, 1] + rng.normal(0, 1.0, cid.size)
    X = emb[cid] + 0.02 * rng.normal(size=(cid.size, 8)).astype(np.float32)
    m = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    pc = rng.integers(4, size=400)
    m.set_prior(
        centres[pc, 0] + rng.normal(0, 1.0, pc.size),
        centres[pc, 1] + rng.normal(0, 1.0, pc.size),
        nside=16,
        bandwidth_km=300.0,
    )
    return m, X, emb, centres


def test_mixture_matches_the_pointwise_formula(fitted):
    """Brute-force twin: (1 - w) q + w p per pixel, with q and p normalised by explicit sums."""
    m, X, _, _ = fitted
    coeffs = m.sample(X[:3], 4, generator=0, steps=5)
    plain = m.field_from_samples(coeffs, nside=16, temperature=1.5)
    mixed = m.field_from_samples(
        coeffs, nside=16, temperature=1.5, prior=m.prior_, prior_weight=0.3
    )
    area = 4 * np.pi / plain.npix
    q = np.exp(plain.log_density)
    q /= q.sum(axis=1, keepdims=True) * area
    p = np.exp(m.prior_.log_density)
    p /= p.sum() * area
    np.testing.assert_allclose(mixed.density, 0.7 * q + 0.3 * p[None], rtol=1e-9)
    assert mixed.attrs["prior_weight"] == 0.3
    # weight 0 leaves the field as it was; another nside goes through ud_grade of the prior
    same = m.field_from_samples(coeffs, nside=16, temperature=1.5, prior=m.prior_, prior_weight=0.0)
    np.testing.assert_array_equal(same.log_density, plain.log_density)
    coarse = m.field_from_samples(
        coeffs, nside=8, temperature=1.5, prior=m.prior_, prior_weight=0.5
    )
    np.testing.assert_allclose(coarse.integral(), 1.0, rtol=1e-9)


def test_prior_rescues_truths_the_samples_miss(fitted):
    """Truths in the two clusters the model never saw: calibrate picks a weight > 0, and it pays."""
    m, _, emb, centres = fitted
    m = copy.deepcopy(m)
    rng = np.random.default_rng(1)
    c = rng.integers(2, 4, size=40)  # Andes and Australia
    lat, lon = centres[c, 0] + rng.normal(0, 1.0, 40), centres[c, 1] + rng.normal(0, 1.0, 40)
    Xq = emb[rng.integers(2, size=40)]
    m.calibrate(
        Xq,
        lat,
        lon,
        temperatures=(1.0, 4.0),
        prior_weights=(0.0, 0.2, 0.5),
        n_samples=4,
        nside=16,
        steps=5,
    )
    assert set(m.calibration_) == {(t, w) for t in (1.0, 4.0) for w in (0.0, 0.2, 0.5)}
    assert m.prior_weight_ > 0
    assert (m.temperature_, m.prior_weight_) == max(m.calibration_, key=m.calibration_.get)
    assert (
        max(m.calibration_[(t, w)] for t in (1.0, 4.0) for w in (0.2, 0.5))
        > max(m.calibration_[(t, 0.0)] for t in (1.0, 4.0)) + 1.0
    )
    f = m.predict_field(Xq[:5], nside=16, n_samples=4, generator=0, steps=5)
    assert f.attrs["prior_weight"] == m.prior_weight_
    # without a prior, calibrate keys by temperature alone and keeps the weight at 0
    bare = copy.deepcopy(m)
    bare.prior_, bare.prior_weight_ = None, 0.0
    bare.calibrate(Xq, lat, lon, temperatures=(1.0, 4.0), n_samples=4, nside=16, steps=5)
    assert set(bare.calibration_) == {1.0, 4.0} and bare.prior_weight_ == 0.0


def test_prior_survives_save_and_load(fitted, tmp_path):
    m, X, _, _ = fitted
    m = copy.deepcopy(m)
    m.prior_weight_, m.temperature_ = 0.25, 2.0
    for half in (False, True):
        path = m.save(tmp_path / f"m{half}.safetensors", half=half)
        back = LocDiffusion.load(path, device="cpu")
        assert back.prior_weight_ == 0.25 and back.temperature_ == 2.0
        np.testing.assert_allclose(
            back.prior_.log_density, m.prior_.log_density, rtol=1e-6
        )  # kept float32
        a = m.predict_field(X[:2], nside=16, n_samples=4, generator=0, steps=5)
        b = back.predict_field(X[:2], nside=16, n_samples=4, generator=0, steps=5)
        np.testing.assert_allclose(b.density, a.density, rtol=1e-2 if half else 1e-5, atol=1e-6)
    no_prior = LocDiffusion(**TINY).fit(X[:64], np.zeros(64), np.zeros(64), epochs=1)
    back = LocDiffusion.load(no_prior.save(tmp_path / "plain.safetensors"), device="cpu")
    assert back.prior_ is None and back.prior_weight_ == 0.0


def test_errors_name_the_argument(fitted):
    m, X, _, _ = fitted
    coeffs = m.sample(X[:2], 2, generator=0, steps=5)
    with pytest.raises(ValueError, match="`prior_weight`"):
        m.field_from_samples(coeffs, nside=8, prior=m.prior_, prior_weight=1.0)
    with pytest.raises(ValueError, match="needs a prior"):
        m.field_from_samples(coeffs, nside=8, prior=None, prior_weight=0.2)
    with pytest.raises(ValueError, match="needs a prior"):
        m.field_from_samples(
            coeffs, nside=8, prior=SphericalField(np.zeros((2, 768))), prior_weight=0.2
        )
    with pytest.raises(ValueError, match="`prior_weights`"):
        copy.deepcopy(m).calibrate(
            X[:4], np.zeros(4), np.zeros(4), prior_weights=(0.0, 1.2), n_samples=2
        )
    with pytest.raises(ValueError, match="`bandwidth_km`"):
        copy.deepcopy(m).set_prior([0.0], [0.0], bandwidth_km=-5)


def test_coverage_range_brute_force(fitted):
    """min_coverage/max_coverage: the winner is the most likely (T, w) whose 90 % coverage is in range
    (recomputed here with calibration.coverage on the same samples); none in range -> the closest."""
    from shdd_geo.calibration import coverage

    m, _, emb, centres = fitted
    m = copy.deepcopy(m)
    rng = np.random.default_rng(2)
    c = rng.integers(4, size=60)
    lat, lon = centres[c, 0] + rng.normal(0, 1.0, 60), centres[c, 1] + rng.normal(0, 1.0, 60)
    Xq = emb[rng.integers(2, size=60)]
    temps, weights = (0.5, 2.0), (0.0, 0.3, 0.6)
    kw = dict(temperatures=temps, prior_weights=weights, n_samples=4, nside=16, steps=5, conformal=False)
    m.calibrate(Xq, lat, lon, min_coverage=0.6, max_coverage=0.9, **kw)
    coeffs = m.sample(Xq, 4, generator=0, steps=5)
    cov = {
        (t, w): coverage(
            m.field_from_samples(coeffs, nside=16, temperature=t, prior=m.prior_, prior_weight=w),
            lat,
            lon,
            levels=(0.9,),
        )[0.9]
        for t in temps
        for w in weights
    }
    assert m.calibration_coverage_ == pytest.approx(cov)
    ok = [k for k in cov if 0.6 <= cov[k] <= 0.9]
    assert ok, cov  # the data are built so that some pairs are in range
    assert (m.temperature_, m.prior_weight_) == max(ok, key=m.calibration_.get)
    # an impossible range: the pair whose coverage is nearest to it
    m.calibrate(Xq, lat, lon, min_coverage=1.0, max_coverage=1.0, **kw)
    assert cov[(m.temperature_, m.prior_weight_)] == max(cov.values())
    with pytest.raises(ValueError, match="must not exceed `max_coverage`"):
        m.calibrate(Xq, lat, lon, min_coverage=0.9, max_coverage=0.8, **kw)
    with pytest.raises(ValueError, match="`max_coverage`"):
        m.calibrate(Xq, lat, lon, max_coverage=0.0, **kw)
