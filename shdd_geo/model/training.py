"""The LocDiffusion training loop (paper §4.6, Table 9).

One optimisation step on a global mini-batch of ``B`` rows (embedding, lat, lon):

1. targets ``x0 = E(p)`` (SHDD encodings, computed on the device) and their
   scaled copy ``s * x0`` that is diffused (see ``coeff_scale`` in
   :class:`~shdd_geo.model.LocDiffusion`);
2. timesteps ``t ~ U{0..T-1}``, noise ``eps ~ N(0, I)`` and the
   classifier-free-guidance mask (each row's condition replaced by the learned
   null embedding with probability ``cond_drop``) drawn from an explicit torch
   generator; ``x_t = sqrt(abar_t) s x0 + sqrt(1 - abar_t) eps``;
3. the CS-UNet predicts ``x0_hat`` (scaled); the loss is the SHDD-KL
   divergence ``KL(q_{x0_hat / s} || p_{x0})`` (eq. 13, 17) over ``N = 2048``
   fresh uniform random anchors drawn for this mini-batch (equal weights), or
   L1/L2/cosine on the coefficients for ablations;
4. AdamW step with gradient-norm clipping; mixed precision (bf16 autocast,
   the loss itself in float32) on CUDA.

Randomness: a NumPy generator drives the data order, a torch generator on the
device drives noise, timesteps, anchors and the guidance mask, and the torch
global RNG (forked, so the caller's state is untouched) drives dropout.  All
three are checkpointed, which makes a resumed CPU run bit-for-bit identical to
an uninterrupted one.  Data come from in-memory arrays (:class:`ArrayData`,
NumPy memmaps welcome) or from memory-mapped ``.npy`` shards
(:class:`NpyShards`) read one mini-batch at a time.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from .._validation import check_int
from ..codec import loss as coeff_loss
from ..coords import as_latlon
from ..sh import sh_basis
from .distributed import DistContext, local_slice

__all__ = ["ArrayData", "EpochRecord", "NpyShards", "ParquetShards", "StepRecord", "TrainConfig",  # Trainer: internal
           "TrainState", "draw_timesteps", "kl_smoothing_weights", "nonfinite_tensors", "random_anchor_basis"]


# --------------------------------------------------------------------------- data
class ArrayData:
    """Training rows held in arrays (or NumPy memmaps): ``X (n, d)``, ``lat``, ``lon`` [deg].

    Examples
    --------
    >>> d = ArrayData(np.zeros((3, 4)), [0, 1, 2], [0, 0, 0])
    >>> d.shard_sizes, d.n_features
    ([3], 4)
    """

    def __init__(self, X, lat, lon, *, names: tuple[str, str, str] = ("X", "lat", "lon")) -> None:
        nx, nla, nlo = names
        X = check_embeddings(X, nx)
        lat, lon = as_latlon(lat, lon, names=(nla, nlo))
        if lat.shape[0] != X.shape[0]:
            raise ValueError(f"`{nx}` has {X.shape[0]} rows but `{nla}`/`{nlo}` have {lat.shape[0]}")
        self.X, self.lat, self.lon = X, lat, lon

    @property
    def shard_sizes(self) -> list[int]:
        return [self.X.shape[0]]

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def read(self, shard: int, rows: np.ndarray):
        """Rows ``rows`` (sorted) of shard ``shard`` as (X float32, lat, lon)."""
        return np.asarray(self.X[rows], dtype=np.float32), self.lat[rows], self.lon[rows]


class NpyShards:
    """Memory-mapped ``.npy`` shards that stream: embeddings ``(n_i, d)`` and ``(n_i, 2)`` (lat, lon).

    Only the rows of the current mini-batch are read from disk, so datasets of
    millions of rows train in constant memory.  Rows are checked (finite,
    latitude in range) as they are read.

    Parameters
    ----------
    embeddings, latlon : sequence of path
        Paired shard files, same number of rows in each pair.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> np.save(os.path.join(d, "e0.npy"), np.zeros((5, 3), np.float32))
    >>> np.save(os.path.join(d, "p0.npy"), np.zeros((5, 2)))
    >>> NpyShards([os.path.join(d, "e0.npy")], [os.path.join(d, "p0.npy")]).shard_sizes
    [5]
    """

    def __init__(self, embeddings: Sequence[str | os.PathLike], latlon: Sequence[str | os.PathLike]) -> None:
        if isinstance(embeddings, (str, os.PathLike)) or isinstance(latlon, (str, os.PathLike)):
            raise TypeError("`embeddings` and `latlon` must be sequences of paths (lists), not single paths")
        if len(embeddings) != len(latlon) or not embeddings:
            raise ValueError(f"need equally many (>= 1) shards, got {len(embeddings)} embedding and {len(latlon)} latlon files")
        self.paths = [(str(e), str(p)) for e, p in zip(embeddings, latlon)]
        self._emb = [np.load(e, mmap_mode="r") for e, _ in self.paths]
        self._pts = [np.load(p, mmap_mode="r") for _, p in self.paths]
        dims = {a.shape[1] if a.ndim == 2 else None for a in self._emb}
        if len(dims) != 1 or None in dims:
            raise ValueError(f"embedding shards must all be 2-D with the same width, got shapes {[a.shape for a in self._emb]}")
        for (e, p), a, b in zip(self.paths, self._emb, self._pts):
            if b.ndim != 2 or b.shape != (a.shape[0], 2):
                raise ValueError(f"`latlon` shard {p!r} must have shape ({a.shape[0]}, 2) to pair with {e!r}, got {b.shape}")

    @property
    def shard_sizes(self) -> list[int]:
        return [int(a.shape[0]) for a in self._emb]

    @property
    def n_features(self) -> int:
        return int(self._emb[0].shape[1])

    def read(self, shard: int, rows: np.ndarray):
        X = np.asarray(self._emb[shard][rows], dtype=np.float32)
        if not np.isfinite(X).all():
            raise ValueError(f"embedding shard {self.paths[shard][0]!r} has NaN/inf values in rows {rows[:5].tolist()}...")
        pts = np.asarray(self._pts[shard][rows], dtype=np.float64)
        lat, lon = as_latlon(pts[:, 0], pts[:, 1], names=(f"lat in {self.paths[shard][1]}", "lon"))
        return X, lat, lon


class ParquetShards:
    """Parquet shards that stream: an embedding list column plus ``lat``/``lon`` columns [deg].

    The layout most embedding pipelines write (one row per image, the
    embedding as a ``list<float>`` or ``fixed_size_list<float>`` column).
    Shards are decoded one at a time, when a mini-batch first needs them, and
    only ``cache`` of them are kept, so memory is bounded by the shard size
    (write shards of ~100k rows; :meth:`write` does it) whatever the dataset
    size.  Mini-batches are drawn shard by shard (see :func:`iter_batches`),
    so each shard is decoded about once per epoch.  Rows are checked (finite,
    latitude in range) as they are read.

    Parameters
    ----------
    paths : sequence of path
        Parquet files, all with the same columns and embedding width.
    embedding, lat, lon : str
        Column names.
    cache : int
        Decoded shards kept in memory (>= 1).

    Examples
    --------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(10, 3)).astype(np.float32)
    >>> d = ParquetShards.write(tempfile.mkdtemp(), X, np.arange(10.0), np.zeros(10), rows_per_shard=4)
    >>> d.shard_sizes, d.n_features
    ([4, 4, 2], 3)
    >>> Xb, lat, lon = d.read(1, np.array([0, 3]))
    >>> np.array_equal(Xb, X[[4, 7]]), lat.tolist()
    (True, [4.0, 7.0])
    """

    def __init__(self, paths: Sequence[str | os.PathLike], *, embedding: str = "embedding", lat: str = "lat",
                 lon: str = "lon", cache: int = 1) -> None:
        import pyarrow.parquet as pq

        if isinstance(paths, (str, os.PathLike)):
            raise TypeError("`paths` must be a sequence of Parquet files (a list), not a single path")
        if not paths:
            raise ValueError("`paths` is empty; pass at least one Parquet shard")
        check_int(cache, "cache", low=1, what="an integer >= 1")
        self.paths, self.columns, self.cache = [str(p) for p in paths], (embedding, lat, lon), cache
        self._sizes, dims = [], set()
        for p in self.paths:
            f = pq.ParquetFile(p)
            names = f.schema_arrow.names
            missing = [c for c in self.columns if c not in names]
            if missing:
                raise ValueError(f"Parquet shard {p!r} has no column(s) {missing} (columns: {names}); "
                                 "name them with `embedding=`, `lat=`, `lon=`")
            self._sizes.append(int(f.metadata.num_rows))
            if f.metadata.num_rows:
                first = f.read_row_group(0, columns=[embedding]).column(0)[0].as_py()
                dims.add(len(first) if isinstance(first, list) else None)
        if None in dims or len(dims) != 1:
            raise ValueError(f"column {embedding!r} must hold lists of one width in every shard, got widths {dims}")
        self._dim = dims.pop()
        self._decoded: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def shard_sizes(self) -> list[int]:
        return list(self._sizes)

    @property
    def n_features(self) -> int:
        return int(self._dim)

    def _shard(self, shard: int):
        if shard not in self._decoded:
            import pyarrow.parquet as pq

            while len(self._decoded) >= self.cache:
                self._decoded.pop(next(iter(self._decoded)))
            emb, lat, lon = self.columns
            t = pq.read_table(self.paths[shard], columns=list(self.columns))
            col = t.column(emb).combine_chunks()
            values = np.asarray(col.flatten(), dtype=np.float32)
            if values.size != len(t) * self._dim:
                raise ValueError(f"column {emb!r} of {self.paths[shard]!r} has rows of unequal width "
                                 f"(expected {self._dim} values per row)")
            X = values.reshape(len(t), self._dim)
            self._decoded[shard] = (X, t.column(lat).to_numpy().astype(np.float64),
                                    t.column(lon).to_numpy().astype(np.float64))
        return self._decoded[shard]

    def read(self, shard: int, rows: np.ndarray):
        """Rows ``rows`` (sorted) of shard ``shard`` as (X float32, lat, lon)."""
        X_all, lat_all, lon_all = self._shard(shard)
        X = X_all[rows]
        if not np.isfinite(X).all():
            raise ValueError(f"Parquet shard {self.paths[shard]!r} has NaN/inf embeddings in rows {rows[:5].tolist()}...")
        lat, lon = as_latlon(lat_all[rows], lon_all[rows], names=(f"lat in {self.paths[shard]}", "lon"))
        return X, lat, lon

    @classmethod
    def write(cls, folder: str | os.PathLike, X, lat, lon, *, rows_per_shard: int = 100_000,
              prefix: str = "shard") -> "ParquetShards":
        """Write ``X``, ``lat``, ``lon`` as ``<folder>/<prefix>-00000.parquet``... (atomic per file)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .._atomic import atomic_write

        data = ArrayData(X, lat, lon)
        rows_per_shard = check_int(rows_per_shard, "rows_per_shard", low=1, what="a positive integer")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, start in enumerate(range(0, data.X.shape[0], rows_per_shard)):
            sl = slice(start, start + rows_per_shard)
            Xs = np.ascontiguousarray(data.X[sl], dtype=np.float32)
            emb = pa.FixedSizeListArray.from_arrays(pa.array(Xs.ravel()), Xs.shape[1])
            table = pa.table({"embedding": emb, "lat": data.lat[sl], "lon": data.lon[sl]})
            path = folder / f"{prefix}-{i:05d}.parquet"
            atomic_write(path, lambda tmp, t=table: pq.write_table(t, tmp))
            paths.append(path)
        return cls(paths)


