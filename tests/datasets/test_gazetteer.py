import numpy as np
import pytest

from shdd_geo.datasets.gazetteer import Gazetteer, Namesakes, fold_name, mix_namesakes


def test_fold_name():
    assert fold_name("San  José ") == fold_name("san jose") == "san jose"
    assert fold_name("SÃO PAULO") == "sao paulo" and fold_name("Zürich") == "zurich"
    assert fold_name("Paris") != fold_name("Pariss")


def test_lookup_matches_a_linear_scan():
    rng = np.random.default_rng(0)
    pool = ["Paris", "paris", "París", "Lyon", "San José", "San Jose", "Springfield", "Springfeld"]
    names = rng.choice(pool, size=300)
    ns = Gazetteer(names, ["XX"] * 300, rng.uniform(-80, 80, 300), rng.uniform(-180, 180, 300),
                   weights=rng.integers(1, 20, 300))
    for q in pool + ["Berlin", "PARIS", " san  josé"]:
        brute = [i for i, n in enumerate(names) if fold_name(n) == fold_name(q)]
        assert ns.lookup(q).tolist() == brute
    assert len(ns) == 300 and "names" in repr(ns)


def test_field_is_the_weighted_kde_of_the_namesakes():
    from shdd_geo import SphericalField

    ns = Gazetteer(["A", "a", "B"], ["X", "Y", "Z"], [10.0, -40.0, 0.0], [20.0, 100.0, 0.0], weights=[3, 1, 5])
    f = ns.field("A", nside=16, bandwidth_km=300.0)
    ref = SphericalField.from_samples([10.0, -40.0], [20.0, 100.0], nside=16, method="kde", bandwidth_km=300.0,
                                      weights=[3.0, 1.0]).normalize()
    np.testing.assert_allclose(f.log_density, ref.log_density)
    assert f.integral() == pytest.approx(1.0)
    assert f.density_at(10.0, 20.0) > 2 * f.density_at(-40.0, 100.0)  # weight 3 vs 1
    assert ns.field("C") is None
    with pytest.raises(ValueError, match="`bandwidth_km`"):
        ns.field("A", bandwidth_km=0)


def test_mix_namesakes_and_errors():
    a, b = np.log(np.array([0.2, 0.8])), np.log(np.array([0.6, 0.4]))
    np.testing.assert_allclose(np.exp(mix_namesakes(a, b, 0.25)), 0.75 * np.exp(a) + 0.25 * np.exp(b))
    assert mix_namesakes(a, None, 0.5) is a and mix_namesakes(a, b, 0.0) is a
    for w in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="`namesake_weight`"):
            mix_namesakes(a, b, w)
    with pytest.raises(ValueError, match="one entry per place"):
        Gazetteer(["A", "B"], ["X"], [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="`weights`"):
        Gazetteer(["A"], ["X"], [0.0], [0.0], weights=[0.0])


def test_from_geonames_weights_and_exclusion():
    from shdd_geo.datasets import load_geonames, population_copies

    ns = Gazetteer.from_geonames(15000)
    t = load_geonames(15000)
    assert len(ns) == len(t)
    pop = t["population"].to_numpy()
    np.testing.assert_allclose(ns.weights, np.maximum(pop, 1.0))  # default: population ** 1
    half = Gazetteer.from_geonames(15000, population_power=0.5)
    np.testing.assert_allclose(half.weights, np.maximum(pop, 1.0) ** 0.5)
    copies = Gazetteer.from_geonames(15000, population_power=None)
    np.testing.assert_array_equal(copies.weights, population_copies(pop))
    for bad in (-1.0, float("nan"), "1", True):
        with pytest.raises(ValueError, match="`population_power`"):
            Gazetteer.from_geonames(15000, population_power=bad)
    ids = t["geonameid"].to_numpy()[ns.lookup("Springfield")]
    fewer = Gazetteer.from_geonames(15000, exclude_ids=ids[:3])
    assert len(fewer) == len(ns) - 3 and fewer.lookup("Springfield").size == ns.lookup("Springfield").size - 3


def test_namesakes_is_an_alias_of_gazetteer():
    assert Namesakes is Gazetteer


def test_within_and_nearest_match_brute_force():
    """KD-tree queries against a scan of great-circle distances (tolerance: 1e-6 km at the radius)."""
    from shdd_geo.metrics import great_circle_km

    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(-89, 89, 400), rng.uniform(-180, 180, 400)
    g = Gazetteer([f"p{i}" for i in range(400)], ["XX"] * 400, lat, lon)
    for qlat, qlon, r in [(0.0, 0.0, 1500.0), (89.5, 10.0, 800.0), (-30.0, 179.9, 2500.0)]:
        d = great_circle_km(lat, lon, qlat, qlon)
        assert g.within(qlat, qlon, r).tolist() == np.flatnonzero(d <= r).tolist()
        names, _, dist = g.nearest(qlat, qlon)
        assert names == [f"p{int(np.argmin(d))}"] and dist[0] == pytest.approx(d.min(), abs=1e-6)
