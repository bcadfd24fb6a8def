"""Training runs into a results folder: stacking, checkpoints, locks, and `reproduce`.

A results folder holds one folder per run (see `store`), plus `.checkpoints/` (the state of a
stack being trained, written every `checkpoint_every` epochs, removed once its runs are stored)
and `.locks/` (one lock file per run, so two processes never train or write the same run).
"""
import hashlib
import os
import sys
import time
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from .cases import stored_configs
from .store import code_fingerprint, load_run, provenance, run_name, run_status, save_run
from .train import SHARED_FIELDS, StackTrainer

CHECKPOINT_DIR = ".checkpoints"
LOCK_DIR = ".locks"
# An epoch of the default stack takes seconds and a checkpoint milliseconds: every 10 epochs
# costs well under 1 % of training time (measured by `bench`).
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


def _atomic_torch_save(obj, path):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_stack(configs, out_dir, device="cpu", progress=False, checkpoint_every=None):
    """Train one stack, resuming from its checkpoint when there is one; store every run.

    Returns [(run folder, RunLog)]. Runs that diverge are stored as diverged.
    """
    out_dir = Path(out_dir)
    checkpoint_every = checkpoint_every or DEFAULT_CHECKPOINT_EVERY
    ckpt_dir = out_dir / CHECKPOINT_DIR
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / f"{stack_key(configs)}.pt"
    trainer = StackTrainer(configs, device=device, progress=progress)
    if ckpt.exists():
        try:
            trainer.load_state_dict(torch.load(ckpt, weights_only=True, map_location="cpu"))
            if progress:
                print(f"resuming {len(configs)} run(s) from {ckpt} at epoch {trainer.epoch}", file=sys.stderr)
        except Exception as err:  # a damaged checkpoint is worth a warning, never a crash
            print(f"warning: ignoring unreadable checkpoint {ckpt}: {err}", file=sys.stderr)
            trainer = StackTrainer(configs, device=device, progress=progress)

    def on_epoch(t):
        if t.epoch % checkpoint_every == 0 and t.epoch < t.shared.epochs:
            _atomic_torch_save(t.state_dict(), ckpt)

    trainer.train(on_epoch=on_epoch)
    results = []
    for log in trainer.logs:
        info = provenance(device, trainer.wall_time, trainer.n_runs)
        results.append((save_run(log, out_dir, info), log))
    ckpt.unlink(missing_ok=True)
    return results


def train_and_store(configs, out_dir, device="cpu", progress=False, checkpoint_every=None):
    """Train `configs` (grouped into as few stacks as possible) under per-run locks; store each."""
    out_dir = Path(out_dir)
    (out_dir / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    results = []
    for group in group_into_stacks(configs):
        locks = [FileLock(out_dir / LOCK_DIR / f"{run_name(c)}.lock") for c in group]
        for lock in locks:
            lock.acquire()
        try:
            results += train_stack(group, out_dir, device, progress, checkpoint_every)
        finally:
            for lock in locks:
                lock.release()
    return results


def reproduce(out_dir, device="cpu", epochs=None, check_only=False, progress=True, cases=None,
              checkpoint_every=None):
    """Train every case that is missing, stale or damaged in `out_dir`; return an exit status."""
    out_dir = Path(out_dir)
    configs = stored_configs(cases, **({} if epochs is None else {"epochs": epochs}))
    todo = []
    for config in configs:
        status = run_status(out_dir / run_name(config))
        if status == "ok":
            stored = load_run(out_dir / run_name(config), warn_stale=False)
            if stored.config != config:
                status = "stale (other config)"
        if status != "ok":
            todo.append((config, status))
    if check_only:
        for config, status in todo:
            print(f"{run_name(config)}: {status}")
        print(f"{len(configs) - len(todo)} of {len(configs)} runs stored and current")
        return 1 if todo else 0
    for config, status in todo:
        print(f"{run_name(config)}: {status}; training", file=sys.stderr)
    if not todo:
        print(f"all {len(configs)} runs are stored and current in {out_dir}")
        return 0
    (out_dir / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    mine, others = [], []
    held = []
    for config, _ in todo:
        lock = FileLock(out_dir / LOCK_DIR / f"{run_name(config)}.lock")
        try:
            lock.acquire(timeout=0)
            held.append(lock)
            mine.append(config)
        except Timeout:
            others.append((config, lock))
    start = time.perf_counter()
    status = 0
    try:
        # Re-check under the lock: another process may have stored the run meanwhile.
        mine = [c for c in mine if run_status(out_dir / run_name(c)) != "ok"
                or load_run(out_dir / run_name(c), warn_stale=False).config != c]
        for group in group_into_stacks(mine):
            for path, log in train_stack(group, out_dir, device, progress, checkpoint_every):
                if log.status != "completed":
                    print(f"{path}: {log.status} at epoch {log.failed_epoch}: {log.reason}", file=sys.stderr)
                    status = 1
    finally:
        for lock in held:
            lock.release()
    for config, lock in others:
        print(f"{run_name(config)}: being trained by another process; waiting", file=sys.stderr)
        with lock:
            if run_status(out_dir / run_name(config)) != "ok":
                print(f"{run_name(config)}: the other process did not store it", file=sys.stderr)
                status = 1
    print(f"reproduce: trained {len(mine)} run(s) on {device} in {time.perf_counter() - start:.1f} s")
    return status
