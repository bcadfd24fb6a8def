"""Training run sets into the results folder: which runs are missing, stale or damaged, and training
their stacks, in this process, in a pool of local processes, or on a Dask cluster.

The unit of work is a stack (`runsets.RunSet.stack_indices`): one single-threaded training program
(`train_stack`) that trains its runs together and stores each one. A stack with any run to
(re)train is trained whole, so every stored run comes from the stack its set defines, and the
same run is the same bits wherever it was trained (on a CPU with the same vector capability, which
the provenance records). Stacks go to an executor: this process (`jobs=1`), a spawn
`concurrent.futures.ProcessPoolExecutor` (`jobs=N`), or a `dask.distributed.Client`
(`scheduler=ADDRESS`), which offer the same `submit` interface; the stacks of every set named in
one `reproduce` go to it together, longest first. Workers write into the results folder under
per-run file locks (flock locks: the system releases them when a worker dies) with atomic writes,
and checkpoint their stack every few epochs, so a stack whose worker died resumes from its
checkpoint when it is submitted again: Dask does that by itself for a task whose worker died, and
`retries` more times for a task that raised. A worker refuses a stack when its training code
differs from the submitter's (`code_fingerprint`), so a cluster never stores runs the submitter
would call stale.
"""
import hashlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from .config import ConfigError
from .losses import LOSSES
from .store import code_fingerprint, load_status, provenance, run_name, save_run

CHECKPOINT_DIR = ".checkpoints"
LOCK_DIR = ".locks"
# An epoch of a stack takes seconds and a checkpoint about 0.1 s: every 10 epochs costs ~0.1 %.
DEFAULT_CHECKPOINT_EVERY = 10
# How long a stack may wait for another process that holds one of its runs' locks.
LOCK_TIMEOUT_S = 24 * 3600
# How many more times Dask runs a stack that raised (a worker that died does not count: Dask
# reschedules its tasks by itself, up to `distributed.scheduler.allowed-failures` times).
DEFAULT_RETRIES = 3
# How long to wait for a Dask scheduler to answer before giving up with one line.
CONNECT_TIMEOUT_S = 30
# `train_stack`'s status for a run that another process stored while this one waited for its lock.
STORED_MEANWHILE = "stored meanwhile by another process"


def stored_run(folder, config, record="snapshots"):
    """(status, run) for `config`'s run in `folder`: status is 'ok', 'stale', 'missing', 'damaged:
    <why>', 'stale (other config)' (a run stored under this name for another config), or 'missing
    snapshots' / 'missing weights' (a run that records less than `record` asks for); run is the
    loaded `StoredRun` where the status is 'ok' or 'stale', else None. One read of the run."""
    status, run = load_status(Path(folder) / run_name(config))
    if run is None:
        return status, None
    if run.config != config:
        status = "stale (other config)"
    elif record != "metrics" and run.samples is None:
        status = "missing snapshots"
    elif record == "weights" and run.d_weights is None:
        status = "missing weights"
    return status, (run if status in ("ok", "stale") else None)


def run_status(folder, config, record="snapshots"):
    """The status of `stored_run`."""
    return stored_run(folder, config, record)[0]


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
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def _say(line):
    """One line on stderr in one write: the workers of a pool share the parent's stderr, and
    print's separate write of the newline let two workers' lines run together."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _acquire(lock, name):
    """Take `lock`; say so on stderr when another process holds it and this one has to wait."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _say(f"{name}: locked by another process (training it); waiting")
        lock.acquire(timeout=LOCK_TIMEOUT_S)


