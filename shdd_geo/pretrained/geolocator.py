"""`Geolocator`: a built-in model's encoder plus its LocDiffusion, raw inputs in, places out.

:meth:`Geolocator.locate` is a pipeline of small named steps, each a method
below: **sample** the diffusion model once, **mix** the location prior and the
name's known namesakes into the map, **find modes** of the samples' own
density, **refine** each mode to the geometric median of the samples around
it, **name places** (the nearest gazetteer place), and **snap** modes onto
known places (a namesake nearby, else the retrieval hybrid's most similar
place name within ``snap_km``, :func:`shdd_geo.baselines.retrieval.top1_near`).

Examples
--------
>>> from shdd_geo.pretrained import load
>>> geo = load("geonames-minilm")
>>> res = geo.locate("Lisbon", k=1, nside=16, n_samples=8)
>>> res["text"], sorted(res["modes"][0])[:3]
('Lisbon', ['country', 'lat', 'lon'])
"""

from __future__ import annotations

import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .._parallel import can_fork, forked_map, process_budget
from .._progress import check_progress, progress_bar
from .._threads import choose_threads, limit_threads
from .._validation import check_int
from ..defaults import DEFAULT_NSIDE, DEFAULT_POINT, DEFAULT_SAMPLES  # the defaults of every door, re-exported
from .registry import ModelCard, make_encoder

__all__ = ["DEFAULT_NSIDE", "DEFAULT_POINT", "DEFAULT_POINT_SAMPLES", "DEFAULT_SAMPLES", "Geolocator",
           "LOCATE_BLOCK", "PLACE_CACHE_MIN_NAMES"]

#: Diffusion samples per point prediction (``predict``): the same as for maps since 0.1.
DEFAULT_POINT_SAMPLES = DEFAULT_SAMPLES
#: Batches of at least this many names embed every gazetteer name once (cached on disk) for the hybrid.
PLACE_CACHE_MIN_NAMES = 300
#: ``locate_many`` runs the diffusion chains of this many inputs as one batch (each with its own seed).
LOCATE_BLOCK = 32
_REFINE_TOL_KM = 0.01  # Weiszfeld's stopping step in the mode refinement: 10 m, far below the answers' spread
_DECODE_ROWS = 64  # samples decoded at once: most of the batch speed-up, a bounded transient peak


