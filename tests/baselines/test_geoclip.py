"""GeoCLIP adapter: the released location encoder, MLP and MP16 gallery; a random CLIP tower."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pandas")

from shdd_geo.baselines.geoclip import (
    GeoCLIPAdapter,
    geoclip_available,
    load_geoclip_gallery,
)
from shdd_geo.metrics import great_circle_km

pytestmark = pytest.mark.skipif(not geoclip_available(), reason="needs `pip install --no-deps geoclip`")

N_GALLERY = 3000


@pytest.fixture(scope="module")
def gallery():
    lat, lon = load_geoclip_gallery()
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(lat.size, N_GALLERY, replace=False))
    return lat[idx], lon[idx]


@pytest.fixture(scope="module")
def adapter(gallery):
    torch.set_num_threads(1)
    return GeoCLIPAdapter(gallery=gallery, device="cpu", batch_size=1024)


def test_real_gallery_and_weights(adapter):
    lat, lon = load_geoclip_gallery()
    assert lat.shape == lon.shape == (100_000,)
    assert np.all(np.abs(lat) <= 90) and np.all((lon >= -180) & (lon < 180))
    state = torch.load(adapter._weights("location_encoder_weights.pth"), weights_only=True)
    for k, v in adapter.location_encoder.state_dict().items():
        torch.testing.assert_close(v.cpu(), state[k], rtol=0, atol=0)
    assert adapter.logit_scale == pytest.approx(39.687, abs=0.01)


def test_location_features_decay_with_distance(adapter):
    """Trained weights: similarity falls monotonically from 1 km to 3000 km (random weights would not)."""
    rng = np.random.default_rng(1)
    lat = rng.uniform(-60, 70, 200)
    lon = rng.uniform(-180, 180, 200)
    f0 = adapter.encode_locations(lat, lon)
    np.testing.assert_allclose(np.linalg.norm(f0, axis=1), 1.0, atol=1e-5)
    sims = []
    for dlat in (0.009, 0.09, 0.9, 9.0, 27.0):  # about 1, 10, 100, 1000, 3000 km south
        f = adapter.encode_locations(lat - dlat, lon)
        sims.append((f0 * f).sum(1))
    medians = [float(np.median(s)) for s in sims]
    assert all(a > b + 0.05 for a, b in itertools.pairwise(medians)), medians
    assert medians[0] > 0.95 and medians[-1] < 0.4
    assert np.mean(sims[1] > sims[-1]) > 0.97


def test_self_retrieval_on_the_real_gallery(adapter, gallery):
    """A gallery point's own location feature retrieves it (or a point a few km away)."""
    lat, lon = gallery
    q = adapter.encode_locations(lat[:60], lon[:60])
    plat, plon = adapter.predict(q)
    d = great_circle_km(plat, plon, lat[:60], lon[:60])
    assert np.median(d) < 1.0 and np.mean(d < 25.0) > 0.95


def test_topk_matches_brute_force_geoclip_scoring(adapter, gallery):
    """Twin: GeoCLIP's forward (MLP -> normalise -> scaled cosine vs every location -> softmax)."""
    rng = np.random.default_rng(2)
    clip = rng.normal(size=(5, 768)).astype(np.float32)
    lat, lon, p = adapter.topk(clip, k=7)
    with torch.inference_mode():
        img = torch.nn.functional.normalize(adapter.image_mlp(torch.from_numpy(clip)), dim=1)
        pts = torch.tensor(np.stack(gallery, 1), dtype=torch.float32)
        loc = torch.nn.functional.normalize(adapter.location_encoder(pts), dim=1)
        probs = (adapter.logit_scale * img @ loc.T).softmax(-1).double().numpy()
    idx = np.argsort(-probs, axis=1, kind="stable")[:, :7]
    np.testing.assert_allclose(p, np.take_along_axis(probs, idx, 1), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(lat, gallery[0][idx])
    np.testing.assert_array_equal(lon, gallery[1][idx])
    assert np.all(np.diff(p, axis=1) <= 0) and np.all(p.sum(1) <= 1 + 1e-9)
    cl, _, w = adapter.candidates(clip, k=7)
    np.testing.assert_allclose(w.sum(1), 1.0)
    np.testing.assert_array_equal(cl, lat)


def test_random_clip_tower_through_the_real_mlp(gallery):
    tf = pytest.importorskip("transformers")
    from shdd_geo.encoders.image import CLIPImageEncoder

    cfg = tf.CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                              image_size=32, patch_size=8, projection_dim=768)
    enc = CLIPImageEncoder.from_config(cfg, seed=0, device="cpu")
    g = GeoCLIPAdapter(image_encoder=enc, gallery=gallery, device="cpu")
    imgs = np.random.default_rng(3).integers(0, 255, (3, 48, 40, 3), dtype=np.uint8)
    feats = g.image_features(imgs, progress=False)
    assert feats.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    raw = enc.embed(imgs, progress=False, normalize=False)
    np.testing.assert_allclose(feats, g.project_clip(raw), atol=1e-6)
    a = g.topk(raw, k=3)  # 768-d raw CLIP features
    b = g.topk(feats, k=3)  # 512-d GeoCLIP features
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[2], b[2], rtol=1e-4)


