"""A plain supervised training loop shared by the classification and regression baselines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._base import minibatches, predict_in_batches

__all__ = ["forward_numpy", "train_supervised"]


def train_supervised(
    net: Any,
    X: np.ndarray,
    y: Any,
    loss_fn: Callable[[Any, Any], Any],
    est: Any,
    generator: Any,
) -> list[float]:
    """Train ``net`` on ``(X, y)`` with AdamW; returns the mean loss per epoch.

    ``est`` supplies ``epochs``, ``batch_size``, ``lr``, ``weight_decay``,
    ``device`` and ``verbose``.
    """
    import torch

    dev = torch.device(est.device)
    net.to(dev).train()
    opt = torch.optim.AdamW(net.parameters(), lr=est.lr, weight_decay=est.weight_decay)
    Xt = torch.from_numpy(X)
    history = []
    for epoch in range(int(est.epochs)):
        total, count = 0.0, 0
        for idx in minibatches(len(X), int(est.batch_size), generator):
            loss = loss_fn(net(Xt[idx].to(dev)), y[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, count = total + float(loss.detach()) * len(idx), count + len(idx)
        history.append(total / count)
        if est.verbose:
            print(f"epoch {epoch + 1}/{est.epochs}: loss {history[-1]:.4f}")
    net.eval()
    return history


def forward_numpy(net: Any, X: np.ndarray, post: Callable[[Any], Any] | None = None) -> np.ndarray:
    """Run ``net`` (optionally followed by ``post``) on ``X`` in blocks, in inference mode."""
    import torch

    dev = next(net.parameters()).device

    def run(block: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = net(torch.from_numpy(block).to(dev))
            if post is not None:
                out = post(out)
            return out.float().cpu().numpy()

    return predict_in_batches(run, X, 8192)
