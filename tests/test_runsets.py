"""Tests of wgan_lib.runsets and wgan_lib.runner: what each run set holds, its stacks (the ones its
stored runs were trained in), training and checking a set, metrics-only storage, summaries."""
import collections
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from wgan_lib import CASES, Config
from wgan_lib.cli import main, parse_shard
from wgan_lib.config import ConfigError
from wgan_lib.runner import estimated_cost, reproduce, run_status, share_stacks
from wgan_lib.runsets import (MAP_CLIPS, MAP_LRS, REPO_ROOT, RUN_SETS, SWEEP_EPOCHS, RunSet, get_run_set,
                              is_complete, load, load_stored, setting_of)
from wgan_lib.store import RUN_JSON, SNAPSHOTS_NPZ, RunFileError, load_run, run_name
from wgan_lib.summary import mean_and_error, summarise

TINY = dict(samples_per_center=32, batch_size=32, g_width=8, d_width=8, g_depth=1, d_depth=1, epochs=2,
            n_eval_samples=100, plot_resolution=9)


def test_seeds_set_is_every_setting_of_the_post_with_ten_seeds():
    configs = get_run_set("seeds").configs
    assert len(configs) == 110 and len({run_name(c) for c in configs}) == 110
    for config in configs:
        setting = config.case.removeprefix("seeds-")
        case = "no-clip-1" if setting == "no-clip" else setting
        # the registered case, only seed and schedule changed
        assert config.replace(case=case, seed=CASES[case].config().seed, epochs=1000, snapshot_every=100) \
            == CASES[case].config()
        assert config.epochs == SWEEP_EPOCHS
    assert sorted({c.seed for c in configs}) == list(range(10))


def test_clip_lr_set_covers_the_grid_with_three_seeds_at_the_success_settings():
    configs = get_run_set("clip-lr").configs
    assert len(configs) == len(MAP_CLIPS) * len(MAP_LRS) * 3 == 63
    assert {(c.clip, c.lr) for c in configs} == {(clip, lr) for clip in MAP_CLIPS for lr in MAP_LRS}
    success = CASES["success"].config()
    for c in configs:
        assert (c.loss, c.decay, c.n_critic, c.beta_1) == (success.loss, success.decay, success.n_critic, success.beta_1)


def test_cases_and_full_seeds_give_five_seeds_of_every_setting_of_the_post():
    cases, full = get_run_set("cases"), get_run_set("full-seeds")
    assert [c.case for c in cases.configs] == list(CASES)
    seeds = collections.defaultdict(set)
    for config in cases.configs + full.configs:
        if config.case in ("no-clip-1", "no-clip-2", "no-clip"):
            assert config.replace(case="no-clip-1", seed=1) == CASES["no-clip-1"].config()
            seeds["no-clip"].add(config.seed)
        elif CASES[config.case].in_post:
            assert config == CASES[config.case].config(seed=config.seed)
            seeds[config.case].add(config.seed)
    assert dict(seeds) == {name: {0, 1, 2, 3, 4} for name in
                           [f"failure-{k}" for k in range(1, 7)] + ["success", "no-clip"]}


def test_every_run_is_in_exactly_one_stack_of_stackable_runs():
    for name, run_set in RUN_SETS.items():
        positions = sorted(i for stack in run_set.stack_indices() for i in stack)
        assert positions == list(range(len(run_set.configs))), name


def test_the_sets_stacks_are_the_ones_their_stored_runs_were_trained_in():
    """A batched product rounds with the batch around it, so a stored run is reproducible only in its
    stack: every stack a set defines must be a group of stored runs that one provenance made."""
    for name, run_set in RUN_SETS.items():
        folder = REPO_ROOT / "results" / run_set.path_name
        made = collections.defaultdict(set)  # (wall time, stack size) -> runs: one stack's provenance
        for config in run_set.configs:
            path = folder / run_name(config) / RUN_JSON
            if path.exists():
                p = json.loads(path.read_text())["provenance"]
                made[(p["wall_time_s"], p["stack_size"])].add(run_name(config))
        for stack in run_set.stack_indices():
            names = {run_name(run_set.configs[i]) for i in stack}
            stored = [group for group in made.values() if group & names]
            if stored:
                assert stored == [names], (name, sorted(names))