def train_stack(folder, configs, record="snapshots", device="cpu", threads=1, checkpoint_every=None,
                progress=False, force=False, code=None):
    """Train one stack of `configs` and store each run in `folder`; the worker's whole job.

    Takes the runs' locks first (in name order, so two workers never deadlock), and skips the stack
    when, under the locks, every run is already stored for the current code (another worker
    finished it), unless `force`. Resumes from the stack's checkpoint when there is one. `threads`
    torch threads while it trains (one by default: a run's bits may depend on the thread count;
    the caller's setting is restored after). `code`: the submitter's `code_fingerprint()`; a worker
    whose training code differs raises instead of training. Returns [(run name, status, failed
    epoch, reason)] (plain values, so the result crosses process and network boundaries); the
    status of a run another worker stored meanwhile is STORED_MEANWHILE."""
    import torch

    from .train import StackTrainer

    if code is not None and code != code_fingerprint():
        raise RuntimeError(f"this worker's training code (fingerprint {code_fingerprint()[:12]}) differs from the "
                           f"submitter's ({code[:12]}): install the same version of wgan_lib on every worker")
    folder = Path(folder)
    names = [run_name(c) for c in configs]
    caller_threads = torch.get_num_threads()
    if device == "cpu" and threads:
        torch.set_num_threads(threads)
    (folder / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    locks = [(FileLock(folder / LOCK_DIR / f"{name}.lock"), name) for name in sorted(names)]
    taken = []
    try:
        for lock, name in locks:
            _acquire(lock, name)
            taken.append(lock)
        if not force and all(run_status(folder, c, record) == "ok" for c in configs):
            return [(name, STORED_MEANWHILE, None, None) for name in names]
        ckpt = folder / CHECKPOINT_DIR / f"{stack_key(configs)}.pt"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(folder, names, ckpt)
        trainer = StackTrainer(configs, device=device, progress=progress, record_weights=record == "weights")
        if ckpt.exists():
            try:
                trainer.load_state_dict(torch.load(ckpt, weights_only=True, map_location="cpu"))
                _say(f"resuming {len(configs)} run(s) from {ckpt} at epoch {trainer.epoch}")
            except Exception as err:  # noqa: BLE001 - a damaged checkpoint is worth a warning, never a crash
                _say(f"warning: ignoring unreadable checkpoint {ckpt}: {' '.join(str(err).split())}")
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
        for lock in reversed(taken):
            lock.release()
        torch.set_num_threads(caller_threads)


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


def _pool_worker():
    """How each process of a local pool starts: one torch thread (train_stack sets it again); deaf
    to Ctrl-C, which the parent handles by stopping its workers (a worker that caught it itself
    would print a traceback and could start the next stack); and tqdm's lock a thread lock: its
    default, a multiprocessing lock, is a named semaphore that a stopped worker would leave
    registered, and the resource tracker would warn about it (the workers show no bars)."""
    import threading

    import torch
    from tqdm.std import tqdm

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tqdm.set_lock(threading.RLock())


def executor(jobs=1, scheduler=None):
    """Where stacks train: this process (jobs 1), N local processes, or a Dask cluster (its address;
    ConfigError when it cannot be reached)."""
    if scheduler:
        from distributed import Client

        try:
            return Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
        except (OSError, ValueError, TypeError) as err:  # unreachable, or not an address
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}") from None
    if jobs == 1:
        return _InProcess()
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # spawn, not fork: a forked child inherits torch's thread pools in whatever state they are.
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_pool_worker)


def _completed(futures, pool):
    """The futures as they finish: Dask's `as_completed` on the client's own event loop (the client
    is not made the default one, so it must be named), else concurrent.futures'."""
    if hasattr(pool, "loop"):  # a Dask client
        from distributed import as_completed

        return as_completed(futures, loop=pool.loop)
    from concurrent.futures import as_completed

    return as_completed(futures)


def _stop(pool, futures):
    """After an interrupt or an error in this process: drop the stacks not started; stop a local
    pool's workers (their checkpoints and locks need nothing: checkpoints are written atomically and
    the system releases a dead process's locks). A Dask worker cannot stop a task it is running:
    those stacks train to the end and store their runs."""
    from concurrent.futures import ProcessPoolExecutor

    if isinstance(pool, ProcessPoolExecutor):
        processes = list((getattr(pool, "_processes", None) or {}).values())  # Python 3.14: terminate_workers()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=60)
    elif hasattr(pool, "cancel"):  # a Dask client
        pool.cancel(list(futures))


