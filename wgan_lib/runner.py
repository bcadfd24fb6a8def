"""Training run sets into the results folder: which runs are missing, stale or damaged, and training
their stacks, in this process, in a pool of local processes, or on a Dask cluster.

The unit of work is a stack (`runsets.RunSet.stack_indices`): one single-threaded training program
(`train_stack`) that trains its runs together and stores each one. A stack with any run to
(re)train is trained whole, so every stored run comes from the stack its set defines, and the
same run is the same bits wherever it was trained. Stacks go to an executor: this process
(`jobs=1`), a `concurrent.futures.ProcessPoolExecutor` (`jobs=N`), or a `dask.distributed.Client`
(`scheduler=ADDRESS`), which offer the same `submit` interface. Workers write into the results
folder under per-run file locks with atomic writes, and checkpoint their stack every few epochs,
so a stack whose worker died resumes from its checkpoint when it is submitted again (Dask's
retries do that by themselves).
"""
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

from filelock import FileLock

from .losses import LOSSES
from .store import code_fingerprint, load_status, provenance, run_name, save_run

CHECKPOINT_DIR = ".checkpoints"
LOCK_DIR = ".locks"
# An epoch of a stack takes seconds and a checkpoint about 0.1 s: every 10 epochs costs ~0.1 %.
DEFAULT_CHECKPOINT_EVERY = 10
# How long a stack may wait for another process that holds one of its runs' locks.
LOCK_TIMEOUT_S = 24 * 3600


def run_status(folder, config, record="snapshots"):
    """'ok', 'stale', 'missing', 'damaged: <why>', 'stale (other config)' (a run stored under this
    name for another config), or 'missing snapshots' / 'missing weights' (a run that records less
    than `record` asks for) for `config`'s run in `folder`."""
    status, run = load_status(Path(folder) / run_name(config))
    if run is None:
        return status
    if run.config != config:
        return "stale (other config)"
    if record != "metrics" and run.samples is None:
        return "missing snapshots"
    if record == "weights" and run.d_weights is None:
        return "missing weights"
    return status


# What a stack costs per batch on one CPU thread, to share stacks between workers evenly (it does
# not decide any number a run computes): each update slot (critic slots 0 .. max n_critic - 1, then
# the generator's) costs a fixed SLOT_MS plus RUN_UPDATE_MS per run it takes, times the run's
# weight (1 for a generator update, the loss's `critic_cost` for a critic update). Fit over ten
# stacks of 2x64 networks by timing `train_batch` on one thread.
SLOT_MS = 0.46
RUN_UPDATE_MS = 0.84


def estimated_cost(configs):
    """Estimated single-thread seconds to train one stack of `configs`."""
    if not configs:
        return 0.0
    slots = max(c.n_critic for c in configs) + 1
    work = sum(c.n_critic * LOSSES[c.loss].critic_cost + 1.0 for c in configs)
    width = (configs[0].g_width * configs[0].d_width) / 64**2  # the products grow about with width^2
    return (SLOT_MS * slots + RUN_UPDATE_MS * work * max(1.0, width)) * configs[0].epochs * configs[0].batches_per_epoch / 1e3


def share_stacks(stacks, n):
    """Split `stacks` (lists of configs) between n workers: longest first, each to the least loaded
    (the lowest index on ties). Returns n lists of positions in `stacks`."""
    shares, loads = [[] for _ in range(n)], [0.0] * n
    for i in sorted(range(len(stacks)), key=lambda i: (-estimated_cost(stacks[i]), i)):
        k = min(range(n), key=lambda k: (loads[k], k))
        shares[k].append(i)
        loads[k] += estimated_cost(stacks[i])
    return [sorted(share) for share in shares]


