"""tools/compare_runs.py: bit-for-bit comparison of two results folders."""
import runpy
from pathlib import Path

import numpy as np
import pytest

from wgan_lib import get_case
from wgan_lib.store import provenance, save_run
from wgan_lib.train import RunLog

compare_runs = runpy.run_path(str(Path(__file__).resolve().parents[1] / "tools" / "compare_runs.py"))
CONFIG = get_case("success").config(epochs=4, snapshot_every=2)


def stored(out, d_loss=(0.5, 0.25, 0.125, 0.0625), sample=0.0):
    log = RunLog(CONFIG)
    log.status = "completed"
    log.epoch_logs = {"d_loss": list(d_loss), "g_loss": [1.0] * 4, "d_min": [-1.0] * 4, "d_max": [1.0] * 4}
    for epoch in CONFIG.snapshots:
        log.snapshot_epochs.append(epoch)
        log.samples.append(np.full((CONFIG.n_eval_samples, 2), sample, np.float32))
        log.d_grid.append(np.zeros((CONFIG.plot_resolution, CONFIG.plot_resolution), np.float32))
        log.metrics.append({"epoch": epoch, "modes": 3, "hq_fraction": 0.5, "reverse_kl": 1.0, "w1": 2.0})
    return save_run(log, out, provenance("cpu", 1.0, ["success-seed0"]))


def test_identical_runs_compare_identical_whatever_their_provenance(tmp_path, capsys):
    stored(tmp_path / "a")
    stored(tmp_path / "b")
    assert compare_runs["main"](tmp_path / "a", tmp_path / "b") == 0
    assert "1 of 1 runs identical" in capsys.readouterr().out


@pytest.mark.parametrize("change, parts, epoch", [
    (dict(d_loss=(0.5, 0.25, 0.125 + 2**-40, 0.0625)), "curve d_loss", 2),
    (dict(sample=2**-30), "samples", None),
])
def test_a_one_value_difference_is_found_and_named(tmp_path, capsys, change, parts, epoch):
    stored(tmp_path / "a")
    stored(tmp_path / "b", **change)
    assert compare_runs["main"](tmp_path / "a", tmp_path / "b") == 1
    line = next(l for l in capsys.readouterr().out.splitlines() if "differs" in l)
    assert f"differs in {parts}" in line
    assert (f"first differs at epoch {epoch}" in line) == (epoch is not None)


def test_folders_without_common_runs_are_an_error(tmp_path, capsys):
    stored(tmp_path / "a")
    (tmp_path / "b").mkdir()
    assert compare_runs["main"](tmp_path / "a", tmp_path / "b") == 1
    assert "no run folder is in both" in capsys.readouterr().out


def test_proof_stack_trains_the_runs_of_a_registered_stack_and_names_a_bad_one():
    from wgan_lib.runsets import get_run_set
    from wgan_lib.store import run_name

    tool = runpy.run_path(str(Path(__file__).resolve().parents[1] / "tools" / "proof_stack.py"))
    cases = get_run_set("cases")
    assert tool["stacks_of"](["cases:1", "clip-lr:0"]) == {
        "cases:1": ([run_name(cases.configs[i]) for i in cases.stack_indices()[1]], "snapshots"),
        "clip-lr:0": ([run_name(c) for c in get_run_set("clip-lr").configs[::2]], "metrics")}
    with pytest.raises(SystemExit, match=r"'cases:9': run set cases has stacks 0 to 3"):
        tool["stacks_of"](["cases:9"])
    with pytest.raises(SystemExit, match="unknown run set 'case'"):
        tool["stacks_of"](["case:0"])
