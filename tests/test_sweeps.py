"""Tests of wgan_lib.sweeps: what each sweep trains, metrics-only storage, shards, summaries."""
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from wgan_lib import CASES, Config
from wgan_lib.cli import main
from wgan_lib.config import ConfigError
from wgan_lib.runner import reproduce
from wgan_lib.store import RUN_JSON, SNAPSHOTS_NPZ, RunFileError, load_run, run_name
from wgan_lib.sweeps import (MAP_CLIPS, MAP_LRS, SWEEP_EPOCHS, cell_of, load_sweep, mean_and_error, parse_shard,
                             setting_of, summarise, sweep_configs)

TINY = dict(samples_per_center=32, batch_size=32, g_width=8, d_width=8, g_depth=1, d_depth=1, epochs=2,
            n_eval_samples=100, plot_resolution=9)


def test_seeds_sweep_is_every_setting_of_the_post_with_ten_seeds():
    configs = sweep_configs("seeds")
    assert len(configs) == 110 and len({run_name(c) for c in configs}) == 110
    for config in configs:
        setting = config.case.removeprefix("seeds-")
        case = "no-clip-1" if setting == "no-clip" else setting
        # the registered case, only seed and schedule changed
        assert config.replace(case=case, seed=CASES[case].config().seed, epochs=1000, snapshot_every=100) \
            == CASES[case].config()
        assert config.epochs == SWEEP_EPOCHS
    assert sorted({c.seed for c in configs}) == list(range(10))


def test_clip_lr_map_covers_the_grid_with_three_seeds_at_the_success_settings():
    configs = sweep_configs("clip-lr")
    assert len(configs) == len(MAP_CLIPS) * len(MAP_LRS) * 3 == 63
    cells = {(c.clip, c.lr) for c in configs}
    assert cells == {(clip, lr) for clip in MAP_CLIPS for lr in MAP_LRS}
    success = CASES["success"].config()
    for c in configs:
        assert (c.loss, c.decay, c.n_critic, c.beta_1) == (success.loss, success.decay, success.n_critic, success.beta_1)


