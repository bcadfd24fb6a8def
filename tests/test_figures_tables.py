"""Tests of wgan_lib.figures and wgan_lib.tables on real (tiny) stored runs and on hand-made numbers:
each figure draws what it says at the book's sizes, each table shows the numbers it is given."""
import dataclasses
import math
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from wgan_lib import Config, figures, tables  # noqa: E402
from wgan_lib.cases import clip_label, get_case  # noqa: E402
from wgan_lib.runsets import MAP_CLIPS, MAP_LRS  # noqa: E402
from wgan_lib.store import load_run, provenance, run_name, save_run  # noqa: E402
from wgan_lib.summary import rank_agreement, summarise  # noqa: E402
from wgan_lib.train import StackTrainer  # noqa: E402

TINY = dict(samples_per_center=32, batch_size=32, epochs=2, n_eval_samples=100, plot_resolution=11,
            g_width=8, d_width=8, g_depth=1, d_depth=1)
CASE_NAMES = ("success", "failure-6", "standard-gan", "wgan-gp")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Four tiny real runs with D's weights, trained in one stack, stored and loaded back: {case: StoredRun}."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("results")
    configs = [get_case(n).config(**TINY) for n in CASE_NAMES]
    trainer = StackTrainer(configs, record_weights=True)
    trainer.train()
    info = provenance("cpu", trainer.wall_time, [run_name(c) for c in configs])
    paths = [save_run(log, out, info) for log in trainer.logs]
    return {p.name.rsplit("-seed", 1)[0]: load_run(p, warn_stale=False) for p in paths}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def drawn_width_px(fig):
    return fig.get_figwidth() * fig.dpi


def smallest_text_pt(fig):
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
    return min(sizes)


def test_every_figure_fits_the_page_with_legible_text(stored):
    run = stored["success"]
    figs = [figures.plot_run_grid(run), figures.plot_last_snapshots(list(stored.values())),
            figures.plot_metrics(list(stored.values())), figures.plot_epoch_logs(run),
            figures.plot_d_range([run], ["success"]), figures.plot_drift(run),
            figures.plot_weight_histograms([stored["success"], stored["wgan-gp"]]),
            figures.plot_fraction_at_clip([stored["success"]]), figures.plot_gradient_norms([stored["success"]]),
            figures.plot_contour_shapes(figures.example_maps())]
    for fig in figs:
        assert fig.dpi == 100 and drawn_width_px(fig) <= 100 * figures.MAX_WIDTH + 1e-9
        assert smallest_text_pt(fig) >= 9.5  # at 100 dpi, >= 13 px drawn, >= 9.9 px shown at 75 %


def test_run_grid_has_two_rows_per_epoch_and_wraps(stored):
    run = stored["success"]
    assert figures.epochs_from(run) == [0, 1] and figures.epochs_from(run, start=1) == [1]
    assert len(figures.plot_run_grid(run).axes) == 2 * len(run.snapshot_epochs)
    with pytest.raises(KeyError):
        figures.plot_run_grid(run, epochs=[5])
    k = np.arange(11)
    long = dataclasses.replace(run, snapshot_epochs=np.array([0, *range(100, 1000, 100), 999]),
                               samples=run.samples[k % 2], d_grid=run.d_grid[k % 2], metrics=[])
    fig = figures.plot_run_grid(long, columns=5)
    assert len(fig.axes) == 2 * 10 and fig.axes[0].get_title().startswith("G, epoch 100")
    assert figures.plot_run_grid(long).get_figwidth() == pytest.approx(figures.MAX_WIDTH)


def test_standard_gan_critic_is_shown_as_probability(stored):
    fig = figures.plot_run_grid(stored["standard-gan"], epochs=[1])
    assert fig.axes[1].get_title().startswith("sigmoid(D)\n[")
    lo, hi = map(float, re.findall(r"[-\d.e]+", fig.axes[1].get_title().split("\n")[1]))
    assert 0 <= lo <= hi <= 1
    values, label = figures.shown(stored["standard-gan"], np.array([0.0, 1000.0, -1000.0]))
    assert values.tolist() == [0.5, 1.0, 0.0] and label == "sigmoid(D)"
    assert figures.shown(stored["success"], np.array([3.0]))[1] == "D"