class Geolocator:
    """An encoder plus a fitted LocDiffusion: raw inputs in, locations and maps out.

    Parameters
    ----------
    card : ModelCard
        The model's description.
    model : LocDiffusion
        A fitted model whose condition width matches the encoder's.
    device : str
        Torch device for the encoder.

    Examples
    --------
    >>> from shdd_geo.pretrained import load
    >>> geo = load("geonames-minilm")
    >>> lat, lon = geo.predict(["Lisbon"], n_samples=4)
    >>> lat.shape
    (1,)
    """

    def __init__(self, card: ModelCard, model, device: str = "cpu") -> None:
        self.card, self.model, self.device = card, model, device

    def __repr__(self) -> str:
        return f"Geolocator({self.card.name!r}, L={self.model.L})"

    @cached_property
    def encoder(self):
        """The condition encoder (loaded on first use)."""
        return make_encoder(self.card.encoder, self.device, **self.card.encoder_kwargs)

    def embed(self, inputs) -> np.ndarray:
        """Embeddings ``(n, dim)`` of raw inputs: strings for text models; for image
        models image paths, ``PIL`` images or ``(H, W, 3)`` uint8 arrays (one or a list)."""
        if self.card.inputs == "text" and isinstance(inputs, str):
            inputs = [inputs]
        return self.encoder.embed(inputs, progress=False)

    def _labels(self, inputs) -> list[str]:
        """One label per input: the text, an image's file name, or ``image <i>``."""
        if self.card.inputs == "text":
            return [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
        from ..encoders.image import as_image_list

        return [Path(x).name if isinstance(x, (str, os.PathLike)) else f"image {i}"
                for i, x in enumerate(as_image_list(inputs))]

    def predict(self, inputs, *, n_samples: int = DEFAULT_POINT_SAMPLES, point: str = DEFAULT_POINT, generator=0,
                threads: int | None = None, progress: bool | None = None, **kwargs):
        """Point predictions ``(lat, lon)`` [deg] for raw inputs (see ``LocDiffusion.predict``).

        Sampling options (``guidance_scale``, ``steps``...) default to the
        model card's ``sample_kwargs``; keyword arguments override them.
        ``threads``: CPU threads (default: ``$OMP_NUM_THREADS``, else the free
        cores; see :mod:`shdd_geo._threads`).  ``progress``: a bar over the
        sampling steps (default: only when the call runs longer than a few
        seconds; see :ref:`progress-bars`).
        """
        with limit_threads(threads):
            return self.model.predict(self.embed(inputs), n_samples=n_samples, point=point, generator=generator,
                                      progress=progress, **{**self.card.sample_kwargs, **kwargs})

    def predict_field(self, inputs, *, nside: int = DEFAULT_NSIDE, n_samples: int = DEFAULT_SAMPLES, generator=0,
                      namesake_weight: float | None = None, as_xarray: bool = False, threads: int | None = None,
                      progress: bool | None = None, **kwargs):
        """Density maps (a :class:`~shdd_geo.SphericalField` batch, one per input; with
        ``as_xarray=True`` its ``to_xarray()``: a DataArray on ``("query", "cell")``).

        For text models each map is mixed with the density of the name's known
        namesakes (``namesake_weight``, default the model card's; see
        :meth:`locate`).  ``threads`` as in :meth:`predict`; ``progress``: bars
        over the sampling steps, the maps and the namesakes (default: only
        when the call runs longer than a few seconds).
        """
        with limit_threads(threads):
            return self._predict_field(inputs, nside, n_samples, generator, namesake_weight, as_xarray, progress,
                                       kwargs)

    def _predict_field(self, inputs, nside, n_samples, generator, namesake_weight, as_xarray, progress, kwargs):
        w = self._namesake_weight(namesake_weight)
        field = self.model.predict_field(self.embed(inputs), nside=nside, n_samples=n_samples, generator=generator,
                                         progress=progress, **{**self.card.sample_kwargs, **kwargs})
        from ..datasets.gazetteer import mix_namesakes

        labels = self._labels(inputs)
        log = np.asarray(field.log_density)
        names = [None] * len(labels)
        if w > 0:
            with progress_bar(len(labels), "namesakes", unit="name", progress=progress) as bar:
                for i, text in enumerate(labels):
                    names[i] = self._namesake_log(text, field)
                    bar.update()
            log = np.stack([mix_namesakes(row, k, w) for row, k in zip(log, names)])
        field = self._tagged(log, field, labels=labels, known=[self._levels_hold(k) for k in names])
        return field.to_xarray() if as_xarray else field

    def _namesake_weight(self, weight) -> float:
        """The namesake weight to use: the card's by default; 0 for image models."""
        from ..datasets.gazetteer import check_namesake_weight

        w = check_namesake_weight(self.card.namesake_weight if weight is None else weight)
        if self.card.inputs != "text":
            if weight:
                raise ValueError(f"`namesake_weight` applies to text models only; {self.card.name!r} takes images")
            return 0.0
        return w

    def _namesake_log(self, text: str, like) -> np.ndarray | None:
        """Log-density of ``text``'s known namesakes on ``like``'s grid (None if there are none);
        the kernel is at least half a pixel wide, so that coarse maps are not aliased."""
        bw = max(self.card.namesake_bandwidth_km, 0.5 * like.resolution_km * 1.001)
        k = self.namesakes.field(text, nside=like.nside, bandwidth_km=bw, nest=like.nest)
        return None if k is None else np.asarray(k.log_density)

    def _levels_hold(self, names_log) -> bool:
        """Whether the model's conformal levels hold for a map: every image map; for text, the
        maps of names with known namesakes (``names_log`` not None), on which they were fitted."""
        return self.card.inputs != "text" or names_log is not None

    def _tagged(self, log_density, like, labels=None, known=True, **attrs):
        """A field on ``like``'s grid with these rows, labels, the model name and, when the model
        has them, the conformal levels of this pipeline's maps (:meth:`calibrate`) in its attrs.

        The levels of a text model were fitted on names with known namesakes (the held-out places
        are in the gazetteer); fields of other names (``known`` False, per row for a batch) keep
        their raw levels (an identity table), which the temperature calibration already made
        honest there.  An image model's levels hold for every image (:meth:`_levels_hold`).
        """
        from ..fields import SphericalField
        from ..fields.regions import LEVEL_MAP_ATTR

        levels = getattr(self.model, "conformal_", None)
        extra = {}
        if levels is not None:
            table = levels.level_map()
            known = np.atleast_1d(np.asarray(known, dtype=bool))
            if known.all():
                extra[LEVEL_MAP_ATTR] = table
            else:
                identity = np.linspace(0.0, 1.0, table.size)
                extra[LEVEL_MAP_ATTR] = np.concatenate([table if k else identity for k in known])
        return SphericalField(log_density, kind="log_density", nest=like.nest, labels=labels,
                              attrs={**dict(like.attrs), "model": self.card.name, **extra, **attrs})

    def calibrate(self, inputs, lat, lon, *, nside: int = DEFAULT_NSIDE, n_samples: int = DEFAULT_SAMPLES,
                  generator=0, progress: bool | None = None):
        """Fit split-conformal credible levels on this pipeline's maps for held-out inputs.

        The maps of :meth:`predict_field` and :meth:`locate` (samples, prior
        and namesakes mixed) are scored at the true locations ``(lat, lon)``
        [deg]; the resulting :class:`~shdd_geo.calibration.ConformalLevels`
        becomes ``model.conformal_`` (saved with ``model.save``) and is
        attached to every later map of an image, or of a name with known
        namesakes, so that ``credible_region(0.9)`` holds the truth for 90 %
        of exchangeable queries.  Use inputs never trained on -- for text,
        names the gazetteer knows (as users' place names mostly are) -- with
        the ``nside``/``n_samples`` you predict with; maps of other names keep
        their raw levels.  ``progress`` as in :meth:`predict_field`.

        Returns
        -------
        ConformalLevels
        """
        from ..calibration import ConformalLevels

        field = self.predict_field(inputs, nside=nside, n_samples=n_samples, generator=generator, progress=progress)
        self.model.conformal_ = ConformalLevels.fit(field, lat, lon)
        return self.model.conformal_

    @cached_property
    def places(self):
        """Gazetteer used to name locations: GeoNames places >= 15,000 inhabitants."""
        from ..datasets.gazetteer import Gazetteer

        return Gazetteer.from_geonames(15000)

    @cached_property
    def namesakes(self):
        """Known places by exact name (text models): a :class:`~shdd_geo.datasets.gazetteer.Gazetteer` of the
        GeoNames places with at least ``card.namesake_gazetteer`` inhabitants (the training places)."""
        from ..datasets.gazetteer import Gazetteer

        return Gazetteer.from_geonames(self.card.namesake_gazetteer,
                                       population_power=self.card.namesake_population_power)

    def locate(self, item, *, k: int = 5, nside: int = DEFAULT_NSIDE, n_samples: int = DEFAULT_SAMPLES,
               min_separation_km: float = 500.0, generator=0, snap_km: float | None = 350.0,
               snap_min_similarity: float = 0.9, min_mass: float = 0.005,
               prior_weight: float | None = None, namesake_weight: float | None = None,
               threads: int | None = None) -> dict[str, Any]:
        """Field and top-``k`` modes for one input, each mode with its nearest known place.

        Parameters
        ----------
        item : str or image
            A place name (text models) or one image: a path, a ``PIL`` image
            or an ``(H, W, 3)`` uint8 array (image models).
        k, nside, n_samples, min_separation_km, generator
            Modes listed, map resolution, diffusion samples, minimum distance
            between modes, random seed.
        min_mass
            Modes after the first with less probability mass than this are
            left out (0 lists all ``k``; default 0.5 %, so that a rare
            namesake such as Springfield, Queensland, about 1 %, is listed).
            A mode's mass is the probability of its basin
            (:meth:`SphericalField.modes <shdd_geo.SphericalField.modes>`);
            modes are ranked by it.
        prior_weight
            Weight of the model's location prior in ``field`` (default: the
            calibrated ``model.prior_weight_``; 0 = the samples' density
            alone).  The modes never include it.
        namesake_weight
            Text models only: weight ``w`` of the density of the name's known
            namesakes -- the GeoNames places (>= 1,000 inhabitants) with
            exactly this name, ignoring case and accents, weighted by their
            population, as a 200 km kernel density -- in the map and in
            the modes: ``(1 - w) q + w p_names``.  It gives a rare namesake
            that the samples miss (Springfield, Queensland) its share.
            Default: the model card's (0.5 for ``geonames-minilm``, with the
            namesakes weighted by population: see
            :class:`~shdd_geo.pretrained.registry.ModelCard`); 0 = the model
            alone.  Unknown names are unaffected.
        snap_km, snap_min_similarity
            Text models only: the retrieval hybrid of the paper (appendix A.4)
            applied to each mode.  The gazetteer places within ``snap_km`` of
            the mode are compared with the query by embedding similarity
            (cosine of the encoder's embeddings of their names); the mode
            moves onto the most similar one if that similarity is at least
            ``snap_min_similarity``.  ``snap_km=None`` keeps the model's modes.
            The default 350 km was chosen on a validation set of ambiguous
            names (GeoNames ranks 201-400 of the issue-24 set; 200 km: 90 %
            of top modes within 25 km of the most populous namesake, 350 km:
            100 %, 500 km: 100 %, at the card's namesake weight).
            Measured with the built-in model (``benchmarks/studies/locate_hybrid.py``,
            400 names each): on names of the gazetteer the top mode lands
            within 25 km 14.75 % of the time instead of 0 %; on held-out
            names (not in the gazetteer) the default threshold 0.9 leaves
            accuracy unchanged, while 0.7 or 0.5 cost 0.25 points at 200 km.
        threads
            CPU threads (default: ``$OMP_NUM_THREADS``, else the free cores:
            see :mod:`shdd_geo._threads`).

        Returns
        -------
        dict
            ``text`` (the input's label: the name or the image's file name),
            ``field`` (SphericalField: the model's map, with its location
            prior and namesakes mixed in), ``modes``, ``namesakes`` (how
            many known places bear the name; 0 for images).

            ``modes`` is **the** list of answers: every output (the printed
            table, JSON, GeoJSON/GeoPackage rows, map labels, the rows of
            :func:`shdd_geo.locate`) is built from it, in this order (rank
            1 first, by mass).  Each mode is a dict::

                lat, lon      float  the answer [deg] (after the hybrid moved it)
                mass          float  probability of the mode's basin in the
                                     samples' density with the namesakes
                place         str    nearest known place (GeoNames >= 15,000)
                country       str    its ISO 3166 alpha-2 code
                place_km      float  distance to it [km] (0.0 when snapped onto it)
                model_lat, model_lon float  the model's mode before the hybrid
                                     (text models with ``snap_km``; else absent)
                similarity    float or None  name similarity of the place the
                                     mode moved onto (1.0: a namesake; None:
                                     it did not move)

        Examples
        --------
        >>> from shdd_geo.pretrained import load
        >>> res = load("geonames-minilm").locate("Lisbon", k=2, nside=16, n_samples=8)
        >>> len(res["modes"]) <= 2, sorted(res["modes"][0])[:4]
        (True, ['country', 'lat', 'lon', 'mass'])
        """
        _check_locate_args(snap_km, min_mass)
        with limit_threads(threads):
            return self._locate(item, k=k, nside=nside, n_samples=n_samples, min_separation_km=min_separation_km,
                                generator=generator, snap_km=snap_km, snap_min_similarity=snap_min_similarity,
                                min_mass=min_mass, prior_weight=prior_weight, namesake_weight=namesake_weight)

    def locate_many(self, items, *, progress: bool | None = None, keep_fields: bool = False,
                    place_cache: bool | None = None, threads: int | None = None, n_jobs: int | None = None,
                    **kwargs):
        """:meth:`locate` for each input in turn (an iterator of its results, in order).

        Each result is what ``locate(item, **kwargs)`` returns for the same
        seed (``generator``): the diffusion chains of ``LOCATE_BLOCK`` inputs
        run as one batch (several times faster than one by one), but each
        input starts from its own seed's noise, so an answer does not depend
        on the other inputs of the batch.  With ``threads=1`` it is the
        one-name answer bit for bit (on the BLAS libraries tested); with more
        threads the BLAS may split a bigger batch differently, and the float
        rounding that the denoiser amplifies can make it another draw of the
        same distribution (:ref:`defaults`).  The thread count is chosen once
        for the batch.

        Parameters
        ----------
        items : iterable of str or images
            The inputs.
        progress : bool, optional
            Show a progress bar (default: for more than one input).
        keep_fields : bool
            Keep each result's ``field`` (a map of ``12 nside**2`` floats:
            400 kB at nside 64); by default it is replaced by the area of its
            90 % credible region (``area90_km2``), so that a column of 10,000
            names fits in memory.
        place_cache : bool, optional
            Embed every gazetteer name once (about a minute, cached on disk
            for all later runs, :meth:`cache_place_names`) instead of the names
            near each mode as they come.  Default: for text models and at
            least ``PLACE_CACHE_MIN_NAMES`` inputs.
        threads : int, optional
            CPU threads (default ``$OMP_NUM_THREADS``, else the free cores);
            for a batch in processes (``n_jobs``), how many of them.
        n_jobs : int, optional
            Processes: each forked from this one (the model is not loaded
            again) with one thread, working on blocks of ``LOCATE_BLOCK``
            inputs; results still come in input order, each the one-thread
            answer bit for bit.  About 1.9x the names per second on two
            free cores.  Default: ``threads`` processes (the free cores) for
            batches of at least ``2 * LOCATE_BLOCK`` inputs on Linux, else
            1 (in this process).  ``generator`` must then be an int seed.
        **kwargs
            As in :meth:`locate`.

        Examples
        --------
        >>> from shdd_geo.pretrained import load
        >>> geo = load("geonames-minilm")
        >>> [r["text"] for r in geo.locate_many(["Lisbon", "Kyoto"], nside=16, n_samples=8, progress=False)]
        ['Lisbon', 'Kyoto']
        """
        items = list(items) if not isinstance(items, str) else [items]
        progress = check_progress(progress)
        opts = self._locate_options(kwargs)
        if place_cache is None:
            place_cache = self.card.inputs == "text" and len(items) >= PLACE_CACHE_MIN_NAMES
        if place_cache and self.card.inputs == "text":
            self.cache_place_names(progress=progress is not False)
        jobs = self._processes(len(items), n_jobs, threads, opts["generator"])
        bar = None
        if progress or (progress is None and len(items) > 1):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc="locate", unit="name" if self.card.inputs == "text" else "image")
        results = (self._locate_forked(items, opts, keep_fields, jobs) if jobs > 1
                   else self._locate_iter(items, opts, keep_fields, threads))
        return results if bar is None else self._counted(results, bar)

    @staticmethod
    def _counted(results, bar):
        """``results`` passed on as they come, the progress bar ticked for each and closed at the end."""
        try:
            for res in results:
                bar.update()
                yield res
        finally:
            bar.close()

    @staticmethod
    def _processes(n_items: int, n_jobs: int | None, threads: int | None, generator) -> int:
        """How many processes :meth:`locate_many` runs: ``n_jobs``, else (``None``) the thread budget
        (:func:`~shdd_geo._parallel.process_budget`) for batches of at least ``2 * LOCATE_BLOCK`` inputs
        where processes can be forked, and 1 otherwise; never more than there are blocks."""
        if n_jobs is not None:
            n_jobs = check_int(n_jobs, "n_jobs", low=1, what="an int >= 1 (processes) or None (automatic)")
            if n_jobs > 1 and not can_fork():
                warnings.warn("`n_jobs` > 1 needs forked processes (Linux, outside a daemonic worker); running "
                              "in this process", RuntimeWarning, stacklevel=3)
                return 1
            jobs = int(n_jobs)
        elif n_items < 2 * LOCATE_BLOCK or not can_fork():
            return 1
        else:
            jobs = process_budget(threads)  # the cores free now (not the last minute's load average)
        if jobs > 1 and not (generator is None or isinstance(generator, (int, np.integer))):
            raise ValueError("`n_jobs` > 1 needs `generator` as an int seed (or None): a torch.Generator's state "
                             "cannot be shared between processes; pass n_jobs=1")
        return max(1, min(jobs, -(-n_items // LOCATE_BLOCK)))

    def _locate_forked(self, items: list, opts: dict, keep_fields: bool, jobs: int):
        """:meth:`_locate_iter` over ``jobs`` forked processes (one thread each), a block at a time, in
        order: each answer is the one-thread answer of the input."""
        with limit_threads(1):
            self._locate(items[0], **opts)  # load what a step needs (gazetteers, kernels) once, before forking
        blocks = [items[lo : lo + LOCATE_BLOCK] for lo in range(0, len(items), LOCATE_BLOCK)]
        for results in forked_map(lambda block: list(self._locate_iter(block, opts, keep_fields, 1)), blocks, jobs):
            yield from results

    def _locate_iter(self, items: list, opts: dict, keep_fields: bool, threads):
        """Blocks of ``LOCATE_BLOCK`` inputs: their diffusion chains run as one batch (each input with
        its own seed, :meth:`LocDiffusion.sample`), then each input's remaining steps in turn."""
        n = choose_threads(threads)  # once for the batch
        for lo in range(0, len(items), LOCATE_BLOCK):
            # set again for each step: a library that starts its OpenMP pool mid-call (numba's, on
            # first use) resets the thread count of the pool torch shares with it
            with limit_threads(n):
                inputs = [self._one_input(item) for item in items[lo : lo + LOCATE_BLOCK]]
                coeffs = self._sample(np.concatenate([q for _, q in inputs]), opts["n_samples"],
                                      [opts["generator"]] * len(inputs))
                points = self._decode_samples(coeffs)
            for (text, query), c, pts in zip(inputs, coeffs, points):
                with limit_threads(n):
                    res = self._locate_steps(text, query, c[None], pts, **opts)
                    if not keep_fields:
                        res["area90_km2"] = float(res.pop("field").credible_region(0.9).area_km2)
                yield res

    def _locate_options(self, kwargs: dict) -> dict:
        """The options of :meth:`locate` (``threads`` aside), defaults filled in, checked."""
        import inspect

        params = inspect.signature(self.locate).parameters
        unknown = sorted(set(kwargs) - set(params) - {"item", "threads"})
        if unknown:
            raise TypeError(f"unknown keyword argument(s) {unknown} of Geolocator.locate")
        opts = {name: kwargs.get(name, p.default) for name, p in params.items() if name not in ("item", "threads")}
        _check_locate_args(opts["snap_km"], opts["min_mass"])
        return opts

    def _locate(self, item, **opts) -> dict[str, Any]:
        text, query = self._one_input(item)
        coeffs = self._sample(query, opts["n_samples"], opts["generator"])                 # 1
        return self._locate_steps(text, query, coeffs, self._decode_samples(coeffs)[0], **opts)

    def _locate_steps(self, text: str, query: np.ndarray, coeffs: np.ndarray, points, *, k, nside,
                      min_separation_km, snap_km, snap_min_similarity, min_mass, prior_weight, namesake_weight,
                      n_samples=None, generator=None) -> dict[str, Any]:
        """Steps 2-6 of :meth:`locate` for one input's samples ``coeffs`` ``(1, n_samples, D)``
        decoded to ``points`` (``(lat, lon)``, :meth:`_decode_samples`); the sampling options
        (``n_samples``, ``generator``) were used by step 1 and are ignored here."""
        wn = self._namesake_weight(namesake_weight)
        field, answer = self._mix(coeffs, text, nside, prior_weight, wn)                     # 2
        table = self._find_modes(answer, k, min_separation_km, min_mass)                     # 3
        self._refine(table, points, min_separation_km)                                       # 4
        modes = self._name_places(table)                                                     # 5
        n_names = self._count_namesakes(text, wn > 0 or snap_km is not None)
        if snap_km is not None and self.card.inputs == "text":
            self._snap(modes, text, query, snap_km, snap_min_similarity)                     # 6
        return {"text": text, "field": field, "modes": modes, "namesakes": n_names}

    # -------------------------------------------------- steps of locate ----
    def _one_input(self, item) -> tuple[str, np.ndarray]:
        """The input's label and its embedding ``(1, dim)``; one input only."""
        label = self._labels(item)
        if len(label) != 1:
            raise ValueError(f"`item` must be one input, got {len(label)}; use predict_field for batches")
        return label[0], self.embed(item)

    def _sample(self, query: np.ndarray, n_samples: int, generator) -> np.ndarray:
        """1. Sample once: the same draws give the map and the continuous modes.  ``generator``: a seed
        for all rows of ``query``, or one per row (:meth:`LocDiffusion.sample`)."""
        return self.model.sample(query, n_samples, generator=generator, progress=False, **self.card.sample_kwargs)

    def _mix(self, coeffs, text: str, nside: int, prior_weight, wn: float):
        """2. The map (samples + location prior + namesakes) and the answer density (no prior).

        The location prior (LocDiffusion.set_prior) widens the map and its
        credible regions, but its bumps (dense regions of known places) are
        not answers to the query, so the modes come from the samples' own
        density with the namesakes.
        """
        from ..datasets.gazetteer import mix_namesakes

        m = self.model
        w = getattr(m, "prior_weight_", 0.0) if prior_weight is None else prior_weight
        own = m.field_from_samples(coeffs, nside=nside, temperature=m.temperature_, progress=False)
        mix = m.mix_prior(own, getattr(m, "prior_", None), w)
        names_log = self._namesake_log(text, own) if wn > 0 else None
        known = self._levels_hold(names_log)
        field = self._tagged(mix_namesakes(np.asarray(mix.log_density[0]), names_log, wn), mix, known=known,
                             text=text)
        answer = self._tagged(mix_namesakes(np.asarray(own.log_density[0]), names_log, wn), own, known=known)
        return field, answer

    @staticmethod
    def _find_modes(answer, k: int, min_separation_km: float, min_mass: float) -> dict:
        """3. The top-``k`` modes; those after the first with less mass than ``min_mass`` are left out."""
        table = answer.modes(k=k, min_separation_km=min_separation_km)
        keep = [i for i, mass in enumerate(table["mass"]) if i == 0 or mass >= min_mass]
        return {key: np.asarray(v)[keep] for key, v in table.items()}

    @staticmethod
    def _decode_samples(coeffs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each sample of ``coeffs`` ``(B, K, D)`` decoded to a point, many inputs per call
        (:func:`shdd_geo.decoding.decode`, about three times faster than input by input):
        ``(lat, lon)`` of ``K`` samples per input.

        A sample goes to the Newton-refined peak of its best coarse cap (``top_k=1``), not the
        winner of a cap-mass comparison among three: a third less time per name, and on 96
        GeoNames names the refined modes moved by 0 km (median) / 25 km (90th percentile), the top
        place never changed -- while another seed moves them by 260 km (median).
        """
        from ..decoding import decode

        B, K, D = coeffs.shape
        flat = coeffs.reshape(B * K, D).astype(np.float64)
        parts = [decode(flat[lo : lo + _DECODE_ROWS], top_k=1)  # chunks: bounded memory
                 for lo in range(0, B * K, _DECODE_ROWS)]
        lat, lon = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        return [(lat[i * K : (i + 1) * K], lon[i * K : (i + 1) * K]) for i in range(B)]

    @staticmethod
    def _refine(table: dict, points, min_separation_km: float) -> None:
        """4. Modes sit on pixel centres (~0.9 deg at nside 64): move each (in place) to the
        geometric median of the decoded samples ``points`` within ``min_separation_km / 2`` of it."""
        from ..metrics import geometric_median, great_circle_km

        s_lat, s_lon = points
        near = great_circle_km(s_lat[None], s_lon[None], table["lat"][:, None], table["lon"][:, None]) \
            < min_separation_km / 2  # (modes, samples)
        moved = np.flatnonzero(near.any(axis=1))
        if moved.size:  # all modes in one call, each with its own samples (weight 1, the others 0)
            n = (moved.size, s_lat.size)
            lat, lon = geometric_median(np.broadcast_to(s_lat, n), np.broadcast_to(s_lon, n),
                                        weights=near[moved].astype(float), tol_km=_REFINE_TOL_KM)
            table["lat"][moved], table["lon"][moved] = lat, lon

    def _name_places(self, table: dict) -> list[dict]:
        """5. One dict per mode with its nearest known place."""
        names, countries, dist = self.places.nearest(table["lat"], table["lon"])
        return [
            {"lat": float(a), "lon": float(b), "mass": float(m), "place": n, "country": c, "place_km": float(d)}
            for a, b, m, n, c, d in zip(table["lat"], table["lon"], table["mass"], names, countries, dist)
        ]

    def _count_namesakes(self, text: str, needed: bool) -> int:
        """How many known places bear the name (0 for images, or when nothing asked for namesakes)."""
        if self.card.inputs != "text" or not needed:
            return 0
        return int(self.namesakes.lookup(text).size)

    def _snap(self, modes: list[dict], text: str, query: np.ndarray, snap_km: float, min_similarity: float) -> None:
        """6. The retrieval hybrid (paper appendix A.4) on each mode, in place: a known namesake
        within ``snap_km`` is the best match there is; else the gazetteer place within ``snap_km``
        whose name embeds most like the query, if similar enough."""
        from ..baselines.retrieval import top1_near

        q = query[0] / np.linalg.norm(query[0])
        places = self.places
        for mode in modes:
            mode.update(model_lat=mode["lat"], model_lon=mode["lon"], similarity=None)
            if self._snap_to_namesake(mode, text, snap_km):
                continue
            sims: dict = {}  # the scores top1_near saw: the winner's similarity is their maximum
            j = int(top1_near(lambda _, idx: sims.setdefault("v", self._place_embeddings(idx) @ q), places.tree,
                              [[mode["lat"]]], [[mode["lon"]]], snap_km, min_score=min_similarity)[0])
            if j >= 0:
                mode.update(lat=float(places.lat[j]), lon=float(places.lon[j]), place=str(places.names[j]),
                            country=str(places.countries[j]), place_km=0.0, similarity=float(np.max(sims["v"])))

    def _snap_to_namesake(self, mode: dict, text: str, snap_km: float) -> bool:
        """Move ``mode`` onto the known namesake within ``snap_km`` with the most weight
        (population), the nearest of equals; False if there is none."""
        from ..metrics import great_circle_km

        ns = self.namesakes
        same = ns.lookup(text)
        if not same.size:
            return False
        d = great_circle_km(ns.lat[same], ns.lon[same], mode["lat"], mode["lon"])
        near = np.flatnonzero(d <= snap_km)
        if not near.size:
            return False
        j = same[near[np.lexsort((d[near], -ns.weights[same[near]]))[0]]]
        mode.update(lat=float(ns.lat[j]), lon=float(ns.lon[j]), place=str(ns.names[j]),
                    country=str(ns.countries[j]), place_km=0.0, similarity=1.0)
        return True

    def _place_embeddings(self, idx) -> np.ndarray:
        """Unit-norm embeddings of the gazetteer's names ``idx``: from the table of every name when it is
        cached (:meth:`cache_place_names`), else embedded as needed (each name once per session)."""
        table = self._place_table(build=False)
        if table is not None:
            emb = np.asarray(table[np.asarray(idx, dtype=np.int64)], dtype=np.float64)
            return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        cache = self.__dict__.setdefault("_name_cache", {})
        todo = [int(i) for i in idx if int(i) not in cache]
        if todo:
            emb = np.asarray(self.embed([str(self.places.names[i]) for i in todo]), dtype=np.float64)
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            cache.update(zip(todo, emb))
        return np.stack([cache[int(i)] for i in idx])

    def cache_place_names(self, *, progress: bool = True) -> None:
        """Embed every name of the gazetteer (:attr:`places`) once, for the retrieval hybrid of
        :meth:`locate`: about a minute on two cores, then kept on disk
        (:func:`shdd_geo.datasets.cached_embeddings`, under the cache root) for every later run.

        Text models only; a no-op when the table is already cached.
        """
        if self.card.inputs != "text":
            raise ValueError(f"{self.card.name!r} takes images: there are no place names to embed")
        self._place_table(build=True, progress=progress)

    def _place_table(self, *, build: bool, progress: bool = False):
        """The embeddings of every gazetteer name (the on-disk cache, memory-mapped; not normalised), or None
        when not cached and not ``build``."""
        table = self.__dict__.get("_place_table_")
        if table is not None or self.card.inputs != "text":
            return table
        import pandas as pd

        from ..datasets.embedding_cache import cached_embeddings, default_cache_dir, embedding_key

        if not build and self.__dict__.get("_place_table_absent"):
            return None  # looked once this session: the names are embedded as needed
        names = [str(n) for n in self.places.names]
        key = embedding_key(names, self.encoder.name)
        if not build and not (default_cache_dir() / "embeddings" / key / "embeddings.npy").is_file():
            self.__dict__["_place_table_absent"] = True
            return None
        # the cache's memory map as it is: only the rows a lookup reads enter memory (the whole table
        # is ~50 MiB; a normalised copy doubled a batch's peak), rows are normalised as they are read
        table = cached_embeddings(pd.DataFrame({"text": names}), encoder=self.encoder, progress=progress,
                                  label="Geolocator.places")
        self.__dict__["_place_table_"] = table
        return table


def _check_locate_args(snap_km, min_mass) -> None:
    if snap_km is not None and not (np.isfinite(snap_km) and snap_km > 0):
        raise ValueError(f"`snap_km` must be a positive distance in km or None, got {snap_km!r}")
    if not (np.isfinite(min_mass) and 0.0 <= min_mass < 1.0):
        raise ValueError(f"`min_mass` must be in [0, 1), got {min_mass!r}")
