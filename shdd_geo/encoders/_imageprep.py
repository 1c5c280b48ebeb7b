"""Image inputs for the image encoders: validation, decoding and preprocessing.

Everything here is Pillow + NumPy (no torchvision): images arrive as file
paths, ``PIL.Image`` objects or ``uint8``/``float`` arrays and leave as
``(n, 3, S, S)`` float32 arrays, resized (shorter side, bicubic), centre
cropped and normalised per channel.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import attempt_import
from .._validation import check_int, check_real

__all__ = ["Preprocess", "as_image_list", "load_rgb", "preprocess_batch"]


@dataclass(frozen=True)
class Preprocess:
    """How an encoder turns an RGB image into its input tensor.

    Parameters
    ----------
    image_size : int
        Side of the square input [px].
    crop_fraction : float
        The shorter side is first resized to ``round(image_size / crop_fraction)``
        and the centre ``image_size`` square is kept (``1.0``: resize the
        shorter side to ``image_size``, as CLIP does; ``0.875``: the classic
        ImageNet evaluation crop).
    mean, std : tuple of float
        Per-channel normalisation on the 0-255 scale: ``(x - mean) / std``.

    Examples
    --------
    >>> p = Preprocess(224, 1.0, (127.0,) * 3, (128.0,) * 3)
    >>> p.resize_to
    224
    """

    image_size: int
    crop_fraction: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        check_int(self.image_size, "image_size", low=8, what="an int >= 8 [px]")
        check_real(self.crop_fraction, "crop_fraction", low=0.25, high=1.0)

    @property
    def resize_to(self) -> int:
        """Length [px] of the shorter side after resizing, before the crop."""
        return round(self.image_size / float(self.crop_fraction))


_IMAGE_TYPES = "a path, a PIL image, an (H, W[, C]) array, a list of those or an (n, H, W, C) array"


def _is_pil(x: Any) -> bool:
    return type(x).__module__.startswith("PIL.") and hasattr(x, "convert")


def as_image_list(images: Any) -> list[Any]:
    """Normalise ``images`` into a list of single images (not yet decoded).

    Accepts one image (path, ``PIL.Image``, ``(H, W)``/``(H, W, C)`` array),
    a sequence of them, or an ``(n, H, W, C)`` array.

    Examples
    --------
    >>> len(as_image_list(np.zeros((4, 8, 8, 3), np.uint8)))
    4
    >>> as_image_list("a.jpg")
    ['a.jpg']
    """
    if isinstance(images, (str, os.PathLike)) or _is_pil(images):
        return [images]
    if _is_torch_tensor(images):
        raise TypeError(
            "`images` must be " + _IMAGE_TYPES + "; got a torch tensor "
            "(convert it with `.permute(0, 2, 3, 1).cpu().numpy()` to (n, H, W, C))"
        )
    if isinstance(images, np.ndarray):
        if images.ndim in (2, 3) and not (images.ndim == 3 and images.shape[-1] not in (1, 3, 4)):
            return [images]
        if images.ndim == 4:
            return list(images)
        raise ValueError(
            f"`images` array must be (H, W), (H, W, C) or (n, H, W, C), got shape {images.shape}"
        )
    if isinstance(images, (Sequence, np.ndarray)) or hasattr(images, "__iter__"):
        out = list(images)
        if not out:
            raise ValueError("`images` is empty; pass at least one image")
        return out
    raise TypeError(f"`images` must be {_IMAGE_TYPES}, got {type(images).__name__}")


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _array_to_pil(arr: np.ndarray, where: str) -> Any:
    Image = attempt_import("PIL.Image", "image encoders")
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(
            f"{where} must be an (H, W), (H, W, 3) or (H, W, 4) array, got shape {a.shape}"
        )
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"{where} must be a uint8 or float array, got dtype {a.dtype}")
        if np.issubdtype(a.dtype, np.integer):
            if a.min() < 0 or a.max() > 255:
                raise ValueError(
                    f"{where} integer values must be within [0, 255], got [{a.min()}, {a.max()}]"
                )
            a = a.astype(np.uint8)
        else:
            if not np.isfinite(a).all():
                raise ValueError(f"{where} must be finite, got {int((~np.isfinite(a)).sum())} NaN/inf value(s)")
            if a.min() < 0.0 or a.max() > 1.0:
                raise ValueError(
                    f"{where} float values must be within [0, 1] (or pass uint8 in [0, 255]), "
                    f"got range [{a.min():.3g}, {a.max():.3g}]"
                )
            a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(a)).convert("RGB")


def load_rgb(item: Any, index: int = 0) -> Any:
    """Decode one image (path, PIL image or array) into an RGB ``PIL.Image``.

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for an
    undecodable file or a malformed array, naming ``images[index]``.

    Examples
    --------
    >>> load_rgb(np.zeros((4, 6, 3), np.uint8)).size
    (6, 4)
    """
    where = f"`images[{index}]`"
    if _is_pil(item):
        return item.convert("RGB")
    if isinstance(item, np.ndarray):
        return _array_to_pil(item, where)
    if isinstance(item, (str, os.PathLike)):
        Image = attempt_import("PIL.Image", "image encoders")
        path = Path(item)
        if not path.is_file():
            raise FileNotFoundError(f"{where}: no image file at {str(path)!r}")
        try:
            with Image.open(path) as im:
                return im.convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:  # PIL raises these on corrupt data
            raise ValueError(f"{where}: cannot decode image file {str(path)!r} ({exc})") from exc
    raise TypeError(f"{where} must be a path, a PIL image or an array, got {type(item).__name__}")


def _resize_crop(img: Any, prep: Preprocess) -> np.ndarray:
    """Resize the shorter side (bicubic) and take the centre square, as uint8 (S, S, 3)."""
    Image = attempt_import("PIL.Image", "image encoders")
    w, h = img.size
    short = prep.resize_to
    # The longer side is truncated, as torchvision's Resize and transformers do.
    if w <= h:
        nw, nh = short, max(short, int(short * h / w))
    else:
        nw, nh = max(short, int(short * w / h)), short
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BICUBIC)
    s = prep.image_size
    left, top = (nw - s) // 2, (nh - s) // 2
    if (nw, nh) != (s, s):
        img = img.crop((left, top, left + s, top + s))
    return np.asarray(img, dtype=np.uint8)


def preprocess_batch(pil_images: Sequence[Any], prep: Preprocess) -> np.ndarray:
    """RGB PIL images to a normalised ``(n, 3, S, S)`` float32 array.

    Examples
    --------
    >>> from PIL import Image
    >>> p = Preprocess(16, 1.0, (127.0,) * 3, (128.0,) * 3)
    >>> preprocess_batch([Image.new("RGB", (40, 20), (255, 0, 127))], p)[0, :, 0, 0].tolist()
    [1.0, -0.9921875, 0.0]
    """
    mean = np.asarray(prep.mean, dtype=np.float32).reshape(1, 1, 3)
    std = np.asarray(prep.std, dtype=np.float32).reshape(1, 1, 3)
    out = np.empty((len(pil_images), 3, prep.image_size, prep.image_size), dtype=np.float32)
    for i, img in enumerate(pil_images):
        arr = _resize_crop(img, prep).astype(np.float32)
        out[i] = ((arr - mean) / std).transpose(2, 0, 1)
    return out