def test_curves_and_the_posts_d_range(stored):
    run = stored["success"]
    fig = figures.plot_metrics([run, stored["failure-6"]])
    assert len(fig.axes) == 4 and len(fig.axes[0].lines) == 2
    fig = figures.plot_epoch_logs(run)
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), run.epoch_logs["d_loss"])
    fig = figures.plot_d_range([run], ["success"])
    assert len(fig.axes[0].collections) == 2  # the post's max and min
    legend = fig.axes[0].get_legend()
    assert legend.get_bbox_to_anchor().y0 < fig.axes[0].get_window_extent().y0  # below the axes, off the curves


def test_animation_is_self_contained(stored):
    run = stored["success"]
    text = figures.animate_run(run, dpi=30)
    assert text.count("data:image/png;base64") == len(run.snapshot_epochs)
    assert "http" not in text and 'class="fa ' not in text
    assert not plt.get_fignums()


def test_target_figure_draws_every_component():
    from wgan_lib.data import fit_gmm, sample_grid

    points = sample_grid(40, generator=torch.Generator().manual_seed(0)).numpy()
    fig = figures.plot_target(points, fit_gmm(points))
    assert len([p for p in fig.axes[0].patches if isinstance(p, Ellipse)]) == 25 and len(fig.axes) == 2


