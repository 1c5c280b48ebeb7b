"""Embeddings on disk: memory-mapped .npy + metadata, atomic and resumable."""

import hashlib
import json

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from shdd_geo.io.embeddings import EmbeddingFile, embed_to_disk, items_key, open_embeddings


class HashEncoder:
    """Deterministic toy encoder: a unit vector from the SHA-256 of each item; counts what it embeds."""

    name, dim = "hash-v1", 8

    def __init__(self, fail_after_calls=None, nan_items=()):
        self.calls, self.seen = 0, []
        self.fail_after_calls = fail_after_calls
        self.nan_items = set(nan_items)

    def row(self, item):
        h = hashlib.sha256(str(item).encode()).digest()
        v = np.frombuffer(h[: 4 * self.dim], dtype=np.uint32).astype(np.float64)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed(self, items, batch_size=32, progress=False, **kw):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt  # simulated Ctrl-C / pre-emption mid-run
        self.calls += 1
        self.seen.extend(items)
        return np.stack([np.full(self.dim, np.nan, np.float32) if i in self.nan_items else self.row(i)
                         for i in items])


ITEMS = [f"img_{i:03d}.jpg" for i in range(23)]


def test_full_run_matches_direct_embedding(tmp_path):
    enc = HashEncoder()
    meta = pd.DataFrame({"path": ITEMS, "lat": np.linspace(-80, 80, 23)})
    f = embed_to_disk(ITEMS, tmp_path / "emb.npy", encoder=enc, meta=meta, chunk_size=5, progress=False)
    assert isinstance(f, EmbeddingFile) and isinstance(f.array, np.memmap)
    np.testing.assert_array_equal(np.asarray(f.array), np.stack([enc.row(i) for i in ITEMS]))
    assert f.meta["path"].tolist() == ITEMS and f.meta["ok"].all()
    np.testing.assert_array_equal(f.meta["lat"].to_numpy(), meta["lat"].to_numpy())
    assert f.info["status"] == "complete" and f.info["encoder"] == "hash-v1" and f.info["n"] == 23
    assert enc.calls == 5
    # only final files remain
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["emb.json", "emb.npy", "emb.parquet"]
    with pytest.raises(ValueError, match="read-only"):
        f.array[0, 0] = 1.0


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "emb.npy"
    with pytest.raises(KeyboardInterrupt):
        embed_to_disk(ITEMS, out, encoder=HashEncoder(fail_after_calls=2), chunk_size=4, progress=False)
    assert not out.exists()  # never a half-written final file
    assert (tmp_path / "emb.npy.partial").exists()
    progress = json.loads((tmp_path / "emb.json.partial").read_text())
    assert progress["done"] == 8 and progress["status"] == "partial"
    with pytest.raises(FileNotFoundError, match="resume"):
        open_embeddings(out)
    enc = HashEncoder()
    f = embed_to_disk(ITEMS, out, encoder=enc, chunk_size=4, progress=False)
    assert enc.seen == ITEMS[8:]  # the first two chunks were not recomputed
    np.testing.assert_array_equal(np.asarray(f.array), np.stack([enc.row(i) for i in ITEMS]))
    assert not (tmp_path / "emb.npy.partial").exists() and not (tmp_path / "emb.json.partial").exists()


def test_resume_with_other_inputs_restarts(tmp_path):
    out = tmp_path / "emb.npy"
    with pytest.raises(KeyboardInterrupt):
        embed_to_disk(ITEMS, out, encoder=HashEncoder(fail_after_calls=1), chunk_size=4, progress=False)
    other = ITEMS[::-1]
    enc = HashEncoder()
    f = embed_to_disk(other, out, encoder=enc, chunk_size=4, progress=False)
    assert enc.seen == other
    np.testing.assert_array_equal(np.asarray(f.array), np.stack([enc.row(i) for i in other]))


def test_resume_false_restarts(tmp_path):
    out = tmp_path / "emb.npy"
    with pytest.raises(KeyboardInterrupt):
        embed_to_disk(ITEMS, out, encoder=HashEncoder(fail_after_calls=2), chunk_size=4, progress=False)
    enc = HashEncoder()
    embed_to_disk(ITEMS, out, encoder=enc, chunk_size=4, progress=False, resume=False)
    assert enc.seen == ITEMS


