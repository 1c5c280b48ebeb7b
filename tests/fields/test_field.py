"""Tests of shdd_geo.fields.SphericalField (construction, analysis, arithmetic)."""

from __future__ import annotations

import math

import healpy as hp
import numpy as np
import pytest

from shdd_geo import codec, metrics
from shdd_geo.fields.grid import uniform_in_pixels
from shdd_geo.coords import EARTH_RADIUS_KM, latlon_to_xyz
from shdd_geo.fields import CredibleRegion, SphericalField
from shdd_geo.sh import sh_basis, zonal_kernel

FOUR_PI = 4 * math.pi


def vmf_log(lat0, lon0, kappa):
    """Exact vMF log-density per sr as a callable of (lat, lon)."""
    mu = latlon_to_xyz(lat0, lon0)

    def f(lat, lon):
        c = latlon_to_xyz(lat, lon) @ mu
        return math.log(kappa / (2 * math.pi * (1 - math.exp(-2 * kappa)))) + kappa * (c - 1)

    return f


@pytest.fixture(scope="module")
def two_peaks():
    e = codec.encode([40.0, -20.0], [-3.0, 130.0], L=20)
    return SphericalField.from_shdd(0.9 * e[0] + 0.8 * e[1], nside=32)


# ------------------------------------------------------------ construction ----
@pytest.mark.parametrize("npix", [100, 12 * 3**2, 0, 11])
def test_wrong_npix_is_a_clear_error(npix):
    with pytest.raises(ValueError, match="values"):
        SphericalField(np.zeros(npix))


@pytest.mark.parametrize("nside", [3, 48, 0, -4])
def test_non_power_of_two_nside_rejected(nside):
    with pytest.raises(ValueError, match="power of two"):
        SphericalField.from_shdd(np.ones(4), nside=nside)
    with pytest.raises(ValueError, match="power of two"):
        SphericalField.uniform(nside)


@pytest.mark.parametrize("nside", [2.0, "64", True])
def test_nside_type(nside):
    with pytest.raises(TypeError, match="nside"):
        SphericalField.uniform(nside)


