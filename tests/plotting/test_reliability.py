"""Tests of shdd_geo.plotting.plot_reliability (matplotlib only, no cartopy)."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import shdd_geo as sg  # noqa: E402
from shdd_geo.calibration import ConformalLevels, reliability  # noqa: E402
from shdd_geo.plotting import plot_reliability  # noqa: E402


@pytest.fixture
def fields_and_truths():
    sharp = sg.SphericalField.from_shdd(sg.encode([30.0], [10.0], L=6)[0], nside=16)
    wide = sg.SphericalField.from_shdd(0.5 * sg.encode([30.0], [10.0], L=6)[0], nside=16)
    lat, lon = sharp.sample(600, rng=0)
    yield wide, lat, lon
    plt.close("all")


def test_raw_curve_and_area_labels(fields_and_truths, tmp_path):
    wide, lat, lon = fields_and_truths
    ax = plot_reliability(wide, lat, lon, title="wide")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["ideal", "raw"]  # no level map: one curve
    curve = reliability(wide, lat, lon)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), curve["coverage_raw"])
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 4 and all(t.endswith("M km²") for t in texts)  # 50/80/90/95 %
    i = list(curve["level"]).index(0.9)
    assert f"{curve['area_km2_raw'][i] / 1e6:.3g} M km²" in texts
    assert ax.get_title() == "wide"
    ax.figure.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_calibrated_curve_follows_the_diagonal(fields_and_truths):
    wide, lat, lon = fields_and_truths
    f = ConformalLevels.fit(wide, lat[:300], lon[:300]).apply(wide)
    curve = reliability(f, lat[300:], lon[300:], levels=(0.5, 0.8, 0.9))
    raw_gap = np.abs(curve["coverage_raw"] - curve["level"]).max()
    cal_gap = np.abs(curve["coverage"] - curve["level"]).max()
    assert raw_gap > 0.05 and cal_gap < 4 * np.sqrt(0.25 / 300) + 1 / 301  # wide maps over-cover until calibrated
    _, ax = plt.subplots()
    assert plot_reliability(curve, ax=ax, area_levels=(0.9,)) is ax
    assert [line.get_label() for line in ax.get_lines()] == ["ideal", "raw", "calibrated"]
    assert len(ax.texts) == 2  # one area per curve


def test_needs_truths_with_fields(fields_and_truths):
    wide, _, _ = fields_and_truths
    with pytest.raises(TypeError, match="lat"):
        plot_reliability(wide)