def check_embeddings(X, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Validate a 2-D finite embedding array (memmaps kept as they are, checked in chunks)."""
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be a numeric array of shape (n, d), got {type(X).__name__}") from exc
    if X.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must be numeric, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"`{name}` is empty (shape {X.shape}); pass at least one row")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"`{name}` has {X.shape[1]} features but the model was fitted with {n_features}; "
                         "use the same embedding model as at training")
    for start in range(0, X.shape[0], 65536):
        chunk = np.asarray(X[start : start + 65536])
        if not np.isfinite(chunk).all():
            bad = int(np.argwhere(~np.isfinite(chunk))[0, 0]) + start
            raise ValueError(f"`{name}` must be finite, got NaN/inf (first in row {bad})")
    return X


def iter_batches(sizes: Sequence[int], batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled global mini-batches as (shard ids, row ids): shard order, then rows within a shard.

    Batches may straddle two shards; the last one may be short.
    """
    order = rng.permutation(len(sizes))
    buf_s: list[np.ndarray] = []
    buf_r: list[np.ndarray] = []
    held = 0
    for s in order:
        rows = rng.permutation(sizes[s])
        buf_s.append(np.full(rows.size, s))
        buf_r.append(rows)
        held += rows.size
        while held >= batch_size:
            ss, rr = np.concatenate(buf_s), np.concatenate(buf_r)
            yield ss[:batch_size], rr[:batch_size]
            buf_s, buf_r, held = [ss[batch_size:]], [rr[batch_size:]], held - batch_size
    if held:
        yield np.concatenate(buf_s), np.concatenate(buf_r)


def read_batch(data, shards: np.ndarray, rows: np.ndarray):
    """Gather rows from ``data`` shard by shard (sorted reads), in shard-major order."""
    parts = []
    for s in np.unique(shards):
        parts.append(data.read(int(s), np.sort(rows[shards == s])))
    X, lat, lon = (np.concatenate(p) for p in zip(*parts))
    return X, lat, lon


# --------------------------------------------------------------------------- loss
def kl_smoothing_weights(L: int, sigma0_km: float, step: int, n_steps: int) -> torch.Tensor:
    """Per-coefficient heat-kernel weights ``(D,)`` of the KL curriculum at ``step``.

    ``sigma`` falls linearly from ``sigma0_km`` at step 0 to 0 at ``n_steps``;
    degree ``l`` is multiplied by ``exp(-l (l + 1) sigma**2 / 2)`` (sigma in
    radians).  Multiplying the anchor basis by these weights smooths both
    densities the KL loss compares.

    >>> kl_smoothing_weights(2, 0.0, 0, 10).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    from ..coords import EARTH_RADIUS_KM
    from ..filters import taper_weights
    from ..sh import degree_order

    sigma = float(sigma0_km) / EARTH_RADIUS_KM * max(0.0, 1.0 - step / max(int(n_steps), 1))
    ls = degree_order(L)[0]
    if sigma == 0.0:
        return torch.ones(len(ls), dtype=torch.float64)
    return torch.from_numpy(taper_weights(L, "gaussian", width=1.0 / sigma)[ls])


def random_anchor_basis(n: int, L: int, generator: torch.Generator, device, dtype=torch.float32) -> torch.Tensor:
    """SH basis ``(n, D)`` at ``n`` uniform random points (``z ~ U(-1, 1)``, ``lon ~ U(-180, 180)``).

    Examples
    --------
    >>> B = random_anchor_basis(4, 2, torch.Generator().manual_seed(0), "cpu")
    >>> B.shape, B.dtype
    (torch.Size([4, 9]), torch.float32)
    """
    u = torch.rand(2, n, generator=generator, device=generator.device, dtype=torch.float64).to(device)
    lat = torch.rad2deg(torch.asin(2.0 * u[0] - 1.0))
    lon = 360.0 * u[1] - 180.0
    return sh_basis(lat.to(dtype), lon.to(dtype), L)  # float32: ~1e-5 accurate at L = 47, 2x faster


def draw_timesteps(n: int, T: int, power: float, generator: torch.Generator) -> torch.Tensor:
    """``n`` training timesteps in ``0..T-1`` with density proportional to ``t ** (power - 1)``.

    ``power = 1`` is ``torch.randint`` (uniform; the paper).  Otherwise
    ``t = floor(T u ** (1 / power))`` with ``u`` uniform on [0, 1), so that
    ``P(t < k) = (k / T) ** power``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> t = draw_timesteps(10_000, 1000, 2.0, g)
    >>> bool(t.min() >= 0 and t.max() <= 999 and 0.2 < (t < 500).float().mean() < 0.3)
    True
    """
    if power == 1.0:
        return torch.randint(0, T, (n,), generator=generator, device=generator.device)
    u = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64)
    return torch.clamp((T * u ** (1.0 / float(power))).long(), max=T - 1)


def lr_factor(step: int, *, warmup: int, decay: int | None) -> float:
    """Learning-rate multiplier: linear warm-up, then optional cosine decay to 1/20."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if not decay:
        return 1.0
    t = min(1.0, (step - warmup) / decay)
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t))


