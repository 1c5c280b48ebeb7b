"""Hypothesis properties of SHDD encode/decode."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shdd_geo.codec import encode
from shdd_geo.coords import latlon_to_xyz
from shdd_geo.decoding import decode
from shdd_geo.metrics import great_circle_km
from shdd_geo.sh import zonal_kernel

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False, exclude_max=True)
degrees = st.sampled_from([2, 5, 9, 15, 23, 31])


@settings(max_examples=40, deadline=None)
@given(lat=lats, lon=lons, L=degrees)
def test_decode_encode_round_trip(lat, lon, L):
    la, lo = decode(encode([lat], [lon], L)[0])
    assert great_circle_km(la, lo, lat, lon) < 1e-2


@settings(max_examples=40, deadline=None)
@given(lat=lats, lon=lons, k=st.integers(-3, 3), L=degrees)
def test_encoding_invariant_under_360_degree_shifts(lat, lon, k, L):
    np.testing.assert_allclose(encode([lat], [lon + 360.0 * k], L), encode([lat], [lon], L), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(lat1=lats, lon1=lons, lat2=lats, lon2=lons, L=degrees)
def test_inner_product_is_symmetric_zonal_kernel(lat1, lon1, lat2, lon2, L):
    e1, e2 = encode([lat1], [lon1], L)[0], encode([lat2], [lon2], L)[0]
    cos = float(latlon_to_xyz(lat1, lon1) @ latlon_to_xyz(lat2, lon2))
    assert abs(e1 @ e2 - zonal_kernel(cos, L)) < 1e-9 * (L + 1) ** 2


@settings(max_examples=25, deadline=None)
@given(lat=lats, lon=lons, seed=st.integers(0, 2**32 - 1))
def test_small_noise_gives_small_drift(lat, lon, seed):
    """|drift| is bounded: with noise std 0.02 at L = 23 the MLE moves a few km at most."""
    L = 23
    e = encode([lat], [lon], L)[0] + np.random.default_rng(seed).normal(0, 0.02, (L + 1) ** 2)
    la, lo = decode(e)
    assert great_circle_km(la, lo, lat, lon) < 25.0
