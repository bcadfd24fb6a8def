"""Tests of the command line, `python -m wgan_lib`, run as a real subprocess.

Every invocation pays the import of torch (~2.5 s of CPU here, more under load), so a
representative subset of the bad inputs runs as processes (concurrently, once, in a module
fixture), every bad input runs through `cli.main` in-process, and training uses a tiny config.
"""
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from wgan_lib import CASES, load_run
from wgan_lib.store import run_name

REPO = Path(__file__).resolve().parents[1]
TINY = ["--set", "samples_per_center=64", "--set", "batch_size=64", "--set", "n_eval_samples=200"]


def cli(args, cwd, timeout=300):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    # One intra-op thread: this machine's 2 cores are shared with other jobs, where 2 spinning
    # threads make training ~50x slower. Exit codes, messages and stored files do not depend on it.
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "wgan_lib", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


# (arguments after `run`, words the one-line message must contain)
BAD_INPUTS = [
    (["nosuchcase"], ["nosuchcase"]),
    (["success", "--set", "lr=-1"], ["lr", "-1"]),
    (["success", "--set", "clip=0"], ["clip", "0"]),
    (["success", "--set", "decay=-1"], ["decay", "-1"]),
    (["success", "--set", "n_critic=0"], ["n_critic", "0"]),
    (["success", "--epochs", "0"], ["epochs", "0"]),
    (["success", "--set", "batch_size=100001"], ["batch_size", "100001"]),
    (["success", "--set", "loss=foo"], ["loss", "foo"]),
    (["success", "--set", "lr=abc"], ["lr", "abc"]),
    (["success", "--set", "nonsense"], ["nonsense"]),
    (["success", "--seed", "-3"], ["seed", "-3"]),
]


# Each of these, through the real process: one per source of the error (get_case, argparse's
# type check, the --set parser, Config validation). Four processes, not eleven: each costs
# ~2.5 s of CPU for importing torch, ~45 s for all eleven on this shared 2-core machine. All
# eleven go through `cli.main` in-process below, which is what `python -m wgan_lib` calls.
SUBPROCESS_CASES = [0, 8, 6, 10]


@pytest.fixture(scope="module")
def bad_input_results(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli_bad")

    def one(i):
        out = base / f"out{i}"
        args, _ = BAD_INPUTS[i]
        return i, (out, cli(["run", *args, "--out", str(out), "--quiet"], cwd=base))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, SUBPROCESS_CASES))


def _check_error(returncode, stdout, stderr, out, words):
    lines = stderr.splitlines()
    assert returncode == 2, stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error:")
    for word in words:
        assert word in lines[0], lines[0]
    assert stdout == ""
    assert not out.exists()  # nothing trained, nothing written


@pytest.mark.parametrize("i", SUBPROCESS_CASES, ids=[" ".join(BAD_INPUTS[i][0]) for i in SUBPROCESS_CASES])
def test_bad_input_process_prints_one_error_line_and_exits_2(bad_input_results, i):
    out, result = bad_input_results[i]
    _check_error(result.returncode, result.stdout, result.stderr, out, BAD_INPUTS[i][1])


