"""The reverse diffusion chain of LocDiffusion: DDPM/DDIM steps with classifier-free guidance.

:meth:`LocDiffusion.sample <shdd_geo.model.LocDiffusion.sample>` checks its
arguments, repeats each condition ``n_samples`` times and runs
:func:`reverse_chain` on chunks of those rows.  Each reverse step

1. asks the network for its output at ``(x_t, t, cond)`` and turns it into
   the clean coefficients ``x0`` (``scheduler.predict_x0``: identity for
   ``"sample"`` networks, ``x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v`` for
   ``"v"`` ones);
2. with a guidance weight ``w != 1``, also asks for the unconditional
   ``x0_u`` (null condition) and uses ``x0_u + w (x0 - x0_u)``
   (classifier-free guidance, Ho & Salimans 2022);
3. steps to ``x_{t-1}`` with the DDPM or DDIM update given ``x0``.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import replace

import torch

from .scheduler import make_scheduler

__all__ = ["reverse_chain", "stepping_scheduler"]


def stepping_scheduler(scheduler, steps: int, sampler: str, eta: float, init_strength: float | None):
    """The stepping scheduler of one reverse chain (its ``timesteps`` cut for a prior start).

    ``scheduler`` is the model's training scheduler (its ``config`` is the
    schedule); ``init_strength`` in (0, 1] keeps only the timesteps at or
    below ``init_strength * (T - 1)`` (at least the last one).

    Examples
    --------
    >>> from shdd_geo.model.scheduler import SchedulerConfig, make_scheduler
    >>> train = make_scheduler("ddpm", SchedulerConfig(num_train_timesteps=100))
    >>> stepping_scheduler(train, 4, "ddim", 0.0, None).timesteps.tolist()
    [99, 74, 49, 24]
    >>> stepping_scheduler(train, 4, "ddim", 0.0, 0.5).timesteps.tolist()
    [49, 24]
    """
    # the network's output is turned into x0 in reverse_chain, so the stepping scheduler always gets x0
    sched = make_scheduler(sampler, replace(scheduler.config, eta=float(eta), prediction_type="sample"))
    sched.set_timesteps(int(steps))
    if init_strength is not None:
        t0 = int(round(init_strength * (scheduler.config.num_train_timesteps - 1)))
        keep = sched.timesteps[sched.timesteps <= t0]
        sched.timesteps = keep if keep.numel() else sched.timesteps[-1:]
    return sched


@torch.inference_mode()
def reverse_chain(net, scheduler, cond: torch.Tensor, n_coeffs: int, scale: float, *, steps: int, sampler: str,
                  guidance_scale: float, eta: float, generator: torch.Generator,
                  init_strength: float | None = None, bar=None, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Reverse diffusion for the rows of ``cond``; returns unscaled coefficients (float32).

    ``n_coeffs`` is ``D = (L + 1)**2``; the chain runs in network units,
    ``scale`` times the SHDD coefficients (``LocDiffusion.scale_``).  With ``init_strength`` the chain
    starts from the retrieval prior (the last ``D`` columns of ``cond``,
    ``sqrt(D)`` times smaller than network units) noised to timestep
    ``init_strength * (T - 1)`` instead of from pure noise.  ``bar`` (a
    progress bar) advances by one per reverse step.  ``noise`` (rows of
    ``cond`` x ``D``, network units) is the starting noise; by default it is
    drawn from ``generator``, which also draws the noise of stochastic steps.

    Examples
    --------
    >>> from shdd_geo.model.nn import CSUNet
    >>> from shdd_geo.model.scheduler import SchedulerConfig, make_scheduler
    >>> net = CSUNet(16, 4, bottleneck=8, depth=1, time_dim=8).eval()       # D = 16: L = 3
    >>> train = make_scheduler("ddpm", SchedulerConfig(num_train_timesteps=50))
    >>> x = reverse_chain(net, train, torch.zeros(2, 4), 16, 1.0, steps=5, sampler="ddim", guidance_scale=1.0,
    ...                   eta=0.0, generator=torch.Generator().manual_seed(0))
    >>> tuple(x.shape)
    (2, 16)
    """
    sched = stepping_scheduler(scheduler, steps, sampler, eta, init_strength)
    to_x0 = scheduler.predict_x0
    D = int(n_coeffs)
    g = generator
    if noise is None:
        noise = torch.randn(cond.shape[0], D, generator=g, device=g.device)
    elif tuple(noise.shape) != (cond.shape[0], D):
        raise ValueError(f"`noise` must have shape ({cond.shape[0]}, {D}), got {tuple(noise.shape)}")
    x = noise.to(cond.device)
    if init_strength is not None:
        start = cond[:, -D:] * math.sqrt(D)  # the prior x0, in network units
        tt = torch.full((cond.shape[0],), int(sched.timesteps[0]), device=cond.device, dtype=torch.long)
        x = scheduler.add_noise(start, x, tt)
    guided = guidance_scale != 1.0
    null = torch.ones(cond.shape[0], dtype=torch.bool, device=cond.device)
    # the condition's projections are the same at every step: computed once (CSUNet.fixed_condition)
    fixed = net.fixed_condition(cond) if hasattr(net, "fixed_condition") else nullcontext()
    with fixed:
        for t in sched.timesteps.tolist():
            tt = torch.full((cond.shape[0],), t, device=cond.device, dtype=torch.long)
            x0 = to_x0(net(x, tt, cond), tt, x)
            if guided:  # classifier-free guidance: x0_u + w (x0_c - x0_u)
                x0_u = to_x0(net(x, tt, cond, null), tt, x)
                x0 = x0_u + guidance_scale * (x0 - x0_u)
            x = sched.step(x0, t, x, generator=g).prev_sample
            if bar is not None:
                bar.update()
    return x / scale
