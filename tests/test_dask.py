"""Run sets on a Dask cluster, and local processes through the same interface (`runner.executor`).

- The same runs, bit for bit, whether their stacks train in this process, in two local processes
  (`--jobs 2`) or on a Dask cluster (`--scheduler`).
- A worker killed in the middle of a stack loses nothing: Dask runs the stack again on another
  worker, which resumes from the stack's checkpoint and stores exactly the runs of an
  uninterrupted training.
- The command line against a scheduler and two workers started by hand, as docs/cluster.md says.
- A stack that fails is one line naming its runs and exit status 1; the other stacks store theirs.

Clusters are real: a `distributed.LocalCluster` of worker processes, or `dask scheduler` and
`dask worker` processes. Every test bounds its time (`time_limit`, subprocess timeouts) and closes
what it started. The run sets are tiny and registered for the test (`RUN_SETS[name] = ...`): the
workers get the configs themselves with each stack, so they need wgan_lib, not the registration.
"""
import contextlib
import json
import os
import re
import runpy
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from distributed import Client, LocalCluster

from wgan_lib import Config, load_run
from wgan_lib.cli import main
from wgan_lib.runner import CHECKPOINT_DIR, reproduce, stack_key, train_stack
from wgan_lib.runsets import RUN_SETS, RunSet, get_run_set
from wgan_lib.store import run_name

REPO = Path(__file__).resolve().parents[1]
compare = runpy.run_path(str(REPO / "tools" / "compare_runs.py"))["compare"]
# 25 batches of 32 per epoch: a tiny stack trains in about a second here.
TINY = dict(samples_per_center=32, batch_size=32, g_width=8, d_width=8, g_depth=1, d_depth=1, epochs=3,
            n_eval_samples=100, plot_resolution=9, snapshot_every=1)
# Generous bounds on a 2-core machine shared with long training runs: a bound only stops a hung
# test, it asserts nothing about speed.
LIMIT_S = 600


