"""The benchmark suite of shdd_geo: ``python -m benchmarks quick | full | report | list``.

Layout:

``benchmarks/perf/``
    Speed and memory; each case is compared with a peer measured in the same
    run (SH basis vs its NumPy path, sphericart and scipy; coarse-to-fine vs
    dense decode; HEALPix synthesis paths; DDPM vs DDIM; ``locate`` with and
    without the retrieval hybrid; ...).
``benchmarks/accuracy/``
    One runner over tasks x methods x splits (``python -m benchmarks.accuracy``):
    GeoNames names, Blue Marble tiles, decoding drift (paper Table 6),
    resolution vs L (A.3), anchors (Table 2), losses (Table 7).
``benchmarks/recipes/``
    The pipelines that build the shipped models (incl. the GPU scripts).
``benchmarks/studies/``
    One-off studies behind the dated notes in ``docs/notes/``.
``benchmarks/common.py``
    The helpers the scripts share (the only module they import from each
    other): result records with run metadata, data, splits, methods.
``benchmarks/suite.py``, ``benchmarks/report.py``
    The jobs of the quick and full tiers, and the generator of the results
    page ``docs/benchmarks.md``.
``benchmarks/results/<job>-<tier>.jsonl``
    The result store: one JSON line per case with git sha, machine, seed,
    command, timestamp and load average at start and end of its run.
"""