@dataclass
class TrainState:
    """Counters saved in checkpoints: global ``step``, ``epoch``, mini-batches done in the
    current epoch, the data-order generator state at its start and its running loss sum.

    Examples
    --------
    >>> TrainState(step=5).to_dict()["step"]
    5
    """

    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    epoch_rng: dict | None = None
    loss_sum: float = 0.0
    loss_count: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """What the training loop needs from the estimator's hyper-parameters (no estimator reference).

    Examples
    --------
    >>> TrainConfig(L=3, scale=1.0).n_coeffs
    16
    """

    L: int
    scale: float
    loss: str = "kl"
    n_anchors: int = 2048
    timestep_power: float = 1.0
    cond_drop: float = 0.1
    kl_smoothing_km: float = 0.0
    kl_smoothing_steps: int = 0
    batch_size: int = 512
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 5e-4
    warmup_steps: int = 0
    decay_steps: int | None = None
    grad_clip: float | None = 1.0
    amp: bool = True
    verbose: bool = True

    @property
    def n_coeffs(self) -> int:
        return (self.L + 1) ** 2

    @classmethod
    def from_params(cls, params: dict, scale: float) -> "TrainConfig":
        """The config from an estimator's ``get_params()`` (other keys ignored)."""
        from dataclasses import fields

        names = {f.name for f in fields(cls)} - {"scale"}
        kw = {k: v for k, v in params.items() if k in names}
        kw["betas"] = tuple(kw.get("betas", (0.9, 0.99)))
        return cls(scale=float(scale), **kw)


