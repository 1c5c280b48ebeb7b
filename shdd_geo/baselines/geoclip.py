"""GeoCLIP (Vivanco Cepeda et al., NeurIPS 2023) with its released weights, as a retrieval partner.

The ``geoclip`` package ships a trained location encoder (Equal Earth
projection + random Fourier features at three scales), the image-side MLP
that maps CLIP ViT-L/14 image features (768-d) into the shared 512-d space,
the learned logit scale, and a gallery of 100K GPS coordinates from MP16.
This adapter uses those real weights; only the CLIP ViT-L/14 image tower
must be supplied by the user (local weights, see
:class:`~shdd_geo.encoders.image.CLIPImageEncoder`), or CLIP features
computed elsewhere can be passed directly.

The ``geoclip`` package imports torchvision at the top level (for its
training code); install it with ``pip install --no-deps geoclip``: this
module loads only its model files, never its training code, and never
downloads anything.

Examples
--------
>>> from shdd_geo.baselines.geoclip import GeoCLIPAdapter
>>> g = GeoCLIPAdapter(gallery=([48.86, 40.71, -33.87], [2.35, -74.01, 151.21]), device="cpu")
>>> f = g.encode_locations([40.7], [-74.0])      # a point in New York
>>> lat, lon, p = g.topk(f, k=1)                 # 512-d features: used as they are
>>> lat.tolist()
[[40.71]]
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import attempt_import
from .._validation import check_int
from ..coords import as_latlon, latlon_to_xyz
from ..errors import OptionalDependencyError

__all__ = ["GeoCLIPAdapter", "geoclip_available", "load_geoclip_gallery"]
__doctest_requires__ = ("geoclip",)  # the examples load GeoCLIP's weights: skipped without the package

CLIP_DIM = 768
GEOCLIP_DIM = 512
_ALIAS = "_shdd_geoclip"


def _geoclip_root() -> Path:
    spec = importlib.util.find_spec("geoclip")
    if spec is None or not spec.submodule_search_locations:
        raise OptionalDependencyError(
            "the GeoCLIP adapter needs the `geoclip` package (its weights and gallery); install it "
            "without its torchvision dependency: pip install --no-deps geoclip"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def geoclip_available() -> bool:
    """Whether the ``geoclip`` package (weights + gallery) is installed.

    Examples
    --------
    >>> isinstance(geoclip_available(), bool)
    True
    """
    try:
        return (_geoclip_root() / "model" / "weights" / "location_encoder_weights.pth").is_file()
    except OptionalDependencyError:
        return False


def _geoclip_module(name: str) -> types.ModuleType:
    """Import ``geoclip.model.<name>`` without running ``geoclip/__init__`` (which needs torchvision).

    The package's files are loaded under a private alias, so a real
    ``import geoclip`` elsewhere is unaffected.
    """
    root = _geoclip_root()
    if _ALIAS not in sys.modules:
        pkg = types.ModuleType(_ALIAS)
        pkg.__path__ = [str(root)]
        sub = types.ModuleType(f"{_ALIAS}.model")
        sub.__path__ = [str(root / "model")]
        sys.modules[_ALIAS], sys.modules[f"{_ALIAS}.model"] = pkg, sub
    with warnings.catch_warnings():  # geoclip's RFF layer uses the deprecated torch.jit.script
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(f"{_ALIAS}.model.{name}")


def load_geoclip_gallery() -> tuple[np.ndarray, np.ndarray]:
    """GeoCLIP's 100K MP16 GPS gallery as float64 ``(lat, lon)`` [deg].

    Examples
    --------
    >>> lat, lon = load_geoclip_gallery()
    >>> lat.shape
    (100000,)
    """
    pd = attempt_import("pandas", "reading the GeoCLIP gallery")
    df = pd.read_csv(_geoclip_root() / "model" / "gps_gallery" / "coordinates_100K.csv")
    return as_latlon(df["LAT"].to_numpy(np.float64), df["LON"].to_numpy(np.float64))


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class GeoCLIPAdapter:
    """GeoCLIP retrieval over a GPS gallery with the released location encoder.

    Parameters
    ----------
    clip_path : path, optional
        Local CLIP ViT-L/14 weights, needed only by :meth:`image_features`
        (embedding images); see :class:`~shdd_geo.encoders.image.CLIPImageEncoder`.
    image_encoder : ImageEncoder, optional
        A ready CLIP image encoder instead of ``clip_path`` (must output 768-d).
    gallery : tuple of array_like, optional
        ``(lat, lon)`` [deg] candidates; default GeoCLIP's 100K MP16 gallery.
    device : str or torch.device, optional
        Default ``"cuda"`` if available, else ``"cpu"``.
    cache_dir : path, optional
        Where gallery features of large galleries (> 20 000 points) are
        cached; default ``$SHDD_GEO_CACHE`` or ``~/.cache/shdd_geo``.
    batch_size : int
        Locations per forward pass of the location encoder.

    Notes
    -----
    GeoCLIP scores a gallery location ``g`` for an image ``x`` as
    ``exp(s) * cos(MLP(CLIP(x)), LocEnc(g))`` with the learned scale
    ``exp(s)`` (about 39.7) and turns the scores into probabilities with a
    softmax over the gallery.  Inputs to the retrieval methods are either
    **raw** CLIP ViT-L/14 projected image features (``(n, 768)``, as from
    ``CLIPImageEncoder.embed(..., normalize=False)``; the MLP is applied) or
    GeoCLIP image features (``(n, 512)``, used as they are).

    Examples
    --------
    >>> g = GeoCLIPAdapter(gallery=([0.0, 45.0], [0.0, 90.0]), device="cpu")
    >>> g.encode_locations([1.0, 2.0], [3.0, 4.0]).shape
    (2, 512)
    """

    def __init__(
        self,
        clip_path: Any = None,
        *,
        image_encoder: Any = None,
        gallery: Any = None,
        device: Any = None,
        cache_dir: Any = None,
        batch_size: int = 8192,
    ) -> None:
        if clip_path is not None and image_encoder is not None:
            raise ValueError("pass either `clip_path` or `image_encoder`, not both")
        check_int(batch_size, "batch_size", low=1, what="an int >= 1")
        self.clip_path = clip_path
        self._image_encoder = image_encoder
        self.device = device
        self.cache_dir = cache_dir
        self.batch_size = int(batch_size)
        if gallery is None:
            self.gallery_lat, self.gallery_lon = load_geoclip_gallery()
            self._gallery_name = "mp16-100k"
        else:
            if not isinstance(gallery, (tuple, list)) or len(gallery) != 2:
                raise TypeError("`gallery` must be a (lat, lon) pair of arrays [deg]")
            self.gallery_lat, self.gallery_lon = as_latlon(
                gallery[0], gallery[1], names=("gallery[0]", "gallery[1]")
            )
            self._gallery_name = "custom"
        self.gallery_xyz = latlon_to_xyz(self.gallery_lat, self.gallery_lon)
        self._loc: Any = None
        self._mlp: Any = None
        self._scale: float | None = None
        self._gallery_feats: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"GeoCLIPAdapter(gallery={self._gallery_name!r} n={self.gallery_lat.size}, device={self.device!r})"

    # -- the released modules --------------------------------------------------------------
    def _dev(self) -> Any:
        from ..encoders.image import resolve_device

        return resolve_device(self.device)

    @property
    def location_encoder(self) -> Any:
        """GeoCLIP's ``LocationEncoder`` with the released weights (eval mode)."""
        if self._loc is None:
            torch = attempt_import("torch", "the GeoCLIP adapter")
            mod = _geoclip_module("location_encoder")
            enc = mod.LocationEncoder(from_pretrained=False)
            state = torch.load(
                self._weights("location_encoder_weights.pth"), map_location="cpu", weights_only=True
            )
            enc.load_state_dict(state, strict=True)
            self._loc = enc.eval().to(self._dev())
        return self._loc

    @property
    def image_mlp(self) -> Any:
        """GeoCLIP's image MLP (768 -> 768 -> ReLU -> 512) with the released weights."""
        if self._mlp is None:
            torch = attempt_import("torch", "the GeoCLIP adapter")
            mlp = torch.nn.Sequential(
                torch.nn.Linear(CLIP_DIM, CLIP_DIM),
                torch.nn.ReLU(),
                torch.nn.Linear(CLIP_DIM, GEOCLIP_DIM),
            )
            state = torch.load(
                self._weights("image_encoder_mlp_weights.pth"),
                map_location="cpu",
                weights_only=True,
            )
            mlp.load_state_dict(state, strict=True)
            self._mlp = mlp.eval().to(self._dev())
        return self._mlp

    @property
    def logit_scale(self) -> float:
        """``exp(s)``, the learned inverse temperature (about 39.7)."""
        if self._scale is None:
            torch = attempt_import("torch", "the GeoCLIP adapter")
            s = torch.load(
                self._weights("logit_scale_weights.pth"), map_location="cpu", weights_only=True
            )
            self._scale = float(torch.as_tensor(s).exp())
        return self._scale

    @staticmethod
    def _weights(name: str) -> Path:
        return _geoclip_root() / "model" / "weights" / name

    @property
    def image_encoder(self) -> Any:
        """The CLIP ViT-L/14 image encoder (from ``clip_path`` or ``image_encoder``)."""
        if self._image_encoder is None:
            from ..encoders.image import CLIPImageEncoder

            self._image_encoder = CLIPImageEncoder(self.clip_path, device=self.device)
        if self._image_encoder.dim != CLIP_DIM:
            raise ValueError(
                f"GeoCLIP's image MLP expects CLIP ViT-L/14 features ({CLIP_DIM}-d); the image encoder "
                f"gives {self._image_encoder.dim}-d"
            )
        return self._image_encoder

    # -- features --------------------------------------------------------------------------
    def encode_locations(self, lat: Any, lon: Any, *, normalize: bool = True) -> np.ndarray:
        """GeoCLIP location features, ``(n, 512)`` float32 (unit rows by default).

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0], [0.0]), device="cpu")
        >>> f = g.encode_locations(10.0, 20.0)
        >>> round(float((f ** 2).sum()), 5)
        1.0
        """
        torch = attempt_import("torch", "the GeoCLIP adapter")
        la, lo = as_latlon(lat, lon)
        pts = torch.from_numpy(np.stack([la, lo], axis=1).astype(np.float32))
        enc, dev = self.location_encoder, self._dev()
        out = np.empty((la.size, GEOCLIP_DIM), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, la.size, self.batch_size):
                f = enc(pts[s : s + self.batch_size].to(dev))
                if normalize:
                    f = torch.nn.functional.normalize(f, dim=1)
                out[s : s + self.batch_size] = f.float().cpu().numpy()
        return out

    def gallery_features(self) -> np.ndarray:
        """Unit location features of the gallery, ``(G, 512)`` float32 (computed once, cached).

        Examples
        --------
        >>> GeoCLIPAdapter(gallery=([0.0, 1.0], [0.0, 1.0]), device="cpu").gallery_features().shape
        (2, 512)
        """
        if self._gallery_feats is None:
            path = self._cache_path()
            if path is not None and path.is_file():
                feats = np.load(path)
                if feats.shape != (self.gallery_lat.size, GEOCLIP_DIM):
                    feats = None
            else:
                feats = None
            if feats is None:
                feats = self.encode_locations(self.gallery_lat, self.gallery_lon)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
                    np.save(tmp, feats)
                    os.replace(tmp, path)
            self._gallery_feats = feats
        return self._gallery_feats

    def _cache_path(self) -> Path | None:
        if self.gallery_lat.size <= 20000:
            return None
        from ..datasets.embedding_cache import default_cache_dir

        root = (
            Path(self.cache_dir).expanduser() if self.cache_dir is not None else default_cache_dir()
        )
        h = hashlib.sha256(self.gallery_lat.tobytes() + self.gallery_lon.tobytes()).hexdigest()[:16]
        w = _file_sha(self._weights("location_encoder_weights.pth"))
        return root / "geoclip" / f"gallery-{w}-{h}.npy"

    def image_features(
        self, images: Any, *, batch_size: int = 32, progress: bool = True
    ) -> np.ndarray:
        """GeoCLIP image features ``(n, 512)`` (unit rows) of images, via the CLIP tower + MLP.

        Examples
        --------
        >>> from transformers import CLIPVisionConfig
        >>> from shdd_geo.encoders.image import CLIPImageEncoder
        >>> cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        ...                        num_attention_heads=2, image_size=32, patch_size=8, projection_dim=768)
        >>> g = GeoCLIPAdapter(image_encoder=CLIPImageEncoder.from_config(cfg), gallery=([0.0], [0.0]), device="cpu")
        >>> g.image_features(np.zeros((1, 40, 40, 3), np.uint8), progress=False).shape
        (1, 512)
        """
        raw = self.image_encoder.embed(
            images, batch_size=batch_size, progress=progress, device=self._dev(), normalize=False
        )
        return self.project_clip(raw)

    def project_clip(self, clip_features: Any) -> np.ndarray:
        """Raw CLIP ViT-L/14 image features ``(n, 768)`` -> unit GeoCLIP features ``(n, 512)``.

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0], [0.0]), device="cpu")
        >>> g.project_clip(np.ones((2, 768), np.float32)).shape
        (2, 512)
        """
        torch = attempt_import("torch", "the GeoCLIP adapter")
        x = _check_features(clip_features, (CLIP_DIM,), "clip_features")
        with torch.inference_mode():
            f = self.image_mlp(torch.from_numpy(x).to(self._dev()))
            f = torch.nn.functional.normalize(f, dim=1)
        return f.float().cpu().numpy()

    def _as_geoclip(self, image_features: Any, features: str) -> np.ndarray:
        if features not in ("auto", "clip", "geoclip"):
            raise ValueError(f"`features` must be 'auto', 'clip' or 'geoclip', got {features!r}")
        dims = {"auto": (CLIP_DIM, GEOCLIP_DIM), "clip": (CLIP_DIM,), "geoclip": (GEOCLIP_DIM,)}[
            features
        ]
        x = _check_features(image_features, dims, "image_features")
        if x.shape[1] == CLIP_DIM:
            return self.project_clip(x)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))

    # -- retrieval -------------------------------------------------------------------------
    def logits(self, image_features: Any, *, features: str = "auto") -> np.ndarray:
        """GeoCLIP's scores over the whole gallery, ``(n, G)`` float32.

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0, 50.0], [0.0, 10.0]), device="cpu")
        >>> g.logits(g.encode_locations([50.0], [10.0])).argmax(axis=1).tolist()
        [1]
        """
        q = self._as_geoclip(image_features, features)
        return (self.logit_scale * (q @ self.gallery_features().T)).astype(np.float32)

    def topk(
        self, image_features: Any, k: int = 5, *, features: str = "auto"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` most probable gallery locations per query.

        Parameters
        ----------
        image_features : array_like
            ``(n, 768)`` raw CLIP ViT-L/14 features or ``(n, 512)`` GeoCLIP
            image features (see the class notes).
        k : int
            Candidates per query (at most the gallery size).
        features : {"auto", "clip", "geoclip"}
            Which space the inputs are in (``auto``: by width).

        Returns
        -------
        lat, lon : numpy.ndarray
            ``(n, k)`` float64 [deg], best first.
        scores : numpy.ndarray
            ``(n, k)`` float64 softmax probabilities over the *whole*
            gallery, as in GeoCLIP's ``predict``.

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0, 50.0, -30.0], [0.0, 10.0, 150.0]), device="cpu")
        >>> lat, lon, p = g.topk(g.encode_locations([-30.0], [150.0]), k=2)
        >>> lat[0, 0], bool(p[0, 0] >= p[0, 1])
        (np.float64(-30.0), True)
        """
        _, idx, p = self._topk_idx(image_features, k, features)
        return self.gallery_lat[idx], self.gallery_lon[idx], p

    def _topk_idx(
        self, image_features: Any, k: Any, features: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        G = self.gallery_lat.size
        check_int(k, "k", low=1, high=G, what=f"an int in [1, {G}] (the gallery size)")
        z = self.logits(image_features, features=features).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        part = (
            np.argpartition(-logp, k - 1, axis=1)[:, :k]
            if k < G
            else np.tile(np.arange(G), (len(z), 1))
        )
        order = np.argsort(-np.take_along_axis(logp, part, axis=1), axis=1, kind="stable")
        idx = np.take_along_axis(part, order, axis=1)
        return logp, idx, np.exp(np.take_along_axis(logp, idx, axis=1))

    def candidates(
        self, image_features: Any, k: int = 5, *, features: str = "auto"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-``k`` ``(lat, lon, weight)``, weights renormalised over the ``k`` (rows sum to 1).

        The same contract as :meth:`shdd_geo.baselines.KNNRetrieval.candidates`.

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0, 50.0], [0.0, 10.0]), device="cpu")
        >>> g.candidates(g.encode_locations([0.0], [0.0]), k=2)[2].sum().round(6)
        np.float64(1.0)
        """
        lat, lon, p = self.topk(image_features, k, features=features)
        return lat, lon, p / p.sum(axis=1, keepdims=True)

    def predict(
        self, image_features: Any, *, features: str = "auto"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 gallery location per query, ``(lat, lon)`` each ``(n,)``.

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0, 50.0], [0.0, 10.0]), device="cpu")
        >>> g.predict(g.encode_locations([49.0], [11.0]))[0].tolist()
        [50.0]
        """
        lat, lon, _ = self.topk(image_features, 1, features=features)
        return lat[:, 0], lon[:, 0]

    def predict_near(
        self,
        image_features: Any,
        cand_lat: Any,
        cand_lon: Any,
        *,
        radius_km: float = 200.0,
        features: str = "auto",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 among gallery points within ``radius_km`` of a query's candidates.

        The retrieval half of the LocDiffusion + retrieval hybrid (paper,
        appendix A.4): ``cand_lat``/``cand_lon`` ``(n, m)`` are, e.g., the
        diffusion model's decoded samples.  A query with no gallery point in
        range falls back to the unrestricted top-1.

        Examples
        --------
        >>> g = GeoCLIPAdapter(gallery=([0.0, 50.0], [0.0, 10.0]), device="cpu")
        >>> q = g.encode_locations([0.0], [0.0])
        >>> g.predict_near(q, [[49.5]], [[10.0]])[0].tolist()
        [50.0]
        """
        from .retrieval import top1_near

        z = self.logits(image_features, features=features)
        best = top1_near(lambda i, idx: z[i, idx], self.gallery_xyz, cand_lat, cand_lon, radius_km,
                         n_queries=z.shape[0])
        miss = best < 0  # no gallery point in range: the unrestricted top-1
        best[miss] = np.argmax(z[miss], axis=1)
        return self.gallery_lat[best], self.gallery_lon[best]


def _check_features(x: Any, dims: tuple[int, ...], name: str) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] not in dims or a.shape[0] == 0:
        want = " or ".join(f"(n, {d})" for d in dims)
        raise ValueError(f"`{name}` must have shape {want}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(
            f"`{name}` must be finite, got {int((~np.isfinite(a)).sum())} NaN/inf value(s)"
        )
    return np.ascontiguousarray(a)
