"""A light MiniLM (BERT) forward pass: ``tokenizers`` + torch, no transformers import.

Importing sentence-transformers costs ~4-7 s (it pulls in transformers and
more), most of the budget of a one-shot ``shdd-geo locate``.  The bundled
all-MiniLM-L6-v2 is a plain 6-layer BERT with mean pooling, so this module
runs it directly from the package's ``tokenizer.json`` and
``model.safetensors``.  ``tests/test_encoders_text.py`` checks it against
sentence-transformers (the brute-force twin) to 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["MiniLMLite"]


class MiniLMLite:
    """BERT encoder + mean pooling over a local sentence-transformers folder.

    Offers the subset of ``SentenceTransformer.encode`` that
    :class:`~shdd_geo.encoders.TextEncoder` uses.
    """

    def __init__(self, model_dir: str | Path, device: str = "cpu", max_seq_length: int | None = None) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text())
        st_cfg = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(max_seq_length or st_cfg.get("max_seq_length", 256))
        self.heads, self.layers = int(cfg["num_attention_heads"]), int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        self.device = torch.device(device)
        self.w = {k: v.to(self.device, torch.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(self.max_seq_length)
        tok.enable_padding(pad_id=int(cfg.get("pad_token_id", 0)), pad_token="[PAD]")
        self.tokenizer = tok

    def _linear(self, x, name: str):
        import torch.nn.functional as F

        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _norm(self, x, name: str):
        import torch.nn.functional as F

        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def _forward(self, ids, mask, types):
        import torch
        import torch.nn.functional as F

        B, T = ids.shape
        e = "embeddings."
        pos = torch.arange(T, device=ids.device)
        h = (self.w[e + "word_embeddings.weight"][ids] + self.w[e + "position_embeddings.weight"][pos]
             + self.w[e + "token_type_embeddings.weight"][types])
        h = self._norm(h, e + "LayerNorm")
        attn_mask = mask[:, None, None, :].bool()
        split = lambda x: x.view(B, T, self.heads, -1).transpose(1, 2)  # noqa: E731
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (split(self._linear(h, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(B, T, -1)
            h = self._norm(h + self._linear(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            inter = F.gelu(self._linear(h, p + "intermediate.dense"))
            h = self._norm(h + self._linear(inter, p + "output.dense"), p + "output.LayerNorm")
        m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)

    def encode(self, items, *, batch_size: int = 256, show_progress_bar: bool = False,
               convert_to_numpy: bool = True, normalize_embeddings: bool = True) -> np.ndarray:
        """Mean-pooled (optionally L2-normalised) embeddings, ``(n, 384)`` float32."""
        import torch

        order = np.argsort([-len(s) for s in items], kind="stable")  # similar lengths share a batch
        out = np.empty((len(items), self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        starts = range(0, len(items), batch_size)
        if show_progress_bar:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="MiniLM", unit="batch")
        with torch.inference_mode():
            for lo in starts:
                idx = order[lo : lo + batch_size]
                enc = self.tokenizer.encode_batch([items[i] for i in idx])
                t = lambda a: torch.tensor(a, dtype=torch.long, device=self.device)  # noqa: E731
                pooled = self._forward(t([x.ids for x in enc]), t([x.attention_mask for x in enc]),
                                       t([x.type_ids for x in enc]))
                if normalize_embeddings:
                    pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[idx] = pooled.cpu().numpy()
        return out