def stack_key(configs):
    """A name for a stack's checkpoint: the same configs and code give the same name."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for config in configs:
        digest.update(config.fingerprint().encode())
    return digest.hexdigest()[:24]


def _atomic_torch_save(obj, path):
    import torch

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _remove_leftovers(folder, names, ckpt):
    """Remove what an interrupted writer of these runs left behind: `save_run`'s temporary and
    replaced folders, and half-written checkpoint files. Only while holding the runs' locks."""
    leftovers = list(ckpt.parent.glob(f".{ckpt.name}.tmp-*"))
    for name in names:
        leftovers += list(folder.glob(f".{name}.tmp-*")) + list(folder.glob(f".{name}.old-*"))
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def train_stack(folder, configs, record="snapshots", device="cpu", threads=1, checkpoint_every=None,
                progress=False, force=False):
    """Train one stack of `configs` and store each run in `folder`; the worker's whole job.

    Takes the runs' locks first (in name order, so two workers never deadlock), and skips the stack
    when, under the locks, every run is already stored for the current code (another worker
    finished it), unless `force`. Resumes from the stack's checkpoint when there is one. `threads`
    torch threads (one by default: a stack's numbers do not depend on how many processes share
    the machine). Returns [(run name, status, failed epoch, reason)] (plain values, so the result
    crosses process and network boundaries)."""
    import torch

    from .train import StackTrainer

    folder = Path(folder)
    names = [run_name(c) for c in configs]
    if device == "cpu" and threads:
        torch.set_num_threads(threads)
    (folder / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    locks = [FileLock(folder / LOCK_DIR / f"{name}.lock") for name in sorted(names)]
    for lock in locks:
        lock.acquire(timeout=LOCK_TIMEOUT_S)
    try:
        if not force and all(run_status(folder, c, record) == "ok" for c in configs):
            return [(name, "stored by another worker", None, None) for name in names]
        ckpt = folder / CHECKPOINT_DIR / f"{stack_key(configs)}.pt"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(folder, names, ckpt)
        trainer = StackTrainer(configs, device=device, progress=progress, record_weights=record == "weights")
        if ckpt.exists():
            try:
                trainer.load_state_dict(torch.load(ckpt, weights_only=True, map_location="cpu"))
                print(f"resuming {len(configs)} run(s) from {ckpt} at epoch {trainer.epoch}", file=sys.stderr)
            except Exception as err:  # noqa: BLE001 - a damaged checkpoint is worth a warning, never a crash
                print(f"warning: ignoring unreadable checkpoint {ckpt}: {err}", file=sys.stderr)
                trainer = StackTrainer(configs, device=device, progress=progress, record_weights=record == "weights")
        every = checkpoint_every or DEFAULT_CHECKPOINT_EVERY

        def on_epoch(t):
            if t.epoch % every == 0 and t.epoch < t.shared.epochs:
                _atomic_torch_save(t.state_dict(), ckpt)

        trainer.train(on_epoch=on_epoch)
        info = provenance(device, trainer.wall_time, names)  # one stack, one provenance
        for log in trainer.logs:
            save_run(log, folder, info, with_snapshots=record != "metrics")
        ckpt.unlink(missing_ok=True)
        return [(name, log.status, log.failed_epoch, log.reason) for name, log in zip(names, trainer.logs)]
    finally:
        for lock in locks:
            lock.release()


class _InProcess:
    """The executor of `jobs=1`: runs each submitted call at once, in this process."""

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # noqa: BLE001 - reported per stack, as a pool would
            future.set_exception(err)
        return future

    def shutdown(self):
        pass


def _one_thread():
    import torch

    torch.set_num_threads(1)


def executor(jobs=1, scheduler=None):
    """Where stacks train: this process (jobs 1), N local processes, or a Dask cluster (its address)."""
    if scheduler:
        from distributed import Client

        return Client(scheduler, set_as_default=False)
    if jobs == 1:
        return _InProcess()
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # spawn, not fork: a forked child inherits torch's thread pools in whatever state they are.
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_one_thread)


def _completed(futures, scheduler):
    if scheduler:
        from distributed import as_completed

        return as_completed(futures)
    from concurrent.futures import as_completed

    return as_completed(futures)


