"""wgan_lib: a faithful PyTorch port of a 2017 WGAN / standard GAN / Coulomb GAN experiment on a
5x5 grid of Gaussians, with Keras-style training, metrics and stored runs.

The public API, small on purpose:
- `Config`, `ConfigError`, `CASES`, `get_case`: what a run is.
- `StackTrainer`, `train_reference`: training many runs at once, or one the plain way.
- `KerasAdam` (in `wgan_lib.optim`): Keras 2.1.2 Adam as a torch.optim.Optimizer.
- `mode_stats`, `wasserstein1` (in `wgan_lib.metrics`).
- `train_and_store`, `load_run`, `reproduce`: stored runs.
"""
from .cases import CASES, get_case
from .config import Config, ConfigError
from .store import StoredRun, load_run
from .train import StackTrainer, train_reference

__all__ = ["CASES", "Config", "ConfigError", "StackTrainer", "StoredRun", "get_case", "load_run",
           "train_reference", "train_and_store", "reproduce"]
__version__ = "0.1.0"


def __getattr__(name):  # the runner pulls in filelock; load it only when asked for
    if name in ("train_and_store", "reproduce"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
