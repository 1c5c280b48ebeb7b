"""Evaluation harness: metrics match a brute-force computation; density metrics; tables."""

import numpy as np
import pytest

from shdd_geo.evaluation import compare, evaluate_predictor, markdown_table
from shdd_geo.metrics import great_circle_km


class Fixed:
    """Predicts given points; density = uniform field (for the density metrics)."""

    def __init__(self, lat, lon):
        self.lat, self.lon = np.asarray(lat, float), np.asarray(lon, float)

    def predict(self, X):
        return self.lat[: len(X)], self.lon[: len(X)]

    def predict_field(self, X, nside=8):
        from shdd_geo.fields import SphericalField

        return SphericalField(np.zeros((len(X), 12 * nside * nside)), kind="log_density")


def test_point_metrics_brute_force():
    rng = np.random.default_rng(0)
    tl, to = rng.uniform(-60, 60, 50), rng.uniform(-180, 180, 50)
    pl, po = tl + rng.normal(0, 3, 50), to + rng.normal(0, 3, 50)
    r = evaluate_predictor(Fixed(pl, po), np.zeros((50, 4)), tl, to)
    d = great_circle_km(pl, po, tl, to)
    assert r["acc_200km"] == pytest.approx(np.mean(d <= 200))
    assert r["median_km"] == pytest.approx(np.median(d))
    assert r["n"] == 50 and "seconds" in r  # timings are for benchmarks, not tests


def test_density_metrics_for_uniform_field():
    rng = np.random.default_rng(1)
    tl, to = rng.uniform(-60, 60, 40), rng.uniform(-180, 180, 40)
    r = evaluate_predictor(Fixed(tl, to), np.zeros((40, 2)), tl, to, fields=True, nside=8, batch_size=16,
                           field_kwargs={})
    assert r["loglik"] == pytest.approx(-np.log(4 * np.pi), abs=1e-9)  # uniform density per steradian
    assert r["area_0.9_km2"] == pytest.approx(0.9 * 4 * np.pi * 6371.0088**2, rel=0.01)
    assert 0.0 <= r["coverage_0.5"] <= 1.0


def test_compare_and_table():
    rows = compare({"a": Fixed([0], [0]), "b": Fixed([10], [0])}, np.zeros((1, 1)), [0], [0])
    assert [r["method"] for r in rows] == ["a", "b"]
    assert rows[0]["acc_1km"] == 1.0 and rows[1]["acc_1km"] == 0.0
    text = markdown_table(rows, ["method", "acc_1km", "median_km"])
    assert text.splitlines()[2] == "| a | 100.0 | 0.0 |"


def test_bad_input():
    with pytest.raises(ValueError, match="`X` must be a non-empty 2-D array"):
        evaluate_predictor(Fixed([0], [0]), np.zeros(3), [0], [0])
    with pytest.raises(ValueError, match="rows but"):
        evaluate_predictor(Fixed([0], [0]), np.zeros((2, 2)), [0], [0])

    class NoField:
        def predict(self, X):
            return np.zeros(len(X)), np.zeros(len(X))

    with pytest.raises(TypeError, match="predict_field"):
        evaluate_predictor(NoField(), np.zeros((1, 1)), [0], [0], fields=True)
    with pytest.raises(ValueError, match="`rows` is empty"):
        markdown_table([])
