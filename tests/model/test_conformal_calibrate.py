"""LocDiffusion.calibrate's conformal levels (issue 24): defaults give calibrated regions, saved with the model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.calibration import LEVEL_MAP_ATTR, ConformalLevels, coverage  # noqa: E402
from shdd_geo.model import LocDiffusion  # noqa: E402


@pytest.fixture(scope="module")
def problem():
    """Four noisy clusters, a small model trained briefly (under-fitted: raw regions are off)."""
    rng = np.random.default_rng(0)
    centres = np.array([[40.0, -100.0], [-25.0, 135.0], [48.0, 2.0], [0.0, 20.0]])
    n = 1400
    k = rng.integers(0, 4, n)
    X = (np.eye(4)[k] + 0.3 * rng.normal(size=(n, 4))).astype(np.float32)
    lat = centres[k, 0] + rng.normal(0, 8, n)
    lon = centres[k, 1] + rng.normal(0, 8, n)
    m = LocDiffusion(L=8, bottleneck=16, depth=2, time_dim=16, n_anchors=256, verbose=False, random_state=0)
    m.fit(X[:800], lat[:800], lon[:800], epochs=3)
    return m, X, lat, lon


def test_default_calibrate_gives_calibrated_regions(problem, tmp_path):
    m, X, lat, lon = problem
    m.calibrate(X[800:1000], lat[800:1000], lon[800:1000], n_samples=8, nside=16)
    assert isinstance(m.conformal_, ConformalLevels) and m.conformal_.n == 100  # half of the rows
    f = m.predict_field(X[1000:], nside=16, n_samples=8, generator=3)
    assert LEVEL_MAP_ATTR in f.attrs
    cov = coverage(f, lat[1000:], lon[1000:])
    tol = 3.5 * np.sqrt(0.9 * 0.1 / 400) + 1 / 101  # test-set noise + the conformal rank's granularity
    for level in (0.8, 0.9):
        assert abs(cov[level] - level) < tol + 0.05, cov  # 100 calibration rows: their own spread too
    region = f.credible_region(0.9)
    assert region.nominal_level == pytest.approx(m.conformal_.nominal(0.9))
    # overriding the calibrated temperature drops the levels (they were fitted to other maps)
    assert LEVEL_MAP_ATTR not in m.predict_field(X[1000:1004], nside=16, n_samples=4, temperature=3.0).attrs
    path = m.save(tmp_path / "m.safetensors")
    back = LocDiffusion.load(path, device="cpu")
    np.testing.assert_allclose(back.conformal_.scores, m.conformal_.scores, atol=1e-6)


def test_conformal_false_keeps_the_old_behaviour(problem):
    m, X, lat, lon = problem
    m.calibrate(X[800:1000], lat[800:1000], lon[800:1000], n_samples=8, nside=16, conformal=False)
    assert m.conformal_ is None
    assert LEVEL_MAP_ATTR not in m.predict_field(X[1000:1004], nside=16, n_samples=4).attrs


def test_conformal_split_errors(problem):
    m, X, lat, lon = problem
    with pytest.raises(ValueError, match="`conformal_fraction`"):
        m.calibrate(X[800:802], lat[800:802], lon[800:802], n_samples=2, nside=8, conformal_fraction=0.99)
    with pytest.raises(TypeError, match="`conformal`"):
        m.calibrate(X[800:810], lat[800:810], lon[800:810], n_samples=2, nside=8, conformal="yes")
