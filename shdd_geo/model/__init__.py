"""LocDiffusion: conditional diffusion over SHDD coefficients (paper §4.5-4.6).

Importing this subpackage imports torch.

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