def test_nan_inf_and_negative_values_rejected():
    v = np.zeros(48)
    v[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SphericalField(v)
    v[3] = np.inf
    with pytest.raises(ValueError, match=r"\+inf"):
        SphericalField(v)
    v[3] = -1.0
    with pytest.raises(ValueError, match="density"):
        SphericalField(v, kind="density")
    with pytest.raises(ValueError, match="kind"):
        SphericalField(np.zeros(48), kind="prob")
    with pytest.raises(ValueError, match="NaN"):
        SphericalField.from_shdd(np.array([np.nan, 0, 0, 0]), nside=2)


def test_minus_inf_is_zero_density():
    v = np.full(48, -np.inf)
    v[0] = 0.0
    f = SphericalField(v)
    assert f.integral() == pytest.approx(FOUR_PI / 48, rel=1e-12)
    with pytest.raises(ValueError, match="zero total mass"):
        SphericalField(np.full(48, -np.inf)).normalize()


def test_immutable():
    f = SphericalField.uniform(2)
    with pytest.raises(AttributeError):
        f.nside = 4
    with pytest.raises(ValueError):
        f.log_density[0] = 1.0
    src = np.zeros(48)
    g = SphericalField(src)
    src[0] = 5.0
    assert g.log_density[0] == 0.0


def test_grid_properties():
    f = SphericalField.uniform(16)
    assert (f.nside, f.npix, f.ordering) == (16, 3072, "RING")
    assert f.pixel_area == pytest.approx(FOUR_PI / 3072)
    assert f.pixel_area_km2 * f.npix == pytest.approx(FOUR_PI * EARTH_RADIUS_KM**2)
    lon, lat = hp.pix2ang(16, np.arange(3072), lonlat=True)
    np.testing.assert_allclose(f.lat, lat)
    np.testing.assert_allclose(np.mod(f.lon, 360), lon, atol=1e-12)
    assert f.lon.min() >= -180 and f.lon.max() < 180


# ------------------------------------------------------------------- SHDD ----
@pytest.mark.parametrize("nest", [False, True])
def test_healpy_synthesis_equals_direct_evaluation(nest):
    rng = np.random.default_rng(0)
    L = 47
    c = codec.encode(rng.uniform(-90, 90, 3), rng.uniform(-180, 180, 3), L) + 0.01 * rng.normal(size=(3, 48**2))
    f = SphericalField.from_shdd(c, nside=32, nest=nest, normalize=False)
    lat, lon = f.lat, f.lon
    direct = c @ sh_basis(lat, lon, L).T
    np.testing.assert_allclose(f.log_density, direct, rtol=0, atol=1e-8)
    g = SphericalField.from_shdd(c, nside=32, nest=nest, normalize=False, method="direct")
    np.testing.assert_allclose(f.log_density, g.log_density, rtol=0, atol=1e-8)


def test_shdd_field_is_the_zonal_kernel():
    """Convention-free check (addition theorem): f_E(p)(u) = sum (2l+1)/4pi P_l(cos gamma)."""
    L, p = 23, (35.0, -120.0)
    f = SphericalField.from_shdd(codec.encode([p[0]], [p[1]], L)[0], nside=16, normalize=False)
    cos_g = latlon_to_xyz(f.lat, f.lon) @ latlon_to_xyz(*p)
    np.testing.assert_allclose(f.log_density, zonal_kernel(cos_g, L), atol=1e-9)


@pytest.mark.parametrize("p", [(48.86, 2.35), (-33.9, 151.2), (89.0, 10.0), (-5.0, 179.9), (0.0, -180.0)])
def test_encoded_point_peaks_at_the_point(p):
    f = SphericalField.from_shdd(codec.encode([p[0]], [p[1]], 31)[0], nside=64)
    m = f.modes(k=1)
    d = metrics.great_circle_km(m["lat"][0], m["lon"][0], p[0], p[1])
    assert d <= f.resolution_km  # the densest pixel is the one holding p or a neighbour
    assert f.integral() == pytest.approx(1.0, rel=1e-10)


def test_very_peaked_field_has_no_overflow():
    # max f = 101**2 / (4 pi) ~ 812: exp overflows float64, log space does not.
    f = SphericalField.from_shdd(codec.encode([10.0], [20.0], 100)[0], nside=64)
    assert np.all(np.isfinite(f.log_density))
    assert f.integral() == pytest.approx(1.0, rel=1e-10)
    assert f.credible_region(0.99).n_pixels <= 4
    assert np.isfinite(f.entropy())


def test_batch_equals_individual_fields():
    c = codec.encode([10.0, -40.0, 70.0], [0.0, 100.0, -60.0], 12)
    b = SphericalField.from_shdd(c, nside=16, labels=["a", "b", "c"])
    assert b.is_batch and len(b) == 3 and b.labels == ("a", "b", "c")
    for i, f in enumerate(b):
        np.testing.assert_allclose(f.log_density, SphericalField.from_shdd(c[i], nside=16).log_density, atol=1e-12)
    sub = b[1:]
    assert len(sub) == 2 and sub.labels == ("b", "c")
    np.testing.assert_allclose(b.integral(), 1.0, rtol=1e-10)
    with pytest.raises(TypeError):
        len(b[0])
    with pytest.raises(TypeError):
        b[0][0]
    with pytest.raises(ValueError, match="labels"):
        SphericalField.from_shdd(c, nside=16, labels=["a"])


def test_from_shdd_bad_method_and_shape():
    with pytest.raises(ValueError, match="method"):
        SphericalField.from_shdd(np.ones(4), nside=2, method="fft")
    with pytest.raises(ValueError, match="perfect square"):
        SphericalField.from_shdd(np.ones(5), nside=2)
    with pytest.raises(ValueError, match="coeffs"):
        SphericalField.from_shdd(np.ones((2, 2, 4)), nside=2)


# ------------------------------------------------------ normalisation etc ----
def test_integral_and_normalize():
    f = SphericalField(np.full(768, 2.0))
    assert f.integral() == pytest.approx(FOUR_PI * math.e**2, rel=1e-12)
    g = f.normalize()
    assert g.integral() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(g.log_density, -math.log(FOUR_PI), atol=1e-12)


def test_ordering_and_ud_grade(two_peaks):
    f = two_peaks
    n = f.reorder(True)
    assert n.nest and n.ordering == "NESTED"
    np.testing.assert_array_equal(n.reorder(False).log_density, f.log_density)
    np.testing.assert_allclose(n.log_likelihood([40.0, 1.0], [-3.0, 2.0]), f.log_likelihood([40.0, 1.0], [-3.0, 2.0]))
    up = f.ud_grade(64)
    assert up.nside == 64 and up.integral() == pytest.approx(1.0, rel=1e-10)
    np.testing.assert_allclose(up.ud_grade(32).log_density, f.log_density, atol=1e-10)
    down = f.ud_grade(8)
    assert down.integral() == pytest.approx(1.0, rel=1e-10)
    # brute-force twin: a parent's density is the mean of its children's (NESTED)
    nest_vals = np.exp(n.log_density).reshape(-1, 16).mean(axis=1)
    np.testing.assert_allclose(np.exp(down.reorder(True).log_density), nest_vals, rtol=1e-10)


# ------------------------------------------------------------ point queries ----
def test_nearest_and_bilinear_match_healpy(two_peaks):
    f = two_peaks
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-90, 90, 200), rng.uniform(-180, 180, 200)
    dens = np.exp(f.log_density)
    pix = hp.ang2pix(f.nside, lon, lat, lonlat=True)
    np.testing.assert_allclose(f.log_density_at(lat, lon, interpolation="nearest"), f.log_density[pix])
    np.testing.assert_allclose(
        f.density_at(lat, lon), hp.get_interp_val(dens, lon, lat, lonlat=True), rtol=1e-10, atol=1e-300
    )
    with pytest.raises(ValueError, match="interpolation"):
        f.log_density_at(0.0, 0.0, interpolation="cubic")


