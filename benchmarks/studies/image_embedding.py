"""Benchmark: image-embedding throughput of EfficientNet-lite0 on Blue Marble tiles (CPU).

Cases (one JSON line each): wall-clock images/s, and images per CPU-second
of this process (all its threads), which is far less sensitive to other jobs
on a shared machine; ``ratio_vs_model_only`` compares CPU-time throughputs
with the ``model_only`` peer measured in the same run:

* ``model_only``: the network alone on ready ``(32, 3, 224, 224)`` tensors
  (channels-last layout, as the encoder runs it);
* ``model_only_contiguous``: the same in PyTorch's default NCHW layout;
* ``arrays``: ``EfficientNetLite0Encoder.embed`` on uint8 ``(224, 224, 3)``
  tile arrays (Pillow preprocessing + network + normalisation);
* ``jpeg_files``: the same tiles read from JPEG files (adds decoding);
* ``jpeg_files_workers``: the same with ``num_workers=2`` decoding threads;
* ``tile_cutting``: cutting 224 px gnomonic tiles from the mosaic (tiles/s;
  ratio: tiles/s over the ``arrays`` images/s).

Inputs are ``--n`` real tiles at seeded equal-area centres (seed 0).

Not part of the suite: it times the encoder's private pieces
(``shdd_geo.encoders._imageprep.preprocess_batch`` and ``_forward``), for
which shdd_geo has no public name.

Run: ``python -m benchmarks.studies.image_embedding --threads 2 --batch 32 --n 256``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Best wall time of ``repeats`` calls and the process CPU time of that call [s].

    CPU time (all threads of this process) is much less sensitive than wall
    time to other jobs on a shared machine: ``n / cpu_seconds`` is the
    throughput per fully available core.
    """
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = min(best, (wall, cpu))
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--batch", type=int, default=32, help="images per forward pass")
    p.add_argument("--n", type=int, default=256, help="images per case")
    p.add_argument("--size", type=int, default=224, help="tile and input size [px]")
    p.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    a = p.parse_args()

    import torch
    from PIL import Image

    from shdd_geo.datasets import bluemarble
    from shdd_geo.encoders._imageprep import preprocess_batch
    from shdd_geo.encoders.image import EfficientNetLite0Encoder

    torch.set_num_threads(a.threads)
    common = {"threads": a.threads, "batch": a.batch, "size": a.size, "n": a.n,
              "cpu_count": os.cpu_count(), "torch": torch.__version__}
    bluemarble.load_bluemarble()  # decode the mosaic once, outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    tiles = bluemarble.cut_tiles(a.n, size=a.size, fov_deg=10.0, rng=0)
    cut_s, cut_cpu = time.perf_counter() - t0, time.process_time() - c0
    enc = EfficientNetLite0Encoder(device="cpu", image_size=a.size, crop_fraction=1.0)
    imgs = list(tiles.images)
    enc.embed(imgs[: a.batch], batch_size=a.batch, progress=False)  # load + warm up

    x = torch.from_numpy(preprocess_batch([Image.fromarray(i) for i in imgs[: a.batch]], enc.preprocess))

    def model_only() -> None:  # the encoder's own forward (channels-last network) on ready tensors
        with torch.inference_mode():
            for _ in range(0, a.n, a.batch):
                enc._forward(x)

    rates: dict[str, float] = {}

    def report(case: str, timing: tuple[float, float], **extra: object) -> None:
        seconds, cpu = timing
        rates[case] = a.n / cpu  # compare cases by CPU time (robust to other jobs)
        ratio = rates[case] / rates["model_only"] if "model_only" in rates else 1.0
        print(json.dumps({"case": case, "seconds": round(seconds, 3), "images_per_s": round(a.n / seconds, 1),
                          "cpu_seconds": round(cpu, 3), "images_per_cpu_s": round(rates[case], 2),
                          "ratio_vs_model_only": round(ratio, 3), "load_avg_1m": round(os.getloadavg()[0], 2),
                          **common, **extra}), flush=True)

    def model_only_contiguous() -> None:  # the same network in the default (NCHW-contiguous) layout
        net = enc.model.to(memory_format=torch.contiguous_format)
        try:
            with torch.inference_mode():
                for _ in range(0, a.n, a.batch):
                    net.extract_features(x).mean(dim=(2, 3))
        finally:
            net.to(memory_format=torch.channels_last)

    report("model_only", _timed(model_only, a.repeats))
    report("model_only_contiguous", _timed(model_only_contiguous, a.repeats))
    report("arrays", _timed(lambda: enc.embed(imgs, batch_size=a.batch, progress=False), a.repeats))
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for k, im in enumerate(imgs):
            paths.append(os.path.join(d, f"{k:05d}.jpg"))
            Image.fromarray(im).save(paths[-1], quality=90)
        report("jpeg_files", _timed(lambda: enc.embed(paths, batch_size=a.batch, progress=False), a.repeats))
        report("jpeg_files_workers", _timed(
            lambda: enc.embed(paths, batch_size=a.batch, progress=False, num_workers=2), a.repeats))
    per_cpu_s = a.n / cut_cpu
    print(json.dumps({"case": "tile_cutting", "seconds": round(cut_s, 3), "tiles_per_s": round(a.n / cut_s, 1),
                      "cpu_seconds": round(cut_cpu, 3), "tiles_per_cpu_s": round(per_cpu_s, 1),
                      "ratio_vs_arrays_embedding": round(per_cpu_s / rates["arrays"], 2),
                      "load_avg_1m": round(os.getloadavg()[0], 2), **common}), flush=True)


if __name__ == "__main__":
    main()
