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
   the loss itself in float32) on CUDA.  A NaN/inf loss or gradient raises
   :class:`~shdd_geo.errors.TrainingDivergedError` before the step is applied.

Randomness: a NumPy generator drives the data order, a torch generator on the
device drives noise, timesteps, anchors and the guidance mask, and the torch
global RNG (forked, so the caller's state is untouched) drives dropout.  All
three are checkpointed, which makes a resumed CPU run bit-for-bit identical to
an uninterrupted one.  Data come from the sources of
:mod:`shdd_geo.model.data` (arrays, ``.npy`` or Parquet shards), re-exported
here.  The :class:`Trainer` reports each step and epoch to callbacks as
:class:`StepRecord` / :class:`EpochRecord`.

:meth:`LocDiffusion.fit <shdd_geo.model.LocDiffusion.fit>` starts a run from
the helpers at the end of this module: the seeds of the four random streams
(:func:`run_seeds`), the length of an ``"auto"`` learning-rate schedule
(:func:`planned_steps`, :func:`train_config`), the weights of a warm start
(:func:`warm_start_weights`) and the per-epoch validation metrics
(:func:`validation_metrics`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import torch

from .._validation import check_int
from ..codec import loss as coeff_loss
from ..sh import sh_basis
from .data import ArrayData, NpyShards, ParquetShards, iter_batches, read_batch  # the sources: re-exported
from .distributed import DistContext, local_slice

__all__ = ["ArrayData", "EpochRecord", "NpyShards", "ParquetShards", "StepRecord", "TrainConfig",  # Trainer: internal
           "TrainState", "check_fit_options", "draw_timesteps", "kl_smoothing_weights", "nonfinite_tensors",
           "planned_steps", "random_anchor_basis", "run_seeds", "train_config", "validation_metrics",
           "warm_start_weights"]


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
        self._check_finite(loss.detach(), grad_norm.detach(), lr)
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

    def _check_finite(self, loss: torch.Tensor, grad_norm: torch.Tensor, lr: float) -> None:
        """Raise before the optimiser step when the loss or the gradient is NaN/inf (on any rank)."""
        finite = torch.stack([loss.float(), grad_norm.float().to(loss.device)]).isfinite().all().float()
        if self.ctx.distributed:  # every rank must stop together, or the others wait forever
            import torch.distributed as dist

            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        if bool(finite):
            return
        from ..errors import TrainingDivergedError

        loss, grad_norm = float(loss), float(grad_norm)

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


# --------------------------------------------------------------- starting a run
def check_fit_options(epochs, checkpoint_every, max_steps, callbacks) -> tuple[int, list]:
    """``fit``'s run options checked: ``epochs`` as an int, ``callbacks`` as a list of callables.

    Examples
    --------
    >>> check_fit_options(3, None, 10, None)
    (3, [])
    """
    epochs = check_int(epochs, "epochs", low=1)
    for name, v in (("checkpoint_every", checkpoint_every), ("max_steps", max_steps)):
        if v is not None:
            check_int(v, name, low=1)
    callbacks = list(callbacks or [])
    if not all(callable(cb) for cb in callbacks):
        raise TypeError(f"`callbacks` must be a list of callables, got {callbacks!r}")
    return epochs, callbacks


def run_seeds(random_state: int | None) -> dict[str, int]:
    """The seeds of a run's four random streams (``init``, ``data``, ``noise``, ``dropout``), 63-bit.

    Spawned from one NumPy ``SeedSequence(random_state)``, so they are
    independent; None draws fresh entropy.

    Examples
    --------
    >>> s = run_seeds(0)
    >>> sorted(s), s == run_seeds(0)
    (['data', 'dropout', 'init', 'noise'], True)
    """
    ss = np.random.SeedSequence(random_state)
    keys = ("init", "data", "noise", "dropout")
    return {k: int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for k, c in zip(keys, ss.spawn(4))}


def planned_steps(n_rows: int, batch_size: int, epochs: int) -> int:
    """Optimisation steps of ``epochs`` epochs (``ceil(n / batch)`` each): the length of an ``"auto"`` schedule.

    ``max_steps`` does not enter: a run stopped by it and resumed follows the
    same schedule as an uninterrupted one.

    Examples
    --------
    >>> planned_steps(1000, 512, 3)
    6
    """
    return epochs * -(-n_rows // batch_size)


def train_config(params: dict, scale: float, planned: int) -> TrainConfig:
    """The :class:`TrainConfig` of a run of ``planned`` steps: ``"auto"`` warm-up and decay resolved.

    ``"auto"`` warm-up: ``min(200, planned // 10)`` steps; ``"auto"`` decay:
    the rest of the run (at least one step).

    Examples
    --------
    >>> c = train_config(dict(L=3, warmup_steps="auto", decay_steps="auto"), 1.0, 1000)
    >>> c.warmup_steps, c.decay_steps
    (100, 900)
    """
    params = dict(params)
    if params["warmup_steps"] == "auto":
        params["warmup_steps"] = min(200, planned // 10)
    if params["decay_steps"] == "auto":
        params["decay_steps"] = max(1, planned - params["warmup_steps"])
    return TrainConfig.from_params(params, scale)


def validation_metrics(predict: Callable, X, lat, lon, seed: int) -> dict:
    """``val_*`` metrics (``val_acc_750km``, ``val_median_km``...) of 4-sample DDIM-20 predictions.

    ``predict`` is the estimator's ``predict``; ``seed`` (the epoch number)
    seeds its sampling, so the metrics of a run are reproducible.

    Examples
    --------
    >>> exact = lambda X, **kw: (np.asarray(X)[:, 0], np.asarray(X)[:, 1])   # a perfect predictor
    >>> validation_metrics(exact, np.array([[10.0, 20.0]]), [10.0], [20.0], seed=0)["val_median_km"]
    0.0
    """
    from ..metrics import summarize

    plat, plon = predict(X, n_samples=4, steps=20, sampler="ddim", generator=int(seed), progress=False)
    return {f"val_{k}": v for k, v in summarize(plat, plon, lat, lon).items()}


def warm_start_weights(mine: dict, theirs: dict, params: dict, their_params: dict) -> dict:
    """The state dict that starts a network (state ``mine``) from another's (``theirs``): ``fit(init_from=...)``.

    ``params``/``their_params`` are the two estimators' hyper-parameters.
    The networks must have the same shapes; from an x0 (``"sample"``)
    network to a ``"v"`` one, or back, the output layer is negated (only
    without retrieval conditioning).

    Examples
    --------
    >>> w = {"head.weight": torch.ones(1), "head.bias": torch.zeros(1)}
    >>> p = dict(prediction="sample", retrieval_k=0)
    >>> warm_start_weights(w, w, {**p, "prediction": "v"}, p)["head.weight"].tolist()
    [-1.0]
    """
    shapes = {k: tuple(v.shape) for k, v in mine.items()}
    if shapes != {k: tuple(v.shape) for k, v in theirs.items()}:
        keys = ("L", "width", "bottleneck", "depth", "time_dim", "retrieval_k")
        raise ValueError("`init_from` has another network: (its, this) "
                         f"{ {k: (their_params[k], params[k]) for k in keys} }; "
                         "use the same L, width, bottleneck, depth, time_dim and retrieval_k (0 or not)")
    new = dict(theirs)  # load_state_dict copies (and casts) into the other network's tensors
    if {params["prediction"], their_params["prediction"]} == {"sample", "v"}:
        if params["retrieval_k"] or their_params["retrieval_k"]:
            raise ValueError("a warm start between an x0 ('sample') and a 'v' network is only defined without "
                             "retrieval conditioning (`retrieval_k`=0 on both)")
        new["head.weight"], new["head.bias"] = -new["head.weight"], -new["head.bias"]
    return new


def _progress(total: int, st: TrainState, epochs: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=st.step_in_epoch, desc=f"epoch {st.epoch + 1}/{epochs}",
                disable=not enabled, leave=False, dynamic_ncols=True)