def test_the_best_screen_is_the_protocol_of_docs_grid_best():
    """docs/grid-best.md: the field's base (ReLU 3 x 128, 2-D normal noise, no decay) and three
    candidates per discriminator, seeds 0 and 1, 100 epochs, one stack per discriminator."""
    run_set = get_run_set("best-screen")
    assert len(run_set.configs) == 4 * 3 * 2
    success = CASES["success"].config()
    for c in run_set.configs:
        assert (c.activation, c.g_width, c.d_width, c.g_depth, c.d_depth) == ("relu", 128, 128, 3, 3)
        assert (c.noise, c.noise_dim, c.decay, c.batch_size, c.beta_1) == ("normal", 2, 0.0, 512, 0.5)
        assert (c.epochs, c.seed in (0, 1), c.samples_per_center) == (100, True, success.samples_per_center)
        assert (c.clip is not None) == (c.loss == "wgan")  # only the clipped WGAN clips
        if c.loss in ("wgan", "wgan-gp"):
            assert c.n_critic == 5
    gp = {(c.lr, c.gp_lambda, c.beta_2) for c in run_set.configs if c.loss == "wgan-gp"}
    assert gp == {(1e-4, 10.0, 0.9), (1e-4, 0.1, 0.9), (1e-3, 0.1, 0.9)}
    assert {(c.clip, c.lr) for c in run_set.configs if c.loss == "wgan"} == {(0.01, 1e-4), (0.1, 1e-4), (0.03, 1e-3)}
    for loss in ("standard", "coulomb"):
        assert {c.lr for c in run_set.configs if c.loss == loss} == {1e-3, 3e-4, 1e-4}
    stacks = [{run_set.configs[i].loss for i in stack} for stack in run_set.stack_indices()]
    assert stacks == [{"standard"}, {"wgan-gp"}, {"wgan"}, {"coulomb"}]


def test_the_final_best_runs_are_ten_seeds_of_each_kept_candidate_in_two_stacks_of_five_with_epoch_100():
    from wgan_lib.runsets import best_config, best_final_configs, best_final_stacks

    final = {"standard": ("standard-lr3e-4", 1000), "wgan": ("clip0.03-lr1e-3", 350)}
    run_set = RunSet("x", "", best_final_configs(final), stacks=best_final_stacks(final))
    stacks = [(run_set.configs[stack[0]].loss, sorted(run_set.configs[i].seed for i in stack))
              for stack in run_set.stack_indices()]
    assert stacks == [("standard", [0, 1, 2, 3, 4]), ("standard", [5, 6, 7, 8, 9]),
                      ("wgan", [0, 1, 2, 3, 4]), ("wgan", [5, 6, 7, 8, 9])]
    for c in run_set.configs:
        candidate, epochs = final[{"standard": "standard", "wgan": "wgan"}[c.loss]]
        assert c == best_config(candidate, c.seed, epochs=epochs, snapshot_every=50)
        assert 100 in c.snapshots and epochs - 1 in c.snapshots


def test_the_ladder_down_puts_back_one_of_the_posts_choices_per_rung_where_the_top_differs():
    from wgan_lib.runsets import POST_CHOICES, best_config, ladder_down_configs, ladder_down_rungs, ladder_down_stacks

    post = CASES["success"].config()
    for top, extra in (("clip0.03-lr1e-3", {"lr1e-4", "clip0.1"}), ("clip0.1-lr1e-4", set()),
                       ("gp-lr1e-4-lambda10", {"beta2-0.999", "clip0.1"})):
        rungs = ladder_down_rungs(top)
        assert set(rungs) == {"top", "elu", "2x64", "uniform-4d", "decay", "ncritic1"} | extra, top
        configs = ladder_down_configs(top)
        assert len(configs) == 5 * len(rungs) and {c.epochs for c in configs} == {100}
        stacks = RunSet("x", "", configs, stacks=ladder_down_stacks(top)).stack_indices()  # each stackable
        assert [{configs[i].case for i in stack} for stack in stacks] == [{f"down-{rung}"} for rung in rungs]
        base = best_config(top, 0)
        for c in configs:
            rung = c.case.removeprefix("down-")
            changed = {f for f in base.__dataclass_fields__ if f not in ("case", "seed")
                       and getattr(c, f) != getattr(base, f)}
            assert changed == ({f for f in POST_CHOICES[rung][1] if getattr(base, f) != getattr(post, f)}
                               if rung != "top" else set()), (top, rung)
            assert all(getattr(c, f) == getattr(post, f) for f in changed)


def test_the_registered_best_and_ladder_down_are_what_the_stored_screen_chose():
    """`best` and `ladder-down` are fixed as data (BEST_FINAL, LADDER_DOWN_TOP); they must be what the
    rules of docs/grid-best.md give on the stored screen, so a retrained screen that chose otherwise fails here."""
    from wgan_lib import grid
    from wgan_lib.runsets import BEST_FINAL, LADDER_DOWN_TOP, best_final_configs, ladder_down_configs

    screen = load("best-screen", train_missing=False, progress=False)
    assert len(screen) == 24 and all(r.status == "completed" for r in screen)
    chosen = {disc: (candidate, grid.best_epochs(screen, candidate))
              for disc, candidate in grid.best_choice(screen).items()}
    assert chosen == BEST_FINAL
    assert grid.ladder_down_top(screen) == LADDER_DOWN_TOP
    assert get_run_set("best").configs == best_final_configs(BEST_FINAL)
    assert get_run_set("ladder-down").configs == ladder_down_configs(LADDER_DOWN_TOP)