def test_log_likelihood_uniform_and_shapes(two_peaks):
    u = SphericalField(np.full(768, 7.0))
    assert isinstance(u.log_likelihood(0.0, 0.0), float)
    np.testing.assert_allclose(u.log_likelihood([0.0, 45.0, -90.0], [0.0, 370.0, 0.0]), -math.log(FOUR_PI))
    b = SphericalField.from_shdd(codec.encode([40.0, -20.0], [-3.0, 130.0], 20), nside=32)
    pair = b.log_likelihood([40.0, -20.0], [-3.0, 130.0])
    outer = b.log_likelihood([40.0, -20.0], [-3.0, 130.0], outer=True)
    assert pair.shape == (2,) and outer.shape == (2, 2)
    np.testing.assert_allclose(np.diag(outer), pair)
    assert outer[0, 0] > outer[0, 1] + 10
    with pytest.raises(ValueError, match="outer=True"):
        b.log_likelihood([0.0, 1.0, 2.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="lat"):
        u.log_likelihood(91.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        u.log_likelihood(np.nan, 0.0)


def test_expected_distance_brute_force(two_peaks):
    u = SphericalField.uniform(32)
    assert u.expected_distance_to(12.0, 34.0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM, rel=1e-3)
    f = two_peaks
    pts = (np.array([40.0, 0.0, -60.0]), np.array([-3.0, 50.0, 170.0]))
    p = np.exp(f.log_density) * f.pixel_area
    twin = [np.sum(p * metrics.great_circle_km(f.lat, f.lon, a, b)) for a, b in zip(*pts)]
    np.testing.assert_allclose(f.expected_distance_to(*pts), twin, rtol=1e-9)


# ---------------------------------------------------------------- analysis ----
def test_entropy_uniform_and_vmf():
    assert SphericalField.uniform(8).entropy() == pytest.approx(math.log(FOUR_PI), rel=1e-12)
    kappa = 50.0
    f = SphericalField.from_function(vmf_log(20.0, 30.0, kappa), nside=64)
    exact = math.log(FOUR_PI * math.sinh(kappa) / kappa) - kappa / math.tanh(kappa) + 1
    assert f.entropy() == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("level", [0.1, 0.5, 0.9, 0.99])
def test_credible_region_mass_and_minimality(two_peaks, level):
    f = two_peaks
    r = f.credible_region(level)
    assert isinstance(r, CredibleRegion) and r.mask.dtype == bool and r.mask.shape == (f.npix,)
    p = np.exp(f.log_density) * f.pixel_area
    assert r.mass == pytest.approx(p[r.mask].sum(), rel=1e-12)
    assert r.mass >= level
    assert r.mass - p[r.mask].min() < level  # dropping the least dense pixel falls short
    # brute-force twin: the smallest k whose top-k mass reaches the level
    k = int(np.argmax(np.cumsum(np.sort(p)[::-1]) >= level)) + 1
    assert r.n_pixels == k
    assert r.area_km2 == pytest.approx(k * f.pixel_area_km2)
    assert p[r.mask].min() >= p[~r.mask].max()
    assert r.contains(40.0, -3.0)[0]


def test_credible_region_batch_and_levels():
    b = SphericalField.from_shdd(codec.encode([0.0, 50.0], [0.0, 50.0], 6), nside=16)
    r = b.credible_region(0.8)
    assert r.mask.shape == (2, b.npix) and r.mass.shape == (2,)
    for i in range(2):
        np.testing.assert_array_equal(r.mask[i], b[i].credible_region(0.8).mask)
    for bad in (0, 1, 1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="level"):
            b.credible_region(bad)
    with pytest.raises(TypeError, match="level"):
        b.credible_region("0.9")
    assert "CredibleRegion" in repr(r)


def test_modes_two_peaks(two_peaks):
    m = two_peaks.modes(k=5, min_separation_km=1000)
    assert set(m) == {"rank", "pixel", "lat", "lon", "log_density", "mass"}
    assert np.all(np.diff(m["mass"]) <= 0)  # ranked by mass
    assert np.all(np.diff(two_peaks.modes(k=5, min_separation_km=1000, order="density")["log_density"]) <= 0)
    d0 = metrics.great_circle_km(m["lat"][:2], m["lon"][:2], [40.0, -20.0], [-3.0, 130.0])
    assert np.all(d0 < 2 * two_peaks.resolution_km)
    # the mass near each of the two encoded points and almost nothing elsewhere
    assert m["mass"][:2].sum() > 0.99
    sep = metrics.great_circle_km(m["lat"][:, None], m["lon"][:, None], m["lat"][None], m["lon"][None])
    assert np.all(sep[~np.eye(len(m["lat"]), dtype=bool)] >= 1000)
    for bad, exc in ((0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(exc, match="`k`"):
            two_peaks.modes(k=bad)
    with pytest.raises(ValueError, match="min_separation_km"):
        two_peaks.modes(min_separation_km=-1)
    with pytest.raises(ValueError, match="`order`"):
        two_peaks.modes(order="peak")


def test_modes_rank_a_broad_region_above_a_sharp_peak():
    """A sharp peak (30 % of the mass) is denser than a broad region (70 %): mass ranks the region first."""
    sharp = SphericalField.from_samples([48.9], [2.3], nside=32, bandwidth_km=150.0)
    broad = SphericalField.from_samples([39.0], [-92.0], nside=32, bandwidth_km=900.0)
    f = sharp.mixture(broad, weight=0.3)
    by_mass, by_density = f.modes(k=2, min_separation_km=1000), f.modes(k=2, min_separation_km=1000, order="density")
    assert by_mass["lat"][0] == pytest.approx(39.0, abs=2.0) and by_mass["mass"][0] > 0.6
    assert by_density["lat"][0] == pytest.approx(48.9, abs=2.0)
    assert by_mass["log_density"][0] < by_mass["log_density"][1]
    assert list(by_mass["rank"]) == [0, 1]


def test_modes_batch_table_and_pandas():
    pd = pytest.importorskip("pandas")
    b = SphericalField.from_shdd(codec.encode([10.0, -50.0], [10.0, -70.0], 15), nside=16)
    m = b.modes(k=1)
    np.testing.assert_array_equal(m["field"], [0, 1])
    df = pd.DataFrame(m)
    assert list(df["field"]) == [0, 1] and df.shape == (2, 7)


def test_mode_mass_matches_disc_brute_force(two_peaks):
    m = two_peaks.modes(k=1, radius_km=800)
    p = np.exp(two_peaks.log_density) * two_peaks.pixel_area
    d = metrics.great_circle_km(two_peaks.lat, two_peaks.lon, m["lat"][0], m["lon"][0])
    assert m["mass"][0] == pytest.approx(p[d <= 800].sum(), rel=1e-9)


def _basin_masses_brute_force(f, k, sep_km):
    """Mode masses as basins, by walking every pixel uphill one step at a time."""
    row = np.asarray(f.log_density, dtype=np.float64)
    p = np.exp(row) * f.pixel_area
    nside, npix = f.nside, row.size
    nb = hp.get_all_neighbours(nside, np.arange(npix), nest=f.nest)
    maxima = [i for i in range(npix) if all(row[i] >= row[j] for j in nb[:, i] if j >= 0)]
    maxima.sort(key=lambda i: -row[i])  # stable: ties keep pixel order, like the fast path
    kept, owner = [], {}
    for c in maxima:
        if len(kept) == k:
            break
        if c in owner:
            continue
        kept.append(c)
        for c2 in maxima:
            d = metrics.great_circle_km(f.lat[c2], f.lon[c2], f.lat[c], f.lon[c])
            if c2 not in owner and (c2 == c or d < sep_km):
                owner[c2] = len(kept) - 1
    mass = np.zeros(len(kept))
    for i in range(npix):
        j = i
        while True:
            up = [n for n in nb[:, j] if n >= 0]
            best = max(up, key=lambda n: (row[n], -list(nb[:, j]).index(n)))
            if row[best] <= row[j]:
                break
            j = best
        if j in owner:
            mass[owner[j]] += p[i]
    return np.array(kept), mass


@pytest.mark.parametrize("order", ["density", "mass"])
@pytest.mark.parametrize("k, sep_km", [(3, 500.0), (6, 1500.0), (100, 0.0), (4, 3000.0)])
def test_mode_basin_mass_matches_brute_force(k, sep_km, order):
    # 8 clusters of 4 points: 15 local maxima, some within 1,500 km of a denser one
    rng = np.random.default_rng(5)
    lat = np.repeat(rng.uniform(-60, 60, 8), 4) + rng.normal(0, 6, 32)
    lon = np.repeat(rng.uniform(-180, 180, 8), 4) + rng.normal(0, 6, 32)
    f = SphericalField.from_samples(lat, lon, nside=16, bandwidth_km=250.0)
    m = f.modes(k=k, min_separation_km=sep_km, order=order)
    if order == "density":
        pix, mass = _basin_masses_brute_force(f, k, sep_km)
    else:  # every separated maximum with its basin, then the k with the most mass
        pix, mass = _basin_masses_brute_force(f, 10**9, sep_km)
        top = np.argsort(-mass, kind="stable")[:k]
        pix, mass = pix[top], mass[top]
    np.testing.assert_array_equal(m["pixel"], pix)
    np.testing.assert_allclose(m["mass"], mass, rtol=1e-9, atol=1e-15)
    assert m["mass"].sum() <= 1 + 1e-9
    if sep_km == 0 and k >= len(pix):  # every local maximum is a mode: the basins tile the sphere
        assert m["mass"].sum() == pytest.approx(1.0, rel=1e-9)


def test_mode_basin_mass_counts_the_whole_wide_mode():
    """One broad bump: its basin holds (nearly) all the mass, a disc only part of it."""
    f = SphericalField.from_samples([10.0], [20.0], nside=16, bandwidth_km=1500.0)
    basin = f.modes(k=1)["mass"][0]
    disc = f.modes(k=1, radius_km=250.0)["mass"][0]
    assert basin > 0.9 and disc < 0.1


def test_modes_zero_separation_lists_distinct_maxima(two_peaks):
    m = two_peaks.modes(k=4, min_separation_km=0)
    assert len(np.unique(m["pixel"])) == len(m["pixel"]) >= 2


# ---------------------------------------------------------------- sampling ----
def test_uniform_in_pixels_lands_in_pixel_and_is_uniform():
    rng = np.random.default_rng(2)
    for nest in (False, True):
        pix = rng.integers(0, 768, 5000)
        lat, lon = uniform_in_pixels(8, pix, nest, rng)
        np.testing.assert_array_equal(hp.ang2pix(8, lon, lat, nest=nest, lonlat=True), pix)
    # one base pixel at nside 1 has 16 equal-area children at nside 4 (NESTED)
    n = 32000
    lat, lon = uniform_in_pixels(1, np.zeros(n, int), True, rng)
    counts = np.bincount(hp.ang2pix(4, lon, lat, nest=True, lonlat=True), minlength=192)[:16]
    assert counts.sum() == n
    chi2 = np.sum((counts - n / 16) ** 2 / (n / 16))
    assert chi2 < 45  # 15 dof: p ~ 1e-4


def test_sample_distribution_and_reproducibility():
    kappa = 30.0
    f = SphericalField.from_function(vmf_log(-10.0, 60.0, kappa), nside=64)
    lat, lon = f.sample(4000, rng=np.random.default_rng(3))
    lat2, _ = f.sample(4000, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(lat, lat2)
    c = latlon_to_xyz(lat, lon) @ latlon_to_xyz(-10.0, 60.0)
    expected = 1 / math.tanh(kappa) - 1 / kappa  # E[cos angle] for a vMF
    assert abs(c.mean() - expected) < 5 * c.std() / math.sqrt(c.size)
    u_lat, _ = SphericalField.uniform(8).sample(4000, rng=4)
    z = np.sort(np.sin(np.radians(u_lat)))
    ks = np.max(np.abs((z + 1) / 2 - np.arange(1, z.size + 1) / z.size))
    assert ks < 1.63 / math.sqrt(z.size)
    b = SphericalField.from_shdd(codec.encode([0.0, 60.0], [0.0, 60.0], 10), nside=16)
    blat, blon = b.sample(7, rng=0)
    assert blat.shape == (2, 7) and blon.shape == (2, 7)
    with pytest.raises(ValueError, match="n"):
        f.sample(-1)
    with pytest.raises(TypeError, match="rng"):
        f.sample(3, rng="seed")


# ------------------------------------------------------------ constructors ----
def test_from_samples_kde_recovers_vmf():
    kappa = 40.0
    truth = SphericalField.from_function(vmf_log(30.0, -40.0, kappa), nside=32)
    lat, lon = truth.sample(3000, rng=5)
    est = SphericalField.from_samples(lat, lon, nside=32)
    assert est.integral() == pytest.approx(1.0, rel=1e-10)
    l1 = np.sum(np.abs(np.exp(est.log_density) - np.exp(truth.log_density))) * est.pixel_area
    assert l1 < 0.15
    hist = SphericalField.from_samples(lat, lon, nside=32, method="histogram")
    p = np.exp(hist.log_density) * hist.pixel_area
    counts = np.bincount(hp.ang2pix(32, lon, lat, lonlat=True), minlength=hist.npix)
    np.testing.assert_allclose(p, counts / 3000, atol=1e-12)


def test_from_samples_options_and_errors():
    lat, lon = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])
    f = SphericalField.from_samples(lat, lon, nside=16, bandwidth_km=500, weights=[1, 0, 0])
    assert f.modes(k=1)["lat"][0] == pytest.approx(0.0, abs=4)
    with pytest.warns(UserWarning, match="bandwidth_km"):
        SphericalField.from_samples(lat, lon, nside=8, bandwidth_km=10)
    with pytest.raises(ValueError, match="bandwidth_km"):
        SphericalField.from_samples(lat, lon, nside=8, bandwidth_km=-5)
    with pytest.raises(ValueError, match="weights"):
        SphericalField.from_samples(lat, lon, nside=8, weights=[1, -1, 0])
    with pytest.raises(ValueError, match="method"):
        SphericalField.from_samples(lat, lon, nside=8, method="gmm")


def test_from_function_and_latlon_grid():
    g = vmf_log(45.0, 90.0, 5.0)
    f = SphericalField.from_function(g, nside=32)
    lat = np.arange(-89.5, 90.0, 1.0)
    lon = np.arange(-179.5, 180.0, 1.0)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    grid = np.exp(g(la.ravel(), lo.ravel())).reshape(la.shape)
    r = SphericalField.from_latlon_grid(grid, lat, lon, nside=32)
    assert r.integral() == pytest.approx(1.0, rel=2e-3)  # area weights conserve the mass
    np.testing.assert_allclose(np.exp(r.log_density), np.exp(f.log_density), rtol=0.02, atol=1e-4)
    const = SphericalField.from_latlon_grid(np.full((18, 36), 3.0), lat[::10] + 4.5, lon[::10] + 4.5, nside=8)
    np.testing.assert_allclose(np.exp(const.log_density), 3.0, rtol=1e-12)
    with pytest.raises(ValueError, match="regular grid"):
        SphericalField.from_latlon_grid(np.ones((3, 36)), [0.0, 1.0, 5.0], lon[::10], nside=8)
    with pytest.raises(ValueError, match="shape"):
        SphericalField.from_latlon_grid(np.ones((3, 3)), lat, lon, nside=8)
    with pytest.raises(TypeError, match="func"):
        SphericalField.from_function(3.0, nside=4)


def test_regional_grid_leaves_zero_outside():
    lat = np.arange(30.5, 60.0, 1.0)
    lon = np.arange(-10.5, 30.0, 1.0)
    r = SphericalField.from_latlon_grid(np.ones((lat.size, lon.size)), lat, lon, nside=16, normalize=True)
    assert np.isneginf(r.log_density_at(-40.0, 100.0, interpolation="nearest"))
    assert np.isfinite(r.log_density_at(45.0, 10.0, interpolation="nearest"))


# -------------------------------------------------------------- arithmetic ----
def test_product_and_mixture(two_peaks):
    u = SphericalField.uniform(32)
    np.testing.assert_allclose((two_peaks * u).log_density, two_peaks.log_density, atol=1e-10)
    other = SphericalField.from_shdd(codec.encode([40.5], [-2.0], 20)[0], nside=32)
    prod = two_peaks.product(other)
    assert prod.integral() == pytest.approx(1.0, rel=1e-10)
    assert prod.modes(k=1)["lat"][0] == pytest.approx(40, abs=3)
    mix = two_peaks.mixture(u, weight=0.25)
    twin = 0.25 * np.exp(two_peaks.log_density) + 0.75 / FOUR_PI
    np.testing.assert_allclose(np.exp(mix.log_density), twin, rtol=1e-10)
    b = SphericalField.from_shdd(codec.encode([0.0, 10.0], [0.0, 10.0], 5), nside=32)
    assert (b * two_peaks).is_batch and len(two_peaks.mixture(b)) == 2
    with pytest.raises(ValueError, match="different grids"):
        two_peaks * SphericalField.uniform(16)
    with pytest.raises(ValueError, match="weight"):
        two_peaks.mixture(u, 1.5)
    with pytest.raises(TypeError, match="other"):
        two_peaks.product(3.0)


def test_pickle_and_copy(two_peaks):
    import copy
    import pickle

    b = SphericalField.from_shdd(codec.encode([0.0, 10.0], [0.0, 10.0], 5), nside=8, labels=["x", "y"])
    for f in (two_peaks, b):
        for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f), copy.copy(f)):
            np.testing.assert_array_equal(g.log_density, f.log_density)
            assert (g.labels, dict(g.attrs), g.nest) == (f.labels, dict(f.attrs), f.nest)
            assert not g.log_density.flags.writeable


def test_repr():
    assert repr(SphericalField.uniform(4)) == "SphericalField(nside=4, ordering='RING')"