@dataclass(frozen=True)
class StepRecord:
    """What a training callback receives after every optimisation step.

    ``loss`` is the global mini-batch mean, ``lr`` the learning rate used for
    the step and ``grad_norm`` the gradient's 2-norm before clipping.

    Examples
    --------
    >>> StepRecord(step=1, epoch=0, loss=2.5, lr=1e-4, grad_norm=0.3).loss
    2.5
    """

    step: int
    epoch: int
    loss: float
    lr: float
    grad_norm: float


@dataclass(frozen=True)
class EpochRecord:
    """What a training callback receives at the end of an epoch (``partial``: stopped by ``max_steps``).

    Examples
    --------
    >>> EpochRecord(epoch=1, step=10, train_loss=2.0, seconds=1.5).as_dict()
    {'epoch': 1, 'step': 10, 'train_loss': 2.0, 'seconds': 1.5}
    """

    epoch: int
    step: int
    train_loss: float
    seconds: float
    partial: bool = False
    metrics: dict | None = None

    def as_dict(self) -> dict:
        """The ``history_`` entry: epoch, step, (partial), train_loss, seconds, val metrics."""
        out = {"epoch": self.epoch, "step": self.step}
        if self.partial:
            out["partial"] = True
        out.update(train_loss=self.train_loss, seconds=self.seconds)
        out.update(self.metrics or {})
        return out


