"""Image encoders: EfficientNet-lite0 (bundled weights), CLIP from local weights, registry."""

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
PIL_Image = pytest.importorskip("PIL.Image")
pytest.importorskip("efficientnet_lite_pytorch")

from shdd_geo.encoders._imageprep import Preprocess, as_image_list, load_rgb, preprocess_batch
from shdd_geo.encoders.image import CLIPImageEncoder, EfficientNetLite0Encoder
from shdd_geo.encoders.registry import available_encoders, get_encoder


@pytest.fixture(scope="module")
def effnet():
    torch.set_num_threads(1)
    return EfficientNetLite0Encoder(device="cpu")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    # smooth-ish random images of different sizes (uint8 RGB)
    out = []
    for h, w in [(64, 80), (96, 48), (50, 50)]:
        base = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
        img = PIL_Image.fromarray(base).resize((w, h), PIL_Image.BILINEAR)
        out.append(np.asarray(img))
    return out


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted during an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# -- inputs and preprocessing ----------------------------------------------------------------
def test_as_image_list_forms():
    assert len(as_image_list(np.zeros((5, 8, 8, 3), np.uint8))) == 5
    assert len(as_image_list(np.zeros((8, 8, 3), np.uint8))) == 1
    assert len(as_image_list(np.zeros((8, 8), np.uint8))) == 1
    assert as_image_list(Path("x.png")) == [Path("x.png")]
    with pytest.raises(ValueError, match="empty"):
        as_image_list([])
    with pytest.raises(TypeError, match="torch tensor"):
        as_image_list(torch.zeros(1, 3, 8, 8))
    with pytest.raises(TypeError):
        as_image_list(3.5)


def test_load_rgb_validates_arrays(tmp_path):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        load_rgb(np.full((4, 4, 3), 2.0))
    with pytest.raises(ValueError, match=r"images\[7\]. must be finite"):
        load_rgb(np.full((4, 4, 3), np.nan), 7)
    with pytest.raises(FileNotFoundError, match="no image file"):
        load_rgb(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="cannot decode"):
        load_rgb(bad)
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., 0] = 9
    assert np.asarray(load_rgb(rgba))[0, 0].tolist() == [9, 0, 0]


def test_preprocess_exact_when_no_resize():
    """A square image of the input size is only normalised: check against the formula."""
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    p = Preprocess(16, 1.0, (10.0, 20.0, 30.0), (2.0, 4.0, 8.0))
    got = preprocess_batch([PIL_Image.fromarray(arr)], p)[0]
    want = ((arr.astype(np.float32) - [10.0, 20.0, 30.0]) / [2.0, 4.0, 8.0]).transpose(2, 0, 1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_preprocess_matches_transformers_clip_processor(images):
    tf = pytest.importorskip("transformers")
    proc_cls = getattr(tf, "CLIPImageProcessorPil", None) or tf.CLIPImageProcessor
    proc = proc_cls(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})
    from shdd_geo.encoders._clip_load import CLIP_MEAN, CLIP_STD

    p = Preprocess(30, 1.0, CLIP_MEAN, CLIP_STD)
    want = proc(images=[PIL_Image.fromarray(a) for a in images], return_tensors="np")["pixel_values"]
    got = preprocess_batch([PIL_Image.fromarray(a) for a in images], p)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_preprocess_rejects_bad_options():
    with pytest.raises(ValueError, match="crop_fraction"):
        Preprocess(224, 1.5, (0.0,) * 3, (1.0,) * 3)
    with pytest.raises(ValueError, match="image_size"):
        Preprocess(4, 1.0, (0.0,) * 3, (1.0,) * 3)


