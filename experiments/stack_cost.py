"""What a stack of runs costs per batch, to split work between processes
(`runner.estimated_cost`, which `runner.shard_configs` balances).

The stacked trainer runs, per batch, critic update slots s = 0 .. max n_critic - 1 (slot s takes
the runs with n_critic > s) and one generator update slot; a slot costs a fixed part (the
operations' overhead) plus a part per run it takes, and a critic update of the Coulomb GAN (its
potential) or of WGAN-GP (the double backward) costs more per run than one of WGAN. This times,
in this process with the threads it is given, stacks that separate those parts and fits

    ms per batch = alpha * slots + beta * sum over slots and runs of the run's weight

with weight 1 for every generator update and for WGAN's and the standard GAN's critic updates.

    OMP_NUM_THREADS=1 python experiments/stack_cost.py [--batches 200]
"""
import argparse

import numpy as np
import torch

from wgan_lib import get_case
from wgan_lib.bench import time_iterations
from wgan_lib.train import StackTrainer

parser = argparse.ArgumentParser()
parser.add_argument("--batches", type=int, default=200)
args = parser.parse_args()


def seeds(case, n):
    config = get_case(case).config()
    return [config.replace(seed=config.seed + 1000 * s) for s in range(n)]


STACKS = {
    "success x1": seeds("success", 1), "success x4": seeds("success", 4), "success x8": seeds("success", 8),
    "standard-gan x4": seeds("standard-gan", 4), "failure-6 x1": seeds("failure-6", 1),
    "failure-6 x1 + success x4": seeds("failure-6", 1) + seeds("success", 4),
    "coulomb-gan x1": seeds("coulomb-gan", 1), "coulomb-gan x4": seeds("coulomb-gan", 4),
    "wgan-gp x1": seeds("wgan-gp", 1), "wgan-gp x4": seeds("wgan-gp", 4),
}
print(f"{torch.get_num_threads()} thread(s), {args.batches} batches per stack")
measured = {}
for label, configs in STACKS.items():
    trainer = StackTrainer(configs)
    measured[label] = time_iterations(trainer, configs[0].batches_per_epoch, args.batches, 5, "cpu") * 1e3
    print(f"{label:<28}{measured[label]:8.2f} ms/batch")

# Least squares for alpha, beta and the per-run critic work of each loss, in units of beta.
losses = ["coulomb", "wgan-gp"]
rows, ys = [], []
for label, configs in STACKS.items():
    slots = max(c.n_critic for c in configs) + 1
    plain = sum(c.n_critic + 1 for c in configs if c.loss in ("wgan", "standard"))
    extra = [sum(c.n_critic for c in configs if c.loss == loss) for loss in losses]
    others = sum(1 for c in configs if c.loss in losses)  # their generator updates
    rows.append([slots, plain + others, *extra])
    ys.append(measured[label])
(alpha, beta, *work), *_ = np.linalg.lstsq(np.array(rows, float), np.array(ys), rcond=None)
print(f"fit: alpha {alpha:.3f} ms per slot, beta {beta:.3f} ms per run-update; critic update per run, "
      + ", ".join(f"{loss} {w / beta:.2f}" for loss, w in zip(losses, work)) + " x beta")
for (label, _), row, y in zip(STACKS.items(), rows, ys):
    print(f"  {label:<28} measured {y:7.2f}  model {np.dot(row, [alpha, beta, *work]):7.2f}")
