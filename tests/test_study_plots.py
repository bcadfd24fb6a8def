"""Tests of wgan_lib.study_plots: the sweep and critic tables and figures show the numbers given."""
import math
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

from wgan_lib import Config, study_plots
from wgan_lib.cases import clip_label
from wgan_lib.sweeps import MAP_CLIPS, MAP_LRS, SEED_SETTINGS, cell_of, setting_name, setting_of, summarise

matplotlib.use("Agg")


def _run(case, seed, modes, hq, epochs=(99,), clip=0.1, lr=1e-4, status="completed"):
    metrics = [{"epoch": e, "modes": modes if e == epochs[-1] else modes - 1, "hq_fraction": hq,
                "reverse_kl": 0.2, "w1": 0.8} for e in epochs]
    return SimpleNamespace(config=Config(case=case, seed=seed, clip=clip, lr=lr), status=status, metrics=metrics,
                           final_metrics=metrics[-1])


def test_seeds_table_has_one_row_per_setting_with_mean_error_and_count():
    runs = []
    for name in dict.fromkeys(setting_name(n) for n in SEED_SETTINGS):
        runs += [_run(f"seeds-{name}", s, modes=10 + s, hq=0.6 if (name == "success" and s == 0) else 0.1)
                 for s in range(3)]
    runs[0] = _run("seeds-failure-1", 0, modes=22, hq=0.7)  # one success among failure-1's seeds
    table = study_plots.seeds_table(summarise(runs, setting_of))
    assert table.column("setting")[:1] == ["failure-1"] and len(table.rows) == 11
    assert table.column("post")[table.column("setting").index("no-clip")] == "1 of 2 runs succeeded"
    row = dict(zip(table.header, table.rows[0]))
    assert row["succeed"] == "1 of 3"
    modes = [22, 11, 12]
    assert row["modes"] == f"{np.mean(modes):.1f} ± {np.std(modes, ddof=1) / math.sqrt(3):.1f}"
    assert dict(zip(table.header, table.rows[table.column("setting").index("success")]))["succeed"] == "0 of 3"


def test_clip_lr_maps_annotate_every_cell_with_its_mean():
    runs = [_run("map", s, modes=5 + i, hq=0.02 * j, clip=clip, lr=lr)
            for i, clip in enumerate(MAP_CLIPS) for j, lr in enumerate(MAP_LRS) for s in range(3)]
    summary = summarise(runs, cell_of)
    grid = study_plots.clip_lr_grid(summary, "modes")
    assert grid.shape == (len(MAP_LRS), len(MAP_CLIPS))
    assert grid[1, 2] == 5 + 2
    fig = study_plots.plot_clip_lr_maps(summary)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert len(texts) == grid.size and texts[2] == f"{5 + 2:.1f}"
    table = study_plots.clip_lr_table(summary)
    assert len(table.rows) == grid.size and table.column("clip")[-1] == clip_label(MAP_CLIPS[-1])


def test_rank_agreement_is_one_for_the_same_order_and_minus_one_reversed():
    runs = [SimpleNamespace(metrics=[{"epoch": 100, "modes": m}, {"epoch": 199, "modes": 2 * m}]) for m in range(5)]
    assert study_plots.rank_agreement(runs, 100, 199) == (pytest.approx(1.0), 5)
    reversed_runs = [SimpleNamespace(metrics=[{"epoch": 100, "modes": m}, {"epoch": 199, "modes": -m}]) for m in range(5)]
    assert study_plots.rank_agreement(reversed_runs, 100, 199)[0] == pytest.approx(-1.0)
    assert math.isnan(study_plots.rank_agreement(runs[:2], 100, 199)[0])


def test_schedule_check_pairs_each_full_run_with_the_sweep_run_of_its_setting_and_seed():
    full = [_run("success", 0, 13, 0.01, epochs=(0, 100, 999)), _run("no-clip-1", 1, 22, 0.6, epochs=(0, 100, 999)),
            _run("standard-gan", 5, 3, 0.1, epochs=(0, 100, 999))]
    sweep = [_run("seeds-success", 0, 20, 0.02), _run("seeds-no-clip", 1, 21, 0.55), _run("seeds-no-clip", 0, 1, 0.9)]
    table = study_plots.schedule_check_table(full, sweep)
    assert table.column("case") == ["success", "no-clip-1"]  # standard-gan seed 5 has no sweep mate
    assert table.column("verdict") == ["same", "same"]
    assert table.column("sweep, epoch 99")[1] == "21 / 55.0 (succeeds)"
    assert table.column("full schedule, epoch 100")[0] == "12 / 1.0 (fails)"


def test_rounding_drift_table_gives_relative_differences_and_zero_for_identical_runs():
    def with_logs(run, losses):
        run.epoch_logs = {"d_loss": np.array(losses, dtype=np.float64)}
        return run

    full = [with_logs(_run("success", 0, 13, 0.01), [1.0, 2.0, 4.0]), with_logs(_run("wgan-gp", 0, 13, 0.01), [1.0, 1.0, 1.0])]
    sweep = [with_logs(_run("seeds-success", 0, 20, 0.02), [1.0, 2.2, 2.0]),
             with_logs(_run("seeds-wgan-gp", 0, 20, 0.02), [1.0, 1.0, 1.0])]
    table = study_plots.rounding_drift_table(full, sweep, epochs=(0, 1, 2, 5))
    assert table.rows[0][2:] == ["0", "1e-01", "5e-01", "—"]
    assert table.rows[1][2:] == ["0", "0", "0", "—"]
