"""Split-conformal credible levels (shdd_geo.calibration.ConformalLevels): coverage, twins, round trips."""

from __future__ import annotations

import numpy as np
import pytest

from shdd_geo import codec
from shdd_geo.calibration import LEVEL_MAP_ATTR, ConformalLevels, coverage, map_level
from shdd_geo.fields import SphericalField


@pytest.fixture(scope="module")
def overconfident():
    """4,000 conditions whose truths follow q, but the model predicts q**3 (far too peaked)."""
    rng = np.random.default_rng(11)
    n = 4000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    scale = rng.uniform(0.3, 1.0, n)[:, None]
    truth_fields = SphericalField.from_shdd(scale * codec.encode(lat, lon, 8), nside=16)
    t_lat, t_lon = truth_fields.sample(1, rng=rng)
    model = SphericalField(3.0 * truth_fields.log_density)
    return model, t_lat[:, 0], t_lon[:, 0]


def test_conformal_levels_restore_coverage(overconfident):
    fields, lat, lon = overconfident
    cal, test = slice(0, 2000), slice(2000, 4000)
    raw = coverage(fields[test], lat[test], lon[test], levels=(0.5, 0.9))
    assert raw[0.9] < 0.8  # the premise: badly under-covering
    levels = ConformalLevels.fit(fields[cal], lat[cal], lon[cal])
    calibrated = levels.apply(fields[test])
    tol = 3.5 * np.sqrt(0.9 * 0.1 / 2000)  # ~0.023: binomial noise of the test half
    for level in (0.5, 0.8, 0.9, 0.95):
        region = calibrated.credible_region(level)
        frac = region.contains(lat[test], lon[test])[np.arange(2000), np.arange(2000)].mean()
        assert abs(frac - level) < tol + 1 / 2001, (level, frac)
        assert region.nominal_level > level  # over-confident model: a wider nominal level
    uncal = calibrated.credible_region(0.9, calibrated=False)
    assert uncal.nominal_level == 0.9
    assert np.mean(uncal.area_km2) < np.mean(calibrated.credible_region(0.9).area_km2)


def test_fit_scores_brute_force(overconfident):
    """Score = mass of the pixels at least as dense as the truth's pixel, summed pixel by pixel."""
    fields, lat, lon = overconfident
    sub = fields[:40]
    scores = ConformalLevels.fit(sub, lat[:40], lon[:40]).scores
    twin = []
    for i in range(40):
        f = sub[i]
        p = np.exp(f.log_density - np.logaddexp.reduce(f.log_density))
        own = f.log_density_at([lat[i]], [lon[i]], interpolation="nearest")[0]
        twin.append(p[f.log_density >= own - 1e-12].sum())
    assert np.allclose(scores, np.sort(twin), atol=1e-9)


def test_nominal_is_the_conformal_rank():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 137)
    cal = ConformalLevels(scores)
    s = np.sort(scores)
    for level in rng.uniform(0, 1, 200):
        k = int(np.ceil((137 + 1) * level))
        expected = 1.0 if k > 137 else s[max(k, 1) - 1]
        assert cal.nominal(level) == expected
    assert np.array_equal(cal.nominal(np.array([0.5, 0.9])), [cal.nominal(0.5), cal.nominal(0.9)])


def test_level_map_is_conservative_and_exact_on_its_grid():
    rng = np.random.default_rng(1)
    cal = ConformalLevels(rng.beta(2, 5, 500))
    table = cal.level_map()
    assert np.all(np.diff(table) >= 0)
    for level in rng.uniform(0.01, 0.99, 300):
        assert map_level(level, table) >= cal.nominal(level) - 1e-15
    for level in (0.5, 0.8, 0.9, 0.95):
        assert map_level(level, table) == cal.nominal(level)
    with pytest.raises(ValueError, match="non-decreasing"):
        map_level(0.5, [0.5, 0.2])


