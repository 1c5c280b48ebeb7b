"""LocDiffusion: conditional diffusion over SHDD coefficients (paper §4.5-4.6).

Importing this subpackage imports torch.  The estimator
(:mod:`~shdd_geo.model.locdiffusion`) delegates to one module per concern:

* :mod:`~shdd_geo.model.data` -- training data sources (arrays, shards);
* :mod:`~shdd_geo.model.nn`, :mod:`~shdd_geo.model.scheduler` -- the CS-UNet
  denoiser and the DDPM/DDIM schedules;
* :mod:`~shdd_geo.model.training`, :mod:`~shdd_geo.model.distributed` -- the
  training loop (one or many processes) and how a run starts (seeds,
  learning-rate schedule, warm start);
* :mod:`~shdd_geo.model.retrieval` -- the retrieval prior of
  retrieval-conditioned models (and the training rows' leave-one-out priors);
* :mod:`~shdd_geo.model.sampling` -- drawing samples: per-condition
  generators, the reverse chain with guidance;
* :mod:`~shdd_geo.model.maps` -- density maps from samples, prior mixing;
* :mod:`~shdd_geo.model.calibrate` -- temperature, prior weight and conformal
  levels of the maps;
* :mod:`~shdd_geo.model.checkpoint` and ``_serialization`` -- model files.

Examples
--------
>>> from shdd_geo.model import LocDiffusion
>>> LocDiffusion(L=15).L
15
"""

from .checkpoint import read_checkpoint, write_checkpoint
from .distributed import DistContext
from .locdiffusion import LocDiffusion, densest_sample
from .nn import CSiren, CSUNet, sinusoidal_embedding
from .scheduler import DDIMScheduler, DDPMScheduler, SchedulerConfig, SchedulerOutput, make_scheduler
from .data import ArrayData, NpyShards, ParquetShards
from .training import EpochRecord, StepRecord

__all__ = [
    "ArrayData",
    "CSUNet",
    "CSiren",
    "DDIMScheduler",
    "DDPMScheduler",
    "DistContext",
    "EpochRecord",
    "LocDiffusion",
    "NpyShards",
    "ParquetShards",
    "SchedulerConfig",
    "SchedulerOutput",
    "StepRecord",
    "densest_sample",
    "make_scheduler",
    "read_checkpoint",
    "sinusoidal_embedding",
    "write_checkpoint",
]