def test_an_int_splits_a_set_by_position_and_named_stacks_leave_the_rest_alone():
    configs = tuple(Config(case="tiny").replace(**TINY, seed=s) for s in range(7))
    assert RunSet("x", "", configs, stacks=2).stack_indices() == [[0, 2, 4, 6], [1, 3, 5]]
    named = RunSet("x", "", configs, stacks=(("tiny-seed5", "tiny-seed1"),))
    assert named.stack_indices() == [[5, 1], [0], [2], [3], [4], [6]]


def test_bad_run_sets_are_one_line_errors(capsys):
    tiny = Config(case="tiny").replace(**TINY)
    with pytest.raises(ConfigError, match="unknown run set 'nope'; allowed: cases, full-seeds"):
        get_run_set("nope")
    with pytest.raises(ConfigError, match="two configs name the same run"):
        RunSet("x", "", (tiny, tiny))
    with pytest.raises(ConfigError, match="stacks name runs it does not have"):
        RunSet("x", "", (tiny,), stacks=(("other-seed0",),))
    with pytest.raises(ConfigError, match="record must be one of metrics, snapshots, weights"):
        RunSet("x", "", (tiny,), record="everything")
    with pytest.raises(Exception, match="must share epochs"):
        RunSet("x", "", (tiny, tiny.replace(seed=1, epochs=3)))
    for text in ("1", "a/b", "2/2", "-1/2", "0/0"):
        with pytest.raises(ConfigError, match="shard"):
            parse_shard(text)
    assert parse_shard("1/3") == (1, 3)
    assert main(["reproduce", "cases", "--shard", "3/2"]) == 2
    assert main(["reproduce", "nope", "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "error: shard K/N needs N >= 1 and 0 <= K < N; got '3/2'"
    assert err[1].startswith("error: unknown run set 'nope'; allowed: cases, full-seeds, studies, seeds")


def test_shares_of_stacks_balance_the_estimated_cost():
    stacks = [[CASES[name].config()] for name in CASES]  # one stack per case
    shares = share_stacks(stacks, 2)
    assert sorted(i for share in shares for i in share) == list(range(len(stacks)))
    loads = [sum(estimated_cost(stacks[i]) for i in share) for share in shares]
    assert max(loads) <= 1.1 * sum(loads) / 2  # within 10 % of an even split
    failure_6 = list(CASES).index("failure-6")  # n_critic 5: the costliest run
    assert estimated_cost(stacks[failure_6]) == max(estimated_cost(s) for s in stacks)


@pytest.fixture
def tiny_set(tmp_path):
    """A run set of six tiny runs in two stacks, metrics only, registered for the test."""
    configs = tuple(Config(case=f"tiny-{clip}").replace(**TINY, clip=clip, seed=s) for clip in (0.01, None)
                    for s in range(3))
    run_set = RunSet("tiny-test", "six tiny runs", configs, record="metrics", stacks=2)
    RUN_SETS[run_set.name] = run_set
    yield run_set, tmp_path
    del RUN_SETS[run_set.name]


def test_reproduce_trains_a_set_once_and_check_says_so(tiny_set, capsys):
    run_set, results = tiny_set
    assert reproduce(["tiny-test"], results, check=True) == 1
    assert "tiny-test: 0 of 6 runs stored and current" in capsys.readouterr().out
    assert reproduce(["tiny-test"], results, shard=(0, 2), progress=False) == 0
    stored = sorted(p.name for p in run_set.path(results).iterdir() if not p.name.startswith("."))
    assert len(stored) == 3  # one of the two stacks
    assert reproduce(["tiny-test"], results, progress=False) == 0
    assert sorted(p.name for p in run_set.path(results).iterdir() if not p.name.startswith(".")) == \
        sorted(run_name(c) for c in run_set.configs)
    capsys.readouterr()
    assert reproduce(["tiny-test"], results, check=True) == 0
    assert "tiny-test: 6 of 6 runs stored and current" in capsys.readouterr().out
    run = load_run(run_set.path(results) / run_name(run_set.configs[0]))
    assert run.provenance["stack"] == [run_name(run_set.configs[i]) for i in run_set.stack_indices()[0]]


def test_metrics_only_runs_have_no_snapshots_and_load(tiny_set):
    run_set, results = tiny_set
    runs = load("tiny-test", results, progress=False)  # trains both stacks on the spot
    folder = runs[0].path
    assert sorted(p.name for p in folder.iterdir()) == [RUN_JSON]
    assert json.loads((folder / RUN_JSON).read_text())["snapshots_sha256"] is None
    assert runs[0].samples is None and runs[0].d_grid is None
    assert runs[0].snapshot_epochs.tolist() == [0, 1] == [m["epoch"] for m in runs[0].metrics]
    assert [r.config for r in runs] == list(run_set.configs)


def test_a_run_that_records_less_than_its_set_asks_is_trained_again_with_its_stack(tiny_set, capsys):
    run_set, results = tiny_set
    wanting = RunSet("tiny-test", "", run_set.configs, record="snapshots", stacks=2)
    RUN_SETS["tiny-test"] = run_set
    assert reproduce(["tiny-test"], results, progress=False) == 0
    RUN_SETS["tiny-test"] = wanting
    capsys.readouterr()
    assert reproduce(["tiny-test"], results, check=True) == 1
    assert f"tiny-test/{run_name(run_set.configs[0])}: missing snapshots" in capsys.readouterr().out
    assert run_status(run_set.path(results), run_set.configs[0], "snapshots") == "missing snapshots"
    assert reproduce(["tiny-test"], results, progress=False) == 0
    assert load_run(run_set.path(results) / run_name(run_set.configs[0])).samples.shape == (2, 100, 2)


def test_load_without_training_names_what_is_missing(tiny_set):
    _, results = tiny_set
    with pytest.raises(RunFileError, match=r"run set 'tiny-test' .* 6 run\(s\) not stored: .*reproduce tiny-test"):
        load("tiny-test", results, train_missing=False)


def test_load_stored_gives_what_is_stored_so_far_and_trains_nothing(tiny_set):
    run_set, results = tiny_set
    assert load_stored("tiny-test", results) == []
    assert reproduce(["tiny-test"], results, shard=(0, 2), progress=False) == 0  # one of the two stacks
    stored = load_stored("tiny-test", results)
    assert len(stored) == 3 and len(list(run_set.path(results).glob("tiny-*"))) == 3
    order = [c for c in run_set.configs if c in {r.config for r in stored}]
    assert [r.config for r in stored] == order
    assert not is_complete("tiny-test", stored)
    assert reproduce(["tiny-test"], results, progress=False) == 0
    assert is_complete("tiny-test", load_stored("tiny-test", results))


def test_loading_a_run_set_reads_each_stored_run_once(tiny_set, monkeypatch):
    """`load` and `load_stored` decide what is stored by loading it, and return what they loaded."""
    import wgan_lib.runner as runner

    run_set, results = tiny_set
    assert reproduce(["tiny-test"], results, progress=False) == 0
    reads = []
    read = runner.load_status
    monkeypatch.setattr(runner, "load_status", lambda path: reads.append(path.name) or read(path))
    for loader in (load, load_stored):
        reads.clear()
        assert [r.config for r in loader("tiny-test", results)] == list(run_set.configs)
        assert sorted(reads) == sorted(run_name(c) for c in run_set.configs)


def test_with_epochs_keeps_the_stacks_in_a_folder_of_its_own():
    for name in ("cases", "seeds"):
        full = get_run_set(name)
        short = full.with_epochs(3)
        assert all(c.epochs == 3 for c in short.configs)
        assert short.stack_indices() == full.stack_indices()
        assert short.path("/r") != full.path("/r") and short.path("/r").name == f"{name}-3ep"


def test_a_full_run_edited_to_claim_no_snapshots_is_damaged(tiny_set):
    run_set, results = tiny_set
    RUN_SETS["tiny-test"] = RunSet("tiny-test", "", run_set.configs[:1])
    assert reproduce(["tiny-test"], results, progress=False) == 0
    folder = run_set.path(results) / run_name(run_set.configs[0])
    record = json.loads((folder / RUN_JSON).read_text())
    record["snapshots_sha256"] = None
    (folder / RUN_JSON).write_text(json.dumps(record))
    with pytest.raises(RunFileError, match=f"records no snapshots, but {SNAPSHOTS_NPZ} is there"):
        load_run(folder)


# --------------------------------------------------------------------------------- summaries


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
    by_cell = summarise(runs + [_fake("map", None, 1e-2, 0, 5, 0.01)], lambda r: (r.config.clip, r.config.lr))
    assert set(by_cell) == {(0.1, 1e-4), (None, 1e-2)}
    assert by_cell[(None, 1e-2)]["n"] == 1 and math.isnan(by_cell[(None, 1e-2)]["modes_se"])


def test_mean_and_error_ignores_non_finite_values():
    assert mean_and_error([1.0, 3.0, math.nan]) == (2.0, pytest.approx(1.0))
    assert all(math.isnan(v) for v in mean_and_error([math.nan]))