def test_drift_table_and_figure(stored):
    run = stored["failure-6"]
    samples = np.zeros_like(run.samples)
    samples[-1, : len(samples[-1]) // 4] = 50.0  # a quarter of the last snapshot far away
    run = dataclasses.replace(run, samples=samples)
    table = tables.drift_table(run)
    assert table.column("epoch") == ["0", "1"] and table.rows[-1][-1] == "25.0" and table.rows[0][-1] == "0.0"
    assert figures.plot_drift(run).axes[1].get_xlim()[1] >= 50


def test_comparison_and_published_tables(stored):
    runs = list(stored.values())
    table = tables.comparison_table(runs)
    for run in runs:
        row = table.rows[table.column("case").index(run.config.case)]
        m = run.final_metrics
        assert row[table.header.index("modes")] == str(m["modes"])
        assert row[table.header.index("HQ %")] == f"{100 * m['hq_fraction']:.1f}"
        assert row[table.header.index("W1")] == f"{m['w1']:.3f}"
        assert 0 <= int(row[table.header.index("centres passed near")]) <= 25
    assert 'class="wgan-table"' in table._repr_html_()
    published = tables.published()
    assert {(r["method"], r["modes"], r["hq_percent"]) for r in published} >= {
        ("PacGAN4", 24.8, 93.6), ("GAN", 17.3, 94.8), ("VEEGAN", 24.6, 40.0), ("WGAN-GP", 24.2, 28.7)}
    assert all(r["source"] for r in published)
    text = str(tables.published_table())
    assert "PacGAN" in text and "VEEGAN" in text and "GDPP" in text


def test_settings_metrics_and_outcome_tables(stored):
    run = stored["failure-6"]
    settings = tables.settings_table([get_case("failure-6"), run])
    assert settings.rows[0][1:6] == ["wgan", "0.001", "0.0001", "5", "0.1"]
    assert tables.metrics_table(run).column("modes") == [str(m["modes"]) for m in run.metrics]
    assert tables.outcome_table([run]).column("status") == ["completed"]


def test_d_range_table_sits_beside_the_post(stored):
    run = stored["success"]
    table = tables.d_range_table([run], ["success"], epochs=(1,))
    assert table.header == ["epoch", "post: min", "post: max", "success: min", "success: max"]
    assert table.rows[0][1:3] == [tables.DASH, tables.DASH]  # the post has no epoch 1
    assert float(table.rows[0][3]) == pytest.approx(run.epoch_logs["d_min"][1], rel=1e-3)
    post = tables.post_d_range()
    assert post[999] == (-180000, 120000) and len(post) == 10
    assert tables.d_range_table([run], ["s"], epochs=(100,)).rows[0][1:] == ["0", "600", "—", "—"]


def test_figures_and_tables_survive_non_finite_snapshots(stored):
    run = stored["failure-6"]
    samples, d_grid = run.samples.copy(), run.d_grid.copy()
    samples[-1] = 0.0
    samples[-1, :10] = np.inf
    samples[-1, 10:20] = 1e30
    d_grid[-1] = np.nan
    metrics = [dict(run.metrics[0]), {"epoch": int(run.snapshot_epochs[-1])}]
    broken = dataclasses.replace(run, samples=samples, d_grid=d_grid, metrics=metrics, status="diverged")
    assert figures.plot_run_grid(broken).axes[-1].get_title().endswith("not finite")
    assert tables.drift_table(broken).rows[-1][-1] == f"{100 * 20 / samples.shape[1]:.1f}"
    assert tables.metrics_table(broken).rows[-1][1:] == [tables.DASH] * 4
    figures.plot_metrics(broken)
    figures.animate_run(broken, dpi=20)


def test_critic_table_and_figures(stored):
    runs = [stored["success"], stored["wgan-gp"]]
    table = tables.critic_table(runs)
    assert table.column("run") == ["success", "wgan-gp"] and table.column("clip") == ["0.1", "none"]
    assert table.rows[1][-2:] == [tables.DASH, tables.DASH]  # no clip: no share at +-c
    at = float(table.rows[0][-2])
    assert 0 <= at <= 100
    assert len(figures.plot_gradient_norms(runs).axes) == 3
    assert len(figures.plot_weight_histograms(runs).axes) == 2 * 2  # two snapshots a run


def test_show_displays_and_closes(stored):
    fig = figures.plot_run_grid(stored["success"], epochs=[0])
    tables.show("some *text*", tables.metrics_table(stored["success"]), fig)
    assert not plt.fignum_exists(fig.number)


# --------------------------------------------------------------------------- runs over seeds


def _run(case, seed, modes, hq, epochs=(99,), clip=0.1, lr=1e-4, status="completed"):
    metrics = [{"epoch": e, "modes": modes if e == epochs[-1] else modes - 1, "hq_fraction": hq,
                "reverse_kl": 0.2, "w1": 0.8} for e in epochs]
    return SimpleNamespace(config=Config(case=case, seed=seed, clip=clip, lr=lr), status=status, metrics=metrics,
                           final_metrics=metrics[-1])


def test_seeds_table_has_one_row_per_setting_with_mean_error_and_count():
    runs = [_run("seeds-success", s, modes=10 + s, hq=0.1) for s in range(3)]
    runs += [_run("seeds-failure-1", 0, modes=22, hq=0.7), _run("seeds-failure-1", 1, modes=11, hq=0.1)]
    table = tables.seeds_table(summarise(runs, lambda r: r.config.case.removeprefix("seeds-")),
                               {"success": "succeeded"})
    assert table.column("setting") == ["success", "failure-1"]
    row = dict(zip(table.header, table.rows[0]))
    assert row["post"] == "succeeded" and row["≥ 20 modes and ≥ 50 % HQ"] == "0 of 3"
    assert row["modes"] == f"{11:.1f} ± {np.std([10, 11, 12], ddof=1) / math.sqrt(3):.1f}"
    assert dict(zip(table.header, table.rows[1]))["≥ 20 modes and ≥ 50 % HQ"] == "1 of 2"


def test_clip_lr_maps_annotate_every_cell_with_its_mean():
    runs = [_run("map", s, modes=5 + i, hq=0.02 * j, clip=clip, lr=lr)
            for i, clip in enumerate(MAP_CLIPS) for j, lr in enumerate(MAP_LRS) for s in range(3)]
    summary = summarise(runs, lambda r: (clip_label(r.config.clip), r.config.lr))
    fig = figures.plot_clip_lr_maps(summary, MAP_CLIPS, MAP_LRS)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(MAP_CLIPS) * len(MAP_LRS) and texts[2] == f"{5 + 2:.1f}"
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= 9.5
    table = tables.clip_lr_table(summary, MAP_CLIPS, MAP_LRS)
    assert len(table.rows) == 21 and table.column("clip")[-1] == clip_label(MAP_CLIPS[-1])


def test_rank_agreement_is_one_for_the_same_order_and_minus_one_reversed():
    runs = [SimpleNamespace(metrics=[{"epoch": 100, "modes": m}, {"epoch": 199, "modes": 2 * m}]) for m in range(5)]
    assert rank_agreement(runs, 100, 199) == (pytest.approx(1.0), 5)
    flipped = [SimpleNamespace(metrics=[{"epoch": 100, "modes": m}, {"epoch": 199, "modes": -m}]) for m in range(5)]
    assert rank_agreement(flipped, 100, 199)[0] == pytest.approx(-1.0)
    assert math.isnan(rank_agreement(runs[:2], 100, 199)[0])


def test_schedule_check_and_rounding_drift_tables():
    full = _run("success", 0, 13, 0.01, epochs=(0, 100, 999))
    short = _run("seeds-success", 0, 20, 0.02)
    table = tables.schedule_check_table([(full, short)])
    assert table.column("verdict") == ["same"] and table.column("full run, epoch 100")[0] == "12 / 1.0"
    full.epoch_logs = {"d_loss": np.array([1.0, 2.0, 4.0])}
    short.epoch_logs = {"d_loss": np.array([1.0, 2.2, 2.0])}
    assert tables.rounding_drift_table([(full, short)], epochs=(0, 1, 2, 5)).rows[0][2:] == ["0", "1e-01", "5e-01", "—"]


def _best_run(candidate, seed, modes, hq, kl=0.1, epochs=(0, 50, 100, 149), status="completed"):
    from wgan_lib.runsets import best_config

    config = best_config(candidate, seed, epochs=epochs[-1] + 1, snapshot_every=50)
    metrics = [{"epoch": e, "modes": modes, "hq_fraction": hq * (0.5 if e == 100 else 1.0), "reverse_kl": kl,
                "w1": 0.5} for e in epochs]
    return SimpleNamespace(config=config, status=status, metrics=metrics, final_metrics=metrics[-1],
                           provenance={"wall_time_s": 600.0, "stack_size": 6})


def test_best_screen_table_scores_every_candidate_and_marks_the_kept_one():
    runs = [_best_run("gp-lr1e-4-lambda10", s, 25, 0.9) for s in (0, 1)]
    runs += [_best_run("gp-lr1e-3-lambda0.1", s, 20, 0.5) for s in (0, 1)]
    runs += [_best_run("clip0.01-lr1e-4", 0, 24, 0.2), _best_run("clip0.01-lr1e-4", 1, 0, 0.0, status="failed")]
    table = tables.best_screen_table(runs)
    assert table.column("candidate") == ["lr 1e-4, λ 10, 5 critic updates", "lr 1e-3, λ 0.1, 5 critic updates",
                                         "clip 0.01, lr 1e-4, 5 critic updates"]
    assert table.column("score") == ["0.900", "0.400", f"{24 / 25 * 0.2 / 2:.3f}"]  # the diverged seed scores 0
    assert table.column("") == ["kept", "", "kept"]
    assert table.column("modes")[2] == "24.0"  # the field's means are over the completed seeds


def test_best_table_gives_means_errors_the_early_share_and_the_goal():
    runs = [_best_run("gp-lr1e-4-lambda10", s, 25, 0.94 + 0.02 * (s % 3), kl=0.03) for s in range(10)]
    runs += [_best_run("standard-lr1e-3", s, 17, 0.9) for s in range(2)]
    runs += [_best_run("clip0.01-lr1e-4", s, 20, 0.5) for s in range(10)]
    table = tables.best_table(runs)
    rows = {r[0]: dict(zip(table.header, r)) for r in table.rows}
    gp = rows["WGAN-GP"]
    assert gp["settings"].endswith("; 150 epochs")
    assert (gp["seeds"], gp["modes"], gp["goal"]) == ("10", "25.0 ± 0.0", "met")
    assert gp["HQ %"] == "95.8 ± 0.6" and gp["HQ % at epoch 100"] == "47.9 ± 0.3"
    assert rows["standard GAN"]["goal"] == tables.DASH  # no goal was set
    assert rows["standard GAN"]["seeds"] == "2 of 10"
    assert rows["clipped WGAN"]["goal"] == "missed: modes, HQ"
    from wgan_lib import finals
    assert finals.best_goal_sentences(runs) == (
        "WGAN-GP meets its goal. The clipped WGAN misses its goal: 20 modes where it needs at least 24; 50 % near a "
        "centre where it needs at least 80 %. Its means at epochs 50, 100 and 149: 20.0, 20.0 and 20.0 modes, 50, 25 "
        "and 50 % near a centre.")
    assert finals.best_goal_sentences(runs[:5]) == ""  # five seeds: no goal judged
    # a goal is judged on every seed only: five seeds that would meet it leave it open
    table = tables.best_table(runs[:5])
    assert [(r[table.header.index("seeds")], r[-1]) for r in table.rows] == [("5 of 10", "open until every seed is in")]


def test_numbers_and_means_with_errors_stay_on_one_line_and_text_wraps():
    table = tables.Table(["setting", "modes", "HQ %", "KL", "seeds"],
                         [["a learning rate of 1e-3", "17.6 ± 1.1", "1.7", "-0.5", "0 of 5"],
                          ["post", "25", "93.6 %", "1.2e-05 ± 3e-06", tables.DASH]])
    cells = re.findall(r"<td( class=\"num\")?>([^<]*)</td>", table._repr_html_())
    assert [text for cls, text in cells if cls] == ["17.6 ± 1.1", "1.7", "-0.5", "25", "93.6 %", "1.2e-05 ± 3e-06"]
    assert [text for cls, text in cells if not cls] == ["a learning rate of 1e-3", "0 of 5", "post", tables.DASH]


def test_snapshot_table_counts_the_centres_that_hold_g_at_each_snapshot():
    from wgan_lib import grid
    from wgan_lib.data import GRID_CENTERS

    axis = np.linspace(-6, 6, 101)
    x, y = np.meshgrid(axis, axis, indexing="xy")

    def wells(k):  # a WGAN critic (G descends it) with wells at the first k centres
        return 0.01 * x - sum(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.18) for cx, cy in GRID_CENTERS[:k])

    runs = []
    for seed, counts in [(0, (0, 10, 25, 25)), (1, (0, 5, 20, 24))]:
        run = _best_run("gp-lr1e-4-lambda10", seed, 25, 0.9)
        run.snapshot_epochs, run.d_grid = np.array([0, 50, 100, 149]), [wells(k) for k in counts]
        runs.append(run)
    table = tables.snapshot_table(runs, {"WGAN-GP": "gp-lr1e-4-lambda10"}, grid.centre_wells)
    assert table.header == ["", "epoch 0", "epoch 50", "epoch 100", "epoch 149", "modes", "HQ %"]
    assert table.rows == [["WGAN-GP", "0.0", "7.5", "22.5", "24.5", "25.0", "90"]]
    # a measure that is NaN for one seed averages over the other; NaN for both is a dash
    nan_for_seed1 = tables.snapshot_table(runs, {"x": "gp-lr1e-4-lambda10"},
                                          lambda r, k: math.nan if r.config.seed == 1 or k == 3 else float(k), ".2f")
    assert nan_for_seed1.rows[0][1:5] == ["0.00", "1.00", "2.00", tables.DASH]


