"""GeoCLIP-style contrastive geolocation (Vivanco Cepeda et al., NeurIPS 2023).

Two towers are trained with InfoNCE so that a query embedding and the encoding
of its location agree:

* the **location encoder** projects (lat, lon) with the Equal Earth projection,
  maps it through random Fourier features at several scales
  (σ ∈ {2⁰, 2⁴, 2⁸}), sends each through its own MLP and sums the outputs;
* the **query encoder** is an MLP on the (frozen) text/image embedding.

Negatives are the other locations in the batch plus a **queue** of recent GPS
coordinates (re-encoded at every step, as in GeoCLIP).  Prediction retrieves
the best-matching location from a **GPS gallery** (by default the distinct
training locations).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import Interval, as_real_array
from ..coords import as_latlon, km_to_rad, rad2deg
from ._base import (
    BaseGeolocator,
    TRAINING_CONSTRAINTS,
    check_int,
    check_hidden,
    minibatches,
    mlp,
    predict_in_batches,
    seed_of,
    torch_seeded,
)

__all__ = ["GeoCLIPRetrieval", "equal_earth"]

# Equal Earth projection constants (Šavrič, Patterson & Jenny 2018).
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_GEOCLIP_SCALE = 66.50336 / 180.0  # GeoCLIP's scaling: x in [-1, 1], y in [-0.49, 0.49]


def equal_earth(lat: Any, lon: Any) -> Any:
    """Equal Earth projection of degrees, scaled as in GeoCLIP to about [-1, 1].

    Works on NumPy arrays and torch tensors; returns ``(..., 2)`` = (x, y).

    Examples
    --------
    >>> xy = equal_earth(np.array([0.0, 0.0]), np.array([0.0, 180.0]))
    >>> np.round(xy, 4).tolist()
    [[0.0, 0.0], [1.0, 0.0]]
    """
    torchy = type(lat).__module__.startswith("torch")
    xp = __import__("torch") if torchy else np
    phi, lam = lat * (math.pi / 180.0), lon * (math.pi / 180.0)
    theta = xp.arcsin(math.sqrt(3.0) / 2.0 * xp.sin(phi))
    t2 = theta * theta
    den = 3.0 * (9 * _A4 * t2**4 + 7 * _A3 * t2**3 + 3 * _A2 * t2 + _A1)
    x = 2.0 * math.sqrt(3.0) * lam * xp.cos(theta) / den
    y = theta * (_A4 * t2**4 + _A3 * t2**3 + _A2 * t2 + _A1)
    return xp.stack([x, y], -1) * _GEOCLIP_SCALE


def _build(d_in: int, est: Any, generator: Any) -> tuple[Any, Any, Any]:
    """The query tower, the location tower and the learnable logit scale."""
    import torch
    from torch import nn

    class LocationEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            b = [torch.randn(est.n_fourier, 2, generator=generator) * s for s in est.sigmas]
            self.register_buffer("B", torch.stack(b))  # (S, F, 2)
            self.heads = nn.ModuleList(
                mlp(2 * est.n_fourier, check_hidden(est.hidden), est.dim) for _ in est.sigmas
            )

        def forward(self, lat: Any, lon: Any) -> Any:
            xy = equal_earth(lat, lon)  # (n, 2)
            proj = 2 * math.pi * torch.einsum("nc,sfc->snf", xy, self.B)
            feats = torch.cat([torch.cos(proj), torch.sin(proj)], -1)  # (S, n, 2F)
            out = sum(h(f) for h, f in zip(self.heads, feats))
            return nn.functional.normalize(out, dim=-1)

    query = mlp(d_in, check_hidden(est.hidden), est.dim, est.dropout)
    scale = nn.Parameter(torch.tensor(math.log(1.0 / est.temperature)))
    return query, LocationEncoder(), scale


class GeoCLIPRetrieval(BaseGeolocator):
    """GeoCLIP-style contrastive model retrieving from a GPS gallery.

    Parameters
    ----------
    sigmas : tuple of float
        Random-Fourier-feature scales (GeoCLIP: 2⁰, 2⁴, 2⁸).
    n_fourier : int
        Random frequencies per scale (features: twice that).
    hidden : tuple of int
        Hidden widths of both towers' MLPs.
    dim : int
        Width of the shared (L2-normalised) feature space.
    queue_size : int
        Length of the GPS queue of extra negatives (0 disables it).
    temperature : float
        Initial InfoNCE temperature (its log-inverse is learnt).
    gps_noise_km : float
        Std of the Gaussian jitter added to training locations [km] (GeoCLIP
        augments GPS with ~150 m noise; names of cities warrant more).
    gallery : (lat, lon) or None
        Retrieval gallery [deg]; default: the distinct training locations.
    epochs, batch_size, lr, weight_decay, dropout
        Training settings (AdamW).
    random_state : int or None
        Seed of initialisation, shuffling and noise (global RNG untouched).
    device : str
        Torch device for training and inference.
    verbose : bool
        Print the loss per epoch.

    Attributes
    ----------
    gallery_lat_, gallery_lon_ : numpy.ndarray
        Gallery locations [deg].
    loss_history_ : list of float
        Mean training loss per epoch.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.repeat(np.eye(4, dtype=np.float32), 16, axis=0)
    >>> lat, lon = np.repeat([[-40.0, 0.0, 30.0, 60.0], [-100.0, 0.0, 100.0, 20.0]], 16, axis=1)
    >>> m = GeoCLIPRetrieval(epochs=30, hidden=(64,), dim=32, queue_size=64, random_state=0).fit(X, lat, lon)
    >>> np.round(m.predict(np.eye(4, dtype=np.float32))[0]).tolist()
    [-40.0, 0.0, 30.0, 60.0]
    """

    _fitted_attr = "gallery_feats_"

    def __init__(
        self,
        *,
        sigmas: tuple[float, ...] = (2.0**0, 2.0**4, 2.0**8),
        n_fourier: int = 256,
        hidden: tuple[int, ...] = (512, 512),
        dim: int = 256,
        queue_size: int = 4096,
        temperature: float = 0.07,
        gps_noise_km: float = 1.0,
        gallery: tuple[Any, Any] | None = None,
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 3e-4,
        weight_decay: float = 1e-4,
        dropout: float = 0.0,
        random_state: int | None = 0,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        self.sigmas = sigmas
        self.n_fourier = n_fourier
        self.hidden = hidden
        self.dim = dim
        self.queue_size = queue_size
        self.temperature = temperature
        self.gps_noise_km = gps_noise_km
        self.gallery = gallery
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "sigmas": ["array-like"],
        "n_fourier": [Interval(Integral, 1, None, closed="left")],
        "dim": [Interval(Integral, 1, None, closed="left")],
        "queue_size": [Interval(Integral, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "gps_noise_km": [Interval(Real, 0, None, closed="left")],
        "gallery": [tuple, list, None],
    }

    def _validate_params(self) -> None:
        super()._validate_params()
        s = as_real_array(self.sigmas, "sigmas", finite=False)
        if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError(f"`sigmas` must be a non-empty tuple of positive numbers, got {self.sigmas!r}")

    # -- training ------------------------------------------------------------------
    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        import torch

        dev = torch.device(self.device)
        with torch_seeded(seed_of(self.random_state)) as gen:
            query, loc, scale = _build(X.shape[1], self, gen)
            query, loc, scale = query.to(dev), loc.to(dev), scale.to(dev)
            self.loss_history_ = self._train(query, loc, scale, X, lat, lon, gen, dev)
        self.query_, self.location_encoder_ = query.eval(), loc.eval()
        self.logit_scale_ = float(scale.detach().exp().clamp(max=100.0))
        glat, glon = self._gallery_points(lat, lon)
        self.gallery_lat_, self.gallery_lon_ = glat, glon
        self.gallery_feats_ = self.encode_locations(glat, glon)

    def _train(self, query, loc, scale, X, lat, lon, gen, dev) -> list[float]:
        import torch
        import torch.nn.functional as F

        params = [*query.parameters(), *loc.parameters(), scale]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        Xt = torch.from_numpy(X)
        lat_t, lon_t = torch.from_numpy(lat), torch.from_numpy(lon)
        queue = torch.empty((0, 2), dtype=torch.float64)
        noise_deg = float(rad2deg(km_to_rad(float(self.gps_noise_km))))
        history = []
        query.train(), loc.train()
        for epoch in range(int(self.epochs)):
            total, count = 0.0, 0
            for idx in minibatches(len(X), int(self.batch_size), gen):
                gps = torch.stack([lat_t[idx], lon_t[idx]], 1)
                if noise_deg > 0:
                    gps = _jitter(gps, noise_deg, gen)
                allgps = torch.cat([gps, queue]).to(dev)
                q = F.normalize(query(Xt[idx].to(dev)), dim=-1)
                k = loc(allgps[:, 0].float(), allgps[:, 1].float())
                logits = scale.exp().clamp(max=100.0) * q @ k.T
                loss = F.cross_entropy(logits, torch.arange(len(idx), device=dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                queue = torch.cat([gps, queue])[: int(self.queue_size)]
                total, count = total + float(loss.detach()) * len(idx), count + len(idx)
            history.append(total / count)
            if self.verbose:
                print(f"epoch {epoch + 1}/{self.epochs}: InfoNCE {history[-1]:.4f}")
        return history

    def _gallery_points(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.gallery is None:
            pts = np.unique(np.round(np.stack([lat, lon], 1), 5), axis=0)
            return pts[:, 0].copy(), pts[:, 1].copy()
        try:
            glat, glon = self.gallery
        except (TypeError, ValueError):
            raise TypeError("`gallery` must be a (lat, lon) pair of arrays or None") from None
        return as_latlon(glat, glon, names=("gallery[0]", "gallery[1]"))

    # -- encoders ------------------------------------------------------------------
    def encode_locations(self, lat: Any, lon: Any) -> np.ndarray:
        """Unit feature vectors ``(n, dim)`` float32 of locations [deg]."""
        import torch

        if not hasattr(self, "location_encoder_"):
            self._check_fitted()  # raises: not fitted
        lat_a, lon_a = as_latlon(lat, lon)
        dev = next(self.location_encoder_.parameters()).device

        def enc(block: np.ndarray) -> np.ndarray:
            t = torch.from_numpy(block).to(dev)
            with torch.inference_mode():
                return self.location_encoder_(t[:, 0], t[:, 1]).cpu().numpy()

        pts = np.stack([lat_a, lon_a], 1).astype(np.float32)
        return predict_in_batches(enc, pts, 8192)

    def encode_queries(self, X: Any) -> np.ndarray:
        """Unit feature vectors ``(n, dim)`` float32 of query embeddings."""
        import torch
        import torch.nn.functional as F

        X = self._check_X(X)
        dev = next(self.query_.parameters()).device

        def enc(block: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return F.normalize(self.query_(torch.from_numpy(block).to(dev)), dim=-1).cpu().numpy()

        return predict_in_batches(enc, X, 8192)

    # -- prediction ----------------------------------------------------------------
    def gallery_scores(self, X: Any) -> np.ndarray:
        """Logits ``(n, n_gallery)`` float32: scaled cosine similarity to each gallery point."""
        return self.logit_scale_ * (self.encode_queries(X) @ self.gallery_feats_.T)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax over the gallery ``(n, n_gallery)``; columns follow ``gallery_lat_``.

        Examples
        --------
        >>> m = GeoCLIPRetrieval(epochs=1, hidden=(8,), dim=4, n_fourier=4).fit(np.eye(2), [0.0, 9.0], [0.0, 9.0])
        >>> m.predict_proba(np.eye(2)).sum(axis=1).round(5).tolist()
        [1.0, 1.0]
        """
        z = self.gallery_scores(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def candidates(self, X: Any, k: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-``k`` gallery locations ``(lat, lon, prob)``, each ``(n, k)``, best first.

        ``prob`` is the probability under :meth:`predict_proba` (rows need not
        sum to 1); computed in blocks of queries, so memory stays bounded.
        """
        self._check_fitted()
        k = min(check_int(k, "k"), len(self.gallery_lat_))
        q = self.encode_queries(X)

        def block(qb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            z = self.logit_scale_ * (qb @ self.gallery_feats_.T).astype(np.float64)
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            idx = np.argsort(-p, axis=1, kind="stable")[:, :k]
            return idx, np.take_along_axis(p, idx, 1)

        idx, prob = predict_in_batches(block, q, 512)
        return self.gallery_lat_[idx], self.gallery_lon_[idx], prob

    def predict_field(
        self, X: Any, nside: int = 64, *, top_k: int = 64, bandwidth_km: float | None = None
    ) -> Any:
        """Batch :class:`~shdd_geo.fields.SphericalField` from the gallery probabilities.

        Row ``i`` is a von Mises-Fisher kernel density over query ``i``'s
        ``top_k`` most probable gallery points, weighted by their (renormalised)
        probabilities.

        Examples
        --------
        >>> m = GeoCLIPRetrieval(epochs=1, hidden=(8,), dim=4, n_fourier=4).fit(np.eye(2), [0.0, 9.0], [0.0, 9.0])
        >>> round(float(m.predict_field(np.eye(2), nside=8).integral()[1]), 6)
        1.0
        """
        from ._fields import points_field

        lat, lon, p = self.candidates(X, top_k)
        return points_field(lat, lon, p / p.sum(axis=1, keepdims=True), nside, bandwidth_km)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = self.encode_queries(X)
        best = predict_in_batches(lambda b: np.argmax(b @ self.gallery_feats_.T, axis=1), q, 1024)
        return self.gallery_lat_[best].copy(), self.gallery_lon_[best].copy()


def _jitter(gps: Any, noise_deg: float, gen: Any) -> Any:
    """Gaussian jitter [deg] on (lat, lon), longitude scaled by 1/cos(lat)."""
    import torch

    eps = torch.randn(gps.shape, generator=gen, dtype=gps.dtype) * noise_deg
    lat = (gps[:, 0] + eps[:, 0]).clamp(-90.0, 90.0)
    coslat = torch.cos(torch.deg2rad(gps[:, 0])).clamp(min=1e-3)
    lon = torch.remainder(gps[:, 1] + eps[:, 1] / coslat + 180.0, 360.0) - 180.0
    return torch.stack([lat, lon], 1)