# -- EfficientNet-lite0 ----------------------------------------------------------------------
def test_effnet_shape_norm_and_input_forms(effnet, images, tmp_path):
    e = effnet.embed(images, progress=False)
    assert e.shape == (3, 1280) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert np.abs(e[0] - e[1]).max() > 1e-3  # different images, different features
    path = tmp_path / "img0.png"
    PIL_Image.fromarray(images[0]).save(path)  # lossless
    for form in (str(path), path, PIL_Image.fromarray(images[0]), images[0], images[0] / 255.0):
        np.testing.assert_allclose(effnet.embed(form, progress=False)[0], e[0], atol=1e-5)


def test_effnet_batching_does_not_change_results(effnet, images):
    same = [images[2]] * 3
    a = effnet.embed(same + images, batch_size=1, progress=False)
    b = effnet.embed(same + images, batch_size=4, progress=False, num_workers=2)
    np.testing.assert_allclose(a, b, atol=2e-5)
    np.testing.assert_allclose(a[0], a[2], atol=1e-6)


def test_effnet_features_are_the_classifier_input(effnet, images):
    """Twin: the (unnormalised) features through the bundled classifier head give the model's own logits."""
    model = effnet.model
    x = torch.from_numpy(preprocess_batch([PIL_Image.fromarray(a) for a in images], effnet.preprocess))
    raw = effnet.embed(images, progress=False, normalize=False)
    with torch.inference_mode():
        logits = model(x).numpy()
        via_features = model._fc(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(via_features, logits, rtol=1e-4, atol=1e-4)


def test_effnet_recognises_a_landscape(effnet):
    """The bundled ImageNet weights and preprocessing put a coastal landscape photo in landscape classes."""
    from importlib.util import find_spec

    spec = find_spec("geoclip")
    if spec is None:
        pytest.skip("needs the Kauai photo shipped with geoclip")
    photo = Path(next(iter(spec.submodule_search_locations))) / "images" / "Kauai.png"
    raw = effnet.embed(photo, progress=False, normalize=False)
    with torch.inference_mode():
        p = effnet.model._fc(torch.from_numpy(raw)).softmax(-1)[0]
    landscape = list(range(970, 981))  # alp, cliff, coral reef, ..., promontory, seashore, valley, volcano
    assert float(p[landscape].sum()) > 0.5
    assert int(p.argmax()) in landscape


def test_effnet_on_error(effnet, images, tmp_path):
    good = tmp_path / "good.png"
    PIL_Image.fromarray(images[1]).save(good)
    missing = tmp_path / "missing.jpg"
    with pytest.raises(FileNotFoundError):
        effnet.embed([good, missing], progress=False)
    e = effnet.embed([missing, good, missing], progress=False, on_error="nan")
    assert np.isnan(e[0]).all() and np.isnan(e[2]).all()
    np.testing.assert_allclose(e[1], effnet.embed(good, progress=False)[0], atol=1e-5)
    with pytest.raises(ValueError, match="on_error"):
        effnet.embed(good, on_error="skip")


def test_effnet_argument_errors(effnet):
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="batch_size"):
        effnet.embed(img, batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        effnet.embed(img, batch_size=2.0)
    with pytest.raises(ValueError, match="device"):
        effnet.embed(img, device="gpu-please", progress=False)
    assert effnet.name.startswith("efficientnet-lite0@")
    assert EfficientNetLite0Encoder(crop_fraction=1.0).name != effnet.name


# -- CLIP --------------------------------------------------------------------------------------
def _tiny_clip_config(projection_dim=24):
    tf = pytest.importorskip("transformers")
    return tf.CLIPConfig(
        projection_dim=projection_dim,
        text_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "vocab_size": 99, "bos_token_id": 0, "eos_token_id": 2,
                     "pad_token_id": 1},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "image_size": 30, "patch_size": 6},
    )


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    tf = pytest.importorskip("transformers")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = tf.CLIPModel(_tiny_clip_config()).eval()
    d = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(d)
    return d, model