def train_stacks(run_set, stacks, results=None, jobs=1, scheduler=None, device="cpu", progress=True,
                 checkpoint_every=None, retries=3, force=False):
    """Train the given stacks (lists of positions in `run_set.configs`) of a run set; return an exit
    status: 0 when every run completed, 1 when a run diverged or a stack failed (each said in one
    line; the other stacks still finish and store their runs)."""
    from tqdm.auto import tqdm

    folder = run_set.path(results)
    pool = executor(jobs, scheduler)
    in_process = isinstance(pool, _InProcess)
    status = 0
    groups = [[run_set.configs[i] for i in stack] for stack in stacks]
    order = sorted(range(len(groups)), key=lambda i: -estimated_cost(groups[i]))  # longest first
    bar = tqdm(total=len(groups), disable=not progress, desc=f"{run_set.name}: stacks", unit="stack")
    try:
        futures = {}
        for i in order:
            kwargs = dict(record=run_set.record, device=device, checkpoint_every=checkpoint_every,
                          progress=progress and in_process, force=force)
            if scheduler:
                kwargs_dask = dict(pure=False, retries=retries)
                future = pool.submit(train_stack, str(folder), groups[i], **kwargs, **kwargs_dask)
            else:
                future = pool.submit(train_stack, folder, groups[i], **kwargs)
            futures[future] = i
        for future in _completed(list(futures), scheduler):
            names = [run_name(c) for c in groups[futures[future]]]
            bar.update(1)
            try:
                results_of_stack = future.result()
            except Exception as err:  # noqa: BLE001 - one line per failed stack; the others go on
                status = 1
                bar.write(f"error: stack of {len(names)} run(s) ({', '.join(names[:4])}"
                          f"{' ...' if len(names) > 4 else ''}) failed: {type(err).__name__}: {err}")
                continue
            for name, run_status_, epoch, reason in results_of_stack:
                if run_status_ == "diverged":
                    status = 1
                    bar.write(f"{folder / name}: diverged at epoch {epoch}: {reason}")
    finally:
        bar.close()
        if scheduler:
            pool.close()
        else:
            pool.shutdown()
    return status


def reproduce(names, results=None, check=False, jobs=1, shard=None, scheduler=None, device="cpu", epochs=None,
              progress=True, checkpoint_every=None):
    """Train (or, with `check`, list) every missing, stale or damaged run of the named run sets;
    return an exit status. `shard=(k, n)` keeps the k-th of n shares of the stacks to train
    (`share_stacks`), for splitting the work between machines by hand."""
    from .runsets import get_run_set

    sets = [get_run_set(name).with_epochs(epochs) for name in names]
    status = 0
    for run_set in sets:
        folder = run_set.path(results)
        statuses = [run_status(folder, c, run_set.record) for c in run_set.configs]
        todo = {i for i, s in enumerate(statuses) if s != "ok"}
        if check:
            for i in sorted(todo):
                print(f"{run_set.name}/{run_name(run_set.configs[i])}: {statuses[i]}")
            print(f"{run_set.name}: {len(statuses) - len(todo)} of {len(statuses)} runs stored and current")
            status |= bool(todo)
            continue
        stacks = [stack for stack in run_set.stack_indices() if todo & set(stack)]
        if shard is not None:
            k, n = shard
            mine = share_stacks([[run_set.configs[i] for i in stack] for stack in stacks], n)[k]
            stacks = [stacks[i] for i in mine]
        if not stacks:
            print(f"{run_set.name}: all {len(statuses)} runs stored and current in {folder}")
            continue
        n_runs = sum(len(s) for s in stacks)
        print(f"{run_set.name}: training {len(stacks)} stack(s), {n_runs} run(s), into {folder}", file=sys.stderr)
        start = time.perf_counter()
        status |= train_stacks(run_set, stacks, results, jobs, scheduler, device, progress, checkpoint_every)
        print(f"{run_set.name}: trained {n_runs} run(s) on {device} in {time.perf_counter() - start:.1f} s")
    return int(status)


def train_and_store(configs, folder, device="cpu", progress=False, checkpoint_every=None, with_snapshots=True):
    """Train `configs` as one stack and store each run in `folder` (the `run` command and library
    use); returns [(run folder, status, failed epoch, reason)]."""
    from .train import check_stackable

    check_stackable(configs)
    results = train_stack(folder, list(configs), "snapshots" if with_snapshots else "metrics", device,
                          threads=None, checkpoint_every=checkpoint_every, progress=progress, force=True)
    return [(Path(folder) / name, s, e, r) for name, s, e, r in results]