def _one_line(err):
    return " ".join(f"{type(err).__name__}: {err}".split())


def train_sets(work, results=None, jobs=1, scheduler=None, device="cpu", progress=True, checkpoint_every=None,
               retries=DEFAULT_RETRIES, force=False):
    """Train the given stacks of several run sets together on one executor, longest first, under one
    progress bar. `work`: [(run set, stacks)], each stack a list of positions in the set's configs.
    Returns (exit status, per set: (runs trained, runs another process stored meanwhile, seconds
    until its last stack ended)). The exit status is 0 when every run completed, 1 when a run
    diverged or a stack failed; each is said in one line on stderr, and the other stacks still
    finish and store their runs."""
    from tqdm.auto import tqdm

    jobs_ = []  # (set index, folder, configs)
    for k, (run_set, stacks) in enumerate(work):
        # Absolute: a Dask worker's working directory is its own.
        folder = run_set.path(results).absolute()
        jobs_ += [(k, folder, [run_set.configs[i] for i in stack]) for stack in stacks]
    order = sorted(range(len(jobs_)), key=lambda j: (-estimated_cost(jobs_[j][2]), j))  # longest first
    left = [sum(1 for k, _, _ in jobs_ if k == s) for s in range(len(work))]
    trained, meanwhile, ended = [0] * len(work), [0] * len(work), [0.0] * len(work)
    status = 0
    start = time.perf_counter()
    pool = executor(jobs, scheduler)
    in_process = isinstance(pool, _InProcess)
    code = code_fingerprint()
    bar = tqdm(total=len(jobs_), disable=not progress, desc="stacks", unit="stack")
    futures = {}
    try:
        for j in order:
            k, folder, configs = jobs_[j]
            kwargs = dict(record=work[k][0].record, device=device, checkpoint_every=checkpoint_every,
                          progress=progress and in_process, force=force, code=code)
            if scheduler:  # a new task every time (pure=False); run again when it raised (retries)
                kwargs.update(pure=False, retries=retries)
            futures[pool.submit(train_stack, str(folder), configs, **kwargs)] = j
        for future in _completed(list(futures), pool):
            k, folder, configs = jobs_[futures[future]]
            set_name = work[k][0].name
            bar.update(1)
            left[k] -= 1
            if not left[k]:
                ended[k] = time.perf_counter() - start
            try:
                results_of_stack = future.result()
            except Exception as err:  # noqa: BLE001 - one line per failed stack; the others go on
                status = 1
                names = [run_name(c) for c in configs]
                bar.write(f"error: {set_name}: stack of {len(names)} run(s) ({', '.join(names[:4])}"
                          f"{', ...' if len(names) > 4 else ''}) failed: {_one_line(err)}", file=sys.stderr)
                continue
            for name, run_status_, epoch, reason in results_of_stack:
                if run_status_ == STORED_MEANWHILE:
                    meanwhile[k] += 1
                    continue
                trained[k] += 1
                if run_status_ == "diverged":
                    status = 1
                    bar.write(f"{folder / name}: diverged at epoch {epoch}: {reason}", file=sys.stderr)
    except BaseException:
        _stop(pool, futures)
        raise
    finally:
        bar.close()
        if scheduler:
            pool.close()
        else:
            pool.shutdown()
    return status, list(zip(trained, meanwhile, ended))


def train_stacks(run_set, stacks, results=None, jobs=1, scheduler=None, device="cpu", progress=True,
                 checkpoint_every=None, retries=DEFAULT_RETRIES, force=False):
    """Train the given stacks (lists of positions in `run_set.configs`) of one run set (`train_sets`);
    return the exit status."""
    return train_sets([(run_set, stacks)], results, jobs, scheduler, device, progress, checkpoint_every, retries,
                      force)[0]