def test_round_trip_and_bad_input():
    cal = ConformalLevels([0.3, 0.1, 0.7])
    again = ConformalLevels.from_dict(cal.to_dict())
    assert np.array_equal(again.scores, cal.scores) and again.n == 3
    assert "n=3" in repr(cal)
    with pytest.raises(ValueError, match="`scores` is empty"):
        ConformalLevels([])
    with pytest.raises(ValueError, match="`scores` must be HPD masses"):
        ConformalLevels([0.2, np.nan])
    with pytest.raises(ValueError, match="`level`"):
        cal.nominal(1.5)
    with pytest.raises(ValueError, match="to_dict"):
        ConformalLevels.from_dict({"scores": [0.1]})
    with pytest.raises(TypeError, match="`fields`"):
        ConformalLevels.fit("nope", [0.0], [0.0])


def test_field_reads_the_attached_map():
    f = ConformalLevels([0.9, 0.95, 0.97, 0.99]).apply(SphericalField.uniform(4))
    assert LEVEL_MAP_ATTR in f.attrs
    assert f.credible_region(0.5).nominal_level == 0.97  # rank ceil(5 * 0.5) = 3
    assert f.credible_region(0.5, calibrated=False).nominal_level == 0.5


def test_reliability_matches_coverage_and_credible_regions():
    """The vectorised curve against its slow twins: coverage() and credible_region() per level."""
    from shdd_geo.calibration import reliability

    rng = np.random.default_rng(3)
    centres = rng.uniform(-50, 50, (6, 2))
    coeffs = codec.encode(centres[:, 0], centres[:, 1], L=6)
    fields = SphericalField.from_shdd(coeffs * rng.uniform(0.4, 1.0, (6, 1)), nside=16)
    lat, lon = centres[:, 0] + rng.normal(0, 15, 6), centres[:, 1] + rng.normal(0, 15, 6)
    levels = (0.3, 0.5, 0.9)
    cal = ConformalLevels(rng.uniform(0, 1, 50))
    for f in (fields, cal.apply(fields)):
        r = reliability(f, np.clip(lat, -89, 89), lon, levels=levels)
        cov_raw = coverage(f, np.clip(lat, -89, 89), lon, levels, calibrated=False)
        cov = coverage(f, np.clip(lat, -89, 89), lon, levels)
        for j, lv in enumerate(levels):
            assert r["coverage_raw"][j] == cov_raw[lv] and r["coverage"][j] == cov[lv]
            assert r["area_km2_raw"][j] == pytest.approx(np.mean(f.credible_region(lv, calibrated=False).area_km2))
            assert r["area_km2"][j] == pytest.approx(np.mean(f.credible_region(lv).area_km2))
        assert r["n"] == 6 and r["calibrated"] == (f is not fields)


@pytest.mark.parametrize("top", [1.0, 1.0 - 2e-16])  # a conformal level of 1, or 1 within rounding
def test_calibrated_whole_sphere_level_draws_every_pixel(top):
    """A nominal level of 1 is the whole sphere: drawn regions, coverage(), reliability() and report() agree.

    A peaked field's far tail underflows (pixel masses ~1e-38): the region cut at 1 - 1e-12 held
    only the peak, so truths there were outside the calibrated region although ``report`` said
    coverage 1.0 and ``coverage`` said 0.0 (issue 24)."""
    from shdd_geo.calibration import reliability

    field = SphericalField.from_shdd(8.0 * codec.encode([0.0], [0.0], L=10)[0], nside=16)
    cal = ConformalLevels([0.1, 0.2, 0.3, top])  # rank ceil(5 * 0.9) = 5 > 4: the whole sphere
    if top < 1.0:
        cal = ConformalLevels([0.1, 0.2, top, top])  # rank ceil(5 * 0.7) = 4: a score 1 within rounding
    level = 0.9 if top == 1.0 else 0.7
    lat, lon = [0.0, -10.0, 5.0], [180.0, 170.0, 0.0]  # two truths in the underflowing tail, one at the peak
    f = cal.apply(field)
    region = f.credible_region(level)
    assert region.n_pixels == field.npix
    assert region.contains(lat, lon).all()
    assert coverage(f, lat, lon, levels=(level,))[level] == 1.0
    r = reliability(f, lat, lon, levels=(level,))
    assert r["coverage"][0] == 1.0 and r["area_km2"][0] == pytest.approx(region.area_km2)
    rep = cal.report(field, lat, lon, levels=(level,))[level]
    assert rep["coverage"] == 1.0 and rep["area_km2"] == pytest.approx(region.area_km2)
    assert region.area_km2 == pytest.approx(4 * np.pi * 6371.0088**2, rel=1e-9)
