"""Where the sweep's runs and the full-schedule runs part (the seeds chapter's rounding table).

Trains the sweep's seeds-success-seed0 for the first 168 batches of epoch 0 in stacks of E runs
(itself, its standard-GAN mate and copies of the mate with other seeds) and reports, for each E,
whether its critic's weights after batch 167 equal those in the stack of two. Then retrains epoch 0
of the whole 55-run stack the sweep used and compares every run's epoch-0 critic loss with the
stored sweep (bit for bit), and the run's loss in a stack of two with the stored full-schedule run.

    python experiments/stack_rounding.py        (about 4 minutes on one core)
"""
import warnings

import torch

from wgan_lib import load_run
from wgan_lib.runner import group_into_stacks, shard_configs
from wgan_lib.sweeps import sweep_configs
from wgan_lib.train import StackTrainer

warnings.simplefilter("ignore")  # stale-run warnings would only repeat what --check says
torch.set_num_threads(1)
BATCHES = 168


def is_target(config):
    return config.case == "seeds-success" and config.seed == 0


# The half of the sweep that `sweep seeds --jobs 2` trained as one stack with seeds-success-seed0.
halves = (shard_configs(sweep_configs("seeds"), (k, 2)) for k in range(2))
configs = [c.replace(epochs=1, snapshot_epochs=(0,)) for c in next(h for h in halves if any(map(is_target, h)))]
target = next(filter(is_target, configs))
mate = next(c for c in configs if c.case == "seeds-standard-gan" and c.seed == 0)


def critic_after(stack, batches=BATCHES):
    trainer = StackTrainer(stack)
    trainer.begin_epoch()
    for b in range(batches):
        trainer.train_batch(b)
    return trainer.nets["d"]["flat"][0].detach().clone()


reference = critic_after([target, mate])
for size in (4, 16, 31, 32, 48):
    stack = [target, mate] + [mate.replace(case=f"copy{i}", seed=100 + i) for i in range(size - 2)]
    same = torch.equal(critic_after(stack), reference)
    print(f"stack of {size:2d}: critic after batch {BATCHES - 1} {'equals' if same else 'differs from'} the stack of 2's")

stack = next(s for s in group_into_stacks(configs) if target in s)
trainer = StackTrainer(stack)
trainer.train_epoch()
matches = sum(log.epoch_logs["d_loss"][0] == load_run(f"results/sweeps/seeds/{c.case}-seed{c.seed}").epoch_logs["d_loss"][0]
              for c, log in zip(stack, trainer.logs))
print(f"the sweep's stack of {len(stack)} retrained: {matches} of {len(stack)} epoch-0 critic losses equal the stored ones")
small = StackTrainer([target, mate])
small.train_epoch()
full = load_run("results/success-seed0")
print("seeds-success-seed0 in a stack of 2, epoch-0 critic loss:", repr(small.logs[0].epoch_logs["d_loss"][0]),
      "| stored full-schedule success-seed0:", repr(float(full.epoch_logs["d_loss"][0])))
