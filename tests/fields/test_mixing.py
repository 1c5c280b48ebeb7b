"""Tests of shdd_geo.fields.mixing: the one prior/namesake mixing function."""

import numpy as np
import pytest

from shdd_geo.fields import SphericalField
from shdd_geo.fields.mixing import mix_log_densities


def test_mix_is_the_linear_mixture_in_log_space():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    for w in (0.0, 0.3, 1.0):
        got = mix_log_densities(a, b, w)
        np.testing.assert_allclose(np.exp(got), (1 - w) * np.exp(a) + w * np.exp(b), rtol=1e-12)
    assert np.isfinite(mix_log_densities(np.array([-1000.0]), np.array([-1001.0]), 0.5)).all()  # no underflow
    with pytest.raises(ValueError, match="`weight`"):
        mix_log_densities(a, b, 1.5)


def test_field_mixture_goes_through_it():
    f = SphericalField.from_samples([10.0, 12.0], [20.0, 22.0], nside=8, bandwidth_km=800.0)
    g = SphericalField.uniform(8).normalize()
    expected = mix_log_densities(g.log_density, f.log_density, 0.3)
    np.testing.assert_allclose(f.mixture(g, 0.3).log_density, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(f.mixture(g, 1.0).log_density, f.log_density, atol=1e-12)
