"""Robustness of training and storage: checkpoints and resume after SIGKILL and Ctrl-C, atomic
and verified run folders, stale-run detection, two writers on one results folder, and loads that
never unpickle.

Everything is tiny (a few epochs of an 8-unit network) except the `reproduce` runs, which use a
registered case and therefore the post's data size, for 2 epochs. Every process runs with one
intra-op thread (OMP_NUM_THREADS=1): this machine's 2 cores are shared with long jobs, and the
bitwise comparisons need the same thread count in every process.
"""
import ast
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from filelock import FileLock

from wgan_lib import CASES, Config, StackTrainer, load_run, runner
from wgan_lib.cli import main
from wgan_lib.config import ConfigError
from wgan_lib.store import (RUN_JSON, SNAPSHOTS_NPZ, RunFileError, StaleRunWarning, code_fingerprint, provenance,
                            run_name, run_status, save_run)
from wgan_lib.train import RunLog

REPO = Path(__file__).resolve().parents[1]
# 100 batches of 16 per epoch (~0.15 s here): long enough to kill a process inside an epoch.
TINY = dict(samples_per_center=64, batch_size=16, g_width=8, d_width=8, g_depth=1, d_depth=1,
            n_eval_samples=100, plot_resolution=11)
SETS = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
RUN_EPOCHS = 8
RUN_ARGS = ["run", "success", "--epochs", str(RUN_EPOCHS), "--checkpoint-every", "1", *SETS, "--quiet"]
INTERRUPTED = "interrupted; the last checkpoint (if any) is kept and `run`/`reproduce` resume from it"



def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "wgan_lib", *args], cwd=cwd, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def cli(args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "wgan_lib", *args], cwd=cwd, env=_env(), text=True,
                          capture_output=True, timeout=timeout)


def checkpoint_epoch(out):
    """The epoch of the one checkpoint in `out`, or None when there is none."""
    files = list((out / runner.CHECKPOINT_DIR).glob("*.pt"))
    if not files:
        return None
    assert len(files) == 1, files
    return torch.load(files[0], weights_only=True)["epoch"]


def wait_for_checkpoint(proc, out, min_epoch, timeout=120):
    """Poll until `proc` has written a checkpoint for an epoch >= min_epoch; return that epoch.
    Only a new file (checkpoints are replaced atomically, so a new inode) is opened."""
    seen = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (out / runner.CHECKPOINT_DIR).glob("*.pt"):
            try:
                stat = path.stat()
                if (stat.st_ino, stat.st_mtime_ns) == seen:
                    continue
                seen = (stat.st_ino, stat.st_mtime_ns)
                epoch = torch.load(path, weights_only=True)["epoch"]
            except Exception:  # noqa: BLE001 - gone or replaced while we opened it: look again
                continue
            if epoch >= min_epoch:
                return epoch
        if proc.poll() is not None:
            out_, err = proc.communicate()
            pytest.fail(f"process ended (status {proc.returncode}) before a checkpoint for epoch {min_epoch}: "
                        f"{out_}{err}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"no checkpoint for epoch {min_epoch} within {timeout} s")


def entries(out):
    return sorted(p.name for p in out.iterdir())


def run_folders(out):
    return [p for p in out.iterdir() if not p.name.startswith(".")]


def assert_same_run(a, b):
    """Two stored runs computed the same numbers, bit for bit (provenance aside)."""
    assert a.config == b.config
    assert (a.status, a.failed_epoch, a.reason) == (b.status, b.failed_epoch, b.reason)
    assert a.metrics == b.metrics
    assert set(a.epoch_logs) == set(b.epoch_logs)
    for key in a.epoch_logs:
        assert np.array_equal(a.epoch_logs[key], b.epoch_logs[key], equal_nan=True), key
    for key in ("snapshot_epochs", "samples", "d_grid"):
        x, y = getattr(a, key), getattr(b, key)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), key


# ============================================================ processes that run in the background


REPRODUCE = ["reproduce", "--cases", "success", "--epochs", "2", "--device", "cpu", "--quiet"]
CHECK = ["reproduce", "--check", "--epochs", "2"]


