"""wgan_lib: a faithful PyTorch port of a 2017 WGAN / standard GAN / Coulomb GAN experiment on a
5x5 grid of Gaussians, with Keras-style training, metrics and stored runs.

The layers, each using only those before it:
  data -> models -> losses -> optim -> train (the stacked trainer) -> store -> runsets / runner
  -> summary, measures, claims -> figures, tables -> the book's chapters.

The public API, small on purpose:
- `Config`, `ConfigError`, `CASES`, `get_case`, `LOSSES`: what a run is.
- `StackTrainer`: training many runs at once, as one batched program.
- `KerasAdam` (in `wgan_lib.optim`): Keras 2.1.2 Adam as a torch.optim.Optimizer.
- `mode_stats`, `wasserstein1` (in `wgan_lib.metrics`).
- `load_run`, `StoredRun`; `RUN_SETS`, `load` (in `wgan_lib.runsets`): stored runs;
  `reproduce`, `train_and_store` (in `wgan_lib.runner`): training them.
"""
import os

# OpenMP threads that spin while waiting make torch several times slower as soon as another
# process competes for the cores; passive waiting costs a little on an idle machine and keeps a
# shared one usable. Set before torch is imported; a value the user already chose is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cases import CASES, get_case  # noqa: E402
from .config import Config, ConfigError  # noqa: E402
from .losses import LOSSES  # noqa: E402
from .store import StoredRun, load_run  # noqa: E402
from .train import StackTrainer  # noqa: E402

__all__ = ["CASES", "LOSSES", "Config", "ConfigError", "StackTrainer", "StoredRun", "get_case", "load_run"]
__version__ = "0.1.0"
