"""Does the size of a stack change a run's bits? And do the stored runs' bits come back here?

Trains the seeds set's seeds-success-seed0 for the first 168 batches of epoch 0 in stacks of E runs
(itself, its standard-GAN mate and copies of the mate with other seeds) and reports, for each E,
whether its critic's weights after batch 167 equal those in the stack of two. Then retrains epoch 0
of the whole stack the seeds set defines for that run and compares every run's epoch-0 critic loss
with the stored one (bit for bit: equal only on a CPU with the stored runs' vector capability).

    python tools/stack_rounding.py        (a few minutes on one core)
"""
import warnings

import torch

from wgan_lib import load_run
from wgan_lib.runsets import get_run_set
from wgan_lib.store import run_name
from wgan_lib.train import StackTrainer

warnings.simplefilter("ignore")  # stale-run warnings would only repeat what `reproduce --check` says
torch.set_num_threads(1)
BATCHES = 168
seeds = get_run_set("seeds")
stack = next([seeds.configs[i] for i in s] for s in seeds.stack_indices()
             if any(run_name(seeds.configs[i]) == "seeds-success-seed0" for i in s))
target = next(c for c in stack if run_name(c) == "seeds-success-seed0")
mate = next(c for c in stack if c.case == "seeds-standard-gan")


def critic_after(configs, batches=BATCHES):
    trainer = StackTrainer([c.replace(epochs=1) for c in configs])
    epoch = trainer.start_epoch()
    for b in range(batches):
        trainer.train_batch(epoch, b)
    return trainer.nets["d"]["flat"][0].detach().clone()


reference = critic_after([target, mate])
for size in (4, 16, 31, 32, 48):
    copies = [mate.replace(case=f"copy{i}", seed=100 + i) for i in range(size - 2)]
    same = torch.equal(critic_after([target, mate] + copies), reference)
    print(f"stack of {size:2d}: critic after batch {BATCHES - 1} {'equals' if same else 'differs from'} the stack of 2's")

trainer = StackTrainer([c.replace(epochs=1) for c in stack])
trainer.train_epoch()
folder = seeds.path()
stored = [load_run(folder / run_name(c), warn_stale=False) for c in stack]
matches = sum(log.epoch_logs["d_loss"][0] == run.epoch_logs["d_loss"][0] for log, run in zip(trainer.logs, stored))
capability = {run.provenance.get("cpu_capability", "not recorded") for run in stored}
print(f"the seeds set's stack of {len(stack)} retrained here ({torch.backends.cpu.get_cpu_capability()}): {matches} of "
      f"{len(stack)} epoch-0 critic losses equal the stored ones (stored on: {', '.join(sorted(capability))})")
