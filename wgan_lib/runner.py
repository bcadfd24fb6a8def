"""Training runs into a results folder: stacking, checkpoints, locks, and `reproduce`.

A results folder holds one folder per run (see `store`), plus `.checkpoints/` (the state of a
stack being trained, written every `checkpoint_every` epochs, removed once its runs are stored)
and `.locks/` (one lock file per run, so two processes never train or write the same run).
"""
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from .cases import stored_configs
from .config import Config
from .store import RUN_JSON, SNAPSHOTS_NPZ, RunFileError, code_fingerprint, load_status, provenance, run_name, save_run
from .train import SHARED_FIELDS, StackTrainer

CHECKPOINT_DIR = ".checkpoints"
LOCK_DIR = ".locks"
# An epoch of the default stack takes seconds and a checkpoint about 0.1 s: every 10 epochs
# costs about 0.1 % of training time (measured for the full 12-case stack, tests/test_robustness.py).
DEFAULT_CHECKPOINT_EVERY = 10


def stack_key(configs):
    """A name for a stack's checkpoint: the same configs and code give the same name."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for config in configs:
        digest.update(config.fingerprint().encode())
    return digest.hexdigest()[:24]


def group_into_stacks(configs):
    """Split configs into groups that can share one stack (same shapes and schedule)."""
    groups = {}
    for config in configs:
        groups.setdefault(tuple(getattr(config, f) for f in SHARED_FIELDS), []).append(config)
    return list(groups.values())


# What a stack costs per batch on one CPU thread (`OMP_NUM_THREADS=1 python experiments/stack_cost.py`,
# 2-core machine): each update slot (critic slots 0 .. max n_critic - 1, then the generator's)
# costs a fixed SLOT_MS plus RUN_UPDATE_MS per run it takes, times the run's weight: 1 for a
# generator update and for WGAN's and the standard GAN's critic update, more for a Coulomb GAN
# critic update (its potential) or a WGAN-GP one (the double backward). Fit over ten stacks
# (`--batches 100`, after the compiled kernels and the hand-written backward): 0.463 and 0.841 ms,
# Coulomb 1.50, WGAN-GP 1.96; the model is within 13 % of each but the Coulomb x1 stack (23 %).
SLOT_MS = 0.46
RUN_UPDATE_MS = 0.84
CRITIC_UPDATE_WEIGHT = {"wgan": 1.0, "standard": 1.0, "coulomb": 1.5, "wgan-gp": 2.0}


def estimated_cost(configs):
    """Estimated single-thread seconds to train `configs`, stacked as `group_into_stacks` stacks them."""
    total = 0.0
    for stack in group_into_stacks(configs):
        slots = max(c.n_critic for c in stack) + 1
        work = sum(c.n_critic * CRITIC_UPDATE_WEIGHT[c.loss] + 1.0 for c in stack)
        total += (SLOT_MS * slots + RUN_UPDATE_MS * work) * stack[0].epochs * stack[0].batches_per_epoch / 1e3
    return total


def shard_configs(configs, shard):
    """The runs of shard `shard = (k, n)` in a split of `configs` between n processes that
    balances their estimated cost (`estimated_cost`), in the order of `configs`.

    Greedy: runs in decreasing cost of their own, each to the shard it leaves cheapest at the top
    (the least resulting maximum, then the least resulting cost, then the lowest k). A stack's
    cost is not the sum of its runs' (the slots' fixed part is shared, and a run with n_critic 5
    adds four slots only to a stack without one), so the resulting cost is computed each time.
    The split depends only on `configs`, never on what is stored, so that n processes given the
    same runs agree on it.
    """
    k, n = shard
    order = sorted(range(len(configs)), key=lambda i: (-estimated_cost([configs[i]]), i))
    members = [[] for _ in range(n)]
    costs = [0.0] * n
    for i in order:
        def placed(j):
            cost = estimated_cost([configs[m] for m in sorted(members[j] + [i])])
            return max([cost] + costs[:j] + costs[j + 1:]), cost, j

        _, costs_after, best = min(placed(j) for j in range(n))
        members[best].append(i)
        costs[best] = costs_after
    return [configs[i] for i in sorted(members[k])]


def _lock(out_dir, config):
    """The lock that one process holds while it trains or writes `config`'s run."""
    return FileLock(out_dir / LOCK_DIR / f"{run_name(config)}.lock")