def _map_run(loss, d_grid, extent=6.0):
    samples = np.zeros((5, 2), dtype=np.float32)
    return SimpleNamespace(config=Config(loss=loss), d_grid=d_grid[None], samples=samples[None],
                           snapshot_epochs=(99,))


def test_pull_arrows_point_downhill_on_ds_map_turned_the_way_the_generator_moves():
    axis = np.linspace(-6.0, 6.0, 61)
    x, y = np.meshgrid(axis, axis)
    bowl = x ** 2 + y ** 2  # one well at the origin
    runs = [_map_run("wgan", bowl), _map_run("standard", -bowl)]  # a standard GAN's G climbs D: a peak
    fig = figures.plot_pull(runs, ["descends", "climbs"])
    assert len(fig.axes) >= 2 and fig.get_figwidth() == pytest.approx(figures.MAX_WIDTH)
    for ax in fig.axes[:2]:
        (arrows,) = [c for c in ax.collections if isinstance(c, matplotlib.quiver.Quiver)]
        where = np.asarray(arrows.get_offsets())
        push = np.stack([arrows.U, arrows.V], 1)
        outside = np.hypot(where[:, 0], where[:, 1]) > 1.0
        cosine = -(push[outside] * where[outside]).sum(1) / np.hypot(*where[outside].T)
        assert cosine.min() > 0.99  # every arrow points at the well, one length each
        assert np.allclose(np.hypot(*push[outside].T), 1.0)
    plt.close(fig)