def fake_stored_run(config, out):
    """Store a completed run of `config` with made-up numbers (no training): enough for --check."""
    log = RunLog(config)
    log.status = "completed"
    for key in log.epoch_logs:
        log.epoch_logs[key] = [0.5] * config.epochs
    for epoch in config.snapshots:
        log.snapshot_epochs.append(epoch)
        log.samples.append(np.zeros((config.n_eval_samples, 2), np.float32))
        log.d_grid.append(np.zeros((config.plot_resolution, config.plot_resolution), np.float32))
        log.metrics.append({"epoch": epoch, "modes": 0, "hq_fraction": 0.0, "reverse_kl": 3.2, "w1": 1.0})
    return save_run(log, out, provenance("cpu", 0.0, 1))


class Background:
    """Processes started together at the beginning of this module, so that their start-up (each
    imports torch: seconds of CPU here) overlaps with the kill/resume chain instead of adding to it."""

    def __init__(self, base):
        self.base = base
        # 4. two writers on one results folder
        self.shared = base / "results"
        self.writers = [start([*REPRODUCE, "--out", str(self.shared)], base) for _ in range(2)]
        # 3. --check on a folder with a current run, and on one with a stale and a damaged run
        config = CASES["success"].config(epochs=2)
        self.current, self.mixed = base / "current", base / "mixed"
        fake_stored_run(config, self.current)
        self.stale = fake_stored_run(config, self.mixed)
        _edit_json(self.stale, lambda r: r.update(code_fingerprint="0" * 64))
        self.damaged = self.mixed / run_name(CASES["coulomb-gan"].config(epochs=2))
        shutil.copytree(self.stale.parent / self.stale.name, self.damaged)
        _edit_json(self.damaged, lambda r: r.update(code_fingerprint=code_fingerprint()))
        (self.damaged / SNAPSHOTS_NPZ).unlink()
        self.checks = [start([*CHECK, "--cases", "success", "--out", str(self.current)], base),
                       start([*CHECK, "--cases", "success", "coulomb-gan", "--out", str(self.mixed)], base)]
        self._results = {}

    def results(self, name):
        if name not in self._results:
            procs = self.writers if name == "writers" else self.checks
            self._results[name] = [(p.wait(timeout=600), *p.communicate()) for p in procs]
        return self._results[name]


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    bg = Background(tmp_path_factory.mktemp("background"))
    yield bg
    for proc in bg.writers + bg.checks:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# ============================================================ 1. kill, Ctrl-C and resume (processes)



@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, background):
    """The same `run` command, in `chain/`: SIGKILLed inside an epoch, rerun and stopped with
    SIGINT (Ctrl-C), rerun to the end; and once straight through in `straight/` (in this process,
    through the same `cli.main`, to save a fourth start of torch)."""
    base = tmp_path_factory.mktemp("interrupted")
    straight, chain = base / "straight", base / "chain"
    steps, procs = {}, []
    t0 = time.perf_counter()
    try:
        procs.append(first := start([*RUN_ARGS, "--out", str(chain)], base))
        steps["kill_seen_epoch"] = wait_for_checkpoint(first, chain, 2)
        first.send_signal(signal.SIGKILL)
        out_, err = first.communicate(timeout=60)
        steps["kill"] = (first.returncode, out_, err, entries(chain), checkpoint_epoch(chain))

        procs.append(second := start([*RUN_ARGS, "--out", str(chain)], base))
        resumed_at = steps["kill"][4]
        steps["int_seen_epoch"] = wait_for_checkpoint(second, chain, resumed_at + 1)
        second.send_signal(signal.SIGINT)
        out_, err = second.communicate(timeout=60)
        steps["int"] = (second.returncode, out_, err, entries(chain), checkpoint_epoch(chain))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    third = cli([*RUN_ARGS, "--out", str(chain)], base)
    steps["rerun"] = (third.returncode, third.stdout, third.stderr, entries(chain))
    steps["chain_wall_s"] = time.perf_counter() - t0

    torch.set_num_threads(1)  # as OMP_NUM_THREADS=1 in the processes: the same float rounding
    out_, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_), contextlib.redirect_stderr(err):
        status = main([*RUN_ARGS, "--out", str(straight)])
    steps["baseline"] = (status, out_.getvalue(), err.getvalue())
    steps["chain"], steps["straight"] = chain, straight
    return steps