def test_predict_near_restricts_to_candidates(adapter, gallery):
    lat, lon = gallery
    q = adapter.encode_locations(lat[:4], lon[:4])
    # candidates in a different place: the answer must lie within 500 km of them
    clat, clon = np.full((4, 2), 48.0), np.array([[2.0, 12.0]] * 4)
    plat, plon = adapter.predict_near(q, clat, clon, radius_km=500)
    d = np.minimum(great_circle_km(plat, plon, 48.0, 2.0), great_circle_km(plat, plon, 48.0, 12.0))
    assert np.all(d <= 500.0)
    # no gallery point in range: falls back to the unrestricted top-1
    far = adapter.predict_near(q, np.full((4, 1), -89.9), np.zeros((4, 1)), radius_km=1)
    np.testing.assert_array_equal(far[0], adapter.predict(q)[0])
    with pytest.raises(ValueError, match="cand_lat"):
        adapter.predict_near(q, np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="radius_km"):
        adapter.predict_near(q, clat, clon, radius_km=-1)


def test_errors(adapter):
    with pytest.raises(ValueError, match="image_features"):
        adapter.topk(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="image_features"):
        adapter.topk(np.zeros((2, 768)), features="geoclip")
    with pytest.raises(ValueError, match="finite"):
        adapter.topk(np.full((1, 512), np.nan))
    with pytest.raises(ValueError, match="`k`"):
        adapter.topk(np.ones((1, 512)), k=0)
    with pytest.raises(ValueError, match="`k`"):
        adapter.topk(np.ones((1, 512)), k=N_GALLERY + 1)
    with pytest.raises(ValueError, match="features"):
        adapter.topk(np.ones((1, 512)), features="text")
    with pytest.raises(TypeError, match="gallery"):
        GeoCLIPAdapter(gallery=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="gallery"):
        GeoCLIPAdapter(gallery=([95.0], [0.0]))
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        _ = GeoCLIPAdapter(clip_path="/no/such/clip", gallery=([0.0], [0.0])).image_encoder


def test_geoclip_package_namespace_untouched():
    """The adapter loads geoclip's model files without importing (or breaking) `geoclip` itself."""
    code = (
        "import sys\n"
        "from shdd_geo.baselines.geoclip import GeoCLIPAdapter\n"
        "g = GeoCLIPAdapter(gallery=([0.0], [0.0]), device='cpu')\n"
        "g.encode_locations([1.0], [2.0])\n"
        "print('geoclip' in sys.modules, 'torchvision' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.slow
def test_full_mp16_gallery_with_disk_cache(tmp_path):
    g = GeoCLIPAdapter(device="cpu", cache_dir=tmp_path)
    feats = g.gallery_features()
    assert feats.shape == (100_000, 512)
    cached = list((tmp_path / "geoclip").glob("gallery-*.npy"))
    assert len(cached) == 1
    g2 = GeoCLIPAdapter(device="cpu", cache_dir=tmp_path)
    np.testing.assert_array_equal(g2.gallery_features(), feats)
    q = g.encode_locations([48.8566, -33.8688], [2.3522, 151.2093])
    lat, lon, _ = g.topk(q, k=5)
    assert np.all(great_circle_km(lat[:, 0], lon[:, 0], [48.8566, -33.8688], [2.3522, 151.2093]) < 50)