def test_unknown_sweep_and_bad_shards_are_one_line_errors(capsys):
    with pytest.raises(ConfigError, match="unknown sweep 'nope'; allowed: seeds, clip-lr"):
        sweep_configs("nope")
    for text in ("1", "a/b", "2/2", "-1/2", "0/0"):
        with pytest.raises(ConfigError, match="shard"):
            parse_shard(text)
    assert parse_shard("1/3") == (1, 3)
    assert main(["sweep", "--shard", "3/2", "--check"]) == 2
    assert main(["sweep", "nope", "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: shard K/N needs N >= 1 and 0 <= K < N; got '3/2'",
                   "error: unknown sweep 'nope'; allowed: seeds, clip-lr, critic"]


def _brute_force_best_split(configs):
    """The least possible cost of the costlier of two shards, over all 2**n splits."""
    from wgan_lib.runner import estimated_cost

    def cost(mask, side):
        return estimated_cost([c for i, c in enumerate(configs) if bool(mask >> i & 1) == side])
    return min(max(cost(mask, True), cost(mask, False)) for mask in range(2 ** len(configs)))


@pytest.mark.parametrize("cases", [
    [name for name in CASES if name != "wgan-gp"],  # the post's eleven runs
    list(CASES),
])
def test_shards_split_the_cases_by_cost_near_the_best_split(cases):
    from wgan_lib.runner import estimated_cost, shard_configs

    configs = [CASES[name].config() for name in cases]
    shards = [shard_configs(configs, (k, 2)) for k in range(2)]
    # every run in exactly one shard, each shard in the order of `configs`
    assert sorted(run_name(c) for shard in shards for c in shard) == sorted(run_name(c) for c in configs)
    for shard in shards:
        assert shard == [c for c in configs if c in shard]
    # failure-6's four extra critic slots are paid once: the Coulomb GAN goes to the other shard
    with_f6 = next(shard for shard in shards if any(c.case == "failure-6" for c in shard))
    assert all(c.case != "coulomb-gan" for c in with_f6)
    greedy = max(estimated_cost(shard) for shard in shards)
    round_robin = max(estimated_cost(configs[k::2]) for k in range(2))
    best = _brute_force_best_split(configs)
    # The greedy split is a heuristic: it must beat the old round-robin split and come within
    # 2 % of the best split (measured: equal to it for the eleven, 1.3 % above for all twelve).
    assert greedy < 0.95 * round_robin
    assert best <= greedy <= 1.02 * best


@pytest.mark.parametrize("name", ["seeds", "clip-lr"])
def test_the_sweeps_shards_are_the_ones_their_stored_runs_were_trained_in(name):
    """The stored sweeps were trained as `--shard 0/2` and `1/2` when shards took every second run;
    a stack of 32 or more runs rounds differently from a smaller one (the seeds chapter), so the
    cost-balanced split must give the same two stacks for the stored runs to stay reproducible
    bit for bit."""
    from wgan_lib.runner import shard_configs

    configs = sweep_configs(name)
    for k in range(2):
        assert shard_configs(configs, (k, 2)) == configs[k::2]


def test_every_loss_has_a_critic_update_cost():
    from wgan_lib.config import LOSSES
    from wgan_lib.runner import CRITIC_UPDATE_WEIGHT

    assert sorted(CRITIC_UPDATE_WEIGHT) == sorted(LOSSES)


def test_a_shard_split_of_equal_runs_alternates_and_any_number_of_shards_covers_every_run():
    from wgan_lib.runner import shard_configs

    configs = [Config(case="tiny").replace(**TINY, seed=s) for s in range(7)]
    assert [c.seed for c in shard_configs(configs, (0, 2))] == [0, 2, 4, 6]
    assert [c.seed for c in shard_configs(configs, (1, 2))] == [1, 3, 5]
    for n in (1, 3, 7, 9):
        shards = [shard_configs(configs, (k, n)) for k in range(n)]
        assert sorted(c.seed for shard in shards for c in shard) == list(range(7))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """Six tiny runs trained as two shards into one folder, metrics only."""
    out = tmp_path_factory.mktemp("sweep")
    configs = [Config(case=f"tiny-{clip}").replace(**TINY, clip=clip, seed=s) for clip in (0.01, None) for s in range(3)]
    assert reproduce(out, configs=configs, with_snapshots=False, shard=(0, 2), progress=False) == 0
    first = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert reproduce(out, configs=configs, with_snapshots=False, shard=(1, 2), progress=False) == 0
    return out, configs, first


def test_two_shards_train_every_run_once(sharded, capsys):
    out, configs, first = sharded
    names = sorted(run_name(c) for c in configs)
    assert len(first) == 3 and set(first) < set(names)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == names
    assert reproduce(out, configs=configs, check_only=True, with_snapshots=False) == 0
    assert "6 of 6 runs stored and current" in capsys.readouterr().out
    # a shard is the same runs whatever is stored already
    assert reproduce(out, configs=configs, check_only=True, with_snapshots=False, shard=(1, 2)) == 0
    assert "3 of 3 runs stored and current" in capsys.readouterr().out


def test_metrics_only_runs_have_no_snapshots_and_load(sharded):
    out, configs, _ = sharded
    folder = out / run_name(configs[0])
    assert sorted(p.name for p in folder.iterdir()) == [RUN_JSON]
    assert json.loads((folder / RUN_JSON).read_text())["snapshots_sha256"] is None
    run = load_run(folder)
    assert run.samples is None and run.d_grid is None
    assert run.snapshot_epochs.tolist() == [0, 1] == [m["epoch"] for m in run.metrics]
    assert 0 <= run.final_metrics["modes"] <= 25


def test_a_metrics_only_run_with_a_bad_checksum_field_is_damaged(sharded, tmp_path):
    out, configs, _ = sharded
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(out / run_name(configs[0]), folder)
    record = json.loads((folder / RUN_JSON).read_text())
    record["snapshots_sha256"] = 5
    (folder / RUN_JSON).write_text(json.dumps(record))
    with pytest.raises(RunFileError, match="snapshots_sha256 must be text or null"):
        load_run(folder)
    record["snapshots_sha256"] = "0" * 64  # says there are snapshots, but there is no file
    (folder / RUN_JSON).write_text(json.dumps(record))
    with pytest.raises(RunFileError, match=f"{SNAPSHOTS_NPZ}: missing"):
        load_run(folder)


def test_load_sweep_names_what_is_missing(tmp_path):
    with pytest.raises(RunFileError, match=r"sweep 'clip-lr' .* 63 run\(s\) not stored .*python -m wgan_lib sweep clip-lr"):
        load_sweep("clip-lr", tmp_path)


def _fake(case, clip, lr, seed, modes, hq, status="completed"):
    metrics = [{"epoch": 99, "modes": modes, "hq_fraction": hq, "reverse_kl": 0.1, "w1": 0.5}]
    return SimpleNamespace(config=Config(case=case, clip=clip, lr=lr, seed=seed), status=status,
                           metrics=metrics if status == "completed" else [])


def test_summarise_gives_means_standard_errors_and_success_rates():
    runs = [_fake("seeds-success", 0.1, 1e-4, 0, 24, 0.9), _fake("seeds-success", 0.1, 1e-4, 1, 20, 0.4),
            _fake("seeds-success", 0.1, 1e-4, 2, 10, 0.6), _fake("seeds-success", 0.1, 1e-4, 3, 0, 0, "diverged")]
    s = summarise(runs, setting_of)["success"]
    assert (s["n"], s["diverged"]) == (4, 1)
    assert s["success_rate"] == 0.25  # only seed 0 has >= 20 modes and >= 50 % HQ; a diverged run fails
    assert s["modes"] == pytest.approx(18.0)
    assert s["modes_se"] == pytest.approx(np.std([24, 20, 10], ddof=1) / math.sqrt(3))
    assert s["hq_fraction"] == pytest.approx(np.mean([0.9, 0.4, 0.6]))
    by_cell = summarise(runs + [_fake("map", None, 1e-2, 0, 5, 0.01)], cell_of)
    assert set(by_cell) == {("0.1", 1e-4), ("none", 1e-2)}
    assert by_cell[("none", 1e-2)]["n"] == 1 and math.isnan(by_cell[("none", 1e-2)]["modes_se"])


def test_mean_and_error_ignores_non_finite_values():
    assert mean_and_error([1.0, 3.0, math.nan]) == (2.0, pytest.approx(1.0))
    assert all(math.isnan(v) for v in mean_and_error([math.nan]))


def test_a_full_run_edited_to_claim_no_snapshots_is_damaged(tmp_path):
    """Found by Hypothesis: run.json's snapshots_sha256 set to null beside a snapshots.npz."""
    config = Config(case="full").replace(**TINY)
    assert reproduce(tmp_path, configs=[config], progress=False) == 0
    folder = tmp_path / run_name(config)
    record = json.loads((folder / RUN_JSON).read_text())
    record["snapshots_sha256"] = None
    (folder / RUN_JSON).write_text(json.dumps(record))
    with pytest.raises(RunFileError, match="records no snapshots, but snapshots.npz is there"):
        load_run(folder)


def test_a_metrics_only_run_where_snapshots_are_wanted_is_retrained(tmp_path, capsys):
    config = Config(case="wanted").replace(**TINY)
    assert reproduce(tmp_path, configs=[config], with_snapshots=False, progress=False) == 0
    assert reproduce(tmp_path, configs=[config], check_only=True) == 1
    assert f"{run_name(config)}: missing snapshots" in capsys.readouterr().out
    assert reproduce(tmp_path, configs=[config], progress=False) == 0
    assert load_run(tmp_path / run_name(config)).samples.shape == (2, TINY["n_eval_samples"], 2)