def _chosen(sets, only):
    """Per set, the positions of the runs that `only` (run names like 'success-seed0' or case names
    like 'success', of the sets' full schedules) names; ConfigError naming a name that names none."""
    chosen = [{i for i, c in enumerate(s.configs) if run_name(c) in only or c.case in only} for s in sets]
    named = {n for s, positions in zip(sets, chosen) for i in positions
             for n in (run_name(s.configs[i]), s.configs[i].case)}
    unknown = [n for n in only if n not in named]
    if unknown:
        raise ConfigError(f"--only: no run of {', '.join(s.name for s in sets)} is named {unknown[0]!r} "
                          "(give run names such as success-seed0, or case names such as success)")
    return chosen


def reproduce(names, results=None, check=False, jobs=1, shard=None, scheduler=None, device="cpu", epochs=None,
              progress=True, checkpoint_every=None, only=None):
    """Train (or, with `check`, list) every missing, stale or damaged run of the named run sets;
    return an exit status. The stacks of all the sets go to one executor together.

    `only`: run or case names; only those runs are checked, and trained with their whole stacks (a
    run's bits depend on the stack it trains in, so the other runs of a chosen run's stack are
    trained and stored too, the same bits as when the whole set trains). `shard=(k, n)` keeps the
    k-th of n shares of the stacks to train (`share_stacks`), for splitting the work between
    machines by hand."""
    from .runsets import get_run_set

    full = [get_run_set(name) for name in names]
    chosen = _chosen(full, set(only)) if only else [set(range(len(s.configs))) for s in full]
    sets = [s.with_epochs(epochs) for s in full]  # the same positions, other names
    status = 0
    work = []
    for run_set, mine in zip(sets, chosen):
        folder = run_set.path(results)
        statuses = {i: run_status(folder, run_set.configs[i], run_set.record) for i in sorted(mine)}
        todo = {i for i, s in statuses.items() if s != "ok"}
        if check:
            for i in sorted(todo):
                print(f"{run_set.name}/{run_name(run_set.configs[i])}: {statuses[i]}")
            print(f"{run_set.name}: {len(statuses) - len(todo)} of {len(statuses)} runs stored and current")
            status |= bool(todo)
            continue
        stacks = [stack for stack in run_set.stack_indices() if todo & set(stack)]
        if shard is not None:
            k, n = shard
            share = share_stacks([[run_set.configs[i] for i in stack] for stack in stacks], n)[k]
            stacks = [stacks[i] for i in share]
        if not stacks:
            print(f"{run_set.name}: no stack to train in share {shard[0]}/{shard[1]}" if todo else
                  f"{run_set.name}: all {len(statuses)} runs stored and current in {folder}")
            continue
        n_runs = sum(len(s) for s in stacks)
        print(f"{run_set.name}: training {len(stacks)} stack(s), {n_runs} run(s), into {folder}", file=sys.stderr)
        work.append((run_set, stacks))
    if work:
        set_status, per_set = train_sets(work, results, jobs, scheduler, device, progress, checkpoint_every)
        status |= set_status
        for (run_set, _), (n_trained, n_meanwhile, seconds) in zip(work, per_set):
            also = f"; {n_meanwhile} stored meanwhile by another process" if n_meanwhile else ""
            print(f"{run_set.name}: trained {n_trained} run(s) on {device} in {seconds:.1f} s{also}")
    return int(status)


def train_and_store(configs, folder, device="cpu", progress=False, checkpoint_every=None, with_snapshots=True):
    """Train `configs` as one stack and store each run in `folder` (the `run` command and library
    use); returns [(run folder, status, failed epoch, reason)]."""
    from .train import check_stackable

    check_stackable(configs)
    results = train_stack(folder, list(configs), "snapshots" if with_snapshots else "metrics", device,
                          threads=None, checkpoint_every=checkpoint_every, progress=progress, force=True)
    return [(Path(folder) / name, s, e, r) for name, s, e, r in results]