def test_devices_in_words_names_each_device_and_torch_once():
    runs = [SimpleNamespace(provenance={"device": "cpu (AMD EPYC, 1 threads)", "torch": "2.13.0+cpu"}),
            SimpleNamespace(provenance={"device": "cuda (NVIDIA H200)", "torch": "2.13.0+cu130"}),
            SimpleNamespace(provenance={"device": "cpu (AMD EPYC, 1 threads)", "torch": "2.13.0+cpu"})]
    assert tables.devices_in_words(runs) == ("CPU (AMD EPYC, 1 thread), torch 2.13.0+cpu; "
                                             "CUDA (NVIDIA H200), torch 2.13.0+cu130")
    runs[0].provenance["device"] = "cpu (x86_64, 2 threads)"
    assert tables.devices_in_words(runs[:2]) == ("CPU (x86_64, 2 threads), torch 2.13.0+cpu; "
                                                 "CUDA (NVIDIA H200), torch 2.13.0+cu130")


def test_ladder_down_table_names_what_each_rung_puts_back_and_its_drop_below_the_top():
    def down(rung, seed, hq, status="completed"):
        config = SimpleNamespace(case=f"down-{rung}", seed=seed, epochs=100)
        metrics = [{"epoch": e, "modes": 25, "hq_fraction": hq * (0.5 if e == 40 else 1.0), "reverse_kl": 0.1,
                    "w1": 0.5} for e in (0, 20, 40, 60, 80, 99)]
        return SimpleNamespace(config=config, status=status, metrics=metrics)

    runs = [down("top", s, 0.9) for s in range(3)] + [down("elu", s, 0.5) for s in range(3)]
    runs.append(down("elu", 3, 0.0, status="failed"))
    table = tables.ladder_down_table(runs)
    assert [r[0] for r in table.rows] == ["none (the top)", "ELU instead of ReLU"]
    top, elu = (dict(zip(table.header, r)) for r in table.rows)
    assert (top["seeds"], top["HQ %"], top["HQ % at epoch 40"], top["drop in score"]) == \
        ("3", "90.0 ± 0.0", "45.0 ± 0.0", tables.DASH)
    # the diverged seed scores 0: the rung's mean score is 0.5 x 3 / 4, its drop 0.9 - 0.375
    assert (elu["seeds"], elu["HQ %"]) == ("4 (1 diverged)", "50.0 ± 0.0")
    assert elu["drop in score"].startswith("0.53 ± 0.1")


