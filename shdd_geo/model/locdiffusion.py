"""The LocDiffusion estimator: conditional diffusion in SHDD space (paper §4.6).

The class holds the hyper-parameters (checked by ``_parameter_constraints``)
and the fitted state, and delegates the work: :mod:`.training` (the run),
:mod:`.sampling` (the reverse chains), :mod:`.maps` and :mod:`.calibrate`
(density maps), :mod:`.retrieval` (retrieval priors), ``_serialization``
and :mod:`.checkpoint` (model files).

Coefficient scaling
-------------------
SHDD targets are multiplied by ``s = sqrt(4 pi)`` before noising
(``coeff_scale="unit"``, the default) and the network's output is divided by
``s`` before the loss and at sampling.  Reason: for a location uniform on the
sphere every real SH has ``E[Y_lm(p)**2] = 1 / (4 pi)`` (orthonormality), so
the scaled entries have unit second moment at *every* degree ``L`` -- the scale
the Gaussian forward process assumes (``||E(p)||**2 = (L+1)**2 / (4 pi)``,
about 183 at L = 47, while the noise has ``||eps||**2 = (L+1)**2``).  Without it
the targets sit 11 dB under the noise at every timestep, i.e. the schedule is
effectively far noisier than designed.  The benchmark
``benchmarks/perf/sample.py`` and ``docs/benchmarks.md`` record the
measured effect; ``coeff_scale=1.0`` restores the paper's unscaled variant.
"""

from __future__ import annotations

import inspect
import math
from functools import partial
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch

from .._validation import Interval, StrOptions, TupleOf, check_real, validate_params
from ..decoding.points import check_point, densest_sample, predict_from_samples
from ..defaults import DEFAULT_NSIDE, DEFAULT_POINT, DEFAULT_SAMPLES
from ..errors import NotFittedError
from . import maps
from .calibrate import calibrate_maps
from .checkpoint import read_checkpoint, write_checkpoint
from .data import check_embeddings, fit_sources
from .nn import CSUNet
from .retrieval import prior_condition, retrieval_data
from .sampling import draw_samples
from .scheduler import SchedulerConfig, make_scheduler
from ._serialization import check_resumable, fitted_attributes, model_state, net_weights, read_model
from .training import (Trainer, check_fit_options, nonfinite_tensors, planned_steps, run_seeds, train_config,
                       validation_metrics, warm_start_weights)

__all__ = ["LocDiffusion"]

_POINTS = ("centre", "densest", "median")
_LOSSES = ("kl", "l1", "l2", "cosine")
_PREDICTIONS = ("sample", "v")
#: sample-map values per chunk of field_from_samples (a module attribute: tests shrink it)
_FIELD_CHUNK_VALUES = maps.CHUNK_VALUES

