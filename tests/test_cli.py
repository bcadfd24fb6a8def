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
             "no-clip-1", "no-clip-2", "standard-gan", "coulomb-gan", "wgan-gp"]
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


def test_reproduce_jobs_splits_the_runs_between_single_threaded_processes(tmp_path, capsys):
    from wgan_lib.cli import main

    out = tmp_path / "results"
    args = ["reproduce", "--cases", "success", "failure-1", "--epochs", "1", "--device", "cpu", "--out", str(out)]
    assert main([*args, "--jobs", "2", "--quiet"]) == 0
    runs = [load_run(path) for path in sorted(out.glob("*-seed*"))]
    assert sorted(run.config.case for run in runs) == ["failure-1", "success"]
    for run in runs:
        assert run.status == "completed"
        assert run.provenance["stack_size"] == 1  # one run per process, not one stack of two
        assert "1 threads" in run.provenance["device"]
    capsys.readouterr()
    assert main([*args, "--check"]) == 0
    assert "2 of 2 runs stored and current" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--jobs", "2", "--shard", "0/2"], ["--jobs", "--shard"]),
    (["--jobs", "0"], ["--jobs", "0"]),
    (["--job", "2"], ["--job"]),  # no abbreviations: children get --jobs rewritten by its full name
])
def test_reproduce_bad_jobs_prints_one_error_line_and_returns_2(args, words, tmp_path, capsys):
    from wgan_lib.cli import main

    out = tmp_path / "results"
    status = main(["reproduce", "--cases", "success", "--epochs", "1", "--device", "cpu", "--out", str(out), *args])
    captured = capsys.readouterr()
    _check_error(status, captured.out, captured.err, out, words)


def test_sweep_jobs_trains_the_critic_study_in_one_of_its_processes(tmp_path):
    """`sweep critic --jobs 2`: the study is one stack, so process 0 trains it and process 1 has nothing to do."""
    from wgan_lib.cli import main
    from wgan_lib.critic import load_critic

    assert main(["sweep", "critic", "--epochs", "1", "--jobs", "2", "--quiet", "--device", "cpu",
                 "--results", str(tmp_path)]) == 0
    runs = load_critic(tmp_path, epochs=1)
    assert len(runs) == 3
    assert all("1 threads" in critic_run.run.provenance["device"] for critic_run in runs)
