"""Locating and reading user-provided CLIP weights (never downloads anything)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._optional import attempt_import

CLIP_PATH_ENV = "SHDD_GEO_CLIP_PATH"
CLIP_MEAN = (0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255)
CLIP_STD = (0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255)

CLIP_HELP = (
    "shdd_geo never downloads weights. Save a CLIP model once, on a machine with internet access, e.g.\n"
    "    from transformers import CLIPModel, CLIPImageProcessor\n"
    "    CLIPModel.from_pretrained('openai/clip-vit-large-patch14').save_pretrained('clip-vit-l14')\n"
    "    CLIPImageProcessor.from_pretrained('openai/clip-vit-large-patch14').save_pretrained('clip-vit-l14')\n"
    "(or `hf download openai/clip-vit-large-patch14 --local-dir clip-vit-l14`), then pass that folder: "
    f"CLIPImageEncoder('clip-vit-l14'), or set ${CLIP_PATH_ENV}. A single .safetensors/.bin/.pt "
    "checkpoint also works with a config.json beside it or `config=`."
)


def vision_config(cfg: Any) -> Any:
    """A ``CLIPVisionConfig`` from a dict / CLIPConfig / CLIPVisionConfig / JSON path."""
    tf = attempt_import("transformers", "the CLIP image encoder")
    if isinstance(cfg, (str, os.PathLike)):
        cfg = json.loads(Path(cfg).read_text())
    if isinstance(cfg, tf.CLIPConfig):
        cfg = cfg.to_dict()
    if isinstance(cfg, tf.CLIPVisionConfig):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(
            f"`config` must be a dict, a CLIP(Vision)Config or a JSON path, got {type(cfg).__name__}"
        )
    if cfg.get("model_type") == "clip" or "vision_config" in cfg:
        vision = dict(cfg.get("vision_config") or {})
        if "projection_dim" in cfg:  # the joint embedding width lives at the top level
            vision["projection_dim"] = cfg["projection_dim"]
        cfg = vision
    keep = {
        k: v
        for k, v in cfg.items()
        if k not in ("model_type", "architectures", "transformers_version")
    }
    return tf.CLIPVisionConfig(**keep)


def read_mean_std(folder: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    pp = folder / "preprocessor_config.json"
    if pp.is_file():
        d = json.loads(pp.read_text())
        if "image_mean" in d and "image_std" in d:
            return tuple(255.0 * float(v) for v in d["image_mean"]), tuple(
                255.0 * float(v) for v in d["image_std"]
            )
    return CLIP_MEAN, CLIP_STD


def load_state_file(path: Path) -> dict[str, Any]:
    torch = attempt_import("torch", "the CLIP image encoder")
    if path.suffix == ".safetensors":
        return attempt_import("safetensors.torch", "reading .safetensors checkpoints").load_file(
            str(path)
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


def first_weight_file(folder: Path) -> Path:
    for f in ("model.safetensors", "pytorch_model.bin"):
        if (folder / f).is_file():
            return folder / f
    found = sorted(folder.glob("*.safetensors"))
    if not found:
        raise FileNotFoundError(f"no weight file in {str(folder)!r}. " + CLIP_HELP)
    return found[0]
