"""Resolution of the SHDD encoding vs the truncation degree L.

Prints the reST table pasted into ``docs/method.rst``::

    python docs/dev/resolution_table.py

For each L it reports

* the half width at half maximum (HWHM) [km] of the zonal kernel
  ``K_L(gamma) = sum_l (2l+1)/(4 pi) P_l(cos gamma)``
  (:func:`shdd_geo.sh.zonal_kernel`), i.e. of ``f_{E(p)}`` seen at angle gamma
  from ``p``: the smallest gamma with ``K_L(gamma) = K_L(0) / 2``;
* the HWHM [km] of the density ``q_{E(p)} = exp(f_{E(p)}) / Z``: the smallest
  gamma with ``K_L(gamma) = K_L(0) - ln 2``;
* the paper's rule of thumb ``20000 / L`` [km] (appendix A.3);
* the encoding dimension ``D = (L+1)**2`` and the peak ``K_L(0) = D / (4 pi)``.

Both widths are found by bracketing the first crossing on a fine grid and
refining it with Brent's method (to 1e-12 rad).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.sh import zonal_kernel

DEGREES = (15, 23, 31, 47, 63, 100)


def first_crossing(L: int, level: float) -> float:
    """Smallest angle [rad] where ``zonal_kernel`` falls to ``level``."""
    gamma = np.linspace(0.0, math.pi, 200_001)
    k = zonal_kernel(np.cos(gamma), L)
    below = np.flatnonzero(k <= level)
    if below.size == 0:
        raise ValueError(f"the kernel never falls to {level} for L={L}")
    i = int(below[0])

    def g(x: float) -> float:
        return float(zonal_kernel(np.cos(x), L)) - level

    return brentq(g, gamma[i - 1], gamma[i], xtol=1e-12)


def rows(degrees=DEGREES) -> list[tuple]:
    """``(L, D, peak, kernel HWHM km, density HWHM km, 20000/L km)`` per degree."""
    out = []
    for L in degrees:
        peak = float(zonal_kernel(1.0, L))
        hw_kernel = first_crossing(L, peak / 2) * EARTH_RADIUS_KM
        hw_density = first_crossing(L, peak - math.log(2.0)) * EARTH_RADIUS_KM
        out.append((L, (L + 1) ** 2, peak, hw_kernel, hw_density, 20000.0 / L))
    return out


def table(degrees=DEGREES) -> str:
    """The reST ``list-table`` pasted into ``docs/method.rst``."""
    lines = [
        ".. list-table:: Resolution of the SHDD encoding",
        "   :header-rows: 1",
        "   :widths: 8 10 14 22 22 16",
        "",
        "   * - L",
        "     - D = (L+1)²",
        "     - peak f(p) = D/4π",
        "     - HWHM of f_E(p) [km]",
        "     - HWHM of q_E(p) [km]",
        "     - 20000/L [km]",
    ]
    for L, D, peak, hk, hd, rule in rows(degrees):
        lines += [
            f"   * - {L}",
            f"     - {D}",
            f"     - {peak:.1f}",
            f"     - {hk:.0f}",
            f"     - {hd:.1f}",
            f"     - {rule:.0f}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
