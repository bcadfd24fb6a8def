"""Choose the default network size by measurement (issue: smallest net covering >= 24 modes).

Trains, for each candidate (width, depth) of both G and D, a standard GAN and a
WGAN-GP run (two well-behaved losses), seed 0, and stores them under
results/network-size/. The book's introduction reads them back.

    python experiments/network_size.py [--epochs 30]
"""
import argparse
import time

import torch

from wgan_lib import get_case
from wgan_lib.runner import train_and_store

SIZES = [(32, 2), (64, 2), (128, 2), (128, 3)]
LOSSES = {"standard-gan": "standard", "wgan-gp": "wgan-gp"}

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--out", default="results/network-size")
args = parser.parse_args()
torch.set_num_threads(2)
for width, depth in SIZES:
    configs = []
    for name, loss in LOSSES.items():
        for seed in (0,):
            configs.append(get_case("success").config(
                case=f"size-w{width}-d{depth}-{name}", loss=loss, clip=None, seed=seed, epochs=args.epochs,
                snapshot_every=10, g_width=width, d_width=width, g_depth=depth, d_depth=depth))
    start = time.perf_counter()
    results = train_and_store(configs, args.out)
    seconds = time.perf_counter() - start
    for path, log in results:
        m = log.metrics[-1] if log.metrics else {}
        print(f"{path.name}: {log.status} modes={m.get('modes')} hq={m.get('hq_fraction')} w1={m.get('w1')}")
    print(f"w={width} d={depth}: {seconds:.0f} s for {len(configs)} runs", flush=True)
