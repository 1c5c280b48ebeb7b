"""Tests of shdd_geo.encoders.text (MiniLM, offline); only a handful of strings are embedded."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from shdd_geo.encoders import TextEncoder

NAMES = ["Paris", "Paris, France", "Tokyo", "San José", "Springfield", ""]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


@pytest.fixture(scope="module")
def emb(encoder) -> np.ndarray:
    return encoder.embed(NAMES, batch_size=4, progress=False)


def test_shape_dtype_norm(encoder, emb):
    assert encoder.dim == 384
    assert emb.shape == (len(NAMES), 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    assert emb.flags.c_contiguous


def test_semantics(emb):
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # "Paris" is nearer "Paris, France" than "Tokyo"
    assert len({tuple(np.round(r, 4)) for r in emb}) == len(NAMES)


def test_batching_does_not_change_results(encoder, emb):
    single = np.concatenate([encoder.embed(n, progress=False) for n in NAMES[:3]])
    np.testing.assert_allclose(single, emb[:3], atol=2e-5)
    again = encoder.embed(NAMES, batch_size=256, progress=False)
    np.testing.assert_allclose(again, emb, atol=2e-5)


def test_name_and_repr(encoder):
    assert encoder.name.startswith("all-MiniLM-L6-v2@")
    assert "TextEncoder(" in repr(encoder)


def test_accepts_numpy_and_series(encoder, emb):
    out = encoder.embed(pd.Series(NAMES[:2]), progress=False)
    np.testing.assert_allclose(out, emb[:2], atol=2e-5)
    out = encoder.embed(np.array(NAMES[:2], dtype=object), progress=False)
    np.testing.assert_allclose(out, emb[:2], atol=2e-5)


@pytest.mark.parametrize(
    "texts, kwargs, exc, match",
    [
        ([], {}, ValueError, "empty"),
        (["a", 3], {}, TypeError, "position 1"),
        (42, {}, TypeError, "`texts`"),
        (np.array([["a"]]), {}, ValueError, "1-D"),
        (["a"], {"batch_size": 0}, ValueError, "`batch_size`"),
        (["a"], {"batch_size": 2.5}, TypeError, "`batch_size`"),
    ],
)
def test_errors(encoder, texts, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        encoder.embed(texts, progress=False, **kwargs)


def test_construction_is_lazy_and_offline():
    """Creating an encoder loads nothing; embedding works with the hub forced offline."""
    code = (
        "import sys\n"
        "from shdd_geo.encoders import TextEncoder\n"
        "enc = TextEncoder()\n"
        "assert 'sentence_transformers' not in sys.modules and 'torch' not in sys.modules\n"
        "print(enc.embed(['Lyon'], progress=False).shape)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "(1, 384)" in r.stdout


def test_embed_table_through_cache(tmp_path, encoder):
    from shdd_geo.datasets import embed_table, load_geonames

    t = load_geonames(15000).head(5)
    e = embed_table(t, encoder=encoder, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(e, encoder.embed(t.text.tolist(), progress=False), atol=2e-5)
    assert isinstance(embed_table(t, encoder=encoder, cache_dir=tmp_path, progress=False), np.memmap)


def test_light_backend_matches_sentence_transformers():
    from shdd_geo.encoders import TextEncoder

    texts = ["Paris", "San José", "Ōsaka", "Springfield", "a much longer sentence about Rio de Janeiro", "ß"]
    light = TextEncoder(backend="light").embed(texts, batch_size=4, progress=False)
    ref = TextEncoder(backend="sentence-transformers").embed(texts, progress=False)
    np.testing.assert_allclose(light, ref, atol=1e-5)
    with pytest.raises(ValueError, match="`backend`"):
        TextEncoder(backend="onnx")