def nonfinite_tensors(tensors: dict) -> list[str]:
    """Names of the floating-point tensors that hold NaN or inf.

    Examples
    --------
    >>> nonfinite_tensors({"a": torch.ones(2), "b": torch.tensor([0.0, float("nan")])})
    ['b']
    """
    return [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


class Trainer:
    """Optimiser, generators and the step loop for one :class:`LocDiffusion` fit.

    Not public API: :meth:`LocDiffusion.fit` builds it from public pieces --
    the network, the DDPM scheduler, a :class:`TrainConfig`, the estimator's
    ``history_`` list (appended to at every epoch end), an optional
    ``validate(epoch) -> dict`` of validation metrics and a
    ``write(path, train_meta, train_tensors)`` that saves a checkpoint --
    and never calls back into the estimator.  ``callbacks`` receive a
    :class:`StepRecord` after every step and an :class:`EpochRecord` at every
    epoch end.  A non-finite loss or gradient raises
    :class:`~shdd_geo.errors.TrainingDivergedError` before the optimiser
    step, so the last checkpoint written stays the last good one.
    """

    def __init__(self, net: torch.nn.Module, scheduler, config: TrainConfig, ctx: DistContext, seeds: dict, *,
                 history: list | None = None, validate: Callable[[int], dict] | None = None,
                 write: Callable[[str, dict, dict], object] | None = None, callbacks: Sequence[Callable] = ()) -> None:
        from .distributed import wrap

        self.net, self.scheduler, self.cfg, self.ctx = net, scheduler, config, ctx
        self.history = [] if history is None else history
        self.validate, self.write, self.callbacks = validate, write, list(callbacks)
        self.model = wrap(net, ctx)
        c = config
        self.opt = torch.optim.AdamW(net.parameters(), lr=c.lr, betas=tuple(c.betas),
                                     weight_decay=c.weight_decay, foreach=True)
        self.lr_sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, partial(lr_factor, warmup=int(c.warmup_steps), decay=c.decay_steps))
        self.gen = torch.Generator(device=ctx.device).manual_seed(seeds["noise"])
        self.data_rng = np.random.default_rng(seeds["data"])
        self.state = TrainState()
        self.use_amp = bool(c.amp) and ctx.device.type == "cuda"

    # -- one step ---------------------------------------------------------------
    def step(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray, global_n: int) -> float:
        """One optimisation step on this rank's rows of a global batch of ``global_n`` rows."""
        c, dev, sl = self.cfg, self.ctx.device, local_slice(global_n, self.ctx)
        L, T, sched = c.L, self.scheduler.config.num_train_timesteps, self.scheduler
        g = self.gen
        # 1. random draws for the whole global batch (identical on every rank), then this rank's slice
        t = draw_timesteps(global_n, T, c.timestep_power, g)[sl].to(dev)
        noise = torch.randn(global_n, (L + 1) ** 2, generator=g, device=g.device)[sl].to(dev)
        drop = (torch.rand(global_n, generator=g, device=g.device) < c.cond_drop)[sl].to(dev)
        basis = random_anchor_basis(c.n_anchors, L, g, dev) if c.loss == "kl" else None
        if basis is not None and self.state.step < c.kl_smoothing_steps:
            basis = basis * kl_smoothing_weights(L, c.kl_smoothing_km, self.state.step,
                                                 c.kl_smoothing_steps).to(basis)
        # 2. targets and forward noising
        x0 = sh_basis(torch.as_tensor(lat, device=dev), torch.as_tensor(lon, device=dev), L).float()
        cond = torch.as_tensor(X, device=dev)
        xt = sched.add_noise(c.scale * x0, noise, t)
        # 3. prediction and loss (float32)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=self.use_amp):
            pred = self.model(xt, t, cond, drop)
        pred = sched.predict_x0(pred.float(), t, xt)  # x0 from a "sample" or "v" output
        rows = coeff_loss(pred / c.scale, x0, c.loss, basis)
        loss = rows.sum() * (self.ctx.world_size / global_n)  # DDP averages -> global mean
        # 4. AdamW step with gradient clipping, refused when the loss or the gradient is not finite
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in self.net.parameters() if p.grad is not None]
        if c.grad_clip:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, c.grad_clip)
        else:
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        lr = float(self.opt.param_groups[0]["lr"])
        self._check_finite(float(loss.detach()), float(grad_norm), lr)
        self.opt.step()
        self.lr_sched.step()
        report = rows.detach().mean()
        if self.ctx.distributed:  # the global mean, for the progress bar and history_
            import torch.distributed as dist

            dist.all_reduce(report)
            report = report / self.ctx.world_size
        self.last_step = StepRecord(step=self.state.step + 1, epoch=self.state.epoch, loss=float(report), lr=lr,
                                    grad_norm=float(grad_norm))
        return float(report)

    def _check_finite(self, loss: float, grad_norm: float, lr: float) -> None:
        if math.isfinite(loss) and math.isfinite(grad_norm):
            return
        from ..errors import TrainingDivergedError

        raise TrainingDivergedError(
            f"training diverged at step {self.state.step + 1} (epoch {self.state.epoch + 1}): the loss is {loss} "
            f"and the gradient norm {grad_norm}; this step was not applied, so the weights and the last "
            f"checkpoint hold the last good state. The likely cause is the learning rate (`lr`={self.cfg.lr:g}, "
            f"{lr:g} at this step): fit again with a lower `lr`, some `warmup_steps` or `grad_clip` > 0")

    def _emit(self, record) -> None:
        for cb in self.callbacks:
            cb(record)

    # -- epochs -----------------------------------------------------------------
    def run(self, data, epochs: int, *, checkpoint=None, checkpoint_every=None, max_steps=None) -> list[dict]:
        """Train until ``epochs`` epochs (or ``max_steps`` global steps) are done; returns the history."""
        from .checkpoint import numpy_rng_from_state, numpy_rng_state

        st, B = self.state, self.cfg.batch_size
        per_epoch = math.ceil(sum(data.shard_sizes) / B)
        if self.history and self.history[-1].get("partial"):  # resuming: the epoch's record comes at its end
            self.history.pop()
        while st.epoch < epochs:
            if st.step_in_epoch == 0:
                st.epoch_rng, st.loss_sum, st.loss_count = numpy_rng_state(self.data_rng), 0.0, 0
            else:  # resuming inside an epoch: replay its order from the saved start state
                self.data_rng = numpy_rng_from_state(st.epoch_rng)
            bar = _progress(per_epoch, st, epochs, self.cfg.verbose and self.ctx.is_main)
            t0, stop = time.perf_counter(), False
            self.net.train()
            for k, (shards, rows) in enumerate(iter_batches(data.shard_sizes, B, self.data_rng)):
                if k < st.step_in_epoch:
                    continue
                order = np.lexsort((rows, shards))  # canonical order: rank slices = 1-process rows
                shards, rows = shards[order], rows[order]
                n = rows.size - rows.size % self.ctx.world_size
                if n:
                    sl = local_slice(n, self.ctx)
                    X, lat, lon = read_batch(data, shards[:n][sl], rows[:n][sl])
                    loss = self.step(X, lat, lon, n)
                    st.step, st.loss_sum, st.loss_count = st.step + 1, st.loss_sum + loss, st.loss_count + 1
                    bar.set_postfix(loss=f"{st.loss_sum / st.loss_count:.4f}")
                    self._emit(self.last_step)
                st.step_in_epoch = k + 1
                bar.update(1)
                stop = max_steps is not None and st.step >= max_steps
                if st.step_in_epoch < per_epoch and checkpoint and checkpoint_every and st.step % checkpoint_every == 0:
                    self.save(checkpoint)
                if stop:
                    break
            bar.close()
            if st.step_in_epoch >= per_epoch:
                self._end_epoch(time.perf_counter() - t0)
                if checkpoint:
                    self.save(checkpoint)
            elif stop:  # max_steps inside an epoch: record what was done (replaced on resume)
                self._record(EpochRecord(epoch=st.epoch + 1, step=st.step, partial=True,
                                         train_loss=st.loss_sum / st.loss_count if st.loss_count else math.nan,
                                         seconds=time.perf_counter() - t0))
                if checkpoint:
                    self.save(checkpoint)
            if stop:
                break
        return self.history

    def _record(self, record: EpochRecord) -> None:
        self.history.append(record.as_dict())
        self._emit(record)

    def _end_epoch(self, seconds: float) -> None:
        """Epoch bookkeeping: counters, mean training loss, validation metrics."""
        st = self.state
        st.epoch, st.step_in_epoch = st.epoch + 1, 0
        metrics = self.validate(st.epoch) if self.validate is not None and self.ctx.is_main else None
        self._record(EpochRecord(epoch=st.epoch, step=st.step, seconds=seconds, metrics=metrics,
                                 train_loss=st.loss_sum / st.loss_count if st.loss_count else math.nan))

    # -- checkpoints ------------------------------------------------------------
    def save(self, path) -> None:
        """Write a resumable checkpoint (rank 0 only) through ``write``; refused for non-finite weights."""
        if not self.ctx.is_main or self.write is None:
            return
        bad = nonfinite_tensors(self.net.state_dict())
        if bad:
            from ..errors import TrainingDivergedError

            raise TrainingDivergedError(
                f"training diverged by step {self.state.step}: the weights {bad[:3]} hold NaN/inf, so the "
                f"checkpoint {str(path)!r} was not overwritten; lower `lr` (now {self.cfg.lr:g})")
        meta, tensors = self.training_state()
        self.write(path, meta, tensors)

    def training_state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        """Optimiser, LR schedule, counters and generator states as (JSON meta, named tensors)."""
        from .checkpoint import flatten_optimizer, numpy_rng_state

        opt_meta, tensors = flatten_optimizer(self.opt.state_dict())
        tensors.update(self.rng_tensors())
        meta = {"optimizer": opt_meta, "lr_scheduler": self.lr_sched.state_dict(),
                "state": self.state.to_dict(), "data_rng": numpy_rng_state(self.data_rng)}
        return meta, tensors

    def load_training_state(self, meta: dict, tensors: dict[str, torch.Tensor]) -> None:
        """Inverse of :meth:`training_state` (resume)."""
        from .checkpoint import numpy_rng_from_state, unflatten_optimizer

        self.opt.load_state_dict(unflatten_optimizer(meta["optimizer"], tensors))
        self.lr_sched.load_state_dict(meta["lr_scheduler"])
        self.state = TrainState(**meta["state"])
        self.data_rng = numpy_rng_from_state(meta["data_rng"])
        self.load_rng_tensors(tensors)

    def rng_tensors(self) -> dict[str, torch.Tensor]:
        out = {"rng.noise": self.gen.get_state(), "rng.torch_cpu": torch.get_rng_state()}
        if self.ctx.device.type == "cuda":
            out["rng.torch_cuda"] = torch.cuda.get_rng_state(self.ctx.device)
        return out

    def load_rng_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.gen.set_state(tensors["rng.noise"])
        torch.set_rng_state(tensors["rng.torch_cpu"])
        if self.ctx.device.type == "cuda" and "rng.torch_cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.torch_cuda"], self.ctx.device)


def _progress(total: int, st: TrainState, epochs: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=st.step_in_epoch, desc=f"epoch {st.epoch + 1}/{epochs}",
                disable=not enabled, leave=False, dynamic_ncols=True)
