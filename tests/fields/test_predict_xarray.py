"""Issue 26: `predict_field(..., as_xarray=True)` gives the xarray density map directly."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
xr = pytest.importorskip("xarray")

from shdd_geo.model import LocDiffusion


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    lat, lon = rng.uniform(-60, 60, 64), rng.uniform(-180, 180, 64)
    m = LocDiffusion(L=4, bottleneck=8, depth=2, time_dim=16, batch_size=32, n_anchors=128,
                     num_train_timesteps=20, random_state=0, verbose=False)
    return m.fit(X, lat, lon, epochs=1), X


def test_as_xarray_is_the_fields_dataarray(tiny):
    m, X = tiny
    field = m.predict_field(X[:3], nside=8, n_samples=2, steps=3, generator=0)
    da = m.predict_field(X[:3], nside=8, n_samples=2, steps=3, generator=0, as_xarray=True)
    assert isinstance(da, xr.DataArray) and da.dims == ("query", "cell") and da.shape == (3, 768)
    assert da.attrs["units"] == "sr-1" and da["cell_ids"].attrs["grid_name"] == "healpix"
    np.testing.assert_allclose(da.values, field.density, rtol=1e-12)  # same seed: the same map
    back = da.shdd.to_field()
    np.testing.assert_allclose(back.log_density, field.log_density, rtol=1e-12, atol=1e-300)
