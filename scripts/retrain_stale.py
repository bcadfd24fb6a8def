"""Retrain every stale, damaged or half-trained run under the given folders from its own stored
config, in place, resumable: for the stored runs that `reproduce` and `sweep` do not name (the
probes of experiments/network_size.py and experiments/sanity_fit.py). The critic study has extra
files; retrain it with `python -m wgan_lib sweep critic`.

    python scripts/retrain_stale.py [--jobs 2] [--check] results/network-size results/sanity

A run keeps its folder's kind: with snapshots when it had them, metrics only when it had not.
With --jobs N, N single-threaded processes share the work, split by estimated cost.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from wgan_lib.config import Config
from wgan_lib.runner import reproduce
from wgan_lib.store import RUN_JSON, SNAPSHOTS_NPZ


def stored_configs(folder):
    """(config, with_snapshots) of every run folder directly under `folder`, by name."""
    out = []
    for record in sorted(Path(folder).glob(f"*/{RUN_JSON}")):
        config = Config.from_dict(json.loads(record.read_text())["config"])
        out.append((config, (record.parent / SNAPSHOTS_NPZ).exists()))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--shard", default=None, help="K/N: the K-th of N cost-balanced parts (0-based)")
    parser.add_argument("--check", action="store_true", help="list what would be retrained, train nothing")
    args = parser.parse_args(argv)
    if args.jobs > 1 and not args.check:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        children = [subprocess.Popen([sys.executable, __file__, *map(str, args.folders), "--shard", f"{k}/{args.jobs}"],
                                     env=env) for k in range(args.jobs)]
        return max(child.wait() for child in children)
    shard = tuple(int(part) for part in args.shard.split("/")) if args.shard else None
    status = 0
    for folder in args.folders:
        for with_snapshots in (True, False):
            configs = [c for c, snaps in stored_configs(folder) if snaps == with_snapshots]
            if configs:
                status = max(status, reproduce(folder, configs=configs, with_snapshots=with_snapshots,
                                               check_only=args.check, progress=False, shard=shard))
    return status


if __name__ == "__main__":
    sys.exit(main())
