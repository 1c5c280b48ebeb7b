"""The sample-mixture maps against their brute-force twin: normalise each sample's map, then average."""

import math

import numpy as np
import pytest

from shdd_geo.codec import encode
from shdd_geo.fields import SphericalField
from shdd_geo.model.maps import sample_mixture


def _brute(coeffs, nside):
    """``log((1/K) sum_k q_k)`` with every sample map normalised on its own, by scipy's logsumexp."""
    from scipy.special import logsumexp

    B, K, D = coeffs.shape
    rows = SphericalField.from_shdd(coeffs.reshape(-1, D), nside=nside).log_density.reshape(B, K, -1)
    return logsumexp(rows, axis=1) - math.log(K)


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_sample_mixture_equals_brute_force(temperature):
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-60, 60, 12), rng.uniform(-180, 180, 12)
    coeffs = encode(lat, lon, L=10).reshape(3, 4, -1) * rng.uniform(0.5, 2.0, (3, 4, 1))
    got = sample_mixture(coeffs, 16, temperature=temperature).log_density
    np.testing.assert_allclose(got, _brute(coeffs / temperature, 16), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(SphericalField(got).integral(), 1.0, rtol=1e-12)


def test_sample_mixture_far_tails_stay_finite():
    """Samples so sharp that ``exp`` underflows far away in every one: those pixels come from log space."""
    coeffs = 60.0 * encode([10.0, 12.0], [20.0, 21.0], L=12).reshape(1, 2, -1)
    brute = _brute(coeffs, 16)
    assert brute.min() < brute.max() - 800  # the case is real: the tails are below exp(-745) of the peak
    got = sample_mixture(coeffs, 16).log_density
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, brute, rtol=1e-12, atol=1e-9)
