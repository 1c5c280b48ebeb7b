"""DDPM / DDIM noise schedulers in SHDD coefficient space (x0-prediction).

The forward process (Ho et al. 2020, eq. 4) noises clean coefficients ``x0``::

    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,   eps ~ N(0, I)

with ``abar_t = prod_{s<=t} (1 - beta_s)``.  The network predicts ``x0``
(``prediction_type="sample"``), the noise (``"epsilon"``) or the velocity
``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0`` (``"v"``, Salimans & Ho 2022),
from which ``x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v``.  Two samplers
share the schedule:

* :class:`DDPMScheduler` -- ancestral sampling from the exact Gaussian
  posterior ``q(x_{t'} | x_t, x0)`` (Ho et al. eq. 6-7), on a strided subset of
  the training steps when fewer inference steps are asked for;
* :class:`DDIMScheduler` -- the non-Markovian sampler of Song et al. 2021
  (eq. 12), deterministic for ``eta = 0``.

Beta schedules are computed in float64 and stored as float32 tensors: the
linear schedule of Ho et al. and the cosine schedule of Nichol & Dhariwal
2021 (eq. 17, betas clipped at 0.999).  The API follows diffusers:
``set_timesteps``, ``add_noise``, ``step(model_output, t, sample,
generator=None)`` returning a :class:`SchedulerOutput`; the configuration is a
frozen :class:`SchedulerConfig` that round-trips through ``to_dict`` /
``from_dict``.

Examples
--------
>>> import torch
>>> s = DDIMScheduler(SchedulerConfig(num_train_timesteps=100))
>>> s.set_timesteps(10)
>>> s.timesteps[:3].tolist()
[99, 89, 79]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from .._validation import check_int

__all__ = [
    "DDIMScheduler",
    "DDPMScheduler",
    "SchedulerConfig",
    "SchedulerOutput",
    "betas_for",
    "make_scheduler",
]

_BETA_SCHEDULES = ("linear", "cosine")
_PREDICTION_TYPES = ("sample", "epsilon", "v")


@dataclass(frozen=True)
class SchedulerConfig:
    """Frozen configuration of a noise schedule.

    Parameters
    ----------
    num_train_timesteps : int
        Number of diffusion steps ``T`` at training.
    beta_schedule : {"linear", "cosine"}
        Linear (Ho et al.) or cosine (Nichol & Dhariwal) schedule.
    beta_start, beta_end : float
        End points of the linear schedule.
    cosine_s : float
        Offset ``s`` of the cosine schedule.
    prediction_type : {"sample", "epsilon", "v"}
        What the network predicts: the clean sample ``x0``, the noise, or the
        velocity ``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0``.
    clip_sample : float or None
        Clip predicted ``x0`` to ``[-clip_sample, clip_sample]`` (None: off).
    eta : float
        DDIM stochasticity (0: deterministic; 1: DDPM-like variance).

    Examples
    --------
    >>> c = SchedulerConfig(beta_schedule="cosine")
    >>> SchedulerConfig.from_dict(c.to_dict()) == c
    True
    """

    num_train_timesteps: int = 1000
    beta_schedule: str = "cosine"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    cosine_s: float = 0.008
    prediction_type: str = "sample"
    clip_sample: float | None = None
    eta: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.num_train_timesteps, "num_train_timesteps", low=2, what="an integer >= 2")
        if self.beta_schedule not in _BETA_SCHEDULES:
            raise ValueError(f"`beta_schedule` must be one of {_BETA_SCHEDULES}, got {self.beta_schedule!r}")
        if self.prediction_type not in _PREDICTION_TYPES:
            raise ValueError(f"`prediction_type` must be one of {_PREDICTION_TYPES}, got {self.prediction_type!r}")
        if not 0.0 < self.beta_start < self.beta_end < 1.0:
            raise ValueError(
                f"`beta_start` and `beta_end` must satisfy 0 < start < end < 1, got {self.beta_start}, {self.beta_end}"
            )
        if not self.eta >= 0.0:
            raise ValueError(f"`eta` must be >= 0, got {self.eta}")

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SchedulerConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown scheduler config keys {sorted(unknown)}; expected a subset of {sorted(names)}")
        return cls(**d)


@dataclass
class SchedulerOutput:
    """Result of one reverse step: ``prev_sample`` (``x_{t'}``) and ``pred_original_sample`` (``x0``).

    Examples
    --------
    >>> sched = make_scheduler("ddim", SchedulerConfig(num_train_timesteps=10))
    >>> sched.set_timesteps(2)
    >>> x0 = torch.zeros(1, 4)
    >>> out = sched.step(x0, int(sched.timesteps[-1]), torch.ones(1, 4))
    >>> type(out).__name__, torch.equal(out.pred_original_sample, x0), out.prev_sample.shape
    ('SchedulerOutput', True, torch.Size([1, 4]))
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def betas_for(config: SchedulerConfig) -> np.ndarray:
    """Float64 betas of a schedule, shape ``(T,)``.

    Examples
    --------
    >>> b = betas_for(SchedulerConfig(beta_schedule="linear", num_train_timesteps=10))
    >>> float(b[0]), float(b[-1])
    (0.0001, 0.02)
    """
    T = config.num_train_timesteps
    if config.beta_schedule == "linear":
        return np.linspace(config.beta_start, config.beta_end, T, dtype=np.float64)
    s = config.cosine_s
    steps = np.arange(T + 1, dtype=np.float64) / T
    abar = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return np.clip(1.0 - abar[1:] / abar[:-1], 0.0, 0.999)


class _Scheduler:
    """Shared schedule arithmetic; subclasses implement :meth:`step`."""

    def __init__(self, config: SchedulerConfig | None = None, **kwargs) -> None:
        if config is None:
            config = SchedulerConfig(**kwargs)
        elif kwargs:
            raise TypeError("pass either `config` or keyword options, not both")
        if not isinstance(config, SchedulerConfig):
            raise TypeError(f"`config` must be a SchedulerConfig, got {type(config).__name__}")
        self.config = config
        betas = betas_for(config)
        abar = np.cumprod(1.0 - betas)
        self.betas = torch.from_numpy(betas).to(torch.float32)
        self.alphas_cumprod = torch.from_numpy(abar).to(torch.float32)
        self._abar64 = abar
        self.num_inference_steps: int | None = None
        self.timesteps = torch.arange(config.num_train_timesteps - 1, -1, -1)

    def set_timesteps(self, num_inference_steps: int) -> None:
        """Choose ``num_inference_steps`` steps, evenly spaced and ending at ``T-1`` ("trailing")."""
        T = self.config.num_train_timesteps
        n = num_inference_steps
        n = check_int(n, "num_inference_steps", low=1, high=T, what=f"an integer in [1, {T}]")
        ts = np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1
        self.timesteps = torch.from_numpy(ts)
        self.num_inference_steps = int(n)

    def previous_timestep(self, t: int) -> int:
        """The step after ``t`` in the current sequence (``-1`` after the last)."""
        ts = self.timesteps.tolist()
        i = ts.index(int(t)) if int(t) in ts else None
        if i is None:
            raise ValueError(f"`t`={t} is not in the scheduler's timesteps; call set_timesteps first")
        return ts[i + 1] if i + 1 < len(ts) else -1

    def _abar(self, t: int) -> float:
        return 1.0 if t < 0 else float(self._abar64[t])

    def _gather(self, table: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        v = table.to(like.device)[t.long().to(like.device)].to(like.dtype)
        return v.reshape(-1, *([1] * (like.ndim - 1)))

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Forward process ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` (Ho et al. eq. 4)."""
        if original_samples.shape != noise.shape:
            raise ValueError(f"`noise` must match `original_samples` {tuple(original_samples.shape)}, got {tuple(noise.shape)}")
        abar = self._gather(self.alphas_cumprod, timesteps, original_samples)
        return abar.sqrt() * original_samples + (1.0 - abar).sqrt() * noise

    def predict_x0(self, model_output: torch.Tensor, timesteps: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """The clean sample ``x0`` implied by the model output at per-row ``timesteps`` (no clipping).

        ``"sample"``: the output itself; ``"epsilon"``: ``(x_t - sqrt(1 - abar) eps) / sqrt(abar)``;
        ``"v"``: ``sqrt(abar) x_t - sqrt(1 - abar) v``.

        Examples
        --------
        >>> s = DDPMScheduler(num_train_timesteps=10, prediction_type="v")
        >>> x0, eps, t = torch.ones(2, 3), torch.zeros(2, 3), torch.tensor([0, 9])
        >>> a = s.alphas_cumprod[t][:, None]
        >>> v = a.sqrt() * eps - (1 - a).sqrt() * x0
        >>> torch.allclose(s.predict_x0(v, t, s.add_noise(x0, eps, t)), x0, atol=1e-6)
        True
        """
        kind = self.config.prediction_type
        if kind == "sample":
            return model_output
        a = self._gather(self.alphas_cumprod, timesteps, sample)
        if kind == "v":
            return a.sqrt() * sample - (1.0 - a).sqrt() * model_output
        return (sample - (1.0 - a).sqrt() * model_output) / a.sqrt()

    def _split(self, model_output: torch.Tensor, t: int, sample: torch.Tensor):
        """(x0_hat, eps_hat) from the model output, whatever it predicts."""
        a = self._abar(t)
        kind = self.config.prediction_type
        if kind != "epsilon":  # x0 itself, or x0 = sqrt(a) x_t - sqrt(1 - a) v
            x0 = model_output if kind == "sample" else math.sqrt(a) * sample - math.sqrt(1.0 - a) * model_output
            if self.config.clip_sample is not None:
                x0 = x0.clamp(-self.config.clip_sample, self.config.clip_sample)
            eps = (sample - math.sqrt(a) * x0) / math.sqrt(1.0 - a)
        else:
            eps = model_output
            x0 = (sample - math.sqrt(1.0 - a) * eps) / math.sqrt(a)
            if self.config.clip_sample is not None:
                x0 = x0.clamp(-self.config.clip_sample, self.config.clip_sample)
        return x0, eps

    @staticmethod
    def _noise(sample: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return torch.randn(sample.shape, generator=generator, dtype=sample.dtype,
                           device=generator.device if generator is not None else sample.device).to(sample.device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


class DDPMScheduler(_Scheduler):
    """Ancestral DDPM sampler (Ho et al. 2020), strided when fewer steps are used.

    Examples
    --------
    >>> s = DDPMScheduler(num_train_timesteps=50)
    >>> s.set_timesteps(5)
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(2, 4, generator=g)
    >>> for t in s.timesteps:
    ...     x = s.step(torch.zeros(2, 4), int(t), x, generator=g).prev_sample
    >>> x.abs().max().item()
    0.0
    """

    def posterior(self, x0: torch.Tensor, t: int, sample: torch.Tensor, prev_t: int):
        """Mean and variance of ``q(x_{prev_t} | x_t, x0)`` (Ho et al. eq. 6-7, strided)."""
        a_t, a_prev = self._abar(t), self._abar(prev_t)
        alpha = a_t / a_prev                  # alpha over the stride t' -> t
        beta = 1.0 - alpha
        c0 = math.sqrt(a_prev) * beta / (1.0 - a_t)
        ct = math.sqrt(alpha) * (1.0 - a_prev) / (1.0 - a_t)
        var = (1.0 - a_prev) / (1.0 - a_t) * beta
        return c0 * x0 + ct * sample, var

    def step(self, model_output: torch.Tensor, t: int, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> SchedulerOutput:
        """One reverse step ``x_t -> x_{t'}`` with ``t'`` the next inference step."""
        t = int(t)
        # 1. the previous step t' on the (possibly strided) sequence
        prev_t = self.previous_timestep(t)
        # 2. predicted clean sample x0 (model output, or eq. 15 of Ho et al. for epsilon)
        x0, _ = self._split(model_output, t, sample)
        # 3. posterior mean mu~(x_t, x0) and variance beta~ (eq. 7)
        mean, var = self.posterior(x0, t, sample, prev_t)
        # 4. x_{t'} = mu~ + sqrt(beta~) z, no noise on the last step (Algorithm 2, line 4)
        if prev_t >= 0 and var > 0:
            mean = mean + math.sqrt(var) * self._noise(sample, generator)
        return SchedulerOutput(prev_sample=mean, pred_original_sample=x0)


class DDIMScheduler(_Scheduler):
    """DDIM sampler (Song, Meng & Ermon 2021); deterministic for ``eta = 0``.

    Examples
    --------
    >>> s = DDIMScheduler(num_train_timesteps=50)
    >>> s.set_timesteps(5)
    >>> x0 = torch.ones(1, 3)
    >>> x = s.add_noise(x0, torch.randn(1, 3, generator=torch.Generator().manual_seed(1)), s.timesteps[:1])
    >>> for t in s.timesteps:
    ...     x = s.step(x0, int(t), x).prev_sample
    >>> torch.allclose(x, x0)
    True
    """

    def step(self, model_output: torch.Tensor, t: int, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> SchedulerOutput:
        """One reverse step ``x_t -> x_{t'}`` (Song et al. eq. 12)."""
        t = int(t)
        # 1. the previous step t'
        prev_t = self.previous_timestep(t)
        a_t, a_prev = self._abar(t), self._abar(prev_t)
        # 2. predicted x0 and the implied noise eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)
        x0, eps = self._split(model_output, t, sample)
        # 3. sigma_t(eta) = eta sqrt((1 - abar_t') / (1 - abar_t)) sqrt(1 - abar_t / abar_t')  (eq. 16)
        sigma = self.config.eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        # 4. x_t' = sqrt(abar_t') x0 + sqrt(1 - abar_t' - sigma^2) eps + sigma z  (eq. 12)
        prev = math.sqrt(a_prev) * x0 + math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps
        if sigma > 0 and prev_t >= 0:
            prev = prev + sigma * self._noise(sample, generator)
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0)


def make_scheduler(sampler: str, config: SchedulerConfig) -> _Scheduler:
    """``"ddpm"`` -> :class:`DDPMScheduler`, ``"ddim"`` -> :class:`DDIMScheduler`.

    Examples
    --------
    >>> type(make_scheduler("ddim", SchedulerConfig())).__name__
    'DDIMScheduler'
    """
    kinds = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler}
    if sampler not in kinds:
        raise ValueError(f"`sampler` must be one of {sorted(kinds)}, got {sampler!r}")
    return kinds[sampler](config)
