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

# OpenMP threads that spin while waiting make torch several times slower as soon as another
# process competes for the cores. On a shared 2-core machine with 2 threads and one core kept busy
# by a shell loop: plain loop 14 to 66 ms per iteration with libgomp's default policy, 6.2 ms
# with passive waiting; stack of eleven 6 to 30 vs 2.4 ms per run-iteration. The price on an idle
# machine: plain loop 7.4 to 8.3 vs 4.3 to 5.0 ms, stack 1.9 to 2.0 vs 1.5 ms
# (experiments/wait_policy.py, 2026-11-28). Robustness wins on shared machines; set
# OMP_WAIT_POLICY=ACTIVE, or use one thread, for the last bit of speed on an idle one. Set before
# torch is imported; a value the user already chose is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cases import CASES, get_case  # noqa: E402
from .config import Config, ConfigError  # noqa: E402
from .store import StoredRun, load_run  # noqa: E402
from .train import StackTrainer  # noqa: E402

__all__ = ["CASES", "Config", "ConfigError", "StackTrainer", "StoredRun", "get_case", "load_run",
           "train_and_store", "reproduce"]
__version__ = "0.1.0"


def __getattr__(name):  # the runner pulls in filelock; load it only when asked for
    if name in ("train_and_store", "reproduce"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
