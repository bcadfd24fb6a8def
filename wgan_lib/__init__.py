"""wgan_lib: a faithful PyTorch port of a 2017 WGAN / standard GAN / Coulomb GAN experiment on a
5x5 grid of Gaussians, with Keras-style training, metrics and stored runs.

The public API, small on purpose:
- `Config`, `ConfigError`, `CASES`, `get_case`: what a run is.
- `StackTrainer`, `train_reference`: training many runs at once, or one the plain way.
- `KerasAdam` (in `wgan_lib.optim`): Keras 2.1.2 Adam as a torch.optim.Optimizer.
- `mode_stats`, `wasserstein1` (in `wgan_lib.metrics`).
- `train_and_store`, `load_run`, `reproduce`: stored runs.
"""
import os

# OpenMP threads that spin while waiting make torch 10-50x slower as soon as another process
# competes for the cores (measured on a shared 2-core machine: 882 ms vs 101 ms per stacked
# iteration). Passive waiting costs little on an idle machine. Set before torch is imported;
# a value the user already chose is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cases import CASES, get_case  # noqa: E402
from .config import Config, ConfigError  # noqa: E402
from .store import StoredRun, load_run  # noqa: E402
from .train import StackTrainer, train_reference  # noqa: E402

__all__ = ["CASES", "Config", "ConfigError", "StackTrainer", "StoredRun", "get_case", "load_run",
           "train_reference", "train_and_store", "reproduce"]
__version__ = "0.1.0"


def __getattr__(name):  # the runner pulls in filelock; load it only when asked for
    if name in ("train_and_store", "reproduce"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
