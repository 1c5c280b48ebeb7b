"""The reverse diffusion chain of LocDiffusion: DDPM/DDIM steps with classifier-free guidance.

:meth:`LocDiffusion.sample <shdd_geo.model.LocDiffusion.sample>` hands its
conditions to :func:`draw_samples`, which checks the options, repeats each
condition ``n_samples`` times and runs :func:`reverse_chain` on chunks of
those rows: with one generator for the batch, all rows in one chain; with one
generator per condition (:func:`condition_generators`), deterministic DDIM
chains still run as one batch (each row's starting noise drawn from its
condition's generator) and stochastic ones one condition at a time.  Each
reverse step

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

import numpy as np
import torch

from .._progress import progress_bar
from .._validation import check_int, check_option, check_real
from .scheduler import make_scheduler

__all__ = ["condition_generators", "draw_samples", "make_generator", "reverse_chain", "stepping_scheduler"]


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


def make_generator(generator, device) -> torch.Generator:
    """A torch generator on ``device``: ``generator`` itself, or one seeded from an int seed (None: fresh entropy).

    An int is not used as the torch seed directly: it seeds a NumPy
    ``SeedSequence``, whose first 63-bit word seeds the generator.

    Examples
    --------
    >>> a, b = make_generator(0, "cpu"), make_generator(0, "cpu")
    >>> torch.equal(torch.randn(3, generator=a), torch.randn(3, generator=b))
    True
    """
    if isinstance(generator, torch.Generator):
        return generator
    if generator is None or isinstance(generator, (int, np.integer)):
        seed = np.random.SeedSequence(generator).generate_state(1, np.uint64)[0] >> np.uint64(1)
        return torch.Generator(device=device).manual_seed(int(seed))
    raise TypeError(f"`generator` must be None, an int seed or a torch.Generator, got {type(generator).__name__}")


def condition_generators(generator, n: int, device) -> list[torch.Generator] | None:
    """One generator per condition for a sequence ``generator`` (length ``n``), else None (one for the batch).

    Examples
    --------
    >>> condition_generators(0, 2, "cpu") is None
    True
    >>> len(condition_generators([0, 1], 2, "cpu"))
    2
    """
    if generator is None or isinstance(generator, (int, np.integer, torch.Generator)):
        return None
    if isinstance(generator, (str, bytes)) or not hasattr(generator, "__len__"):
        raise TypeError("`generator` must be None, an int seed, a torch.Generator or a sequence of them "
                        f"(one per condition), got {type(generator).__name__}")
    if len(generator) != n:
        raise ValueError(f"`generator` has {len(generator)} entries but `X` has {n} rows: give one per row")
    return [make_generator(g, device) for g in generator]


def draw_samples(net, scheduler, cond: torch.Tensor, n_samples: int, *, n_coeffs: int, scale: float,
                 steps: int | None = None, sampler: str = "ddim", guidance_scale: float = 1.0, eta: float = 0.0,
                 generator=None, max_batch: int = 8192, init: str = "noise", init_strength: float = 0.5,
                 progress: bool | None = None, retrieval: bool = False, guidance: bool = False) -> np.ndarray:
    """``n_samples`` coefficient vectors per row of ``cond``: float32, shape ``(B, n_samples, n_coeffs)``.

    The options are those of :meth:`LocDiffusion.sample
    <shdd_geo.model.LocDiffusion.sample>`, checked here; ``retrieval``: the
    model is retrieval-conditioned (``init="prior"`` allowed); ``guidance``:
    it was trained with a null condition (``guidance_scale`` != 1 allowed).
    The network runs in eval mode and gets its mode back.

    Examples
    --------
    >>> from shdd_geo.model.nn import CSUNet
    >>> from shdd_geo.model.scheduler import SchedulerConfig, make_scheduler
    >>> net = CSUNet(16, 4, bottleneck=8, depth=1, time_dim=8)                # D = 16: L = 3
    >>> train = make_scheduler("ddpm", SchedulerConfig(num_train_timesteps=50))
    >>> draw_samples(net, train, torch.zeros(2, 4), 3, n_coeffs=16, scale=1.0, steps=5, generator=[0, 1]).shape
    (2, 3, 16)
    """
    n = check_int(n_samples, "n_samples", low=1)
    chain, max_batch = _chain_options(scheduler, steps, sampler, guidance_scale, eta, max_batch, init, init_strength,
                                      retrieval=retrieval, guidance=guidance)
    per_chunk = len(stepping_scheduler(scheduler, chain["steps"], sampler, chain["eta"],
                                       chain["init_strength"]).timesteps)
    parts = _chains(cond, n, int(n_coeffs), generator, sampler == "ddim" and chain["eta"] == 0.0, max_batch)
    n_chunks = sum(math.ceil(rows.shape[0] / max_batch) for rows, _, _ in parts)
    was_training = net.training
    net.eval()
    try:
        with progress_bar(n_chunks * per_chunk, "sampling", unit="step", progress=progress) as bar:
            out = [reverse_chain(net, scheduler, rows[i : i + max_batch], n_coeffs, scale, generator=g, bar=bar,
                                 **chain, noise=None if noise is None else noise[i : i + max_batch])
                   for rows, g, noise in parts for i in range(0, rows.shape[0], max_batch)]
    finally:
        net.train(was_training)
    return torch.cat(out).cpu().numpy().reshape(cond.shape[0], n, -1)


def _chain_options(scheduler, steps, sampler, guidance_scale, eta, max_batch, init, init_strength, *,
                   retrieval: bool, guidance: bool) -> tuple[dict, int]:
    """The checked keyword arguments of :func:`reverse_chain`, and ``max_batch``."""
    check_option(sampler, "sampler", ("ddim", "ddpm"))
    guidance_scale = check_real(guidance_scale, "guidance_scale")
    eta = check_real(eta, "eta", low=0.0)
    max_batch = check_int(max_batch, "max_batch", low=1)
    check_option(init, "init", ("noise", "prior"))
    strength = check_real(init_strength, "init_strength", low=0.0, high=1.0, closed="right")
    if init == "prior" and not retrieval:
        raise ValueError("`init`='prior' needs a retrieval-conditioned model (fit with `retrieval_k` > 0)")
    if guidance_scale != 1.0 and not guidance:
        raise ValueError("`guidance_scale` != 1 needs a model trained with `cond_drop` > 0")
    T = scheduler.config.num_train_timesteps
    steps = (100 if sampler == "ddpm" else 20) if steps is None else check_int(steps, "steps", low=1, high=T)
    start = strength if init == "prior" else None
    return dict(steps=steps, sampler=sampler, guidance_scale=guidance_scale, eta=eta, init_strength=start), max_batch


def _chains(cond: torch.Tensor, n: int, D: int, generator, deterministic: bool, max_batch: int) -> list[tuple]:
    """``(rows, generator, starting noise or None)`` of each reverse chain: ``n`` repeats of each condition."""
    gens = condition_generators(generator, cond.shape[0], cond.device)
    if gens is None:  # one generator for the batch
        return [(cond.repeat_interleave(n, dim=0), make_generator(generator, cond.device), None)]
    if deterministic:  # DDIM with eta 0: deterministic after the start, so one batch with each row's own noise
        noise = torch.cat([torch.randn(min(max_batch, n - i), D, generator=g, device=g.device)
                           for g in gens for i in range(0, n, max_batch)])
        return [(cond.repeat_interleave(n, dim=0), gens[0], noise)]
    # stochastic steps draw from each condition's own generator: one condition at a time
    return [(cond[j : j + 1].repeat_interleave(n, dim=0), g, None) for j, g in enumerate(gens)]