def _atomic_torch_save(obj, path):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _remove_leftovers(out_dir, configs, ckpt):
    """Remove what an interrupted writer of these runs left behind: `save_run`'s temporary and
    replaced folders, and half-written checkpoint files. Call only while holding the runs' locks
    (no other process writes them then)."""
    leftovers = list(ckpt.parent.glob(f".{ckpt.name}.tmp-*"))
    for config in configs:
        name = run_name(config)
        leftovers += list(out_dir.glob(f".{name}.tmp-*")) + list(out_dir.glob(f".{name}.old-*"))
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def train_stack(configs, out_dir, device="cpu", progress=False, checkpoint_every=None, with_snapshots=True):
    """Train one stack, resuming from its checkpoint when there is one; store every run
    (metrics only, without snapshots.npz, when `with_snapshots` is False).

    Call while holding the runs' locks (`train_and_store` and `reproduce` do).
    Returns [(run folder, RunLog)]. Runs that diverge are stored as diverged.
    """
    out_dir = Path(out_dir)
    checkpoint_every = checkpoint_every or DEFAULT_CHECKPOINT_EVERY
    ckpt_dir = out_dir / CHECKPOINT_DIR
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / f"{stack_key(configs)}.pt"
    _remove_leftovers(out_dir, configs, ckpt)
    trainer = StackTrainer(configs, device=device, progress=progress)
    if ckpt.exists():
        try:
            trainer.load_state_dict(torch.load(ckpt, weights_only=True, map_location="cpu"))
            # Always said (also with --quiet): a resumed run is worth knowing about.
            print(f"resuming {len(configs)} run(s) from {ckpt} at epoch {trainer.epoch}", file=sys.stderr)
        except Exception as err:  # a damaged checkpoint is worth a warning, never a crash
            print(f"warning: ignoring unreadable checkpoint {ckpt}: {err}", file=sys.stderr)
            trainer = StackTrainer(configs, device=device, progress=progress)

    def on_epoch(t):
        if t.epoch % checkpoint_every == 0 and t.epoch < t.shared.epochs:
            _atomic_torch_save(t.state_dict(), ckpt)

    trainer.train(on_epoch=on_epoch)
    info = provenance(device, trainer.wall_time, trainer.n_runs)  # one stack, one provenance
    results = [(save_run(log, out_dir, info, with_snapshots), log) for log in trainer.logs]
    ckpt.unlink(missing_ok=True)
    return results


