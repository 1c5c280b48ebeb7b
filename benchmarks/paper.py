"""The paper's published figures that the results page compares against.

These are constants quoted from the paper (Wang et al., "LocDiffusion:
Identifying locations on Earth by diffusing in the Hilbert space"; see
/work/shared/SPEC.md section 7), not results of this project: every figure of
ours on the page comes from a result file in ``benchmarks/results/``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PAPER", "Claim"]


class Claim(NamedTuple):
    where: str  # table / section of the paper
    text: str  # the claim in words
    value: float | None = None  # the number, when the claim has one


PAPER = {
    "drift_km": Claim("Table 6", "SHDD decoding drift under N(0, 0.01) noise on the encoding: 5.3 km", 5.3),
    "resolution": Claim("A.3", "resolution about 20000 / L km; L capped at 47 by numerical instability"),
    "anchors": Claim("Table 2", "decoding changes by at most 3.4 % between 21k and 1M grid anchors; "
                                "retrieval drops 34-61 % at 200 km on a grid gallery", 3.4),
    "table1": Claim("Table 1", "LocDiffusion beats retrieval and classification at 200-2500 km"),
    "losses": Claim("Table 7", "SHDD-KL beats the L1, L2 and cosine losses"),
    "sampling": Claim("A.6", "inference 0.056 s per image with DDPM-100 on a GPU", 0.056),
}
