"""Networks of LocDiffusion: the C-Siren module and the CS-UNet (paper §4.5, Figure 2).

C-Siren (Figure 2a), for a latent ``x`` (width ``d_i``), a condition embedding
``e_I`` (width ``d_I``) and a diffusion timestep ``t``::

    h_x = W_x x                      h_I = W_I e_I
    (alpha_t, eps_t) = MLP(sinusoidal(t))          # width d_T -> 2 d_o
    h_x <- (1 + alpha_t) * h_x + eps_t             # unconditional denoising step
    h   = W_o (h_x + h_I)                          # guided by the condition
    out = dropout(sin(omega_0 h))                  # width d_o

Initialisation follows SIREN (Sitzmann et al. 2020): the layer feeding a sine,
``W_o``, is drawn from ``U(-1/n, 1/n)`` in the first module (its input is not a
sine output) and from ``U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0)`` in later
modules, ``n`` being its fan-in.  The projections ``W_x``, ``W_I`` and the time
MLP are plain linear maps initialised to preserve variance
(``U(-sqrt(3/n), sqrt(3/n))``), so that the sum ``h_x + h_I`` keeps the scale
the SIREN rule assumes.  Dropout acts on the module output (after the sine):
zeroing a unit there is the same as zeroing its pre-activation (``sin 0 = 0``),
but the 1/(1-p) rescaling then changes amplitudes rather than frequencies.

CS-UNet (Figure 2b): ``depth`` C-Siren modules narrow the latent from ``width``
(the paper's ``d``, by default ``D = (L+1)**2``) geometrically to the
bottleneck ``bottleneck`` (the paper's ``w``), ``depth`` more widen it back,
each widening module also receiving the output of its mirrored narrowing
module (UNet skip connection, concatenated), and a final linear head maps to
``D`` unbounded outputs (the predicted clean coefficients ``x0``; a sine would
bound them to [-1, 1]).  The paper's Table 8 setting "w = 32, d = 6" is
``bottleneck=32, depth=3`` (six C-Siren modules).
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["CSiren", "CSUNet", "sinusoidal_embedding", "unet_widths"]


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Transformer-style sinusoidal embedding of timesteps, shape ``(B, dim)``.

    ``[cos(t f_k), sin(t f_k)]`` with ``f_k = max_period ** (-k / (dim/2))``
    (Vaswani et al. 2017; used for diffusion timesteps by Ho et al. 2020).

    Examples
    --------
    >>> sinusoidal_embedding(torch.tensor([0, 10]), 8).shape
    torch.Size([2, 8])
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def _uniform_(weight: torch.Tensor, bound: float) -> None:
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def _linear(n_in: int, n_out: int, bound: float | None = None) -> nn.Linear:
    """Linear layer with ``U(-bound, bound)`` weights (variance-preserving default) and zero bias."""
    layer = nn.Linear(n_in, n_out)
    _uniform_(layer.weight, math.sqrt(3.0 / n_in) if bound is None else bound)
    nn.init.zeros_(layer.bias)
    return layer


class CSiren(nn.Module):
    """Conditional SIREN module (paper Figure 2a).

    Parameters
    ----------
    d_in, d_out : int
        Widths of the input latent and of the output.
    d_cond : int
        Width of the condition embedding ``e_I``.
    d_time : int
        Width of the (shared) time features this module receives.
    omega_0 : float
        Sine frequency factor (SIREN's ``omega_0``).
    first : bool
        Use SIREN's first-layer initialisation for ``W_o``.
    dropout : float
        Dropout probability on the output.

    Examples
    --------
    >>> m = CSiren(16, 8, d_cond=4, d_time=6)
    >>> m(torch.zeros(2, 16), torch.zeros(2, 4), torch.zeros(2, 6)).shape
    torch.Size([2, 8])
    """

    def __init__(self, d_in: int, d_out: int, *, d_cond: int, d_time: int, omega_0: float = 30.0,
                 first: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.omega_0 = float(omega_0)
        self.w_x = _linear(d_in, d_out)
        self.w_i = _linear(d_cond, d_out)
        self.time = _linear(d_time, 2 * d_out)
        bound = 1.0 / d_out if first else math.sqrt(6.0 / d_out) / self.omega_0
        self.w_o = _linear(d_out, d_out, bound)
        self.dropout = nn.Dropout(dropout)

    def pre_activation(self, x: torch.Tensor, cond: torch.Tensor, temb: torch.Tensor,
                       h_i: torch.Tensor | None = None) -> torch.Tensor:
        """``omega_0 * W_o (h_x + h_I)``: the argument of the sine.  ``h_i``: ``W_I cond`` computed
        before (the same for every step of a reverse chain); ``temb`` may be one row for all."""
        h_x = self.w_x(x)
        alpha, shift = self.time(temb).chunk(2, dim=-1)
        h_x = (1.0 + alpha) * h_x + shift
        return self.omega_0 * self.w_o(h_x + (self.w_i(cond) if h_i is None else h_i))

    def forward(self, x: torch.Tensor, cond: torch.Tensor, temb: torch.Tensor,
                h_i: torch.Tensor | None = None) -> torch.Tensor:
        return self.dropout(torch.sin(self.pre_activation(x, cond, temb, h_i)))


def unet_widths(width: int, bottleneck: int, depth: int) -> list[int]:
    """Widths of the narrowing path: ``depth`` values from ``width`` down to ``bottleneck``.

    Geometric interpolation; the last value is ``bottleneck``.

    Examples
    --------
    >>> unet_widths(1024, 32, 3)
    [323, 102, 32]
    """
    if depth < 1:
        raise ValueError(f"`depth` must be >= 1, got {depth}")
    if bottleneck < 1 or width < 1:
        raise ValueError(f"`width` and `bottleneck` must be >= 1, got {width} and {bottleneck}")
    ratio = bottleneck / width
    return [max(1, round(width * ratio ** ((k + 1) / depth))) for k in range(depth)]


class CSUNet(nn.Module):
    """Conditional SIREN UNet (paper Figure 2b): predicts clean SHDD coefficients.

    Parameters
    ----------
    dim : int
        Latent width ``D = (L+1)**2`` (input and output).
    cond_dim : int
        Width of the condition embedding (768 for CLIP ViT-L/14).
    width : int, optional
        Width of the outer level (the paper's ``d``); default ``dim``.
    bottleneck : int
        Narrowest width ``w``.
    depth : int
        Number of narrowing (and of widening) C-Siren modules.
    time_dim : int
        Width of the sinusoidal time embedding ``d_T``.
    omega_0, dropout : float
        SIREN frequency factor and dropout probability.
    prior_dim : int
        Retrieval conditioning: the last ``prior_dim`` (``= dim``) columns of
        the condition are a prior ``x0`` divided by ``sqrt(dim)``, and the
        network predicts the residual on it (``x0 = prior + head(h)``; the
        prior is zeroed where the condition is dropped).  0: no residual.

    Examples
    --------
    >>> net = CSUNet(16, 4, bottleneck=4, depth=2, time_dim=8)
    >>> net(torch.zeros(3, 16), torch.tensor([0, 5, 9]), torch.zeros(3, 4)).shape
    torch.Size([3, 16])
    """

    @classmethod
    def from_params(cls, params: dict, n_features: int) -> "CSUNet":
        """The denoiser of a LocDiffusion with hyper-parameters ``params`` (its ``get_params()``).

        ``D = (L + 1)**2``; the condition is the ``n_features``-d embedding,
        plus the ``D``-d retrieval prior when ``retrieval_k`` > 0, which an
        x0 (``prediction="sample"``) network also adds to its output.

        Examples
        --------
        >>> p = dict(L=3, width=None, bottleneck=8, depth=1, time_dim=8, omega_0=30.0, dropout=0.0,
        ...          retrieval_k=4, prediction="sample")
        >>> net = CSUNet.from_params(p, 5)
        >>> net.dim, net.cond_dim, net.prior_dim
        (16, 21, 16)
        """
        D = (params["L"] + 1) ** 2
        rc = bool(params["retrieval_k"])
        return cls(D, n_features + (D if rc else 0), width=params["width"], bottleneck=params["bottleneck"],
                   depth=params["depth"], time_dim=params["time_dim"], omega_0=params["omega_0"],
                   dropout=params["dropout"], prior_dim=D if rc and params["prediction"] == "sample" else 0)

    def __init__(self, dim: int, cond_dim: int, *, width: int | None = None, bottleneck: int = 128,
                 depth: int = 3, time_dim: int = 200, omega_0: float = 30.0, dropout: float = 0.3,
                 prior_dim: int = 0) -> None:
        super().__init__()
        if prior_dim not in (0, dim) or prior_dim > cond_dim:
            raise ValueError(f"`prior_dim` must be 0 or `dim`={dim} (and <= `cond_dim`={cond_dim}), got {prior_dim}")
        self.prior_dim = int(prior_dim)
        width = dim if width is None else int(width)
        self.dim, self.cond_dim, self.time_dim = int(dim), int(cond_dim), int(time_dim)
        self.time_mlp = nn.Sequential(_linear(time_dim, time_dim), nn.SiLU())
        #: Learned "no condition" embedding for classifier-free guidance.
        self.null_cond = nn.Parameter(torch.zeros(cond_dim))
        kw = dict(d_cond=cond_dim, d_time=time_dim, omega_0=omega_0, dropout=dropout)
        down = unet_widths(width, bottleneck, depth)
        ins = [dim] + down[:-1]
        self.down = nn.ModuleList(
            CSiren(i, o, first=(k == 0), **kw) for k, (i, o) in enumerate(zip(ins, down))
        )
        # Widening path: from the bottleneck back to `width`; module k gets the
        # previous output concatenated with the mirrored narrowing output.
        ups = down[-2::-1] + [width]
        skips = down[::-1]
        prev = [down[-1]] + ups[:-1]
        self.up = nn.ModuleList(CSiren(p + s, o, **kw) for p, s, o in zip(prev, skips, ups))
        self.head = _linear(width, dim)
        self._fixed = None  # (cond, its W_I projections) while fixed_condition is active

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                drop_cond: torch.Tensor | None = None) -> torch.Tensor:
        """Predict ``x0`` from the noisy latent ``x`` ``(B, dim)`` at integer steps ``t`` ``(B,)``.

        ``drop_cond`` (bool ``(B,)``) replaces the condition of the marked rows by
        the learned null embedding (classifier-free guidance).
        """
        prior = None
        if self.prior_dim:
            prior = cond[:, -self.prior_dim:] * math.sqrt(self.prior_dim)
            if drop_cond is not None:
                prior = torch.where(drop_cond[:, None], torch.zeros_like(prior), prior)
        if drop_cond is not None:
            cond = torch.where(drop_cond[:, None], self.null_cond.to(cond.dtype)[None, :], cond)
        same_t = not self.training and t.numel() > 1 and bool((t == t[0]).all())
        # one step of a reverse chain: every row has the same t, so one row of time features serves all
        temb = self.time_mlp(sinusoidal_embedding(t[:1] if same_t else t, self.time_dim).to(x.dtype))
        fx = self._fixed  # read once: another thread may end its block meanwhile (then: computed here)
        fixed = fx if drop_cond is None and fx is not None and fx[0] is cond else None
        h_i = fixed[1] if fixed is not None else [None] * (len(self.down) + len(self.up))
        h, skips = x, []
        for k, mod in enumerate(self.down):
            h = mod(h, cond, temb, h_i[k])
            skips.append(h)
        for k, (mod, skip) in enumerate(zip(self.up, reversed(skips)), start=len(self.down)):
            h = mod(torch.cat([h, skip], dim=-1), cond, temb, h_i[k])
        out = self.head(h)
        return out if prior is None else out + prior.to(out.dtype)

    @contextmanager
    def fixed_condition(self, cond: torch.Tensor):
        """Within the block, calls with this very ``cond`` tensor (and no dropped rows) reuse its
        projections ``W_I cond`` of every module, computed once: a reverse chain asks the network
        the same condition at every step (a fifth of the work of a step).

        Examples
        --------
        >>> net = CSUNet(16, 4, bottleneck=4, depth=2, time_dim=8).eval()
        >>> x, t, c = torch.randn(3, 16), torch.tensor([5, 5, 5]), torch.randn(3, 4)
        >>> with torch.no_grad(), net.fixed_condition(c):
        ...     fast = net(x, t, c)
        >>> bool(torch.allclose(fast, net(x, t, c), atol=1e-6))
        True
        """
        mods = [*self.down, *self.up]
        with torch.no_grad():
            self._fixed = (cond, [mod.w_i(cond) for mod in mods])
        try:
            yield self
        finally:
            self._fixed = None