@pytest.mark.parametrize("i", range(len(BAD_INPUTS)), ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_main_prints_one_error_line_and_returns_2(i, tmp_path, capsys, monkeypatch):
    from wgan_lib.cli import main

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args, words = BAD_INPUTS[i]
    status = main(["run", *args, "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    _check_error(status, captured.out, captured.err, out, words)
    assert not (tmp_path / "runs").exists()


def test_list_shows_every_case_with_its_settings(tmp_path):
    result = cli(["list"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = ["failure-1", "failure-2", "failure-3", "failure-4", "failure-5", "failure-6", "success",
             "no-clip-1", "no-clip-2", "standard-gan", "coulomb-gan", "wgan-gp", "lsgan"]
    assert set(names) == set(CASES)
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line.strip()}
    header = result.stdout.splitlines()[0].split()
    lr_col, decay_col, clip_col = header.index("lr"), header.index("decay"), header.index("clip")
    for name in names:
        config = CASES[name].config()
        row = rows[name]
        assert float(row[lr_col]) == config.lr, row
        assert float(row[decay_col]) == config.decay, row
        assert (row[clip_col] == "None") if config.clip is None else (float(row[clip_col]) == config.clip), row
    from wgan_lib.runsets import RUN_SETS

    for name, run_set in RUN_SETS.items():
        line = next(line for line in result.stdout.splitlines() if line.split()[:1] == [name])
        assert line.split()[1:3] == [str(len(run_set.configs)), str(len(run_set.stack_indices()))], line


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_run_stores_a_completed_run_and_a_diverged_run_leaves_others_alone(tmp_path):
    out = tmp_path / "runs"
    ok = cli(["run", "success", "--epochs", "1", *TINY, "--out", str(out), "--quiet"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "Traceback" not in ok.stderr
    # A variant of a case (other epochs, --set) is stored beside the canonical name, never over it.
    good_dir = Path(ok.stdout.split(": completed")[0].strip())
    assert good_dir.parent == out and good_dir.name.startswith("success-seed0-")
    stored = load_run(good_dir)
    assert stored.status == "completed"
    assert stored.failed_epoch is None and stored.reason is None
    assert (stored.config.epochs, stored.config.samples_per_center, stored.config.batch_size) == (1, 64, 64)
    assert len(stored.epoch_logs["d_loss"]) == 1
    assert stored.samples.shape == (1, 200, 2)  # the last epoch is always a snapshot
    before = _digest(good_dir)

    # lr 1e30 without clipping: the first update puts every weight near 1e30, D's output
    # overflows float32 and the losses become NaN in the first epoch (checked: every time).
    bad = cli(["run", "failure-1", "--epochs", "2", *TINY, "--set", "lr=1e30", "--set", "clip=none",
               "--out", str(out), "--quiet"], cwd=tmp_path)
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    assert "Traceback" not in bad.stderr
    assert "diverged" in bad.stderr and "failure-1-seed0" in bad.stderr
    bad_dir = Path(bad.stderr.split(": diverged")[0].strip().splitlines()[-1])
    assert bad_dir.parent == out and bad_dir.name.startswith("failure-1-seed0-")
    diverged = load_run(bad_dir)
    assert diverged.status == "diverged"
    assert diverged.failed_epoch == 0
    assert diverged.reason and "nan" in diverged.reason.lower()
    assert diverged.reason in bad.stderr
    assert diverged.config.lr == 1e30 and diverged.config.clip is None
    # The other run's files are byte for byte what they were, and it still loads as completed.
    assert _digest(good_dir) == before
    assert load_run(good_dir).status == "completed"
    # No temporary folders or checkpoints are left behind.
    assert sorted(p.name for p in out.iterdir()) == [".checkpoints", ".locks", bad_dir.name, good_dir.name]
    assert not list((out / ".checkpoints").iterdir())


@pytest.fixture
def tiny_set():
    """Five tiny runs in two stacks, registered as a run set for the test."""
    from wgan_lib import Config
    from wgan_lib.runsets import RUN_SETS, RunSet

    sizes = dict(samples_per_center=32, batch_size=32, g_width=8, d_width=8, g_depth=1, d_depth=1, epochs=1,
                 n_eval_samples=100, plot_resolution=9)
    run_set = RunSet("cli-test", "", tuple(Config(case="cli").replace(**sizes, seed=s) for s in range(5)), stacks=2)
    RUN_SETS[run_set.name] = run_set
    yield run_set
    del RUN_SETS[run_set.name]


def test_reproduce_jobs_trains_the_sets_stacks_in_single_threaded_processes(tmp_path, capsys, tiny_set):
    from wgan_lib.cli import main

    args = ["reproduce", "cli-test", "--results", str(tmp_path)]
    assert main([*args, "--jobs", "2", "--quiet"]) == 0
    runs = [load_run(path) for path in sorted((tmp_path / "cli-test").glob("cli-seed*"))]
    assert [run.config.seed for run in runs] == [0, 1, 2, 3, 4]
    for run in runs:
        assert run.status == "completed"
        # the set's stacks (seeds 0, 2, 4 and 1, 3), whatever the number of processes
        assert run.provenance["stack"] == [f"cli-seed{s}" for s in ((0, 2, 4) if run.config.seed % 2 == 0 else (1, 3))]
        assert "1 threads" in run.provenance["device"]
    capsys.readouterr()
    assert main([*args, "--check"]) == 0
    assert "cli-test: 5 of 5 runs stored and current" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--jobs", "--scheduler"]),
    (["--jobs", "0"], ["--jobs", "0"]),
    (["--job", "2"], ["--job"]),  # no abbreviations
    (["--device", "tpu"], ["device", "tpu"]),
])
def test_reproduce_bad_options_print_one_error_line_and_return_2(args, words, tmp_path, capsys, tiny_set):
    from wgan_lib.cli import main

    status = main(["reproduce", "cli-test", "--results", str(tmp_path), *args])
    captured = capsys.readouterr()
    _check_error(status, captured.out, captured.err, tmp_path / "cli-test", words)


def test_reproduce_critic_records_d_weights(tmp_path):
    """The critic set records D's weights at every snapshot, in snapshots.npz."""
    from wgan_lib.cli import main
    from wgan_lib.runsets import get_run_set

    assert main(["reproduce", "critic", "--epochs", "1", "--jobs", "2", "--quiet", "--results", str(tmp_path)]) == 0
    run_set = get_run_set("critic").with_epochs(1)
    runs = [load_run(run_set.path(tmp_path) / run_name(c)) for c in run_set.configs]
    assert run_set.path(tmp_path).name == "critic-1ep"
    assert [r.config.case for r in runs] == ["success", "failure-2", "wgan-gp"]
    for run in runs:
        assert run.d_weights.shape == (1, (2 + 1) * 64 + (64 + 1) * 64 + 64 + 1)
        assert run.provenance["stack_size"] == 3
