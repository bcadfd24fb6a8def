"""Choose the default network size by measurement (issue: smallest net covering >= 24 modes).

Trains, for each candidate (width, depth) of both G and D, a standard GAN and a WGAN-GP run (two
well-behaved losses; `--losses success` adds the post's success case itself), seed 0 (or `--seeds`), and stores
them under results/network-size/. The book's introduction reads them back. A schedule other than
the 100 epochs of the first measurement is named in the run: size-w128-d3-standard-gan-1000ep-seed0.

    python experiments/network_size.py [--epochs 100] [--sizes 32x2 64x2 ...] [--losses standard-gan ...]

The post's optimiser (lr 1e-4 with decay 1e-5) keeps every loss thinly spread, so the rule also
needs a well-behaved optimiser: `--lrs 1e-4 1e-3 --decay 0` trains each loss at those learning
rates without decay (named ...-lr0.001-nodecay-...). `wgan-gp-paper` is WGAN-GP with its paper's
Adam beta_2 0.9 and n_critic 5.

After a change to the training code, `python -m wgan_lib retrain results/network-size --jobs 2` trains
the stale runs again from their stored configs, whichever options made them.
"""
import argparse
import time

import torch

from wgan_lib import get_case
from wgan_lib.runner import train_and_store

SIZES = ["32x2", "64x2", "128x2", "128x3"]
VARIANTS = {"standard-gan": dict(loss="standard", clip=None), "wgan-gp": dict(loss="wgan-gp", clip=None),
            "coulomb-gan": dict(loss="coulomb", clip=None),
            "wgan-gp-paper": dict(loss="wgan-gp", clip=None, beta_2=0.9, n_critic=5), "success": dict()}

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--sizes", nargs="+", default=SIZES, help="WIDTHxDEPTH of both networks")
parser.add_argument("--losses", nargs="+", default=["standard-gan", "wgan-gp"], choices=sorted(VARIANTS))
parser.add_argument("--seeds", nargs="+", type=int, default=[0])
parser.add_argument("--lrs", nargs="+", type=float, default=[None], help="learning rates (default: the post's 1e-4)")
parser.add_argument("--decay", type=float, default=None, help="learning-rate decay (default: the post's 1e-5)")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--out", default="results/network-size")
args = parser.parse_args()
torch.set_num_threads(args.threads)
suffix = "" if args.epochs == 100 else f"-{args.epochs}ep"
optimiser = {} if args.decay is None else {"decay": args.decay}
if args.decay is not None:
    suffix = ("-nodecay" if args.decay == 0 else f"-decay{args.decay:g}") + suffix


def lr_settings(lr):
    return ({}, "") if lr is None else ({"lr": lr}, f"-lr{lr:g}")


for size in args.sizes:
    width, depth = (int(part) for part in size.split("x"))
    configs = [get_case("success").config(case=f"size-w{width}-d{depth}-{name}{lr_settings(lr)[1]}{suffix}",
                                          seed=seed, epochs=args.epochs,
                                          snapshot_every=10 if args.epochs <= 200 else 100, g_width=width,
                                          d_width=width, g_depth=depth, d_depth=depth, **VARIANTS[name],
                                          **optimiser, **lr_settings(lr)[0])
               for name in args.losses for lr in args.lrs for seed in args.seeds]
    start = time.perf_counter()
    results = train_and_store(configs, args.out)
    seconds = time.perf_counter() - start
    for path, log in results:
        m = log.metrics[-1] if log.metrics else {}
        print(f"{path.name}: {log.status} modes={m.get('modes')} hq={m.get('hq_fraction')} w1={m.get('w1')}")
    print(f"w={width} d={depth}: {seconds:.0f} s for {len(configs)} runs", flush=True)
