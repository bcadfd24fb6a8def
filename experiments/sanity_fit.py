"""Can this trainer fit the grid at all? A sanity check of the implementation, away from the post.

Every setting of the post ends with about 2 % of samples near a centre. Before blaming the post's
settings, train settings the field uses for this benchmark (ReLU networks of 3 x 128, no learning
rate decay, a larger learning rate for the standard GAN; WGAN-GP's Adam betas (0.5, 0.9) and
n_critic 5) and see whether any reaches the success criterion. Stored under results/sanity/.

    python experiments/sanity_fit.py --part 0   # and --part 1 in a second process
    python experiments/sanity_fit.py --only success-relu-3x128 std-relu-3x128-lr1e-4

After a change to the training code, `python -m wgan_lib retrain results/sanity --jobs 2` trains
the stale runs again from their stored configs, whichever options made them.
"""
import argparse
import time

import torch

from wgan_lib import get_case
from wgan_lib.cases import succeeded
from wgan_lib.runner import train_and_store

BIG = dict(g_width=128, d_width=128, g_depth=3, d_depth=3, clip=None, decay=0.0, snapshot_every=10)
SETTINGS = [
    ("std-relu-3x128-lr1e-3", dict(BIG, loss="standard", activation="relu", lr=1e-3)),
    ("std-elu-3x128-lr1e-3", dict(BIG, loss="standard", activation="elu", lr=1e-3)),
    ("std-relu-2x64-lr1e-3", dict(BIG, loss="standard", activation="relu", lr=1e-3, g_width=64, d_width=64,
                                  g_depth=2, d_depth=2)),
    ("gp-relu-3x128-lr1e-4", dict(BIG, loss="wgan-gp", activation="relu", lr=1e-4, beta_2=0.9, n_critic=5)),
    # The post's own settings with only the networks changed: ReLU 3 x 128 instead of ELU 2 x 64.
    ("success-relu-3x128", dict(g_width=128, d_width=128, g_depth=3, d_depth=3, activation="relu",
                                snapshot_every=10)),
    ("std-relu-3x128-lr1e-4", dict(BIG, loss="standard", activation="relu", lr=1e-4)),
]

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=60)
parser.add_argument("--part", type=int, choices=(0, 1), default=None)
parser.add_argument("--only", nargs="+", metavar="NAME", help="these settings (by name) instead of a part")
parser.add_argument("--out", default="results/sanity")
args = parser.parse_args()
torch.set_num_threads(1)
chosen = [s for s in SETTINGS if s[0] in args.only] if args.only else SETTINGS[args.part::2]
for name, settings in chosen:
    config = get_case("success").config(case=f"sanity-{name}", epochs=args.epochs, **settings)
    start = time.perf_counter()
    for path, log in train_and_store([config], args.out):
        m = log.metrics[-1] if log.metrics else {}
        print(f"{path.name}: {log.status} modes={m.get('modes')} hq={m.get('hq_fraction')} "
              f"w1={m.get('w1')} succeeded={succeeded(m)} ({time.perf_counter() - start:.0f} s)", flush=True)
