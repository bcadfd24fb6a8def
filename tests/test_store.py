"""Tests of wgan_lib.store: stored runs round trip, are verified, never unpickle, and report
damage and staleness."""
import hashlib
import json
import math
import pathlib
import subprocess
import warnings

import numpy as np
import pytest
import torch

from wgan_lib import Config, StackTrainer, load_run
from wgan_lib.store import (PACKAGE_DIR, RUN_JSON, SNAPSHOTS_NPZ, TRAINING_MODULES, RunFileError,
                            StaleRunWarning, code_fingerprint, load_status, provenance, restamp, run_name,
                            save_run)


def run_status(path):
    return load_status(path)[0]

SMALL = dict(samples_per_center=64, batch_size=64, epochs=2, n_eval_samples=200, plot_resolution=11,
             g_width=16, d_width=16)



@pytest.fixture(scope="module")
def trained():
    """One completed and one diverged run (lr 1e30 without clipping: NaN in the first epoch)."""
    configs = [Config(case="kept").replace(**SMALL),
               Config(case="blown").replace(**SMALL, lr=1e30, clip=None, seed=3)]
    trainer = StackTrainer(configs, record_weights=True)
    trainer.train()
    assert [log.status for log in trainer.logs] == ["completed", "diverged"]
    return trainer.logs, provenance("cpu", trainer.wall_time, [run_name(c) for c in configs])


@pytest.fixture
def saved(trained, tmp_path):
    logs, info = trained
    return save_run(logs[0], tmp_path, info)


def _rewrite_json(path, change):
    record = json.loads((path / RUN_JSON).read_text())
    change(record)
    (path / RUN_JSON).write_text(json.dumps(record))