class LocDiffusion:
    """Conditional DDPM over SHDD coefficients with a CS-UNet denoiser (scikit-learn style).

    The defaults are the best recipe measured (learning-rate warm-up and cosine
    decay over the run, dropout 0.1, retrieval conditioning on the 32 most
    similar training rows; :doc:`/benchmarks`); :meth:`paper` gives the paper's
    settings.  The five parameters below are the ones to think about; the
    others tune the network, the diffusion and the optimiser.

    Parameters
    ----------
    L : int
        SHDD degree; ``D = (L+1)**2`` coefficients (paper: 15, 23, 31; up to 47).
    retrieval_k : int
        Retrieval conditioning (not in the paper; retrieval-augmented
        diffusion): with ``k > 0`` the denoiser sees, beside the embedding,
        the **retrieval prior** -- the similarity-weighted mean SHDD vector of
        the condition's ``k`` most similar training rows
        (:class:`~shdd_geo.baselines.RetrievalGallery`) -- and predicts the
        correction to it (``x0 = prior + net``).  During training a row never
        retrieves itself or another copy of its place (leave-one-out).  The
        training embeddings travel with the model (``retrieval_``, float16:
        ``n * d * 2`` bytes).  0: the paper's embedding-only denoiser.
    lr : float
        Peak AdamW learning rate (the paper: 1e-4 without a schedule; here
        3e-4 with warm-up and decay, see ``warmup_steps``/``decay_steps``).
    device : str, optional
        ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
    random_state : int, optional
        Seed of every random stream of ``fit`` (initialisation, data order,
        noise/anchors, dropout).

    Other Parameters
    ----------------
    width, bottleneck, depth, time_dim, omega_0, dropout
        CS-UNet shape (see :class:`~shdd_geo.model.nn.CSUNet`); ``width=None``
        means ``D`` (the paper's ``d``).  Paper: ``d_T = 200``, dropout 0.3
        (default 0.1: measured better on GeoNames names).
    num_train_timesteps : int
        Diffusion steps ``T``.
    beta_schedule : {"cosine", "linear"}
        Noise schedule.
    prediction : {"sample", "v"}
        What the CS-UNet outputs.  ``"sample"`` (the paper): the clean
        coefficients ``x0`` directly.  ``"v"`` (not in the paper; Salimans &
        Ho 2022): the velocity ``v``, turned into
        ``x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v`` before the loss and at
        sampling.  The sine network hardly represents the identity, so with
        ``"sample"`` it learns to ignore the noisy input ``x_t`` and the
        samples of one condition collapse onto its main mode (measured, see
        :doc:`/benchmarks`); with ``"v"`` the path from ``x_t`` to ``x0`` is
        built in, and the samples spread over the modes.
    timestep_power : float
        Training timesteps are drawn with density proportional to
        ``t ** (timestep_power - 1)`` on ``0..T-1`` (``t = floor(T u **
        (1 / timestep_power))``, ``u`` uniform).  1 (default, the paper):
        uniform.  2 trains the noisier steps, where the network must predict
        from the condition, more often; with ``prediction="v"`` it raised
        accuracy on GeoNames names (Table 1 random split, 10,000 CPU steps:
        8.9 / 30.7 / 51.1 % within 200 / 750 / 2,500 km instead of 7.2 /
        25.0 / 45.2; :doc:`/benchmarks`).  Not in the paper.
    coeff_scale : "unit" or float
        Factor applied to SHDD targets before noising; ``"unit"`` is
        ``sqrt(4 pi)`` (unit-variance entries; see the module docstring).
    loss : {"kl", "l1", "l2", "cosine"}
        Training loss: SHDD-KL (paper) or the Table 7 ablations.
    n_anchors : int
        Fresh uniform random anchors per mini-batch for the KL loss (2048).
    kl_smoothing_km, kl_smoothing_steps : float, int
        Optional coarse-to-fine curriculum for the KL loss (not in the paper;
        both 0 by default).  For the first ``kl_smoothing_steps`` steps the
        predicted and the true densities are both smoothed by a heat kernel
        (Gaussian taper ``exp(-l (l + 1) sigma**2 / 2)`` of degree ``l``)
        before they are compared, with ``sigma`` falling linearly from
        ``kl_smoothing_km`` (great-circle length) to zero.  The reverse KL
        against a sharp high-``L`` target gives almost no gradient to a
        prediction that puts its mass in the wrong region, so training first
        sits on a plateau (thousands of steps at ``L >= 23``); smoothing
        widens the target early.  See :doc:`/benchmarks`.
    batch_size, betas, weight_decay, grad_clip
        AdamW settings (paper: 512, (0.9, 0.99), 5e-4); gradient-norm
        clipping (0 disables).
    warmup_steps : int or "auto"
        Linear learning-rate warm-up; ``"auto"``: ``min(200, steps / 10)`` of
        the run's planned steps (``fit``'s ``epochs`` times the batches per
        epoch; ``max_steps`` stops a run early without changing its schedule).
    decay_steps : int, "auto" or None
        Cosine decay of the learning rate from ``lr`` to ``lr / 20`` over this
        many steps after the warm-up (then held); ``"auto"``: over the rest of
        the planned run; ``None`` keeps it constant.  Long runs on real data
        drift upwards in loss at a constant rate (measured on GeoNames); a
        decay schedule avoids that.  With ``"auto"`` the schedule depends on
        the run's length, so a run resumed with more ``epochs`` than it was
        started with follows another schedule than the first part did.
    cond_drop : float
        Probability of replacing a row's condition with the learned null
        embedding at training (classifier-free guidance; 0 disables).
    retrieval_temperature : float
        Softmax temperature on the cosine similarities of the retrieval prior.
    amp : bool
        bf16 autocast on CUDA (ignored on CPU).
    verbose : bool
        Show a tqdm progress bar with the running loss.

    Attributes
    ----------
    net_ : CSUNet
    scheduler_ : DDPMScheduler (its ``config`` is the training schedule)
    scale_ : float
    n_features_in_ : int
    history_ : list of dict
        Per epoch: ``epoch``, ``step``, ``train_loss``, ``seconds`` and, with
        validation data, ``val_*`` metrics.  A run stopped by ``max_steps``
        inside an epoch ends with a record marked ``partial`` (no validation;
        a resumed run replaces it with the whole epoch's).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 8)).astype("float32")
    >>> lat, lon = rng.uniform(-60, 60, 64), rng.uniform(-180, 180, 64)
    >>> m = LocDiffusion(L=4, bottleneck=8, depth=2, time_dim=16, batch_size=32,
    ...                  n_anchors=256, random_state=0, verbose=False).fit(X, lat, lon, epochs=1)
    >>> m.sample(X[:2], n_samples=3, steps=5, generator=0).shape
    (2, 3, 25)
    >>> lat_hat, lon_hat = m.predict(X[:2], n_samples=4, point="densest", steps=5, generator=0)
    >>> lat_hat.shape
    (2,)
    """

    def __init__(self, *, L: int = 23, width: int | None = None, bottleneck: int = 128, depth: int = 3,
                 time_dim: int = 200, omega_0: float = 30.0, dropout: float = 0.1,
                 num_train_timesteps: int = 1000, beta_schedule: str = "cosine", prediction: str = "sample",
                 timestep_power: float = 1.0, coeff_scale: str | float = "unit", loss: str = "kl",
                 n_anchors: int = 2048, kl_smoothing_km: float = 0.0, kl_smoothing_steps: int = 0,
                 batch_size: int = 512, lr: float = 3e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 5e-4, warmup_steps: int | str = "auto", decay_steps: int | str | None = "auto",
                 grad_clip: float = 1.0,
                 cond_drop: float = 0.1, retrieval_k: int = 32, retrieval_temperature: float = 0.05,
                 amp: bool = True, device: str | None = None,
                 random_state: int | None = None, verbose: bool = True) -> None:
        self.L, self.width, self.bottleneck, self.depth = L, width, bottleneck, depth
        self.time_dim, self.omega_0, self.dropout = time_dim, omega_0, dropout
        self.num_train_timesteps, self.beta_schedule = num_train_timesteps, beta_schedule
        self.prediction, self.timestep_power = prediction, timestep_power
        self.coeff_scale, self.loss, self.n_anchors = coeff_scale, loss, n_anchors
        self.kl_smoothing_km, self.kl_smoothing_steps = kl_smoothing_km, kl_smoothing_steps
        self.batch_size, self.lr, self.betas = batch_size, lr, betas
        self.weight_decay, self.warmup_steps, self.grad_clip = weight_decay, warmup_steps, grad_clip
        self.decay_steps = decay_steps
        self.cond_drop, self.amp, self.device = cond_drop, amp, device
        self.retrieval_k, self.retrieval_temperature = retrieval_k, retrieval_temperature
        self.random_state, self.verbose = random_state, verbose

    # ------------------------------------------------------------------ params
    #: Allowed values of every hyper-parameter, checked by ``fit`` (see shdd_geo._validation).
    _parameter_constraints: dict = {
        "L": [Interval(Integral, 1, 200, closed="both")],
        "width": [Interval(Integral, 1, None, closed="left"), None],
        "bottleneck": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 1, None, closed="left")],
        "time_dim": [Interval(Integral, 1, None, closed="left")],
        "omega_0": [Interval(Real, 0, None, closed="neither")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "num_train_timesteps": [Interval(Integral, 2, None, closed="left")],
        "beta_schedule": [StrOptions({"cosine", "linear"})],
        "prediction": [StrOptions(set(_PREDICTIONS))],
        "timestep_power": [Interval(Real, 0, None, closed="neither")],
        "coeff_scale": [StrOptions({"unit"}), Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions(set(_LOSSES))],
        "n_anchors": [Interval(Integral, 1, None, closed="left")],
        "kl_smoothing_km": [Interval(Real, 0, None, closed="left")],
        "kl_smoothing_steps": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "betas": [TupleOf(Interval(Real, 0, 1, closed="left"), length=2)],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_steps": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "decay_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "grad_clip": [Interval(Real, 0, None, closed="left"), None],
        "cond_drop": [Interval(Real, 0, 1, closed="left")],
        "retrieval_k": [Interval(Integral, 0, None, closed="left")],
        "retrieval_temperature": [Interval(Real, 0, None, closed="neither")],
        "amp": ["boolean"],
        "device": [str, None, torch.device],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "verbose": ["boolean"],
    }

    #: The paper's settings (Table 9: Adam, lr 1e-4, batch 512, betas (0.9, 0.99), weight decay 5e-4,
    #: dropout 0.3, 2048 anchors, d_T = 200; Table 8: bottleneck 32 with six C-Siren modules), no
    #: learning-rate schedule, no retrieval conditioning, no classifier-free guidance.
    PAPER = dict(L=23, bottleneck=32, depth=3, time_dim=200, dropout=0.3, lr=1e-4, betas=(0.9, 0.99),
                 weight_decay=5e-4, batch_size=512, n_anchors=2048, warmup_steps=0, decay_steps=None,
                 retrieval_k=0, cond_drop=0.0, prediction="sample", timestep_power=1.0, loss="kl")

    @classmethod
    def paper(cls, **overrides) -> "LocDiffusion":
        """A LocDiffusion with the paper's training settings (for reproduction, not the best recipe).

        ``overrides`` replace any of them (e.g. ``L=31``, ``device="cuda"``).
        The paper samples with DDPM, 100 steps:
        ``predict(X, sampler="ddpm", steps=100, point="centre")``.  Train
        for the paper's 500 epochs with ``fit(..., epochs=500)``.

        Examples
        --------
        >>> m = LocDiffusion.paper(L=15)
        >>> m.L, m.lr, m.dropout, m.retrieval_k, m.decay_steps
        (15, 0.0001, 0.3, 0, None)
        """
        return cls(**{**cls.PAPER, **overrides})

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The keyword arguments of ``__init__``, read from its signature."""
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind is p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict:
        """Hyper-parameters as passed to ``__init__`` (read from its signature, so ``clone`` works).

        Examples
        --------
        >>> p = LocDiffusion(L=5).get_params()
        >>> p["L"], LocDiffusion(**p).get_params() == p
        (5, True)
        """
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params) -> "LocDiffusion":
        """Set hyper-parameters (checked, and in effect, at the next ``fit``); returns ``self``.

        Examples
        --------
        >>> LocDiffusion().set_params(L=7).L
        7
        """
        names = self._get_param_names()
        for k, v in params.items():
            if k not in names:
                raise ValueError(f"unknown parameter `{k}`; valid ones: {', '.join(names)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        default = type(self)().get_params()
        diff = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != default[k])
        return f"LocDiffusion({diff})"

    def _check_params(self) -> None:
        validate_params(self.get_params(), self._parameter_constraints, caller="LocDiffusion")
        km, ks = self.kl_smoothing_km, self.kl_smoothing_steps
        if (km > 0) != (ks > 0):
            raise ValueError("set both `kl_smoothing_km` and `kl_smoothing_steps` (> 0) to smooth the KL loss "
                             f"early in training, or neither; got {km!r} km over {ks!r} steps")
        if ks and self.loss != "kl":
            raise ValueError(f"`kl_smoothing_steps` only applies to loss='kl', got loss={self.loss!r}")

    @property
    def _scale(self) -> float:
        return math.sqrt(4.0 * math.pi) if self.coeff_scale == "unit" else float(self.coeff_scale)

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError("this LocDiffusion is not fitted yet: call `fit` (or `LocDiffusion.load`) first")

    def _build(self, n_features: int, device: torch.device) -> None:
        self.n_features_in_ = int(n_features)
        self.scale_ = self._scale
        self.scheduler_ = make_scheduler("ddpm", SchedulerConfig(
            num_train_timesteps=int(self.num_train_timesteps), beta_schedule=self.beta_schedule,
            prediction_type=self.prediction))
        self.net_ = CSUNet.from_params(self.get_params(), n_features).to(device)
        self.history_: list[dict] = []
        self.temperature_, self.prior_, self.prior_weight_ = 1.0, None, 0.0

    # --------------------------------------------------------------------- fit
    def fit(self, X, lat=None, lon=None, *, X_val=None, lat_val=None, lon_val=None, epochs: int = 10,
            checkpoint: str | Path | None = None, checkpoint_every: int | None = None,
            resume: str | Path | None = None, max_steps: int | None = None,
            init_from: "LocDiffusion | str | Path | None" = None, callbacks=None) -> "LocDiffusion":
        """Train on embeddings ``X`` (n, d) and locations ``lat``, ``lon`` [deg].

        Parameters
        ----------
        X : array (n, d), NpyShards or ParquetShards
            Condition embeddings, or streamed shards (then omit ``lat``/``lon``).
        lat, lon : array_like (n,)
            Training locations [deg].
        X_val, lat_val, lon_val : optional
            Validation set; metrics (``val_acc_750km``, ``val_median_km``...)
            of 4-sample DDIM-20 predictions are added to ``history_`` each epoch.
        epochs : int
            Total number of epochs (counting those done before a resume).
        checkpoint : path, optional
            Resumable checkpoint file, rewritten atomically every
            ``checkpoint_every`` steps and at the end of every epoch.
        resume : path, optional
            Continue the run saved in this checkpoint (same hyper-parameters
            required); on CPU the result is bit-for-bit that of an
            uninterrupted run.
        max_steps : int, optional
            Stop after this many global steps.
        init_from : LocDiffusion or path, optional
            Warm start: begin from this fitted model's network weights (same
            ``L``, widths, depth, ``time_dim`` and condition width) instead of
            a random initialisation; the optimiser, learning-rate schedule and
            step count start afresh.  From an x0 (``"sample"``) network to a
            ``"v"`` one (or back) the output layer is negated, so that the
            first x0 prediction is ``sqrt(abar) x_t + sqrt(1 - abar) F``
            (``F`` the old network's x0): the old prediction at ``t = T``, the
            input at ``t = 0``.  The built-in ``geonames-minilm`` was made
            this way (docs/benchmarks.md).  Not with ``resume``.
        callbacks : list of callable, optional
            Each is called with a :class:`~shdd_geo.model.training.StepRecord`
            (``step``, ``epoch``, ``loss``, ``lr``, ``grad_norm``) after every
            optimisation step and with an
            :class:`~shdd_geo.model.training.EpochRecord` at every epoch end.

        Raises
        ------
        TrainingDivergedError
            When the loss or the gradient becomes NaN/inf (usually a learning
            rate that is too high); the checkpoint file keeps the last good state.

        Returns
        -------
        self
        """
        from .distributed import setup, teardown

        self._check_params()
        data, val = fit_sources(X, lat, lon, X_val, lat_val, lon_val)
        epochs, callbacks = check_fit_options(epochs, checkpoint_every, max_steps, callbacks)
        if init_from is not None:
            if resume is not None:
                raise ValueError("pass `init_from` (warm start) or `resume` (continue a run), not both")
            if not isinstance(init_from, LocDiffusion):
                init_from = LocDiffusion.load(init_from, device="cpu")
            init_from._check_fitted()
            if init_from.n_features_in_ != data.n_features:
                raise ValueError(f"`init_from` was trained on {init_from.n_features_in_}-d conditions, "
                                 f"`X` has {data.n_features} features")
        ctx = setup(self.device)
        devices = [ctx.device.index or 0] if ctx.device.type == "cuda" else []
        trainer = None
        try:
            with torch.random.fork_rng(devices=devices):
                planned = planned_steps(sum(data.shard_sizes), int(self.batch_size), epochs)
                trainer = self._start(data.n_features, ctx, resume, init_from, val, callbacks, planned)
                if self.retrieval_k:
                    data = self._retrieval_data(data, fresh=resume is None)
                trainer.run(data, int(epochs), checkpoint=checkpoint,
                            checkpoint_every=checkpoint_every, max_steps=max_steps)
        finally:
            # Drop the DistributedDataParallel wrapper before its process group: a DDP
            # reducer that outlives the group can abort the process when it is collected.
            del trainer
            if ctx.distributed:
                import gc

                gc.collect()
            teardown(ctx)
        self.net_.eval()
        return self

    def _start(self, n_features: int, ctx, resume, init_from, val, callbacks, planned: int) -> Trainer:
        """Fresh or resumed trainer of a ``planned``-step run (inside ``fork_rng``: the global RNG drives dropout)."""
        if resume is None:
            self.seeds_ = run_seeds(self.random_state)
            torch.manual_seed(self.seeds_["init"])
            self._build(n_features, ctx.device)
            if init_from is not None:
                self._init_weights(init_from)
            torch.manual_seed(self.seeds_["dropout"])
            return self._trainer(ctx, val, callbacks, planned)
        meta, tensors = read_checkpoint(resume)
        check_resumable(meta, self.get_params(), resume)
        self._restore(meta, tensors, ctx.device)
        if self.n_features_in_ != n_features:
            raise ValueError(f"data have {n_features} features, the checkpoint {self.n_features_in_}")
        trainer = self._trainer(ctx, val, callbacks, planned)
        trainer.load_training_state(meta["train"], tensors)
        return trainer

    def _trainer(self, ctx, val, callbacks, planned: int) -> Trainer:
        """The training loop, given only public pieces of this estimator (see :class:`Trainer`)."""
        validate = None if val is None else partial(validation_metrics, self.predict, *val)
        return Trainer(self.net_, self.scheduler_, train_config(self.get_params(), self.scale_, planned), ctx,
                       self.seeds_, history=self.history_, validate=validate, callbacks=callbacks,
                       write=lambda path, meta, tensors: self._write(path, train=(meta, tensors)))

    # ----------------------------------------------------------- retrieval prior
    def _retrieval_data(self, data, *, fresh: bool):
        """``data`` with each row's leave-one-out retrieval prior appended (builds ``retrieval_`` if ``fresh``)."""
        data, self.retrieval_ = retrieval_data(data, self.L, self._scale, gallery=None if fresh else self.retrieval_,
                                               k=self.retrieval_k, temperature=self.retrieval_temperature,
                                               progress=None if self.verbose else False)
        return data

    def _prior_cond(self, X: np.ndarray, exclude=None) -> np.ndarray:
        """Retrieval priors in condition units (see :func:`.retrieval.prior_condition`)."""
        return prior_condition(self.retrieval_, X, self.L, self._scale, exclude)

    def _init_weights(self, other: "LocDiffusion") -> None:
        """Copy ``other``'s network into the freshly built one (``fit(init_from=...)``)."""
        self.net_.load_state_dict(warm_start_weights(self.net_.state_dict(), other.net_.state_dict(),
                                                     self.get_params(), other.get_params()))

    # ---------------------------------------------------------------- sampling
    def _cond_tensor(self, X, name: str = "X") -> torch.Tensor:
        self._check_fitted()
        X = check_embeddings(X, name, self.n_features_in_)
        if self.retrieval_k:
            X = np.concatenate([X, self._prior_cond(X)], axis=1)
        return torch.as_tensor(np.array(X, dtype=np.float32), device=next(self.net_.parameters()).device)

    def sample(self, X, n_samples: int = DEFAULT_SAMPLES, *, steps: int | None = None, sampler: str = "ddim",
               guidance_scale: float = 1.0, eta: float = 0.0, generator=None,
               max_batch: int = 8192, init: str = "noise", init_strength: float = 0.5,
               progress: bool | None = None) -> np.ndarray:
        """Draw SHDD coefficient vectors conditioned on embeddings ``X``.

        Parameters
        ----------
        X : array (B, d)
            Condition embeddings.
        n_samples : int
            Samples per condition (the paper uses 16).
        steps : int, optional
            Reverse steps: default 100 for ``"ddpm"`` (paper), 20 for ``"ddim"``.
        sampler : {"ddim", "ddpm"}
        guidance_scale : float
            Classifier-free guidance weight ``w`` (1: plain conditional).
        eta : float
            DDIM stochasticity (0: deterministic given the initial noise).
        generator : None, int, torch.Generator or a sequence of them
            Source of randomness.  A sequence gives one per condition (length
            ``B``): condition ``i``'s samples are then those of
            ``sample(X[i:i+1], ..., generator=generator[i])``, whatever the
            other conditions, up to the float rounding of computing them in a
            bigger batch (often bit for bit).  Deterministic chains (DDIM
            with ``eta`` 0) still run as one batch, several times faster;
            stochastic ones run one condition at a time.
        max_batch : int
            Rows (condition x sample) denoised at once; the noise is drawn
            chunk by chunk, so results are reproducible for a given
            ``generator`` and ``max_batch``.
        init : {"noise", "prior"}
            Start of the reverse chain: pure noise at ``t = T - 1`` (the
            paper), or -- for a retrieval-conditioned model -- the retrieval
            prior noised to ``t = init_strength * (T - 1)`` (SDEdit-style;
            fewer effective steps).
        init_strength : float
            In (0, 1]: how much noise the ``"prior"`` start gets.
        progress : bool, optional
            A progress bar over the reverse steps (default: only when the
            call runs longer than a few seconds; see :ref:`progress-bars`).

        Returns
        -------
        numpy.ndarray, shape (B, n_samples, (L+1)**2), float32

        Examples
        --------
        See the class example.
        """
        cond = self._cond_tensor(X)  # checks that the model is fitted
        return draw_samples(self.net_, self.scheduler_, cond, n_samples, n_coeffs=(self.L + 1) ** 2,
                            scale=self.scale_, steps=steps, sampler=sampler, guidance_scale=guidance_scale, eta=eta,
                            generator=generator, max_batch=max_batch, init=init, init_strength=init_strength,
                            progress=progress, retrieval=bool(self.retrieval_k), guidance=self.cond_drop > 0)

    def predict(self, X, n_samples: int = DEFAULT_SAMPLES, point: str = DEFAULT_POINT, *,
                decode_kwargs: dict | None = None, progress: bool | None = None, **sample_kwargs):
        """Predict one location per condition: ``(lat, lon)`` [deg].

        Draws ``n_samples`` coefficient vectors per condition (:meth:`sample`),
        decodes each with :func:`shdd_geo.decoding.decode` and combines them:
        ``"densest"`` (default, :data:`shdd_geo.defaults.DEFAULT_POINT`) -- the
        decoded sample where the mixture of the samples' densities is highest
        (best for multi-modal answers, and measured best on validation
        names); ``"centre"`` -- geographic centre (the paper's choice, the
        default before 0.1); ``"median"`` -- spherical geometric median.
        ``progress``: a bar over the sampling steps (see :meth:`sample`).

        Examples
        --------
        See the class example.
        """
        point = check_point(point, _POINTS)  # "mode": deprecated alias of "densest"
        if decode_kwargs is not None and not isinstance(decode_kwargs, dict):
            raise TypeError(f"`decode_kwargs` must be a dict of keyword arguments of decode(), got {decode_kwargs!r}")
        coeffs = self.sample(X, n_samples, progress=progress, **sample_kwargs)
        lat, lon = self._decode(coeffs, decode_kwargs)
        if point != "densest":  # the geographic centre or the geometric median of the decoded samples
            return predict_from_samples(lat, lon, point)
        best = densest_sample(coeffs, lat, lon)
        idx = np.arange(lat.shape[0])
        return lat[idx, best], lon[idx, best]

    def predict_samples(self, X, n_samples: int = DEFAULT_SAMPLES, *, decode_kwargs: dict | None = None,
                        progress: bool | None = None, **sample_kwargs):
        """Decoded samples ``(lat, lon)``, each of shape ``(B, n_samples)`` [deg].

        The candidates of the retrieval hybrid (:class:`shdd_geo.baselines.hybrid.RetrievalHybrid`).
        """
        return self._decode(self.sample(X, n_samples, progress=progress, **sample_kwargs), decode_kwargs)

    def _decode(self, coeffs: np.ndarray, decode_kwargs: dict | None):
        from ..decoding import decode

        B, K, D = coeffs.shape
        lat, lon = decode(coeffs.reshape(B * K, D).astype(np.float64), **(decode_kwargs or {}))
        return np.asarray(lat).reshape(B, K), np.asarray(lon).reshape(B, K)

    def predict_field(self, X, nside: int = DEFAULT_NSIDE, *, n_samples: int = DEFAULT_SAMPLES, kind: str = "mixture",
                      temperature: float | None = None, prior_weight: float | None = None,
                      as_xarray: bool = False, progress: bool | None = None, **sample_kwargs):
        """Density map per condition: a :class:`~shdd_geo.SphericalField` batch (``len == B``).

        ``kind="mixture"``: the equal-weight mixture of the ``n_samples`` sample
        densities ``q_{e_k}`` (each normalised, combined in log space);
        ``kind="mean"``: the density of the mean coefficient vector.  Each
        sample density is ``exp(f_{e_k} / temperature)``: ``temperature > 1``
        widens it; the default is the value chosen by :meth:`calibrate`
        (``temperature_``, 1.0 before calibration).  If a location prior is
        set (:meth:`set_prior`), the map is ``(1 - w) q + w p_prior`` with
        ``w = prior_weight`` (default ``prior_weight_``, chosen by
        :meth:`calibrate`; 0 before).  After :meth:`calibrate` the maps
        carry its conformal levels (``conformal_``; not when ``temperature``
        or ``prior_weight`` override the calibrated ones), so their
        ``credible_region(level)`` is calibrated.  ``as_xarray=True`` returns the
        density map as an xarray DataArray instead (``field.to_xarray()``:
        dims ``("query", "cell")``; ``da.shdd.to_field()`` goes back).
        ``progress``: bars over the sampling steps and the maps (default: only
        when the call runs longer than a few seconds).

        Examples
        --------
        With ``m`` and ``X`` as in the class example::

            field = m.predict_field(X[:2], nside=32)    # SphericalField batch, len 2
            field[0].modes(k=3); field.to_xarray()
        """
        if kind not in ("mixture", "mean"):
            raise ValueError(f"`kind` must be 'mixture' or 'mean', got {kind!r}")
        t = getattr(self, "temperature_", 1.0) if temperature is None else temperature
        w = getattr(self, "prior_weight_", 0.0) if prior_weight is None else prior_weight
        field = self.field_from_samples(self.sample(X, n_samples, progress=progress, **sample_kwargs), nside=nside,
                                        kind=kind, temperature=t, prior=getattr(self, "prior_", None),
                                        prior_weight=w, progress=progress)
        levels = getattr(self, "conformal_", None)
        if levels is not None and temperature is None and prior_weight is None and kind == "mixture":
            field = levels.apply(field)  # the maps it was calibrated on: credible regions mean what they say
        return field.to_xarray() if as_xarray else field

    @staticmethod
    def field_from_samples(coeffs, nside: int = 64, *, kind: str = "mixture", temperature: float = 1.0,
                           prior=None, prior_weight: float = 0.0, progress: bool | None = None):
        """Density maps from sampled coefficients ``(B, K, D)`` (see :meth:`predict_field`).

        With ``prior`` (one :class:`~shdd_geo.SphericalField`, any nside) and
        ``prior_weight`` ``w`` in [0, 1), each map becomes ``(1 - w) q + w p``.
        ``progress``: a bar over the maps (see :ref:`progress-bars`).
        """
        return maps.field_from_samples(coeffs, nside, kind=kind, temperature=temperature, prior=prior,
                                       prior_weight=prior_weight, progress=progress,
                                       chunk_values=_FIELD_CHUNK_VALUES)

    @staticmethod
    def mix_prior(field, prior, prior_weight: float):
        """``(1 - w) field + w prior`` per row of ``field``, ``w = prior_weight`` in [0, 1).

        ``prior`` is one :class:`~shdd_geo.SphericalField` on any grid (it is
        regridded); ``field`` comes back unchanged for ``w = 0``.
        """
        return maps.mix_prior(field, prior, prior_weight)

    def set_prior(self, lat, lon, *, nside: int = 32, bandwidth_km: float = 300.0,
                  weights=None) -> "LocDiffusion":
        """Set the location prior mixed into :meth:`predict_field` maps.

        ``prior_`` becomes the kernel density estimate (von Mises-Fisher,
        ``bandwidth_km``; optional per-location ``weights``) of the locations
        ``lat``, ``lon`` [deg] -- typically the training locations, i.e. where
        things can be at all -- on a HEALPix grid of ``nside``, stored with
        the model (float32).  Its weight ``prior_weight_`` stays as it is (0
        for a new model) until :meth:`calibrate` chooses it.  Returns ``self``.

        The mixture ``(1 - w) q + w p_prior`` is a defensive mixture: where the
        samples miss the truth (an unknown name, a namesake the model never
        samples) the map still gives it the prior's density instead of almost
        none, which a higher temperature can only approach by flattening every
        mode.  Not in the paper.
        """
        from ..fields import SphericalField

        check_real(bandwidth_km, "bandwidth_km", low=0.0, closed="neither", unit=" [km]")
        self.prior_ = SphericalField.from_samples(lat, lon, nside=nside, method="kde",
                                                  bandwidth_km=float(bandwidth_km), weights=weights).normalize()
        return self

    def calibrate(self, X, lat, lon, *, temperatures=(0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0),
                  prior_weights=(0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
                  n_samples: int = DEFAULT_SAMPLES, nside: int = 32, generator=0, min_coverage: float | None = None,
                  max_coverage: float | None = None, level: float = 0.9, conformal: bool = True,
                  conformal_fraction: float = 0.5, progress: bool | None = None,
                  **sample_kwargs) -> "LocDiffusion":
        """Calibrate the maps: temperature (and prior weight) by log-likelihood, credible regions by conformal levels.

        By default (``conformal=True``) the held-out rows are split at random
        (seeded by ``generator``): ``1 - conformal_fraction`` of them choose
        the temperature as below, the other ``conformal_fraction`` fit a
        :class:`~shdd_geo.calibration.ConformalLevels` (``conformal_``) on
        the maps at that temperature.  :meth:`predict_field` attaches it to
        every map, so that ``field.credible_region(0.9)`` contains the truth
        for at least 90 % of exchangeable new queries (split conformal
        prediction), whatever the temperature achieved.  ``conformal=False``
        keeps the behaviour before 0.1: all rows choose the temperature and
        regions are cut at their raw nominal level.  Exchangeable means from
        the same places: for queries from regions without training data,
        calibrate on such regions (the ``val`` cells of
        :func:`~shdd_geo.datasets.spatial_split` for a model fitted on its
        ``train`` cells; see the study note ``calibration-2026-12``).

        Samples once for ``X`` (``sample_kwargs``, e.g. ``guidance_scale``,
        go to :meth:`sample`: calibrate with the sampler you will predict
        with), then scores the truth under the mixture field at every
        candidate temperature and keeps the best as ``temperature_`` (used by
        :meth:`predict_field`).  Use data not seen in training.
        ``calibration_`` records the mean log-likelihood per temperature.

        With ``min_coverage`` (e.g. 0.85) and/or ``max_coverage`` (e.g. 0.95),
        only temperatures whose ``level`` credible regions cover a fraction of
        the truths in that range compete (the most likely of them wins; if
        none is in range, the one whose coverage is closest to it);
        ``calibration_coverage_`` records the coverage per temperature.
        Log-likelihood alone tends to pick regions that are too small when
        samples miss some namesakes entirely.

        If a prior is set (:meth:`set_prior`), every pair of a temperature and
        a weight in ``prior_weights`` competes and the winner's weight becomes
        ``prior_weight_``; ``calibration_`` and ``calibration_coverage_`` are
        then keyed by ``(temperature, weight)``.  Without a prior only the
        temperature is chosen and the keys are temperatures.  ``progress``:
        bars over the sampling steps and the candidates (default: only when
        the call runs longer than a few seconds).
        """
        self._check_fitted()
        got = calibrate_maps(
            lambda: self.sample(X, n_samples, generator=generator, progress=progress, **sample_kwargs), lat, lon,
            prior=getattr(self, "prior_", None), temperatures=temperatures, prior_weights=prior_weights,
            nside=nside, generator=generator, min_coverage=min_coverage, max_coverage=max_coverage, level=level,
            conformal=conformal, conformal_fraction=conformal_fraction, progress=progress)
        self.temperature_, self.prior_weight_ = got.temperature, got.prior_weight
        self.calibration_, self.calibration_coverage_, self.conformal_ = got.scores, got.coverage, got.conformal
        return self

    # --------------------------------------------------------------- save/load
    def save(self, path: str | Path, *, half: bool = False) -> Path:
        """Write hyper-parameters, fitted attributes and weights to ``path`` (safetensors, atomic).

        ``half=True`` stores the weights as float16 (half the size; they are
        cast back to float32 by :meth:`load`), e.g. for models shipped as
        package data.
        """
        self._check_fitted()
        bad = nonfinite_tensors(self.net_.state_dict())
        if bad:
            raise ValueError(f"refusing to save a model whose weights hold NaN/inf ({', '.join(bad[:3])}); "
                             "its training diverged: fit again with a lower `lr`")
        return self._write(path, half=half)

    def _write(self, path, *, train: tuple[dict, dict] | None = None, half: bool = False) -> Path:
        return write_checkpoint(path, *model_state(self, train=train, half=half))

    def _restore(self, meta: dict, tensors: dict, device) -> None:
        self._build(meta["n_features_in"], torch.device(device))
        self.net_.load_state_dict(net_weights(tensors))
        fitted = fitted_attributes(meta, tensors, retrieval_k=self.retrieval_k,
                                   retrieval_temperature=self.retrieval_temperature)
        for name, value in fitted.items():
            setattr(self, name, value)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> "LocDiffusion":
        """Load a model written by :meth:`save` (or a training checkpoint)."""
        params, meta, tensors = read_model(path, cls._get_param_names(), cls._parameter_constraints, device)
        est = cls(**params)
        dev = device or params.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        est._restore(meta, tensors, dev)
        est.net_.eval()
        return est
