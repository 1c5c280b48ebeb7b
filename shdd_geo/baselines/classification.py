"""Classification over HEALPix cells (PlaNet-style, Weyand et al. 2016).

The sphere is cut into equal-area HEALPix cells at ``nside`` (RING ordering);
each occupied cell is a class.  An MLP on the embedding predicts a
distribution over cells; the prediction is the most probable cell's centre or
the mean training location inside it.
"""

from __future__ import annotations

import itertools
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._optional import attempt_import
from .._validation import Interval, StrOptions, check_real
from ..coords import latlon_to_thetaphi, thetaphi_to_latlon
from ..metrics import geographic_centre
from ._base import (
    BaseGeolocator,
    TRAINING_CONSTRAINTS,
    check_hidden,
    mlp,
    seed_of,
    torch_seeded,
)
from ._torchfit import forward_numpy, train_supervised

__all__ = ["CellClassifier"]

_LOCATIONS = ("mean", "centre")


class CellClassifier(BaseGeolocator):
    """PlaNet-style classifier over HEALPix cells.

    Parameters
    ----------
    nside : int
        HEALPix resolution of the classes (power of 2; 8: 768 cells of about
        660 km across, 32: ~165 km).  Only cells holding training data are classes.
    predict_location : {"mean", "centre"}
        Answer with the geographic centre of the training locations in the
        predicted cell (``"mean"``) or with the cell centre.
    hidden : tuple of int
        Hidden layer widths of the MLP.
    label_smoothing : float
        Cross-entropy label smoothing in [0, 1).
    epochs, batch_size, lr, weight_decay, dropout, random_state, device, verbose
        Training settings (AdamW); ``random_state`` seeds init and shuffling
        without touching the global RNG.

    Attributes
    ----------
    classes_ : numpy.ndarray
        HEALPix pixel (RING) of each class, sorted.
    cell_lat_, cell_lon_ : numpy.ndarray
        Location answered for each class (per ``predict_location``).
    centre_lat_, centre_lon_, mean_lat_, mean_lon_ : numpy.ndarray
        Both kinds of class location [deg].
    class_counts_ : numpy.ndarray
        Training rows per class.

    Examples
    --------
    >>> X = np.repeat(np.eye(3, dtype=np.float32), 8, axis=0)
    >>> lat, lon = np.repeat([[-30.0, 10.0, 50.0], [-60.0, 20.0, 120.0]], 8, axis=1)
    >>> m = CellClassifier(nside=4, hidden=(32,), epochs=40, lr=1e-2, random_state=0).fit(X, lat, lon)
    >>> np.round(m.predict(np.eye(3, dtype=np.float32))[0]).tolist()
    [-30.0, 10.0, 50.0]
    """

    _fitted_attr = "classes_"

    def __init__(
        self,
        *,
        nside: int = 8,
        predict_location: str = "mean",
        hidden: tuple[int, ...] = (512,),
        label_smoothing: float = 0.0,
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        dropout: float = 0.1,
        random_state: int | None = 0,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        self.nside = nside
        self.predict_location = predict_location
        self.hidden = hidden
        self.label_smoothing = label_smoothing
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
        "nside": [Interval(Integral, 1, 2**20, closed="both")],
        "predict_location": [StrOptions(set(_LOCATIONS))],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.nside & (self.nside - 1):
            raise ValueError(f"`nside` must be a power of 2, got {self.nside}")

    def cells_of(self, lat: Any, lon: Any) -> np.ndarray:
        """HEALPix pixels (RING, at ``nside``) of locations [deg]."""
        hp = attempt_import("healpy", "HEALPix cell classification")
        theta, phi = latlon_to_thetaphi(np.asarray(lat, np.float64), np.asarray(lon, np.float64))
        return np.asarray(hp.ang2pix(int(self.nside), theta, phi), dtype=np.int64)

    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        import torch

        hp = attempt_import("healpy", "HEALPix cell classification")
        pix = self.cells_of(lat, lon)
        classes, y, counts = np.unique(pix, return_inverse=True, return_counts=True)
        self._set_cell_locations(hp, classes, y, lat, lon)
        self.class_counts_ = counts
        ce = torch.nn.CrossEntropyLoss(label_smoothing=float(self.label_smoothing))
        with torch_seeded(seed_of(self.random_state)) as gen:
            net = mlp(X.shape[1], check_hidden(self.hidden), len(classes), float(self.dropout))
            yt = torch.from_numpy(y.astype(np.int64))
            self.loss_history_ = train_supervised(net, X, yt, ce, self, gen)
        self.net_ = net
        self.classes_ = classes

    def _set_cell_locations(self, hp: Any, classes: np.ndarray, y: np.ndarray, lat, lon) -> None:
        theta, phi = hp.pix2ang(int(self.nside), classes)
        self.centre_lat_, self.centre_lon_ = thetaphi_to_latlon(theta, phi)
        order = np.argsort(y, kind="stable")
        bounds = np.searchsorted(y[order], np.arange(len(classes) + 1))
        means = [geographic_centre(lat[order[a:b]], lon[order[a:b]]) for a, b in itertools.pairwise(bounds)]
        self.mean_lat_ = np.array([float(m[0]) for m in means])
        self.mean_lon_ = np.array([float(m[1]) for m in means])
        if self.predict_location == "mean":
            self.cell_lat_, self.cell_lon_ = self.mean_lat_, self.mean_lon_
        else:
            self.cell_lat_, self.cell_lon_ = self.centre_lat_, self.centre_lon_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float64; columns follow ``classes_``.

        Examples
        --------
        >>> m = CellClassifier(nside=1, hidden=(4,), epochs=1).fit(np.eye(2), [0.0, 60.0], [0.0, 90.0])
        >>> m.predict_proba(np.eye(2)).shape
        (2, 2)
        """
        import torch

        X = self._check_X(X)
        return forward_numpy(self.net_, X, lambda z: torch.softmax(z.double(), -1)).astype(np.float64)

    def cell_probabilities(self, X: Any) -> np.ndarray:
        """Probabilities on the full HEALPix map ``(n, 12 * nside**2)`` (RING), zero off-class."""
        p = self.predict_proba(X)
        out = np.zeros((p.shape[0], 12 * int(self.nside) ** 2))
        out[:, self.classes_] = p
        return out

    def predict_field(self, X: Any, nside: int | None = None, *, uniform_weight: float = 0.0) -> Any:
        """Batch :class:`~shdd_geo.fields.SphericalField`: piecewise-constant cell densities.

        Each class cell's probability is spread uniformly over the cell; cells
        without training data get zero density unless ``uniform_weight`` > 0
        mixes in that much uniform probability (which keeps log-likelihoods
        finite everywhere).

        Parameters
        ----------
        X : array_like
            ``(n, d)`` query embeddings.
        nside : int, optional
            Resolution of the returned field (default: the classifier's
            ``nside``); mass is conserved when regridding.
        uniform_weight : float
            Mixture weight of the uniform density, in [0, 1).

        Examples
        --------
        >>> m = CellClassifier(nside=2, hidden=(4,), epochs=1).fit(np.eye(2), [0.0, 60.0], [0.0, 90.0])
        >>> f = m.predict_field(np.eye(2), nside=8)
        >>> f.nside, np.round(f.integral(), 6).tolist()
        (8, [1.0, 1.0])
        """
        from ._fields import cells_field

        u = check_real(uniform_weight, "uniform_weight", low=0, high=1, closed="left")
        out_nside = int(self.nside) if nside is None else nside
        return cells_field(self.cell_probabilities(X), int(self.nside), out_nside, float(u))

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        best = np.argmax(forward_numpy(self.net_, X), axis=1)
        return self.cell_lat_[best].copy(), self.cell_lon_[best].copy()