def test_round_trip(trained, saved):
    logs, info = trained
    log = logs[0]
    assert saved.name == run_name(log.config) == "kept-seed0"
    run = load_run(saved)
    assert run.config == log.config
    assert (run.status, run.failed_epoch, run.reason) == ("completed", None, None)
    assert set(run.epoch_logs) == set(log.epoch_logs)
    for key, values in log.epoch_logs.items():
        assert run.epoch_logs[key].dtype == np.float64
        assert np.array_equal(run.epoch_logs[key], np.array(values))  # JSON keeps floats exactly
    assert run.metrics == log.metrics
    assert run.snapshot_epochs.tolist() == log.snapshot_epochs == [0, 1]
    assert np.array_equal(run.samples, np.stack(log.samples)) and run.samples.dtype == np.float32
    assert np.array_equal(run.d_grid, np.stack(log.d_grid)) and run.d_grid.shape == (2, 11, 11)
    assert np.array_equal(run.d_weights, np.stack(log.d_weights)) and run.d_weights.shape == (2, (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1)
    for key in ("git_commit", "torch", "numpy", "device", "wall_time_s", "cpu_capability"):
        assert key in run.provenance, key
    assert run.provenance == info
    assert run.provenance["torch"] == torch.__version__ and run.provenance["numpy"] == np.__version__
    assert run.provenance["device"].startswith("cpu")
    assert run.provenance["wall_time_s"] >= 0
    assert run.provenance["stack"] == ["kept-seed0", "blown-seed3"] and run.provenance["stack_size"] == 2
    assert run.provenance["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert run.code_fingerprint == code_fingerprint("wgan")
    assert run.config_fingerprint == log.config.fingerprint()
    assert not run.stale and run_status(saved) == "ok"
    assert run.metric("w1").shape == (2,) and run.final_metrics == log.metrics[-1]


def test_diverged_run_round_trip(trained, tmp_path):
    logs, info = trained
    path = save_run(logs[1], tmp_path, info)
    run = load_run(path)
    assert (run.status, run.failed_epoch) == ("diverged", 0)
    assert run.reason == logs[1].reason and "nan" in run.reason.lower()
    assert run.samples.shape == (0, 200, 2) and run.d_grid.shape == (0, 11, 11)
    assert run.d_weights is None  # no snapshot, so no weights were recorded
    assert np.isnan(run.epoch_logs["d_loss"]).all() and len(run.epoch_logs["d_loss"]) == 1


def test_overwriting_a_run_leaves_no_temporary_files(trained, saved):
    logs, info = trained
    again = save_run(logs[0], saved.parent, info)
    assert again == saved
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]
    assert sorted(p.name for p in saved.iterdir()) == [RUN_JSON, SNAPSHOTS_NPZ]
    assert load_run(saved).status == "completed"


class _Unpickled:
    """Unpickling this creates `marker`: a harmless stand-in for code run by a malicious pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_load_never_unpickles(saved, tmp_path):
    marker = tmp_path / "unpickled"
    npz = saved / SNAPSHOTS_NPZ
    np.savez(npz, snapshot_epochs=np.array([0, 1]), samples=np.array([_Unpickled(marker)], dtype=object),
             d_grid=np.zeros((2, 11, 11), np.float32))
    _rewrite_json(saved, lambda r: r.update(snapshots_sha256=hashlib.sha256(npz.read_bytes()).hexdigest()))
    with pytest.raises(RunFileError, match=SNAPSHOTS_NPZ):
        load_run(saved)
    assert not marker.exists()
    assert run_status(saved).startswith("damaged")
    # Control: the crafted file really does run code when unpickled.
    with np.load(npz, allow_pickle=True) as f:
        f["samples"]
    assert marker.exists()


@pytest.mark.parametrize("damage, culprit", [
    ("truncate_npz", SNAPSHOTS_NPZ), ("alter_npz_byte", SNAPSHOTS_NPZ), ("delete_npz", SNAPSHOTS_NPZ),
    ("invalid_json", RUN_JSON), ("delete_json", RUN_JSON), ("json_not_a_run", RUN_JSON),
    ("json_bad_config", RUN_JSON),
])
def test_damaged_run_raises_run_file_error_naming_the_file(saved, damage, culprit):
    npz, js = saved / SNAPSHOTS_NPZ, saved / RUN_JSON
    if damage == "truncate_npz":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    elif damage == "alter_npz_byte":
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0x01
        npz.write_bytes(bytes(data))
    elif damage == "delete_npz":
        npz.unlink()
    elif damage == "invalid_json":
        js.write_text(js.read_text()[:-20])
    elif damage == "delete_json":
        js.unlink()
    elif damage == "json_not_a_run":
        js.write_text("[1, 2, 3]")
    elif damage == "json_bad_config":
        _rewrite_json(saved, lambda r: r["config"].update(n_critic=0))
    with pytest.raises(RunFileError) as info:
        load_run(saved)
    assert str(saved / culprit) in str(info.value)
    assert run_status(saved) == ("missing" if damage == "delete_json" else f"damaged: {info.value}")


def test_corrupt_npz_with_matching_checksum_raises_run_file_error(saved):
    """A snapshots file that passes the checksum but is not a readable archive (e.g. written
    truncated before the checksum was taken) must still be a RunFileError, not a raw zipfile error."""
    npz = saved / SNAPSHOTS_NPZ
    npz.write_bytes(npz.read_bytes()[:200])  # starts with the zip magic, then stops
    _rewrite_json(saved, lambda r: r.update(snapshots_sha256=hashlib.sha256(npz.read_bytes()).hexdigest()))
    with pytest.raises(RunFileError, match=SNAPSHOTS_NPZ):
        load_run(saved)


def test_stale_code_fingerprint_warns(saved):
    _rewrite_json(saved, lambda r: r.update(code_fingerprint="0" * 64))
    with pytest.warns(StaleRunWarning, match="stale"):
        run = load_run(saved)
    assert run.stale and run.status == "completed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_run(saved, warn_stale=False).stale
        assert run_status(saved) == "stale"


def test_edited_config_is_stale(saved):
    _rewrite_json(saved, lambda r: r["config"].update(lr=5e-4))  # fingerprint no longer matches
    with pytest.warns(StaleRunWarning):
        assert load_run(saved).stale
    assert run_status(saved) == "stale"


def test_nan_in_logs_is_null_in_json_and_nan_when_loaded(trained, tmp_path):
    logs, info = trained
    log = logs[0]
    original = {k: list(v) for k, v in log.epoch_logs.items()}
    metrics = [dict(m) for m in log.metrics]
    try:
        log.epoch_logs["d_loss"][1] = float("nan")
        log.epoch_logs["d_max"][0] = float("inf")
        log.metrics[0]["w1"] = float("nan")
        path = save_run(log, tmp_path, info)
    finally:
        for k, v in original.items():
            log.epoch_logs[k] = v
        log.metrics[:] = metrics
    text = (path / RUN_JSON).read_text()
    assert "NaN" not in text and "Infinity" not in text
    record = json.loads(text)
    assert record["epoch_logs"]["d_loss"][1] is None and record["epoch_logs"]["d_max"][0] is None
    assert record["epoch_logs"]["d_loss"][0] == original["d_loss"][0]
    assert record["snapshots"][0]["w1"] is None
    run = load_run(path)
    assert math.isnan(run.epoch_logs["d_loss"][1]) and run.epoch_logs["d_loss"][0] == original["d_loss"][0]
    assert math.isnan(run.epoch_logs["d_max"][0])
    assert math.isnan(run.metric("w1")[0]) and run.metric("w1")[1] == metrics[1]["w1"]


# ---------------------------------------------------------------- code fingerprint and restamping


def _sources():
    return {name: (PACKAGE_DIR / name).read_text() for name in TRAINING_MODULES}


def _edited(name, old, new):
    """The package's training sources with the first `old` in module `name` replaced by `new`."""
    sources = _sources()
    assert old in sources[name], old
    sources[name] = sources[name].replace(old, new, 1)
    return sources


def test_fingerprint_of_the_package_files_is_the_default():
    assert code_fingerprint(sources=_sources()) == code_fingerprint()
    assert len(code_fingerprint()) == 64


@pytest.mark.parametrize("name, old, new", [
    # a docstring, a comment, layout
    ("train.py", '"""', '"""An edited docstring.\n\n'),
    ("optim.py", "\n", "\n# a new comment\n\n"),
    ("losses.py", "def ", "def  "),
    # a config check and its message: validation only accepts or rejects a config
    ("config.py", '"a finite number > 0"', '"a positive finite number"'),
    ("config.py", "def _int_at_least(name, value, low):\n",
     "def _int_at_least(name, value, low):\n    assert low >= 0\n"),
])
def test_fingerprint_ignores_what_cannot_change_a_stored_number(name, old, new):
    assert code_fingerprint(sources=_edited(name, old, new)) == code_fingerprint()


@pytest.mark.parametrize("name, old, new", [
    ("train.py", "import ", "import os\nimport "),
    ("metrics.py", "def ", "UNUSED = 1\n\n\ndef "),
    ("config.py", "return 25 * self.samples_per_center", "return 24 * self.samples_per_center"),
    ("config.py", "beta_1: float = 0.5", "beta_1: float = 0.9"),
    ("optim.py", "def ", "def _helper():\n    return 0\n\n\ndef "),
])
def test_fingerprint_changes_with_any_other_edit(name, old, new):
    assert code_fingerprint(sources=_edited(name, old, new)) != code_fingerprint()


def test_a_runs_fingerprint_covers_its_own_loss_and_not_the_others():
    """Adding or editing a loss leaves the stored runs of the other losses current."""
    added = _edited("losses.py", "def get_loss(name):", 'class Hinge(Loss):\n    name = "hinge"\n\n'
                    '    def critic_loss(self, d_real, d_fake, batch):\n        return d_real.mean(1)\n\n\n'
                    "def get_loss(name):")
    edited_coulomb = _edited("losses.py", "critic_cost = 1.5", "critic_cost = 1.6")
    for loss in ("standard", "wgan", "wgan-gp", "lsgan"):
        assert code_fingerprint(loss, added) == code_fingerprint(loss)
        assert code_fingerprint(loss, edited_coulomb) == code_fingerprint(loss)
    assert code_fingerprint("coulomb", edited_coulomb) != code_fingerprint("coulomb")
    assert code_fingerprint(None, added) != code_fingerprint()  # the whole code (checkpoints) changed
    assert len({code_fingerprint(loss) for loss in ("standard", "wgan", "coulomb", "wgan-gp", "lsgan")}) == 5
    # The shared code is in every loss's fingerprint.
    shared = _edited("losses.py", "return d_fake.mean(1)", "return d_fake.mean(1) * 1.0")
    assert all(code_fingerprint(loss, shared) != code_fingerprint(loss) for loss in ("wgan", "coulomb", "wgan-gp"))


def test_restamp_gives_a_stale_run_the_current_fingerprint_and_keeps_the_proof(saved):
    before = load_run(saved)
    _rewrite_json(saved, lambda r: r.update(code_fingerprint="f" * 64))
    with pytest.warns(StaleRunWarning):
        assert load_run(saved).stale
    assert restamp(saved, "compared 11 runs bit for bit") == "restamped"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = load_run(saved)
    assert not run.stale and run.code_fingerprint == code_fingerprint("wgan")
    assert run.provenance["restamped"] == [{"from": "f" * 64, "to": code_fingerprint("wgan"),
                                            "proof": "compared 11 runs bit for bit"}]
    assert np.array_equal(run.samples, before.samples) and run.metrics == before.metrics  # nothing else changed
    assert restamp(saved, "again") == "already current"
    assert load_run(saved).provenance["restamped"][-1]["proof"] == "compared 11 runs bit for bit"


def test_commit_outside_a_git_checkout_is_the_declared_one_or_none(tmp_path, monkeypatch):
    from wgan_lib import store

    monkeypatch.setattr(store, "PACKAGE_DIR", tmp_path)  # not a git checkout
    monkeypatch.delenv("WGAN_GIT_COMMIT", raising=False)
    assert store._git_commit() is None
    monkeypatch.setenv("WGAN_GIT_COMMIT", "0123abc")
    assert store._git_commit() == "0123abc-declared"
    monkeypatch.setattr(store, "PACKAGE_DIR", PACKAGE_DIR)
    head = subprocess.run(["git", "-C", str(PACKAGE_DIR), "rev-parse", "HEAD"], capture_output=True)
    in_checkout = head.returncode == 0
    if in_checkout:  # git wins over the declared commit
        assert not store._git_commit().endswith("-declared")