def train_and_store(configs, out_dir, device="cpu", progress=False, checkpoint_every=None, with_snapshots=True):
    """Train `configs` (grouped into as few stacks as possible) under per-run locks; store each."""
    out_dir = Path(out_dir)
    for config in configs:
        run_name(config)  # a config that cannot name a run folder fails here, before anything is written
    (out_dir / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    results = []
    for group in group_into_stacks(configs):
        locks = [_lock(out_dir, c) for c in group]
        for lock in locks:
            lock.acquire()
        try:
            results += train_stack(group, out_dir, device, progress, checkpoint_every, with_snapshots)
        finally:
            for lock in locks:
                lock.release()
    return results


def _current_status(out_dir, config, with_snapshots=True):
    """run_status of `config`'s run folder, with 'stale (other config)' for a run stored under
    this name for another config, and 'missing snapshots' for a metrics-only run where the
    snapshots are wanted."""
    status, run = load_status(out_dir / run_name(config))
    if status == "ok" and run.config != config:
        return "stale (other config)"
    if status == "ok" and with_snapshots and run.samples is None:
        return "missing snapshots"
    return status


def reproduce(out_dir, device="cpu", epochs=None, check_only=False, progress=True, cases=None,
              checkpoint_every=None, configs=None, with_snapshots=True, shard=None):
    """Train every case that is missing, stale or damaged in `out_dir`; return an exit status.

    `configs` replaces the cases and studies by other runs (the sweeps); `shard=(k, n)` keeps the
    k-th (0-based) of n parts of a cost-balanced split (`shard_configs`), so that n processes share
    the work without waiting on each other's locks (the split does not depend on what is stored).

    Safe to run in several processes at once on one folder: each run is trained by the process
    that holds its lock (`.locks/<run>.lock`); the others wait for it and then find it stored. A
    process that finds a run's owner gone without storing it (killed) trains it itself.
    """
    out_dir = Path(out_dir)
    changes = {} if epochs is None else {"epochs": epochs}
    configs = stored_configs(cases, **changes) if configs is None else [c.replace(**changes) for c in configs]
    if shard is not None:
        configs = shard_configs(configs, shard)
    todo = [(c, s) for c in configs if (s := _current_status(out_dir, c, with_snapshots)) != "ok"]
    if check_only:
        for config, status in todo:
            print(f"{run_name(config)}: {status}")
        print(f"{len(configs) - len(todo)} of {len(configs)} runs stored and current")
        return 1 if todo else 0
    if not todo:
        print(f"all {len(configs)} runs are stored and current in {out_dir}")
        return 0
    for config, status in todo:
        print(f"{run_name(config)}: {status}", file=sys.stderr)
    (out_dir / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    mine, others, held = [], [], []
    for config, _ in todo:
        lock = _lock(out_dir, config)
        try:
            lock.acquire(timeout=0)
            held.append(lock)
            mine.append(config)
        except Timeout:
            others.append((config, lock))
    start = time.perf_counter()
    status = 0
    trained = []

    def train(group):
        nonlocal status
        for c in group:
            print(f"{run_name(c)}: training", file=sys.stderr)
        for path, log in train_stack(group, out_dir, device, progress, checkpoint_every, with_snapshots):
            trained.append(path)
            if log.status != "completed":
                print(f"{path}: {log.status} at epoch {log.failed_epoch}: {log.reason}", file=sys.stderr)
                status = 1

    try:
        # Re-check under the lock: another process may have stored the run meanwhile.
        stored_meanwhile = [c for c in mine if _current_status(out_dir, c, with_snapshots) == "ok"]
        for config in stored_meanwhile:
            print(f"{run_name(config)}: stored by another process meanwhile", file=sys.stderr)
        mine = [c for c in mine if c not in stored_meanwhile]
        for group in group_into_stacks(mine):
            train(group)
    finally:
        for lock in held:
            lock.release()
    # One lock at a time, so two processes waiting for each other's runs never deadlock.
    for config, lock in others:
        print(f"{run_name(config)}: being trained by another process; waiting", file=sys.stderr)
        with lock:
            if _current_status(out_dir, config, with_snapshots) == "ok":
                print(f"{run_name(config)}: stored by the other process", file=sys.stderr)
            else:
                print(f"{run_name(config)}: the other process stopped without storing it", file=sys.stderr)
                train([config])
    print(f"reproduce: trained {len(trained)} run(s) on {device} in {time.perf_counter() - start:.1f} s")
    return status


def stored_run_configs(folder):
    """(config, with_snapshots) of every run stored directly under `folder`, in name order, read
    from its run.json alone: whatever else of a stale or damaged run is there gets trained again.

    Raises RunFileError naming the file: for a run.json without a readable config, a run folder
    not named after its config (a retrained run would land elsewhere), a folder holding files that
    `save_run` does not write (the critic study's weights: `python -m wgan_lib sweep critic` makes
    those), and a folder with no stored run at all.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFileError(f"{folder}: not a folder")
    runs = []
    for json_path in sorted(folder.glob(f"*/{RUN_JSON}")):
        run_dir = json_path.parent
        if run_dir.name.startswith("."):  # save_run's temporary and replaced folders
            continue
        try:
            record = json.loads(json_path.read_text())
            config = Config.from_dict(record["config"])
            with_snapshots = record["snapshots_sha256"] is not None
            name = run_name(config)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as err:
            raise RunFileError(f"{json_path}: no config to retrain from ({type(err).__name__}: {err})") from None
        if run_dir.name != name:
            raise RunFileError(f"{run_dir}: its config names the run {name!r}, not {run_dir.name!r}; "
                               "retraining would store it elsewhere")
        extra = sorted(p.name for p in run_dir.iterdir() if p.name not in (RUN_JSON, SNAPSHOTS_NPZ))
        if extra:
            raise RunFileError(f"{run_dir}: holds {', '.join(extra)}, which retrain does not make; retrain it "
                               "with the command that made it (the critic study: python -m wgan_lib sweep critic)")
        runs.append((config, with_snapshots))
    if not runs:
        raise RunFileError(f"{folder}: no stored run (no */{RUN_JSON}) to retrain")
    return runs


def stored_runs_by_folder(folders):
    """{folder: stored_run_configs(folder)} for each folder: every folder read and checked before
    anything trains, so a bad one stops `retrain` before it starts (and before `--jobs` forks)."""
    return {Path(folder): stored_run_configs(folder) for folder in folders}


def retrain(stored, device="cpu", check_only=False, progress=True, shard=None, checkpoint_every=None):
    """`reproduce` for stored runs that no case or sweep names (the probes of experiments/):
    train again every stale or damaged run of `stored` (what `stored_runs_by_folder` read), each
    from the config in its own run.json, in place and of its own kind (with snapshots, or metrics
    only). Returns an exit status, as `reproduce` does.

        retrain(stored_runs_by_folder(["results/sanity", "results/network-size"]))
    """
    status = 0
    for folder, runs in stored.items():
        for with_snapshots in (True, False):
            configs = [config for config, snapshots in runs if snapshots is with_snapshots]
            if configs:
                status = max(status, reproduce(folder, device=device, check_only=check_only, progress=progress,
                                               checkpoint_every=checkpoint_every, configs=configs,
                                               with_snapshots=with_snapshots, shard=shard))
    return status