def test_clip_from_folder_matches_the_full_model(tiny_clip_dir, images):
    folder, model = tiny_clip_dir
    enc = CLIPImageEncoder(folder, device="cpu")
    assert enc.dim == 24 and enc.preprocess.image_size == 30
    raw = enc.embed(images, progress=False, normalize=False)
    x = torch.from_numpy(preprocess_batch([PIL_Image.fromarray(a) for a in images], enc.preprocess))
    with torch.inference_mode():
        ref = model.get_image_features(pixel_values=x)
    ref = getattr(ref, "pooler_output", ref).numpy()
    np.testing.assert_allclose(raw, ref, rtol=1e-5, atol=1e-5)
    unit = enc.embed(images, progress=False)
    np.testing.assert_allclose(unit, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-5)


def test_clip_from_single_file_and_vision_only_folder(tiny_clip_dir, images, tmp_path):
    tf = pytest.importorskip("transformers")
    folder, _ = tiny_clip_dir
    ref = CLIPImageEncoder(folder, device="cpu").embed(images, progress=False)
    from_file = CLIPImageEncoder(folder / "model.safetensors", device="cpu")
    np.testing.assert_allclose(from_file.embed(images, progress=False), ref, atol=1e-6)
    vision = tf.CLIPVisionModelWithProjection.from_pretrained(str(folder), local_files_only=True,
                                                              config=from_file._vcfg)
    vision.save_pretrained(tmp_path / "vision")
    enc = CLIPImageEncoder(tmp_path / "vision", device="cpu")
    np.testing.assert_allclose(enc.embed(images, progress=False), ref, atol=1e-6)
    # a bare .pt state dict with an explicit config
    torch.save(vision.state_dict(), tmp_path / "w.pt")
    enc = CLIPImageEncoder(tmp_path / "w.pt", config=_tiny_clip_config(), device="cpu")
    np.testing.assert_allclose(enc.embed(images, progress=False), ref, atol=1e-6)


def test_clip_missing_weights_say_how_to_supply_them(tmp_path, monkeypatch):
    monkeypatch.delenv("SHDD_GEO_CLIP_PATH", raising=False)
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        CLIPImageEncoder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        CLIPImageEncoder()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no CLIP weights"):
        CLIPImageEncoder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="SHDD_GEO_CLIP_PATH"):
        get_encoder("clip")


def test_clip_env_var(tiny_clip_dir, monkeypatch):
    folder, _ = tiny_clip_dir
    monkeypatch.setenv("SHDD_GEO_CLIP_PATH", str(folder))
    assert CLIPImageEncoder(device="cpu").dim == 24


def test_clip_random_tower_is_seeded_and_leaves_global_rng_alone(images):
    cfg = _tiny_clip_config(projection_dim=8)
    state = torch.random.get_rng_state()
    a = CLIPImageEncoder.from_config(cfg, seed=3, device="cpu").embed(images, progress=False)
    b = CLIPImageEncoder.from_config(cfg, seed=3, device="cpu").embed(images, progress=False)
    c = CLIPImageEncoder.from_config(cfg.to_dict(), seed=4, device="cpu").embed(images, progress=False)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 8) and np.abs(a - c).max() > 1e-3
    with pytest.raises(ValueError, match="dtype"):
        CLIPImageEncoder(dtype="int8")


# -- registry ---------------------------------------------------------------------------------
def test_registry(tiny_clip_dir):
    assert available_encoders() == ("clip", "efficientnet-lite0", "minilm")
    assert isinstance(get_encoder("effnet", device="cpu"), EfficientNetLite0Encoder)
    assert get_encoder("clip", path=tiny_clip_dir[0]).dim == 24
    text = get_encoder("minilm")
    assert type(text).__name__ == "TextEncoder" and text.dim == 384
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        get_encoder("resnet50")
    with pytest.raises(TypeError):
        get_encoder(3)


def test_import_is_light():
    code = (
        "import sys; import shdd_geo.encoders.image, shdd_geo.encoders.registry; "
        "heavy = [m for m in ('torch', 'transformers', 'PIL', 'pandas') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