@contextlib.contextmanager
def time_limit(seconds, what):
    """Raise TimeoutError in this (the main) thread when the block takes longer than `seconds`."""
    def expire(signum, frame):
        raise TimeoutError(f"{what}: not done within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def register(run_set):
    RUN_SETS[run_set.name] = run_set
    return run_set


@pytest.fixture
def two_stacks():
    """Four tiny runs of three losses in two stacks, recording D's weights too (every array a run
    stores), registered as a run set for the test."""
    configs = (Config(case="dask-wgan").replace(**TINY),
               Config(case="dask-coulomb").replace(**TINY, loss="coulomb", clip=None, noise="normal", seed=1),
               Config(case="dask-gp").replace(**TINY, loss="wgan-gp", clip=None, n_critic=2, beta_2=0.9, seed=2),
               Config(case="dask-wgan").replace(**TINY, seed=3))
    yield register(RunSet("dask-test", "four tiny runs in two stacks", configs, record="weights", stacks=2))
    del RUN_SETS["dask-test"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each on 127.0.0.1, for the module."""
    with time_limit(300, "starting a LocalCluster"):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None)
    try:
        yield local
    finally:
        with time_limit(120, "closing the LocalCluster"):
            local.close()


def stored_names(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def assert_identical(first, second, n):
    lines = []
    assert compare(first, second, out=lines.append) == (n, n), lines


# ============================================================ the same bits wherever a stack trains


def test_the_same_runs_bit_for_bit_in_this_process_in_local_processes_and_on_a_dask_cluster(two_stacks, cluster,
                                                                                           tmp_path):
    folders = {}
    for how, where in [("here", dict(jobs=1)), ("pool", dict(jobs=2)),
                       ("dask", dict(scheduler=cluster.scheduler_address))]:
        with time_limit(LIMIT_S, f"reproduce ({how})"):
            assert reproduce(["dask-test"], tmp_path / how, progress=False, **where) == 0
        folders[how] = two_stacks.path(tmp_path / how)
        assert stored_names(folders[how]) == sorted(run_name(c) for c in two_stacks.configs)
    for how in ("pool", "dask"):
        assert_identical(folders["here"], folders[how], 4)
    stacks = [[run_name(two_stacks.configs[i]) for i in stack] for stack in two_stacks.stack_indices()]
    for how, folder in folders.items():
        for config in two_stacks.configs:
            run = load_run(folder / run_name(config))
            assert run.d_weights is not None and run.samples.shape == (3, 100, 2)
            assert run.provenance["stack"] in stacks and run_name(config) in run.provenance["stack"]
            assert "1 threads" in run.provenance["device"], (how, run.provenance["device"])


# ============================================================ a failing stack


@pytest.mark.parametrize("where", ["here", "pool", "dask"])
def test_a_failing_stack_is_one_line_naming_its_runs_and_the_other_stack_is_stored(where, two_stacks, cluster,
                                                                                   tmp_path, capsys):
    """A real failure inside the worker: the first stack's checkpoint path is a folder, so its first
    checkpoint cannot be written (IsADirectoryError). Nothing can be monkeypatched inside another
    process, but the results folder can be made unwritable for one stack."""
    folder = two_stacks.path(tmp_path)
    first, second = ([two_stacks.configs[i] for i in stack] for stack in two_stacks.stack_indices())
    blocker = folder / CHECKPOINT_DIR / f"{stack_key(first)}.pt"
    (blocker / "in-the-way").mkdir(parents=True)
    how = {"here": [], "pool": ["--jobs", "2"], "dask": ["--scheduler", cluster.scheduler_address]}[where]
    args = ["reproduce", "dask-test", "--results", str(tmp_path), "--checkpoint-every", "1", "--quiet", *how]
    with time_limit(LIMIT_S, f"reproduce with a failing stack ({where})"):
        status = main(args)
    captured = capsys.readouterr()
    assert status == 1, captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, captured.err
    assert errors[0].startswith(f"error: dask-test: stack of {len(first)} run(s) ("
                                f"{', '.join(run_name(c) for c in first)}) failed: IsADirectoryError"), errors
    assert str(blocker) in errors[0]
    assert "Traceback" not in captured.err
    assert stored_names(folder) == sorted(run_name(c) for c in second)
    assert all(load_run(folder / run_name(c)).status == "completed" for c in second)
    assert not list(folder.glob(f"{CHECKPOINT_DIR}/.*.tmp-*"))  # the failed write left no temporary file
    assert f"dask-test: trained {len(second)} run(s)" in captured.out
    if where == "dask":  # once the folder is usable again, the same command trains what is missing
        (blocker / "in-the-way").rmdir()
        blocker.rmdir()
        with time_limit(LIMIT_S, "reproduce after the failure"):
            assert main(args) == 0
        assert f"dask-test: trained {len(first)} run(s)" in capsys.readouterr().out
        assert stored_names(folder) == sorted(run_name(c) for c in two_stacks.configs)


def test_an_unreachable_scheduler_is_one_line_and_status_2(two_stacks, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("wgan_lib.runner.CONNECT_TIMEOUT_S", 2)
    with socket_nobody_listens_on() as address:
        with time_limit(120, "connecting to nothing"):
            status = main(["reproduce", "dask-test", "--results", str(tmp_path), "--scheduler", address, "--quiet"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.splitlines()[-1].startswith(f"error: cannot reach the Dask scheduler at '{address}'")
    assert len([line for line in captured.err.splitlines() if line.startswith("error")]) == 1
    assert stored_names(two_stacks.path(tmp_path)) == []


def test_a_worker_with_other_training_code_refuses_the_stack(two_stacks, tmp_path):
    """What a worker does when the submitter's code fingerprint (sent with every stack) is not its
    own: it trains and stores nothing, and says why."""
    with pytest.raises(RuntimeError, match=r"this worker's training code \(fingerprint \w{12}\) differs from the "
                                           r"submitter's \(000000000000\): install the same version"):
        train_stack(tmp_path, list(two_stacks.configs[:1]), code="0" * 64)
    assert list(tmp_path.iterdir()) == []


@contextlib.contextmanager
def socket_nobody_listens_on():
    """A tcp:// address on 127.0.0.1 that refuses connections (a port bound, never listened on)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_only_trains_the_chosen_runs_with_their_whole_stacks(two_stacks, tmp_path, capsys):
    """`--only` keeps each chosen run in its own stack, whole: the stack's other runs are trained
    and stored with it, the same bits as when the whole set trains; the other stacks are not."""
    folder = two_stacks.path(tmp_path)
    first, second = ([run_name(two_stacks.configs[i]) for i in stack] for stack in two_stacks.stack_indices())
    base = ["reproduce", "dask-test", "--results", str(tmp_path), "--quiet"]
    with time_limit(LIMIT_S, "reproduce --only"):
        assert main([*base, "--only", first[0]]) == 0
    assert stored_names(folder) == sorted(first)
    capsys.readouterr()
    assert main([*base, "--check", "--only", first[1], "dask-coulomb"]) == 1  # a case name chooses its runs
    assert capsys.readouterr().out == (f"dask-test/{second[0]}: missing\n"
                                       "dask-test: 1 of 2 runs stored and current\n")
    with time_limit(LIMIT_S, "reproduce the whole set"):
        assert reproduce(["dask-test"], tmp_path / "whole", progress=False) == 0
    assert_identical(two_stacks.path(tmp_path / "whole"), folder, 2)
    capsys.readouterr()
    assert main([*base, "--only", "nosuchrun"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: --only: no run of dask-test is named 'nosuchrun' (give run names such as "
                   "success-seed0, or case names such as success)\n")


# ============================================================ a scheduler and workers started by hand

DASK = [sys.executable, "-m", "dask"]


def _worker_env():
    """What a worker sees: this checkout importable, and no thread setting from outside (a worker
    without a nanny gets none from Dask either), so one thread per stack is train_stack's doing."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class HandCluster:
    """`dask scheduler` and `dask worker --nthreads 1` processes on 127.0.0.1, as docs/cluster.md
    starts them, each with its stderr in a file."""

    def __init__(self, base, workers=2, nanny=True):
        self.base = base
        self.procs, self.logs = [], []
        self.scheduler_file = base / "scheduler.json"
        self._start("scheduler", [*DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(self.scheduler_file)])
        deadline = time.monotonic() + 300
        while not self.scheduler_file.exists():
            assert self.procs[0].poll() is None, self.log(0)
            assert time.monotonic() < deadline, "the scheduler did not write its file"
            time.sleep(0.1)
        time.sleep(0.2)  # written at once, but let it finish
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        for i in range(workers):
            self._start(f"worker{i}", [*DASK, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                                       "--no-dashboard", "--name", f"worker{i}",
                                       *([] if nanny else ["--no-nanny"])])
        self.client = Client(self.address, set_as_default=False, timeout=120)
        self.client.wait_for_workers(workers, timeout=300)

    def _start(self, name, command):
        log = self.base / f"{name}.err"
        with open(log, "w") as err:
            self.procs.append(subprocess.Popen(command, cwd=self.base, env=_worker_env(), stdout=subprocess.DEVNULL,
                                               stderr=err, start_new_session=True))
        self.logs.append(log)

    def log(self, i):
        return self.logs[i].read_text()

    def worker_pids(self):
        """{worker address: pid of the process that runs its tasks}."""
        return self.client.run(os.getpid)

    def close(self):
        with contextlib.suppress(Exception):
            self.client.close(timeout=30)
        for proc in reversed(self.procs):  # workers first, then the scheduler
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@contextlib.contextmanager
def hand_cluster(base, workers=2, nanny=True):
    base.mkdir(parents=True, exist_ok=True)
    cluster = None
    try:
        with time_limit(LIMIT_S, "starting a scheduler and workers"):
            cluster = HandCluster(base, workers, nanny)
        yield cluster
    finally:
        if cluster is not None:
            cluster.close()


@pytest.fixture
def long_stack():
    """One stack of two tiny runs, long enough (30 epochs of 100 batches) to kill its worker inside it."""
    sizes = dict(TINY, samples_per_center=64, batch_size=16, epochs=30, snapshot_every=10, plot_resolution=11)
    configs = (Config(case="dask-kill").replace(**sizes), Config(case="dask-kill").replace(**sizes, seed=1,
                                                                                          loss="standard", clip=None))
    yield register(RunSet("dask-kill-test", "one stack of two tiny runs", configs))
    del RUN_SETS["dask-kill-test"]


def _checkpoint_epoch(folder):
    for path in (folder / CHECKPOINT_DIR).glob("*.pt"):
        try:
            return torch.load(path, weights_only=True)["epoch"]
        except Exception:  # noqa: BLE001 - replaced while we read it: look again
            return None
    return None


def test_a_killed_workers_stack_resumes_from_its_checkpoint_on_the_other_worker(long_stack, tmp_path):
    """Two workers without nannies (a killed worker stays dead). Once the stack has checkpointed
    epoch 2, the worker that runs it (the scheduler's `processing`) is SIGKILLed; Dask gives the
    stack to the other worker, which takes the runs' locks (the system released the dead worker's),
    resumes from the checkpoint and stores runs equal, bit for bit, to the same stack trained
    straight through in this process."""
    folder = long_stack.path(tmp_path / "cluster")
    watched, finished = {}, threading.Event()

    def kill_the_busy_worker(cluster):
        try:
            while (_checkpoint_epoch(folder) or 0) < 2:
                assert not finished.is_set(), "reproduce ended before a checkpoint of epoch 2 was seen"
                time.sleep(0.02)
            watched["epoch_seen"] = _checkpoint_epoch(folder)
            busy = [address for address, keys in cluster.client.processing().items() if keys]
            watched["busy"] = busy
            pid = cluster.worker_pids()[busy[0]]
            victim = next(i for i, proc in enumerate(cluster.procs) if proc.pid == pid)
            os.kill(pid, signal.SIGKILL)
            cluster.procs[victim].wait(timeout=60)
            watched["victim"] = victim
        except BaseException as err:  # noqa: BLE001 - reported by the test's assertions
            watched["error"] = err

    with hand_cluster(tmp_path / "dask", workers=2, nanny=False) as cluster:
        watcher = threading.Thread(target=kill_the_busy_worker, args=(cluster,), daemon=True)
        watcher.start()
        try:
            with time_limit(LIMIT_S, "reproduce on the cluster while a worker is killed"):
                status = reproduce(["dask-kill-test"], tmp_path / "cluster", scheduler=cluster.address,
                                   checkpoint_every=1, progress=False)
        finally:
            finished.set()
            watcher.join(timeout=60)
        logs = [cluster.log(i) for i in range(len(cluster.procs))]
    assert "error" not in watched, watched
    assert status == 0
    assert len(watched["busy"]) == 1, watched
    victim = watched["victim"]
    assert victim in (1, 2)  # a worker (the scheduler is process 0)
    survivor = 3 - victim
    resumed = re.findall(r"resuming 2 run\(s\) from (\S+) at epoch (\d+)", logs[survivor])
    assert len(resumed) == 1, logs[survivor]
    assert resumed[0][0].endswith(f"{stack_key(list(long_stack.configs))}.pt")
    assert int(resumed[0][1]) >= watched["epoch_seen"] >= 2  # not from scratch
    assert "resuming" not in logs[victim]  # the killed worker had started from scratch
    print(f"\nkilled worker {victim} after seeing the checkpoint of epoch {watched['epoch_seen']}; worker "
          f"{survivor} resumed at epoch {resumed[0][1]} of {long_stack.configs[0].epochs}")
    assert list((folder / CHECKPOINT_DIR).iterdir()) == []  # removed once the runs were stored

    with time_limit(LIMIT_S, "the same stack straight through in this process"):
        assert reproduce(["dask-kill-test"], tmp_path / "here", progress=False) == 0
    assert_identical(long_stack.path(tmp_path / "here"), folder, 2)
    for config in long_stack.configs:
        assert "1 threads" in load_run(folder / run_name(config)).provenance["device"]


def _cli(args, cwd, timeout=LIMIT_S):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "wgan_lib", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_reproduce_with_scheduler_against_workers_started_by_hand_equals_jobs_2(tmp_path):
    """The issue's "done when": `reproduce cases --only success failure-1 --epochs 1 --scheduler
    ADDRESS` against a scheduler and two workers started by hand stores both runs (with the other
    runs of their stacks, two stacks of the set 'cases', one on each worker), equal bit for bit to
    the same command with --jobs 2."""
    run_set = get_run_set("cases").with_epochs(1)
    chosen = [i for i, c in enumerate(get_run_set("cases").configs) if c.case in ("success", "failure-1")]
    stacks = [stack for stack in run_set.stack_indices() if set(stack) & set(chosen)]
    expected = sorted(run_name(run_set.configs[i]) for stack in stacks for i in stack)
    assert len(stacks) == 2 and len(expected) == 11
    command = ["reproduce", "cases", "--only", "success", "failure-1", "--epochs", "1", "--quiet"]
    with hand_cluster(tmp_path / "dask", workers=2) as cluster:
        cluster.client.get_task_stream()  # start recording which worker runs what
        on_cluster = _cli([*command, "--scheduler", cluster.address, "--results", str(tmp_path / "cluster")],
                          tmp_path)
        stream = cluster.client.get_task_stream()
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert "Traceback" not in on_cluster.stderr
    assert "cases: training 2 stack(s), 11 run(s)" in on_cluster.stderr
    assert "cases: trained 11 run(s) on cpu" in on_cluster.stdout
    ran = [(task["key"], task["worker"]) for task in stream if str(task["key"]).startswith("train_stack")]
    assert len(ran) == 2 and ran[0][1] != ran[1][1], stream  # one stack on each worker
    local = _cli([*command, "--jobs", "2", "--results", str(tmp_path / "local")], tmp_path)
    assert local.returncode == 0, local.stderr
    for results in ("cluster", "local"):
        assert stored_names(run_set.path(tmp_path / results)) == expected
    assert_identical(run_set.path(tmp_path / "local"), run_set.path(tmp_path / "cluster"), 11)