def test_sigkill_inside_an_epoch_stores_nothing_and_keeps_the_checkpoint(interrupted):
    status, out_, err, listing, epoch = interrupted["kill"]
    assert status == -signal.SIGKILL, (out_, err)
    # Killed after the checkpoint of epoch >= 2 was seen and before the run was stored.
    assert epoch >= 2 and epoch >= interrupted["kill_seen_epoch"]
    assert epoch < RUN_EPOCHS
    assert listing == [runner.CHECKPOINT_DIR, runner.LOCK_DIR], listing  # no run folder, no temp folder


def test_ctrl_c_prints_one_line_exits_130_and_keeps_the_checkpoint(interrupted):
    killed_at = interrupted["kill"][4]
    status, out_, err, listing, epoch = interrupted["int"]
    assert status == 130, (out_, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    # The rerun said where it resumed (also with --quiet), then one line for the interrupt.
    assert lines[0].startswith("resuming 1 run(s) from ") and lines[0].endswith(f" at epoch {killed_at}"), err
    assert lines[1:] == [INTERRUPTED], err
    assert out_ == ""
    assert epoch > killed_at and epoch >= interrupted["int_seen_epoch"]  # it trained on and checkpointed
    assert listing == [runner.CHECKPOINT_DIR, runner.LOCK_DIR], listing


def test_rerun_resumes_and_stores_exactly_the_uninterrupted_run(interrupted):
    status, out_, err, listing = interrupted["rerun"]
    assert status == 0, err
    int_epoch = interrupted["int"][4]
    assert err.splitlines()[0].startswith("resuming 1 run(s) from ") and err.splitlines()[0].endswith(
        f" at epoch {int_epoch}"), err
    base_status, base_out, base_err = interrupted["baseline"]
    assert base_status == 0, base_err
    assert "resuming" not in base_err
    chain, straight = interrupted["chain"], interrupted["straight"]
    [resumed], [uninterrupted] = run_folders(chain), run_folders(straight)
    assert out_ == f"{resumed}: completed\n" and base_out == f"{uninterrupted}: completed\n"
    assert resumed.name == uninterrupted.name
    a, b = load_run(resumed), load_run(uninterrupted)
    assert a.status == "completed" and len(a.epoch_logs["d_loss"]) == RUN_EPOCHS
    assert_same_run(a, b)
    # The checkpoint is removed once the run is stored, and nothing else is left behind.
    assert listing == [runner.CHECKPOINT_DIR, runner.LOCK_DIR, resumed.name]
    assert list((chain / runner.CHECKPOINT_DIR).iterdir()) == []
    print(f"\nkill/resume chain: 3 processes in {interrupted['chain_wall_s']:.1f} s; killed after epoch "
          f"{interrupted['kill'][4]}, interrupted after epoch {int_epoch}")


# ============================================================ 1. checkpoints (in process)


def tiny(**changes):
    return CASES["success"].config(**{**TINY, "epochs": 4, "samples_per_center": 32, "batch_size": 32, **changes})


STACK = [tiny(), tiny(seed=1, loss="coulomb", clip=None, noise="normal"), tiny(seed=2, loss="wgan-gp", clip=None,
                                                                               n_critic=2)]


def test_state_dict_through_a_file_resumes_bitwise(tmp_path):
    straight = StackTrainer(STACK)
    straight.train()
    first = StackTrainer(STACK)
    first.train_epoch()
    first.train_epoch()
    torch.save(first.state_dict(), tmp_path / "c.pt")
    del first
    second = StackTrainer(STACK)
    second.load_state_dict(torch.load(tmp_path / "c.pt", weights_only=True))
    assert second.epoch == 2
    second.train()
    for net in ("g", "d"):
        for key in ("flat", "exp_avg", "exp_avg_sq", "iterations"):
            assert torch.equal(straight.nets[net][key], second.nets[net][key]), (net, key)
    for a, b in zip(straight.logs, second.logs):
        assert (a.status, a.epoch_logs, a.metrics, a.snapshot_epochs) == (b.status, b.epoch_logs, b.metrics,
                                                                          b.snapshot_epochs)
        for x, y in zip(a.samples + a.d_grid, b.samples + b.d_grid):
            assert x.tobytes() == y.tobytes()


def _train_stack_quietly(configs, out, capsys):
    results = runner.train_stack(configs, out, checkpoint_every=1)
    return results, capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated", "other_configs", "not_a_checkpoint"])
def test_unusable_checkpoint_is_ignored_with_a_warning(tmp_path, capsys, damage):
    configs = [tiny(epochs=2)]
    [(clean_path, _)], err = _train_stack_quietly(configs, tmp_path / "clean", capsys)
    assert err == ""
    out = tmp_path / "damaged"
    ckpt = out / runner.CHECKPOINT_DIR / f"{runner.stack_key(configs)}.pt"
    ckpt.parent.mkdir(parents=True)
    if damage == "truncated":
        trainer = StackTrainer(configs)
        trainer.train_epoch()
        buffer = io.BytesIO()
        torch.save(trainer.state_dict(), buffer)
        ckpt.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    elif damage == "other_configs":
        torch.save(StackTrainer([tiny(epochs=2, seed=5)]).state_dict(), ckpt)
    else:
        ckpt.write_text("hello")
    # Leftovers of an interrupted writer of this stack: a half-written checkpoint and run folder.
    (ckpt.parent / f".{ckpt.name}.tmp-99999").write_bytes(b"\0" * 10)
    (out / f".{clean_path.name}.tmp-99999").mkdir()
    [(path, log)], err = _train_stack_quietly(configs, out, capsys)
    assert err.startswith(f"warning: ignoring unreadable checkpoint {ckpt}: "), err
    assert len(err.splitlines()) == 1
    assert log.status == "completed"
    assert_same_run(load_run(path), load_run(clean_path))  # trained from scratch, correctly
    assert entries(out) == [runner.CHECKPOINT_DIR, path.name]
    assert list(ckpt.parent.iterdir()) == []


def test_checkpoint_cost_of_the_default_stack_is_under_2_percent(tmp_path):
    """The worst checkpoint of the default stack (every registered case) at the post's schedule
    (the last one: 10 snapshots of 2500 samples and a 101 x 101 grid, 1000 epochs of curves)
    against 10 epochs of 195 batches, at the default `checkpoint_every`. CPU only: on a GPU an
    epoch is far shorter and the ratio is larger (not measured here)."""
    configs = [case.config() for case in CASES.values()]
    trainer = StackTrainer(configs)
    assert trainer.begin_epoch()
    times = []
    for b in range(4):
        t = time.perf_counter()
        trainer.train_batch(b)
        times.append(time.perf_counter() - t)
    epoch_s = 195 * float(np.median(times[1:]))  # the first batch warms up
    rng = np.random.default_rng(0)
    for log in trainer.logs:
        for key in log.epoch_logs:
            log.epoch_logs[key] = rng.standard_normal(990).tolist()
        for epoch in range(0, 1000, 100):
            log.snapshot_epochs.append(epoch)
            log.samples.append(rng.standard_normal((2500, 2)).astype(np.float32))
            log.d_grid.append(rng.standard_normal((101, 101)).astype(np.float32))
            log.metrics.append({"epoch": epoch, "modes": 25, "hq_fraction": 0.5, "reverse_kl": 0.1, "w1": 0.2})
    trainer.epoch = 990
    ckpt = tmp_path / "stack.pt"
    saves = []
    for _ in range(3):
        t = time.perf_counter()
        runner._atomic_torch_save(trainer.state_dict(), ckpt)
        saves.append(time.perf_counter() - t)
    save_s = float(np.median(saves))
    fraction = save_s / (runner.DEFAULT_CHECKPOINT_EVERY * epoch_s)
    restored = StackTrainer(configs)
    restored.load_state_dict(torch.load(ckpt, weights_only=True))
    assert restored.epoch == 990 and len(restored.logs[0].samples) == 10
    print(f"\ncheckpoint of the {len(configs)}-run stack: {ckpt.stat().st_size / 2**20:.1f} MiB in {save_s * 1000:.0f} ms; "
          f"epoch ~{epoch_s:.1f} s (195 x {np.median(times[1:]) * 1000:.0f} ms); every "
          f"{runner.DEFAULT_CHECKPOINT_EVERY} epochs = {100 * fraction:.3f} % of training time")
    assert fraction < 0.02


# ============================================================ 2. atomic, verified storage


@pytest.fixture(scope="module")
def tiny_log():
    trainer = StackTrainer([tiny(epochs=2)])
    trainer.train()
    return trainer.logs[0], provenance("cpu", trainer.wall_time, 1)


@pytest.fixture
def stored(tiny_log, tmp_path):
    return save_run(*tiny_log[:1], tmp_path / "out", tiny_log[1])


def _edit_json(path, change):
    record = json.loads((path / RUN_JSON).read_text())
    change(record)
    (path / RUN_JSON).write_text(json.dumps(record))


def _resave_npz(path, **arrays):
    """Rewrite snapshots.npz with other arrays and a matching checksum: damage the checksum cannot see."""
    with np.load(path / SNAPSHOTS_NPZ) as npz:
        data = {k: npz[k] for k in npz.files}
    data.update(arrays)
    np.savez_compressed(path / SNAPSHOTS_NPZ, **data)
    digest = hashlib.sha256((path / SNAPSHOTS_NPZ).read_bytes()).hexdigest()
    _edit_json(path, lambda r: r.update(snapshots_sha256=digest))


def _leftover_of_interrupted_save(stored):
    """What `save_run` leaves if killed after writing the arrays: `.<name>.tmp-<pid>/snapshots.npz`."""
    tmp = stored.parent / f".{stored.name}.tmp-123"
    tmp.mkdir()
    shutil.copy(stored / SNAPSHOTS_NPZ, tmp / SNAPSHOTS_NPZ)
    return tmp, RUN_JSON


def damage_run(path, damage):
    """Damage the stored run at `path` in one way; return (folder to load, the file to blame)."""
    js, npz = path / RUN_JSON, path / SNAPSHOTS_NPZ
    if damage == "leftover_temp_folder":
        return _leftover_of_interrupted_save(path)
    if damage == "leftover_temp_folder_json_only":
        tmp = path.parent / f".{path.name}.tmp-456"
        tmp.mkdir()
        shutil.copy(js, tmp / RUN_JSON)
        return tmp, SNAPSHOTS_NPZ
    if damage == "no_snapshots_npz":
        npz.unlink()
    elif damage == "npz_truncated":
        npz.write_bytes(npz.read_bytes()[:-100])
    elif damage == "npz_empty":
        npz.write_bytes(b"")
    elif damage == "npz_wrong_shape_same_checksum":
        _resave_npz(path, samples=np.zeros((2, 7, 2), np.float32))
    elif damage == "npz_text_array_same_checksum":
        _resave_npz(path, d_grid=np.full((2, 11, 11), "x"))
    elif damage == "npz_epochs_disagree_same_checksum":
        _resave_npz(path, snapshot_epochs=np.array([0, 5]))
    elif damage == "run_json_truncated":
        js.write_text(js.read_text()[:300])
    elif damage == "run_json_empty":
        js.write_text("")
    elif damage == "run_json_binary":
        js.write_bytes(b"\xff\xfe\x00garbage")
    elif damage == "run_json_deeply_nested":
        js.write_text("[" * 100_000)
    elif damage == "json_epoch_logs_not_lists":
        _edit_json(path, lambda r: r["epoch_logs"].update(d_loss="x"))
    elif damage == "json_epoch_logs_missing_key":
        _edit_json(path, lambda r: r["epoch_logs"].pop("g_loss"))
    elif damage == "json_snapshots_not_records":
        _edit_json(path, lambda r: r.update(snapshots=[1, 2]))
    elif damage == "json_status_unknown":
        _edit_json(path, lambda r: r.update(status="running"))
    elif damage == "json_config_not_an_object":
        _edit_json(path, lambda r: r.update(config=[1]))
    elif damage == "json_config_huge_int":
        js.write_text(js.read_text().replace('"lr": 0.0001', '"lr": 1' + "0" * 400))
        assert "0" * 400 in js.read_text()
    else:
        raise AssertionError(damage)
    return path, (RUN_JSON if damage.startswith(("run_json", "json")) else SNAPSHOTS_NPZ)


DAMAGES = ["leftover_temp_folder", "leftover_temp_folder_json_only", "no_snapshots_npz", "npz_truncated", "npz_empty",
           "npz_wrong_shape_same_checksum", "npz_text_array_same_checksum", "npz_epochs_disagree_same_checksum",
           "run_json_truncated", "run_json_empty", "run_json_binary", "run_json_deeply_nested",
           "json_epoch_logs_not_lists", "json_epoch_logs_missing_key", "json_snapshots_not_records",
           "json_status_unknown", "json_config_not_an_object", "json_config_huge_int"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_or_half_written_run_raises_run_file_error_naming_the_file(stored, damage):
    folder, culprit = damage_run(stored, damage)
    with pytest.raises(RunFileError) as info:
        load_run(folder)
    assert str(folder / culprit) in str(info.value), info.value
    missing_json = not (folder / RUN_JSON).exists()
    assert run_status(folder) == ("missing" if missing_json else f"damaged: {info.value}")


def test_interrupted_save_leaves_the_stored_run_and_no_temp_folder(tiny_log, stored, monkeypatch):
    log, info = tiny_log
    before = load_run(stored)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("wgan_lib.store.json.dumps", boom)  # Ctrl-C while writing run.json
    with pytest.raises(KeyboardInterrupt):
        save_run(log, stored.parent, info)
    monkeypatch.undo()
    assert entries(stored.parent) == [stored.name]
    assert_same_run(load_run(stored), before)


def test_case_names_cannot_leave_the_results_folder(tmp_path, capsys, monkeypatch):
    for case in ("../escape", "a/b", ".hidden", "..", "tab\there"):
        with pytest.raises(ConfigError, match="case"):
            run_name(Config(case=case))
    monkeypatch.chdir(tmp_path)
    status = main(["run", "success", "--set", "case=../escape", *SETS, "--epochs", "1", "--out", "out", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: case '../escape' cannot name a run folder"), err
    assert entries(tmp_path) == []  # refused before anything was created


# ============================================================ 4. two writers; 2. and 3. on `reproduce`

def test_two_reproduce_processes_train_a_run_once(background):
    out, results = background.shared, background.results("writers")
    for status, out_, err in results:
        assert status == 0, err
        assert "Traceback" not in err
    [folder] = run_folders(out)
    assert folder.name == run_name(CASES["success"].config(epochs=2))
    assert run_status(folder) == "ok"
    run = load_run(folder)
    assert run.status == "completed" and run.samples.shape == (2, 2500, 2)
    trained = [out_ for _, out_, _ in results if "reproduce: trained 1 run(s)" in out_]
    assert len(trained) == 1, results
    [(_, other_out, other_err)] = [r for r in results if r[1] not in trained]
    waited = f"{folder.name}: being trained by another process; waiting" in other_err and (
        f"{folder.name}: stored by the other process" in other_err)
    came_later = (f"{folder.name}: stored by another process meanwhile" in other_err
                  or "all 1 runs are stored and current" in other_out)
    assert (waited or came_later) and "training" not in other_err.replace("being trained", ""), results
    assert entries(out) == [runner.CHECKPOINT_DIR, runner.LOCK_DIR, folder.name]
    assert list((out / runner.CHECKPOINT_DIR).iterdir()) == []


@pytest.fixture
def reproduced(background, tmp_path):
    """A copy of the stored `reproduce --cases success --epochs 2` results folder."""
    out = background.shared
    background.results("writers")
    copy = tmp_path / "results"
    copy.mkdir()
    [folder] = run_folders(out)
    shutil.copytree(folder, copy / folder.name)
    return copy, copy / folder.name


def test_reproduce_retrains_a_damaged_run_and_cleans_up(reproduced, capsys):
    out, folder = reproduced
    original = load_run(folder)
    (folder / RUN_JSON).write_text((folder / RUN_JSON).read_text()[:-40])  # truncated
    leftover, _ = _leftover_of_interrupted_save(folder)
    status = runner.reproduce(out, cases=["success"], epochs=2, progress=False)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err.splitlines()[0].startswith(f"{folder.name}: damaged: {folder / RUN_JSON}: not valid JSON")
    assert f"{folder.name}: training" in captured.err
    assert "reproduce: trained 1 run(s)" in captured.out
    assert not leftover.exists()
    assert entries(out) == [runner.CHECKPOINT_DIR, runner.LOCK_DIR, folder.name]
    assert_same_run(load_run(folder), original)  # the same numbers as the other process trained
    # Now current: nothing to do.
    assert runner.reproduce(out, cases=["success"], epochs=2, progress=False) == 0
    assert capsys.readouterr().out == f"all 1 runs are stored and current in {out}\n"


def test_reproduce_check_lists_stale_and_damaged_runs(background):
    """`reproduce --check` exits 0 on a folder whose runs are current, 1 (listing them) on one with a
    stale run (other training code) and a damaged one (its snapshots.npz deleted)."""
    (ok_status, ok_out, ok_err), (bad_status, bad_out, bad_err) = background.results("checks")
    stale, damaged = background.stale, background.damaged
    assert (ok_status, ok_out, ok_err) == (0, "1 of 1 runs stored and current\n", "")
    assert (bad_status, bad_err) == (1, ""), bad_err
    assert bad_out == (f"{stale.name}: stale\n"
                       f"{damaged.name}: damaged: {damaged / SNAPSHOTS_NPZ}: missing\n"
                       "0 of 2 runs stored and current\n")
    with pytest.warns(StaleRunWarning, match="stale"):
        assert load_run(stale).stale
    # --check only looks: nothing was trained or changed.
    assert entries(background.current) == [stale.name]
    assert entries(background.mixed) == sorted([stale.name, damaged.name])


@pytest.fixture
def tiny_registry(monkeypatch):
    """`reproduce` over one tiny run instead of the registered cases (in-process tests only)."""
    config = tiny(epochs=2, case="tiny")
    monkeypatch.setattr(runner, "stored_configs", lambda names=None, **changes: [config.replace(**changes)])
    return config


class _Stderr(io.StringIO):
    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while text not in self.getvalue():
            assert time.monotonic() < deadline, self.getvalue()
            time.sleep(0.01)


@pytest.mark.parametrize("holder_stores_it", [True, False])
def test_reproduce_waits_for_the_lock_holder_and_takes_over_if_it_stopped(tmp_path, tiny_registry, monkeypatch,
                                                                         holder_stores_it):
    out = tmp_path / "results"
    name = run_name(tiny_registry)
    (out / runner.LOCK_DIR).mkdir(parents=True)
    holder = FileLock(out / runner.LOCK_DIR / f"{name}.lock")
    holder.acquire()  # "another process" is training this run
    stderr = _Stderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    result = {}
    thread = threading.Thread(target=lambda: result.update(status=runner.reproduce(out, epochs=2, progress=False)))
    thread.start()
    try:
        stderr.wait_for(f"{name}: being trained by another process; waiting")
        if holder_stores_it:
            runner.train_stack([tiny_registry], out)
    finally:
        holder.release()
    thread.join(timeout=120)
    assert result == {"status": 0}, stderr.getvalue()
    if holder_stores_it:
        assert f"{name}: stored by the other process" in stderr.getvalue()
        assert f"{name}: training" not in stderr.getvalue()
    else:
        assert f"{name}: the other process stopped without storing it" in stderr.getvalue()
        assert f"{name}: training" in stderr.getvalue()
    assert run_status(out / name) == "ok"


# ============================================================ 6. loads never unpickle


def _load_calls(tree):
    """Every call of np.load / numpy.load / torch.load (or a bare `load` imported from them)."""
    bare = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module in ("numpy", "torch") for alias in node.names if alias.name == "load"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "load" and isinstance(f.value, ast.Name) and \
                f.value.id in ("np", "numpy", "torch"):
            yield ("torch" if f.value.id == "torch" else "numpy"), node
        elif isinstance(f, ast.Name) and f.id in bare:
            yield "bare", node


def test_every_load_in_the_package_refuses_pickles():
    safe = {"numpy": ("allow_pickle", False), "torch": ("weights_only", True)}
    found = []
    for path in sorted((REPO / "wgan_lib").glob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        for module in ("pickle", "dill", "joblib", "shelve", "cloudpickle"):
            assert f"import {module}" not in source, (path.name, module)
        for kind, call in _load_calls(tree):
            where = f"{path.name}:{call.lineno}"
            assert kind != "bare", f"{where}: call np.load / torch.load by their full names"
            keyword, value = safe[kind]
            given = {k.arg: k.value for k in call.keywords}
            assert keyword in given and isinstance(given[keyword], ast.Constant) and \
                given[keyword].value is value, f"{where}: {kind}.load without {keyword}={value}"
            found.append((where, kind))
        # The grep view of the same thing: every code line that calls a load names the safe argument.
        for lineno, line in enumerate(source.splitlines(), 1):
            code = line.split("#")[0]
            for call, keyword in (("np.load(", "allow_pickle=False"), ("torch.load(", "weights_only=True")):
                if call in code:
                    assert keyword in code, f"{path.name}:{lineno}: {line.strip()}"
    assert {kind for _, kind in found} == {"numpy", "torch"}, found  # the scan does see both loads


# ============================================================ retrain: stored runs no case or sweep names


def test_retrain_trains_again_the_stale_and_damaged_runs_each_from_its_own_config(tmp_path, capsys):
    """`retrain FOLDER` (the probes of experiments/): a stale run, a damaged one and a stale
    metrics-only one are trained again from the configs in their run.json (not registered cases),
    each of its own kind, in two processes; the current run's files are left as they were."""
    out = tmp_path / "probe"
    stale, damaged, current = (tiny(case="probe", seed=seed) for seed in (0, 1, 2))
    metrics_only = tiny(case="probe", seed=3, loss="coulomb", clip=None)
    runner.train_and_store([stale, damaged, current], out)
    runner.train_and_store([metrics_only], out, with_snapshots=False)
    folders = {config: out / run_name(config) for config in (stale, damaged, current, metrics_only)}
    _edit_json(folders[stale], lambda r: r.update(code_fingerprint="0" * 64))
    _edit_json(folders[metrics_only], lambda r: r.update(code_fingerprint="0" * 64))
    (folders[damaged] / SNAPSHOTS_NPZ).unlink()
    current_files = {p.name: p.read_bytes() for p in folders[current].iterdir()}

    assert main(["retrain", str(out), "--check", "--device", "cpu"]) == 1
    assert capsys.readouterr().out == (f"{folders[stale].name}: stale\n"
                                       f"{folders[damaged].name}: damaged: {folders[damaged] / SNAPSHOTS_NPZ}: missing\n"
                                       "1 of 3 runs stored and current\n"
                                       f"{folders[metrics_only].name}: stale\n"
                                       "0 of 1 runs stored and current\n")
    assert main(["retrain", str(out), "--jobs", "2", "--device", "cpu", "--quiet"]) == 0
    for config, folder in folders.items():
        run = load_run(folder, warn_stale=False)
        assert not run.stale and run.status == "completed" and run.config == config
        assert (run.samples is None) == (config is metrics_only)
        if config is not current:
            assert "1 threads" in run.provenance["device"]
    assert {p.name: p.read_bytes() for p in folders[current].iterdir()} == current_files
    capsys.readouterr()
    assert main(["retrain", str(out), "--check", "--device", "cpu"]) == 0
    assert capsys.readouterr().out == "3 of 3 runs stored and current\n1 of 1 runs stored and current\n"


def _break_folder(folder, how):
    """A folder `retrain` must refuse, named by `how`."""
    if how == "missing":
        return folder / "nothing-here"
    folder.mkdir()
    if how == "empty":
        return folder
    run = fake_stored_run(CASES["success"].config(epochs=2), folder)
    if how == "critic study":
        (run / "d_weights.json").write_text("{}")
    elif how == "bad run.json":
        (run / RUN_JSON).write_text((run / RUN_JSON).read_text()[:-40])
    elif how == "renamed":
        run.rename(folder / "renamed")
    return folder


@pytest.mark.parametrize("how, words", [
    ("missing", ["nothing-here", "not a folder"]),
    ("empty", ["no stored run"]),
    ("critic study", ["d_weights.json", "sweep critic"]),
    ("bad run.json", [RUN_JSON, "no config to retrain from"]),
    ("renamed", ["renamed", "names the run"]),
])
def test_retrain_refuses_a_folder_it_cannot_retrain_in_one_line_before_training_anything(how, words, tmp_path,
                                                                                        capsys):
    good = tmp_path / "good"
    stale = fake_stored_run(CASES["success"].config(epochs=2), good)
    _edit_json(stale, lambda r: r.update(code_fingerprint="0" * 64))
    bad = _break_folder(tmp_path / "bad", how)
    assert main(["retrain", str(good), str(bad), "--jobs", "2", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith("error: ") and all(word in captured.err for word in words), captured.err
    assert entries(good) == [stale.name]  # read every folder first: nothing trained, no locks taken