def test_pm_sig_gives_the_mean_three_significant_figures_and_the_error_the_same_decimals():
    assert tables.pm_sig(24.6, 0.2449) == "24.6 ± 0.2"
    assert tables.pm_sig(0.5361, 0.03223) == "0.536 ± 0.032"
    assert tables.pm_sig(4.2, 0.49) == "4.20 ± 0.49"
    assert tables.pm_sig(5810.4, 1234.5) == "5810 ± 1234"
    assert tables.pm_sig(2.5e-5, 1e-6) == "2.5e-05 ± 1e-06"
    assert tables.pm_sig(float("nan"), 1.0) == tables.DASH
    assert tables.pm_sig(3.0, float("nan")) == "3.00"


def test_the_distance_figure_rises_to_every_sample_and_draws_the_true_mixture():
    from wgan_lib.data import GRID_CENTERS

    close = SimpleNamespace(status="completed", samples=[GRID_CENTERS + 0.01])
    far = SimpleNamespace(status="completed", samples=[GRID_CENTERS + 0.5])
    diverged = SimpleNamespace(status="diverged", samples=[np.full((25, 2), np.nan)])
    fig = figures.plot_distance_to_centres({"close": [close, diverged], "far": [far]})
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    r, true = lines["the true mixture"].get_data()
    assert np.interp(0.15, r, true) == pytest.approx(98.9, abs=0.3)
    for label, distance in (("close", 0.01 * math.sqrt(2)), ("far", 0.5 * math.sqrt(2))):
        r, share = lines[label].get_data()
        assert share[r < distance].max() == 0 and share[r >= distance].min() == 100  # the diverged run left out


def test_the_hq_course_is_the_mean_over_each_groups_seeds_diverged_ones_ignored():
    def run(values):
        return SimpleNamespace(metrics=[{"epoch": e, "hq_fraction": v} for e, v in zip((0, 20, 40), values)])

    groups = {"a": [run([0.1, 0.2, 0.3]), run([0.3, 0.4, np.nan])], "b": [run([0.5, 0.5, 0.5])]}
    lines = figures.plot_hq_course(groups).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    assert lines[0].get_xdata().tolist() == [0, 20, 40]
    assert lines[0].get_ydata() == pytest.approx([20.0, 30.0, 30.0])


def test_the_critic_range_figure_draws_a_flat_critic_on_the_line_labelled_zero():
    run = SimpleNamespace(epoch_logs={"d_min": [0.0, 0.0, 1.0], "d_max": [1e-3, 1e-5, 1.0]})
    fig = figures.plot_critic_range([run], ["seed 0"], floor=1e-9)
    (line,) = fig.axes[0].get_lines()
    assert line.get_ydata().tolist() == [1e-3, 1e-5, 1e-9]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "0" and fig.axes[0].get_yticks()[0] == 1e-9