def test_existing_complete_file(tmp_path):
    out = tmp_path / "emb.npy"
    embed_to_disk(ITEMS, out, encoder=HashEncoder(), progress=False)
    enc = HashEncoder()
    again = embed_to_disk(ITEMS, out, encoder=enc, progress=False)
    assert enc.calls == 0 and len(again) == 23
    with pytest.raises(FileExistsError, match="overwrite=True"):
        embed_to_disk(ITEMS[:5], out, encoder=HashEncoder(), progress=False)
    f = embed_to_disk(ITEMS[:5], out, encoder=enc, progress=False, overwrite=True)
    assert len(f) == 5 and enc.calls == 1


def test_failed_inputs_are_nan_rows_flagged_in_meta(tmp_path):
    enc = HashEncoder(nan_items={ITEMS[3], ITEMS[10]})
    f = embed_to_disk(ITEMS, tmp_path / "e.npy", encoder=enc, chunk_size=7, progress=False, meta_format="csv")
    assert (tmp_path / "e.csv").exists() and not (tmp_path / "e.parquet").exists()
    assert np.flatnonzero(~f.meta["ok"].to_numpy()).tolist() == [3, 10]
    assert f.info["n_failed"] == 2 and np.isnan(f.array[3]).all()


def test_lazy_sequence_with_cache_key(tmp_path):
    class Lazy:
        cache_key = "lazy-v1"

        def __len__(self):
            return 10

        def __getitem__(self, s):
            return [f"item{i}" for i in range(*s.indices(10))]

    enc = HashEncoder()
    f = embed_to_disk(Lazy(), tmp_path / "lazy", encoder=enc, chunk_size=3, progress=False)
    assert f.path.name == "lazy.npy" and f.info["key"] == "lazy-v1"
    assert enc.seen == [f"item{i}" for i in range(10)]


def test_errors(tmp_path):
    enc = HashEncoder()
    with pytest.raises(ValueError, match="empty"):
        embed_to_disk([], tmp_path / "e.npy", encoder=enc)
    with pytest.raises(ValueError, match="chunk_size"):
        embed_to_disk(ITEMS, tmp_path / "e.npy", encoder=enc, chunk_size=0)
    with pytest.raises(ValueError, match="one row per input"):
        embed_to_disk(ITEMS, tmp_path / "e.npy", encoder=enc, meta={"a": [1, 2]}, progress=False)
    with pytest.raises(ValueError, match="meta_format"):
        embed_to_disk(ITEMS, tmp_path / "e.npy", encoder=enc, meta_format="xlsx")

    class Wrong(HashEncoder):
        def embed(self, items, **kw):
            return np.zeros((len(items), 3), np.float32)

    with pytest.raises(RuntimeError, match="shape"):
        embed_to_disk(ITEMS, tmp_path / "w.npy", encoder=Wrong(), progress=False)
    assert not (tmp_path / "w.npy").exists()
    with pytest.raises(TypeError, match="key="):
        items_key([object()])


def test_items_key_is_content_sensitive():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    assert items_key([a]) == items_key([a.copy()]) != items_key([b])
    assert items_key(["a", "b"]) != items_key(["ab"])


def test_real_image_encoder_end_to_end(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    Image = pytest.importorskip("PIL.Image")
    from shdd_geo.encoders.image import EfficientNetLite0Encoder

    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    paths.insert(1, str(tmp_path / "missing.jpg"))
    enc = EfficientNetLite0Encoder(device="cpu", image_size=64, crop_fraction=1.0)
    f = embed_to_disk(paths, tmp_path / "img.npy", encoder=enc, chunk_size=2, progress=False, on_error="nan")
    assert f.meta["ok"].tolist() == [True, False, True, True]
    direct = enc.embed([paths[0], paths[2], paths[3]], progress=False)
    np.testing.assert_allclose(np.asarray(f.array)[[0, 2, 3]], direct, atol=1e-5)


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys; import shdd_geo.io, shdd_geo.datasets.bluemarble, shdd_geo.baselines.geoclip; "
        "print([m for m in ('torch', 'pandas', 'PIL', 'transformers', 'matplotlib') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
