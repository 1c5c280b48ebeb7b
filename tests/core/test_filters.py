"""Tests of shdd_geo.filters.lowpass (paper A.3)."""

from __future__ import annotations

import numpy as np
import pytest

from shdd_geo.codec import encode
from shdd_geo.decoding import decode
from shdd_geo.filters import lowpass, taper_weights
from shdd_geo.metrics import great_circle_km
from shdd_geo.sh import degree_order


def _c(L=6, rows=3, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, (L + 1) ** 2))


def test_degrees_int_and_list():
    c = _c()
    ls, _ = degree_order(6)
    out = lowpass(c, degrees=3)
    np.testing.assert_array_equal(out[:, ls <= 3], c[:, ls <= 3])
    assert np.all(out[:, ls > 3] == 0)
    out = lowpass(c, degrees=[0, 2, 5])
    keep = np.isin(ls, [0, 2, 5])
    np.testing.assert_array_equal(out[:, keep], c[:, keep])
    assert np.all(out[:, ~keep] == 0)
    assert lowpass(c, degrees=3, truncate=True).shape == (3, 16)
    np.testing.assert_array_equal(lowpass(c, degrees=3, truncate=True), c[:, :16])


def test_keep_mask_indices_and_largest():
    c = _c()
    mask = np.zeros(49, bool)
    mask[[0, 5, 7]] = True
    np.testing.assert_array_equal(lowpass(c, keep=mask), np.where(mask, c, 0))
    np.testing.assert_array_equal(lowpass(c, keep=[0, 5, 7]), np.where(mask, c, 0))
    out = lowpass(c, keep=4)
    assert np.all((out != 0).sum(1) == 4)
    for row, orig in zip(out, c):  # the kept ones are the 4 largest |c| (brute force)
        np.testing.assert_array_equal(np.sort(np.flatnonzero(row)), np.sort(np.argsort(-np.abs(orig))[:4]))


def test_tapers():
    w = taper_weights(10, "gaussian")
    assert w[0] == 1 and np.all(np.diff(w) < 0) and abs(w[10] - np.exp(-110 / 50)) < 1e-15
    w = taper_weights(10, "hann", width=4)
    assert w[0] == 1 and np.all(w[5:] == 0) and np.all(np.diff(w[:6]) < 0)
    c = _c(L=4)
    ls, _ = degree_order(4)
    t = np.linspace(1, 0.2, 5)
    np.testing.assert_allclose(lowpass(c, taper=t), c * t[ls])


@pytest.mark.parametrize("kw", [{"degrees": 12, "truncate": True}, {"taper": "gaussian"}, {"taper": "hann", "width": 15}])
def test_filtered_encodings_decode_to_the_same_point(kw):
    lat, lon = np.array([12.0, -70.0, 89.0]), np.array([-179.5, 33.0, 0.0])
    la, lo = decode(lowpass(encode(lat, lon, 23), **kw))
    assert great_circle_km(la, lo, lat, lon).max() < 1e-3


def test_torch_matches_numpy_and_has_gradients():
    torch = pytest.importorskip("torch")
    c = _c()
    t = torch.tensor(c, requires_grad=True)
    for kw in ({"degrees": 3}, {"keep": 5}, {"taper": "gaussian"}, {"keep": [1, 2, 3]}):
        out = lowpass(t, **kw)
        np.testing.assert_allclose(out.detach().numpy(), lowpass(c, **kw), rtol=1e-12)
    lowpass(t, taper="hann").sum().backward()
    assert torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"degrees": -1}, "`degrees`"),
        ({"degrees": [0, 9]}, "`degrees`"),
        ({"keep": 0}, "`keep`"),
        ({"keep": np.ones(5, bool)}, "`keep`"),
        ({"keep": [100]}, "`keep`"),
        ({"taper": "box"}, "`taper`"),
        ({"taper": [1.0, 2.0]}, "`taper`"),
        ({"taper": "gaussian", "width": -2}, "`width`"),
        ({"truncate": True}, "`truncate"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        lowpass(_c(), **kw)
    with pytest.raises(ValueError, match=r"\(L\+1\)\*\*2"):
        lowpass(np.zeros(10))
